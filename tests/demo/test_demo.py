#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Black-box tests of `authgate-demo` against docs/demo.md.

Python 3 standard library only. Every test starts the built binary on
127.0.0.1 port 0 (the server prints the real port) with a temporary key
directory and store, talks HTTP to it with http.client or raw sockets, and
stops it with SIGTERM (which must give exit status 0).

    test_demo.py --bin PATH GROUP      GROUP: contract refresh raw restart keys metrics
                                              door accesslog throttle …
    test_demo.py --bin PATH --node-dir DIR browser
    test_demo.py --node-dir DIR npm-install

Rule IDs (V-, R-, H-, C-) refer to docs/security.md. A group fails on the first
broken expectation, naming the case.

This file is the runner and the fixture (Server and the HTTP helpers; the
CLI's OIDC interop test imports it too) and holds the browser groups; the
groups live beside it, each module with its GROUPS table:
    demo_flows.py  contract refresh retry revoke sessions
    demo_keys.py   restart keys algs cache rotate metrics
    demo_door.py   raw door accesslog throttle
    demo_lost.py   lost (the demo killed during refreshes, SQLite)
"""
import argparse
import base64
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

BIN = None
DEFAULT_STORE = "sqlite"  # "memory" with --memory-only (a build without SQLite)
URL_CREDENTIAL_NAMES = ["access_token", "refresh_token", "token", "jwt", "id_token"]


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


# ---------------------------------------------------------------- server

# Every credential the tests saw (tokens, their signatures and jtis, CSRF
# tokens, cookie values, passwords): no event line may hold one.
SECRETS = set()
EVENT_LINES = [0]


def note_secret(v):
    if not isinstance(v, str) or len(v) < 6:
        return
    SECRETS.add(v)
    parts = v.split(".")
    if len(parts) == 3 and all(parts):
        SECRETS.add(parts[2])  # the signature
        try:
            claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
            if isinstance(claims, dict) and isinstance(claims.get("jti"), str):
                note_secret(claims["jti"])
        except ValueError:
            pass


def note_secrets(obj):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in ("access_token", "refresh_token", "id_token", "csrf_token", "password"):
                note_secret(v)
            else:
                note_secrets(v)
    elif isinstance(obj, list):
        for v in obj:
            note_secrets(v)


class Server:
    """One authgate-demo process with its own key dir and store. Its event
    log (--event-log) is scanned for every credential the tests saw when
    it stops."""

    def __init__(self, *args, workdir=None, store="sqlite", key_dir=None):
        self.own_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix="agdemo-")
        self.key_dir = key_dir or os.path.join(self.dir, "keys")
        self.args = list(args)
        if store == "sqlite" and DEFAULT_STORE == "memory":
            store = "memory"
        if store == "sqlite":
            self.args += ["--store", "sqlite:" + os.path.join(self.dir, "demo.db")]
        elif store:
            self.args += ["--store", store]
        for i, a in enumerate(self.args[:-1]):
            if a == "--user":
                note_secret(self.args[i + 1].partition(":")[2])
        self.event_log = None
        if "--event-log" not in self.args:
            fd, self.event_log = tempfile.mkstemp(prefix="events-", suffix=".log", dir=self.dir)
            os.close(fd)
            self.args += ["--event-log", self.event_log]
        self.proc = None
        self.port = None
        self.stdout_lines = []

    def start(self, expect_ok=True, timeout=120):
        cmd = [BIN, "--listen", "127.0.0.1:0", "--key-dir", self.key_dir] + self.args
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     cwd=self.dir, text=True)
        if not expect_ok:
            try:
                out, err = self.proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                raise Fail("server started although it should have refused: %r" % cmd)
            rc, self.proc = self.proc.returncode, None
            self.cleanup()
            return rc, out, err
        deadline = time.time() + timeout
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                err = self.proc.stderr.read()
                raise Fail("server exited before listening: rc=%s stderr=%s"
                           % (self.proc.wait(), err.strip()))
            self.stdout_lines.append(line.rstrip("\n"))
            if line.startswith("listening on http://127.0.0.1:"):
                self.port = int(line.strip().rsplit(":", 1)[1])
                check(self.port > 0, "listening line names a real port")
                return self
        raise Fail("server did not print 'listening on' in time")

    def stop(self, sig=signal.SIGTERM):
        """Stops the server; returns its exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise Fail("server did not stop within 60 s of %s" % sig)
        self.proc.stdout.close()
        self.proc.stderr.close()
        self.proc = None
        self.scan_events()
        return rc

    def scan_events(self):
        """No event line holds a token, signature, jti, CSRF token, cookie
        value or password seen so far."""
        if self.event_log is None or not os.path.exists(self.event_log):
            return
        with open(self.event_log, errors="replace") as f:
            lines = f.read().splitlines()
        EVENT_LINES[0] += len(lines)
        for line in lines:
            check(" event type=" in line, "event line shape: %r" % line)
            for sec in SECRETS:
                check(sec not in line, "an event line holds a credential (%r…): %r"
                      % (sec[:8], line))

    def cleanup(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        rc = self.stop() if self.proc is not None else 0
        self.cleanup()
        if exc[0] is None:
            check(rc == 0, "SIGTERM → exit status 0 (got %s)" % rc)

    # ---- HTTP helpers

    def request(self, method, path, body=None, headers=None):
        """Returns (status, header list [(name, value)], parsed JSON or raw bytes)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        hdrs = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        c.request(method, path, body=body, headers=hdrs)
        r = c.getresponse()
        data = r.read()
        hl = r.getheaders()
        c.close()
        ctype = dict((k.lower(), v) for k, v in hl).get("content-type", "")
        if ctype.startswith("application/json"):
            data = json.loads(data.decode())
            note_secrets(data)
        if isinstance(body, bytes) and body[:1] == b"{":
            try:
                note_secrets(json.loads(body))
            except ValueError:
                pass
        for k, v in hl:
            if k.lower() == "set-cookie":
                note_secret(v.split(";")[0].partition("=")[2])
        return r.status, hl, data

    def raw(self, payload, read_timeout=30):
        """Sends raw bytes, returns (status, header list, body bytes)."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=read_timeout)
        s.sendall(payload)
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        check(lines and lines[0].startswith("HTTP/1.1 "), "raw reply is HTTP: %r" % lines[:1])
        status = int(lines[0].split()[1])
        hl = [tuple(x.strip() for x in l.split(":", 1)) for l in lines[1:] if ":" in l]
        n = int(dict((k.lower(), v) for k, v in hl).get("content-length", "0"))
        while len(rest) < n:
            chunk = s.recv(65536)
            if not chunk:
                break
            rest += chunk
        s.close()
        return status, hl, rest

    def login(self, mode="cookie", user="demo", password="demo"):
        st, hl, b = self.request("POST", "/auth/login",
                                 {"username": user, "password": password, "session": mode})
        check(st == 200, "login %s/%s (%s) → 200, got %s %r" % (user, password, mode, st, b))
        return b, set_cookies(hl)


def header(hl, name):
    vals = [v for k, v in hl if k.lower() == name.lower()]
    return vals[0] if vals else None


def set_cookies(hl):
    """Set-Cookie fields → {name: (value, {attr-lower: value})}."""
    out = {}
    for k, v in hl:
        if k.lower() != "set-cookie":
            continue
        parts = [p.strip() for p in v.split(";")]
        name, _, value = parts[0].partition("=")
        attrs = {}
        for p in parts[1:]:
            a, _, av = p.partition("=")
            attrs[a.lower()] = av
        out[name] = (value, attrs)
    return out


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


def cookie_headers(cookies, csrf=None):
    h = {"Cookie": "; ".join("%s=%s" % (n, v[0]) for n, v in cookies.items())}
    if csrf is not None:
        h["X-CSRF-Token"] = csrf
    return h


def expect_error(res, status, code, what):
    st, hl, b = res
    check(st == status, "%s → %d, got %d %r" % (what, status, st, b))
    check(header(hl, "Content-Type") == "application/json", "%s: JSON error body" % what)
    check(isinstance(b, dict) and b.get("error") == code and
          isinstance(b.get("error_description"), str),
          "%s: {error: %s, error_description} got %r" % (what, code, b))


def tamper(tok):
    """Flips one signature character (still canonical base64url)."""
    h, p, s = tok.split(".")
    c = "A" if s[0] != "A" else "B"
    return ".".join([h, p, c + s[1:]])


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


# ---------------------------------------------------------------- browser

def group_npm_install(node_dir):
    """Installs playwright-core into node_dir (build-local); fails loudly."""
    os.makedirs(node_dir, exist_ok=True)
    if os.path.isdir(os.path.join(node_dir, "node_modules", "playwright-core")):
        return
    npm = shutil.which("npm")
    check(npm is not None, "npm is missing: apt-get install npm (or nodejs with npm)")
    r = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", node_dir,
                        "playwright-core@1"], capture_output=True, text=True, timeout=600)
    check(r.returncode == 0, "npm install playwright-core failed:\n%s%s" % (r.stdout, r.stderr))


def group_browser(node_dir):
    chromium = os.environ.get("AG_CHROMIUM", "/usr/bin/chromium")
    check(os.access(chromium, os.X_OK),
          "BROWSER TEST CANNOT RUN: %s is missing — apt-get install chromium" % chromium)
    check(shutil.which("node") is not None, "BROWSER TEST CANNOT RUN: node is missing")
    check(os.path.isdir(os.path.join(node_dir, "node_modules", "playwright-core")),
          "BROWSER TEST CANNOT RUN: playwright-core not installed in %s" % node_dir)
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "browser.mjs")
    # Both loopback spellings: Chromium must store __Host- (Secure) cookies
    # over plain http on each. A short access TTL lets the page's own timer
    # refresh during the test.
    for host in ("127.0.0.1", "localhost"):
        with Server("--access-ttl", "40") as s:
            profile = tempfile.mkdtemp(prefix="agdemo-chromium-")
            try:
                # the screenshot stays in the working directory for a human to look at
                shot = os.path.abspath("demo-page-%s.png" % host)
                r = subprocess.run(["node", script, "--node-dir", node_dir, "--chromium", chromium,
                                    "--profile", profile, "--url",
                                    "http://%s:%d/" % (host, s.port), "--screenshot", shot],
                                   capture_output=True, text=True, timeout=300)
            finally:
                shutil.rmtree(profile, ignore_errors=True)
            sys.stdout.write("-- http://%s\n" % host + r.stdout)
            sys.stderr.write(r.stderr)
            check(r.returncode == 0, "browser test on %s failed (exit %d)" % (host, r.returncode))


# ---------------------------------------------------------------- main

def all_groups():
    """{name: function} from every group module's GROUPS table. The modules
    import this file as test_demo; run as a script it is __main__, so it is
    registered under that name first and they share its BIN and store.
    No __pycache__ is written into the source tree."""
    sys.dont_write_bytecode = True
    sys.modules.setdefault("test_demo", sys.modules[__name__])
    import demo_door
    import demo_flows
    import demo_keys
    import demo_lost
    groups = {}
    for mod in (demo_flows, demo_keys, demo_door, demo_lost):
        for name, fn in mod.GROUPS.items():
            assert name not in groups, "group %s in two modules" % name
            groups[name] = fn
    return groups


def main():
    global BIN, DEFAULT_STORE
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin")
    ap.add_argument("--node-dir")
    ap.add_argument("--memory-only", action="store_true",
                    help="the build has no SQLite store: use memory, skip restart")
    ap.add_argument("group")
    a = ap.parse_args()
    BIN = os.path.abspath(a.bin) if a.bin else None
    if a.memory_only:
        DEFAULT_STORE = "memory"
    if a.node_dir:
        a.node_dir = os.path.abspath(a.node_dir)
    groups = all_groups()
    try:
        if a.group in groups:
            check(BIN and os.access(BIN, os.X_OK), "--bin must name the built authgate-demo")
            groups[a.group]()
        elif a.group == "npm-install":
            group_npm_install(a.node_dir)
        elif a.group == "browser":
            group_browser(a.node_dir)
        else:
            ap.error("unknown group " + a.group)
    except Fail as e:
        print("FAIL [%s]: %s" % (a.group, e), file=sys.stderr)
        return 1
    print("ok [%s] (%d event lines scanned for %d credentials)"
          % (a.group, EVENT_LINES[0], len(SECRETS)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
