#!/usr/bin/env python3
"""Writes tests/fixtures/peers/curl-proxy-values.jsonl: proxy values, and where curl connects
for each when it is the `http_proxy` variable (or that it refuses the value).

tests/routing/curl_proxy_values.rs checks proxyscope's reading of each value against it. Run by
hand when curl changes (it needs curl on PATH; only loopback is contacted: every host below is
an address or `localhost`, and the request is cut after one second):

    python3 scripts/peer-decisions/curl-proxy-values.py > tests/fixtures/peers/curl-proxy-values.jsonl
"""

import json
import os
import re
import subprocess
import sys

HOSTS = ["127.0.0.1", "localhost", "[::1]", "127.1", "2130706433", "0x7f.0.0.1",
         "0177.0.0.1", "LOCALHOST", "[0:0:0:0:0:0:0:1]", "[::ffff:127.0.0.1]"]
SCHEMES = ["", "http://", "HTTP://", "https://", "socks4://", "socks4a://", "socks5://",
           "socks5h://", "socks://", "Socks5h://"]
PORTS = ["", ":", ":3128", ":0", ":080", ":0003128", ":65535", ":65536", ":99999", ":+80",
         ":-80", ": 80", ":3128x", ":3128:", "::3128"]
TAILS = ["", "/", "/path", "?q", "#f", "/proxy.pac"]
USERINFO = ["", "u:p@", "u@", ":p@", "@", "u:p@q@", "u%40x:p%3A@"]
# Values no product of the lists above writes: malformed slashes, blanks, quotes, lists.
EXTRA = [
    "http:/127.0.0.1:3128", "http:///127.0.0.1:3128", "http:127.0.0.1:3128", "http:3128",
    "http://::1:3128", "http://[::1", "http://[::1]x", "[::1]:3128", "http://", "http://:3128",
    "http://u:p@:3128", "http://127.0.0.1 :3128", "\"http://127.0.0.1:3128\"",
    "'http://127.0.0.1:3128'", "http://127.0.0.1\\:3128", "http://127.0.0.1%3A3128",
    "http://127.0.0.1:3128,http://127.0.0.1:3129", "http://127.0.0.1:3128;",
    "//127.0.0.1:3128", "://127.0.0.1:3128", "ftp://127.0.0.1:21", "http://loc%61lhost:3128",
    "http://127.0.0.1:3128 ", " http://127.0.0.1:3128", "\thttp://127.0.0.1:3128",
]


def values():
    seen = set()
    for scheme in SCHEMES:
        for host in HOSTS:
            for port in PORTS:
                # Every host with the common ports; the odd ports on the first host only.
                if port not in ("", ":", ":3128") and host != "127.0.0.1":
                    continue
                for tail in TAILS if host == "127.0.0.1" and port == ":3128" else [""]:
                    for userinfo in USERINFO if host == "localhost" else [""]:
                        v = f"{scheme}{userinfo}{host}{port}{tail}"
                        if v not in seen:
                            seen.add(v)
                            yield v
    for v in EXTRA:
        if v not in seen:
            seen.add(v)
            yield v


TRYING = re.compile(r"^\*\s+Trying (\[[^\]]+\]|[^:]+):(\d+)\.\.\.", re.M)


def curl(value):
    env = {"PATH": os.environ["PATH"], "http_proxy": value}
    out = subprocess.run(["curl", "-sv", "--max-time", "1", "http://origin.test/"], env=env,
                         capture_output=True, text=True, check=False)
    m = TRYING.search(out.stderr)
    if m:
        return {"curl": "connect", "address": m.group(1).strip("[]"), "port": int(m.group(2))}
    for line in out.stderr.splitlines():
        line = line.lstrip("* ")
        if line.startswith("Could not resolve proxy: "):
            return {"curl": "resolve", "name": line.split(": ", 1)[1]}
        if line.startswith("Unsupported proxy"):
            return {"curl": "refuse", "says": line.split(" in '")[0].split(" for '")[0]}
    return {"curl": "other", "exit": out.returncode, "says": out.stderr.strip()[-200:]}


def main():
    version = subprocess.run(["curl", "--version"], capture_output=True, text=True,
                             check=True).stdout.split()[1]
    print(json.dumps({"tool": "curl", "version": version, "variable": "http_proxy"}))
    for v in values():
        print(json.dumps({"value": v, **curl(v)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
