#!/usr/bin/env python3
"""Writes tests/fixtures/peers/decisions.jsonl: no_proxy values and URLs, and what Python's
urllib, requests and Node's proxy-from-env decide for each (true: connect directly).

The models in src/proxy/peers.rs are checked against this file by tests/routing/peer_models.rs.
Run by hand when a tool changes (see docs/configuration.md, "How other tools read the same
no_proxy"); needs python3 with requests, and node
with proxy-from-env installed next to decide.cjs (`npm install proxy-from-env`).

    python3 scripts/peer-decisions/generate.py > tests/fixtures/peers/decisions.jsonl
"""

import json
import os
import random
import subprocess
import sys
import urllib.request

import requests
import requests.utils

random.seed(int(os.environ.get("SEED", "14")))
COUNT = int(os.environ.get("COUNT", "3000"))

NAMES = ["example.com", "EXAMPLE.com", "a.example.com", "ample.com", "com", "localhost",
         "b-c.test", "example.com.", "xn--fsq092h.com"]
ADDRESSES = ["10.0.0.1", "10.0.0.0", "127.0.0.1", "192.168.1.1", "::1", "2001:db8::1", "[::1]",
             "[2001:db8::1]", "10.1", "010.0.0.0", "0x0a.0.0.1", "192.168"]
BITS = ["", "/0", "/8", "/16", "/24", "/32", "/33", "/64", "/128", "/", "/x", "/08"]
PREFIXES = ["", " ", ".", "..", "*", "*.", "\t"]
SUFFIXES = ["", ":80", ":443", ":8080", ":", " ", ".", "/path"]
HOSTS = ["example.com", "EXAMPLE.COM", "www.example.com", "a.example.com", "notexample.com",
         "ample.com", "com", "localhost", "sub.localhost", "b-c.test", "xn--fsq092h.com",
         "www.xn--fsq092h.com", "10.0.0.1", "10.0.0.7", "8.0.0.1", "127.0.0.1", "192.168.1.1",
         "192.0.0.168", "11.0.0.1", "[::1]", "[2001:db8::1]", "[2001:db8::2]"]
# No explicit default port: the URL standard drops it, so proxyscope never sees it written.
PORTS = ["", "", ":8080", ":3128"]
ALPHABET = "abc0123.:*/[] fx-"


def entry():
    r = random.random()
    if r < 0.4:
        return random.choice(PREFIXES) + random.choice(NAMES) + random.choice(SUFFIXES)
    if r < 0.75:
        return random.choice(ADDRESSES) + random.choice(BITS) + random.choice(SUFFIXES)
    if r < 0.85:
        return random.choice(["*", "", " ", "*.*", ".", "*com", " *"])
    return "".join(random.choice(ALPHABET) for _ in range(random.randint(0, 12)))


def main():
    for name in ("no_proxy", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        os.environ.pop(name, None)
        os.environ.pop(name.upper(), None)
    cases = []
    for _ in range(COUNT):
        sep = random.choice([",", ", ", " ,", ",,"])
        value = sep.join(entry() for _ in range(random.randint(0, 4)))
        scheme = random.choice(["http", "https"])
        url = f"{scheme}://{random.choice(HOSTS)}{random.choice(PORTS)}/"
        # urllib's ProxyHandler asks about the request's host as written, port included.
        netloc = urllib.request.urlparse(url).netloc
        cases.append({
            "no_proxy": value,
            "url": url,
            "python-urllib": urllib.request.proxy_bypass_environment(netloc, {"no": value}),
            "requests": requests.utils.should_bypass_proxies(url, no_proxy=value),
        })
    here = os.path.dirname(os.path.abspath(__file__))
    node = subprocess.run(["node", os.path.join(here, "decide.cjs")],
                          input="\n".join(json.dumps(c) for c in cases),
                          capture_output=True, text=True, check=True)
    versions = {
        "python": sys.version.split()[0],
        "requests": requests.__version__,
        "proxy-from-env": subprocess.run(
            ["node", "-p", "const p = require('path'); JSON.parse(require('fs').readFileSync("
             "p.join(p.dirname(require.resolve('proxy-from-env')), 'package.json'))).version"], cwd=here,
            capture_output=True, text=True, check=True).stdout.strip(),
    }
    print(json.dumps({"versions": versions}))
    for line in node.stdout.splitlines():
        print(line)


main()
