#!/usr/bin/env python3
"""Writes tests/fixtures/peers/curl-no-proxy.jsonl: generated no_proxy values and URLs, and
whether the installed curl connects directly (true) or through the proxy (false).

proxyscope follows curl >= 8.18; an older curl (Debian 12 ships 7.88.1) decides some lists
differently, and the lint says where. tests/routing/curl_no_proxy_versions.rs checks that every
decision of the recorded curl that differs from proxyscope's is one the lint names. Run by hand
(needs curl on PATH). Nothing leaves loopback: every host is a loopback address or a name
pinned to 127.0.0.1 with --resolve, and the proxy is a refused loopback port.

    python3 scripts/peer-decisions/curl-no-proxy.py > tests/fixtures/peers/curl-no-proxy.jsonl
"""

import json
import os
import random
import subprocess
import sys

random.seed(int(os.environ.get("SEED", "25")))
COUNT = int(os.environ.get("COUNT", "1500"))
PROXY_PORT = 18001

NAMES = ["o.test", "a.o.test", "O.TEST", "o.test.", "b.test", "test", "xo.test", "localhost"]
ADDRESSES = ["127.0.0.1", "127.0.0.5", "127.1.2.3", "[::1]"]
ENTRIES = ["o.test", ".o.test", "*.o.test", "*", "o.test.", "O.Test", "test", ".test",
           "xo.test", "o.test:80", "localhost", "*.test", "o.*", "", ".", "..", ".o.test.",
           "127.0.0.1", "127.0.0.0/8", "127.0.0.1/32", "127.0.0.0/24", "127.0.0.0/08",
           "127.0.0.0/+8", "127.0.0.0/8x", "127.0.0.0/ 8", "127.0.0.01", "127.1", "127.0.0.1/0",
           "::1", "[::1]", "::/127", "::0/120", "0:0::1", "::0001", "::1/128", ".::1", "::1/0",
           "::/0", "0.0.0.0/0"]
SEPARATORS = [",", ", ", " ,", ",,", " ", "\t", " , "]


def value():
    s = random.choice(ENTRIES)
    for _ in range(random.choice([0, 0, 1, 1, 2])):
        s += random.choice(SEPARATORS) + random.choice(ENTRIES)
    if random.random() < 0.15:
        s = " " + s
    if random.random() < 0.15:
        s += " "
    return s


def direct(no_proxy, host):
    env = {"PATH": os.environ["PATH"], "http_proxy": f"http://127.0.0.1:{PROXY_PORT}",
           "no_proxy": no_proxy}
    pins = []
    for name in sorted({n.lower() for n in NAMES if n != "localhost"} | {"o.test"}):
        pins += ["--resolve", f"{name}:80:127.0.0.1"]
    out = subprocess.run(["curl", "-sv", "--max-time", "1", *pins, f"http://{host}/"], env=env,
                         capture_output=True, text=True, check=False).stderr
    if f":{PROXY_PORT}..." in out:
        return False
    if ":80..." in out:
        return True
    raise SystemExit(f"no decision for no_proxy={no_proxy!r} host={host}: {out[-300:]}")


def main():
    version = subprocess.run(["curl", "--version"], capture_output=True, text=True,
                             check=True).stdout.split()[1]
    print(json.dumps({"tool": "curl", "version": version, "variable": "no_proxy"}))
    seen = set()
    while len(seen) < COUNT:
        case = (value(), random.choice(NAMES + ADDRESSES))
        if case in seen:
            continue
        seen.add(case)
        no_proxy, host = case
        print(json.dumps({"no_proxy": no_proxy, "url": f"http://{host}/",
                          "direct": direct(no_proxy, host)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
