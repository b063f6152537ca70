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
import threading
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


# ---------------------------------------------------------------- groups

def group_contract():
    with Server() as s:
        # banner announces the default user
        check(any("demo / demo" in l for l in s.stdout_lines), "banner names demo / demo")

        st, hl, b = s.request("GET", "/healthz")
        check(st == 200 and b == {"status": "ok"}, "GET /healthz → 200 {status: ok}")
        check(header(hl, "Content-Type") == "application/json", "healthz is JSON")

        # GET /: self-contained page with a strict CSP
        st, hl, b = s.request("GET", "/")
        check(st == 200 and header(hl, "Content-Type").startswith("text/html"), "GET / → HTML")
        csp = header(hl, "Content-Security-Policy") or ""
        check("default-src 'none'" in csp and "connect-src 'self'" in csp, "page CSP strict")
        check("unsafe-inline" not in csp and "unsafe-eval" not in csp, "CSP has no unsafe-*")
        page = b.decode()
        check("src=" not in page and "href=" not in page, "page loads no external asset")
        check("/auth/login" in page and "/auth/refresh" in page and "/api/me" in page
              and "/auth/logout" in page, "page logs in, refreshes, calls /api/me, logs out")

        # JWKS: public keys only, with kid/alg/use
        st, hl, b = s.request("GET", "/.well-known/jwks.json")
        check(st == 200 and isinstance(b.get("keys"), list) and len(b["keys"]) >= 1, "JWKS")
        for k in b["keys"]:
            check(k.get("kid") and k.get("alg") == "ES256" and k.get("use") == "sig",
                  "JWKS key has kid, alg ES256, use sig")
            check(not any(p in k for p in ("d", "p", "q", "dp", "dq", "qi", "k")),
                  "JWKS holds no private member (V-18)")

        # login, token mode: both tokens in the body, no cookie
        st, hl, b = s.request("POST", "/auth/login",
                              {"username": "demo", "password": "demo", "session": "token"})
        check(st == 200, "login token mode → 200")
        check(b.get("token_type") == "Bearer" and b.get("access_token") and
              b.get("refresh_token") and isinstance(b.get("expires_in"), int) and
              isinstance(b.get("refresh_expires_in"), int), "token-mode body shape: %r" % b)
        check(b["expires_in"] == 900 and b["refresh_expires_in"] == 14 * 86400,
              "default TTLs 900 s / 14 days")
        check(header(hl, "Cache-Control") == "no-store", "token response Cache-Control: no-store")
        check(not set_cookies(hl), "token mode sets no cookie")
        at, rt = b["access_token"], b["refresh_token"]

        # login, cookie mode (the default)
        st, hl, b = s.request("POST", "/auth/login", {"username": "demo", "password": "demo"})
        check(st == 200, "login default (cookie) mode → 200")
        check("refresh_token" not in b and b.get("access_token") and b.get("csrf_token"),
              "cookie-mode body: access_token + csrf_token, no refresh_token")
        check(header(hl, "Cache-Control") == "no-store", "cookie login Cache-Control: no-store")
        ck = set_cookies(hl)
        check(set(ck) == {"__Host-refresh", "__Host-csrf"}, "cookies __Host-refresh, __Host-csrf")
        check(ck["__Host-csrf"][0] == b["csrf_token"], "csrf_token equals the __Host-csrf cookie")
        for name, (val, attrs) in ck.items():
            check("secure" in attrs and attrs.get("samesite") == "Strict" and
                  attrs.get("path") == "/" and "domain" not in attrs, "%s attrs (H-09)" % name)
            check(0 < int(attrs.get("max-age", "0")) <= 14 * 86400, "%s Max-Age" % name)
        check("httponly" in ck["__Host-refresh"][1], "__Host-refresh is HttpOnly")
        check("httponly" not in ck["__Host-csrf"][1], "__Host-csrf is readable by script")

        # login failures
        def login_raw(body, what, status=400, code="invalid_request", headers=None):
            expect_error(s.request("POST", "/auth/login", body,
                                   dict({"Content-Type": "application/json"}, **(headers or {}))),
                         status, code, what)
        login_raw(b"{not json", "login malformed JSON")
        login_raw(b"", "login empty body")
        login_raw(b"[1,2]", "login body not an object")
        login_raw(b'{"username":"demo"}', "login without password")
        login_raw(b'{"password":"demo"}', "login without username")
        login_raw(b'{"username":1,"password":"demo"}', "login username not a string")
        login_raw(b'{"username":"demo","password":true}', "login password not a string")
        login_raw(b'{"username":"","password":"demo"}', "login empty username")
        login_raw(b'{"username":"demo","password":"demo","session":"jwt"}', "login bad session")
        login_raw(b'{"username":"demo","password":"demo","session":1}', "login session type")
        login_raw(b'{"username":"demo","password":"demo","admin":true}', "login unknown field")
        login_raw(b'{"username":"demo","username":"x","password":"demo"}',
                  "login duplicate member (V-06)")
        login_raw(b'{"username":"demo","password":"' + b"p" * 2000 + b'"}',
                  "login overlong password")
        wrong = s.request("POST", "/auth/login", {"username": "demo", "password": "nope"})
        unknown = s.request("POST", "/auth/login", {"username": "mallory", "password": "demo"})
        expect_error(wrong, 401, "invalid_grant", "login wrong password")
        expect_error(unknown, 401, "invalid_grant", "login unknown user")
        check(wrong[2] == unknown[2], "wrong password and unknown user: the same answer")
        login_raw(b'{"username":"demo","password":"demo"}', "cross-site login (Sec-Fetch-Site)",
                  403, "invalid_request", {"Sec-Fetch-Site": "cross-site"})
        login_raw(b'{"username":"demo","password":"demo"}', "cross-origin login (Origin)",
                  403, "invalid_request", {"Origin": "https://evil.example"})
        st, _, _ = s.request("POST", "/auth/login", {"username": "demo", "password": "demo"},
                             {"Origin": "http://127.0.0.1:%d" % s.port,
                              "Sec-Fetch-Site": "same-origin"})
        check(st == 200, "same-origin login (Origin = this host) → 200")
        login_raw(b'{"username":"demo","password":"' + b"x" * 17000 + b'"}',
                  "login body over 16 KiB", 413)

        # GET /api/me
        st, hl, b = s.request("GET", "/api/me", headers=bearer(at))
        check(st == 200, "/api/me with access token → 200, got %s %r" % (st, b))
        check(set(b) == {"sub", "iss", "aud", "exp", "iat", "jti"} and b["sub"] == "demo" and
              b["iss"] == "authgate-demo" and b["aud"] == "authgate-demo",
              "/api/me body shape %r" % b)
        seg = at.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4)))
        check(all(b.get(k) == claims[k] for k in ("sub", "iss", "exp", "iat", "jti")),
              "/api/me echoes the token's claims: %r vs %r" % (b, claims))
        st, hl, b = s.request("GET", "/api/me")
        check(st == 401 and header(hl, "WWW-Authenticate") == 'Bearer realm="authgate-demo"',
              "/api/me without credentials → 401, WWW-Authenticate without error (H-05): %r"
              % header(hl, "WWW-Authenticate"))
        for what, hdrs in [("tampered signature (V-09)", bearer(tamper(at))),
                           ("refresh token as access token (V-12)", bearer(rt)),
                           ("garbage token (V-03)", bearer("abc.def.ghi")),
                           ("alg none (V-01)", bearer("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")),
                           ("access cookie only (access from header only)",
                            {"Cookie": "__Host-access=" + at})]:
            st, hl, b = s.request("GET", "/api/me", headers=hdrs)
            check(st == 401, "/api/me %s → 401, got %s" % (what, st))
            www = header(hl, "WWW-Authenticate") or ""
            check(www.startswith('Bearer realm="authgate-demo"'), "%s: WWW-Authenticate" % what)
            if "cookie" not in what:
                check('error="invalid_token"' in www and b.get("error") == "invalid_token",
                      "%s: error=invalid_token" % what)
        st, hl, b = s.request("GET", "/api/me", headers={"Authorization": "Basic ZGVtbzpkZW1v"})
        check(st == 401 and 'error=' not in (header(hl, "WWW-Authenticate") or "x"),
              "/api/me with Basic → 401 without error (another scheme is no credential)")
        expect_error(s.request("GET", "/api/me", headers={"Authorization": "Bearer a b"}),
                     400, "invalid_request", "/api/me malformed Bearer (H-01)")

        # URL credentials → 400 on any endpoint (H-03)
        for name in URL_CREDENTIAL_NAMES:
            for method, path in [("GET", "/api/me"), ("GET", "/healthz"), ("GET", "/"),
                                 ("GET", "/.well-known/jwks.json"), ("POST", "/auth/refresh"),
                                 ("POST", "/auth/login"), ("GET", "/no-such-path")]:
                expect_error(s.request(method, "%s?%s=%s" % (path, name, at)), 400,
                             "invalid_request", "%s %s?%s= (H-03)" % (method, path, name))
        expect_error(s.request("GET", "/api/me?x=1&acc%65ss_token=abc", headers=bearer(at)), 400,
                     "invalid_request", "percent-encoded access_token name (H-03)")
        st, _, _ = s.request("GET", "/api/me?page=2", headers=bearer(at))
        check(st == 200, "an innocent query string is fine")

        # 404 and 405 + Allow
        expect_error(s.request("GET", "/nope"), 404, "invalid_request", "unknown path → 404")
        expect_error(s.request("GET", "/auth"), 404, "invalid_request", "/auth → 404")
        for method, path, allow in [("GET", "/auth/refresh", "POST"),
                                    ("GET", "/auth/login", "POST"),
                                    ("PUT", "/auth/logout", "POST"),
                                    ("DELETE", "/auth/logout-all", "POST"),
                                    ("POST", "/api/me", "GET"), ("POST", "/healthz", "GET"),
                                    ("POST", "/", "GET"),
                                    ("PUT", "/.well-known/jwks.json", "GET")]:
            res = s.request(method, path)
            expect_error(res, 405, "invalid_request", "%s %s → 405" % (method, path))
            got = [a.strip() for a in (header(res[1], "Allow") or "").split(",")]
            check(allow in got, "%s %s: Allow lists %s (got %r)" % (method, path, allow, got))


def group_refresh():
    with Server("--user", "alice:wonder", "--user", "bob:builder") as s:
        # header channel: successor in the body, no cookies
        b, _ = s.login("token", "alice", "wonder")
        r1 = b["refresh_token"]
        st, hl, b2 = s.request("POST", "/auth/refresh", headers=bearer(r1))
        check(st == 200 and b2.get("refresh_token") and b2.get("access_token") and
              b2.get("token_type") == "Bearer" and "refresh_expires_in" in b2,
              "refresh (header) → 200 with a new pair in the body: %r" % b2)
        check(header(hl, "Cache-Control") == "no-store" and not set_cookies(hl),
              "refresh (header): no-store, no cookie")
        r2 = b2["refresh_token"]
        check(r2 != r1, "rotation gives a new refresh token (R-01)")
        st, _, me = s.request("GET", "/api/me", headers=bearer(b2["access_token"]))
        check(st == 200 and me["sub"] == "alice", "new access token works")

        # reuse of the rotated token → 401 and the newest token dies too
        expect_error(s.request("POST", "/auth/refresh", headers=bearer(r1)), 401,
                     "invalid_grant", "reuse of a rotated refresh token")
        expect_error(s.request("POST", "/auth/refresh", headers=bearer(r2)), 401,
                     "invalid_grant", "newest token of a reused family (R-02)")

        # once the successor is used, the old token is reuse at once
        b, _ = s.login("token", "alice", "wonder")
        r1 = b["refresh_token"]
        st, _, b2 = s.request("POST", "/auth/refresh", headers=bearer(r1))
        st2, _, b3 = s.request("POST", "/auth/refresh", headers=bearer(b2["refresh_token"]))
        check(st == 200 and st2 == 200, "two rotations")
        expect_error(s.request("POST", "/auth/refresh", headers=bearer(r1)), 401,
                     "invalid_grant", "reuse of a token two rotations old")
        expect_error(s.request("POST", "/auth/refresh", headers=bearer(b3["refresh_token"])), 401,
                     "invalid_grant", "newest token of a reused family (R-02)")

        # logout-all with a rotated token is reuse of that family, not a switch
        # that ends every session of the account
        b, _ = s.login("token", "bob", "builder")
        r1 = b["refresh_token"]
        st, _, b2 = s.request("POST", "/auth/refresh", headers=bearer(r1))
        st3, _, b3 = s.request("POST", "/auth/refresh", headers=bearer(b2["refresh_token"]))
        other, _ = s.login("token", "bob", "builder")
        res = s.request("POST", "/auth/logout-all", headers=bearer(r1))
        check(res[0] == 401, "logout-all with a rotated token → 401 (got %s)" % res[0])
        st, _, _ = s.request("POST", "/auth/refresh", headers=bearer(other["refresh_token"]))
        check(st == 200, "the account's other session survives a stale logout-all")

        # failure codes
        b, _ = s.login("token", "alice", "wonder")
        rt, at = b["refresh_token"], b["access_token"]
        expect_error(s.request("POST", "/auth/refresh"), 401, "invalid_grant",
                     "refresh without a token")
        expect_error(s.request("POST", "/auth/refresh", headers=bearer(at)), 401,
                     "invalid_grant", "access token at /auth/refresh (V-12)")
        expect_error(s.request("POST", "/auth/refresh", headers=bearer(tamper(rt))), 401,
                     "invalid_grant", "tampered refresh token (V-09, R-04)")
        expect_error(s.request("POST", "/auth/refresh", headers=bearer("x.y.z")), 401,
                     "invalid_grant", "garbage refresh token")
        st, _, _ = s.request("POST", "/auth/refresh", headers=bearer(rt))
        check(st == 200, "a forged token carrying a live jti changed nothing (R-04)")

        # cookie channel
        b, ck = s.login("cookie", "alice", "wonder")
        csrf = b["csrf_token"]
        st, hl, b3 = s.request("POST", "/auth/refresh", headers=cookie_headers(ck, csrf))
        check(st == 200 and "refresh_token" not in b3 and b3.get("csrf_token"),
              "refresh (cookie) → 200, successor in the cookie only: %r" % b3)
        ck3 = set_cookies(hl)
        check(set(ck3) == {"__Host-refresh", "__Host-csrf"} and
              ck3["__Host-refresh"][0] != ck["__Host-refresh"][0] and
              "httponly" in ck3["__Host-refresh"][1], "refresh (cookie) sets new cookies")
        check(ck3["__Host-csrf"][0] == b3["csrf_token"], "new csrf_token equals its cookie")
        expect_error(s.request("POST", "/auth/refresh", headers=cookie_headers(ck3)), 403,
                     "invalid_request", "cookie without X-CSRF-Token (C-01)")
        expect_error(s.request("POST", "/auth/refresh",
                               headers=cookie_headers(ck3, "A" * 43)), 403,
                     "invalid_request", "wrong X-CSRF-Token (C-01)")
        h = cookie_headers(ck3, b3["csrf_token"])
        h["Sec-Fetch-Site"] = "cross-site"
        expect_error(s.request("POST", "/auth/refresh", headers=h), 403, "invalid_request",
                     "cookie refresh with Sec-Fetch-Site: cross-site (C-01)")
        # another session's matching csrf cookie + header pair (cookie tossing) (C-02)
        bb, ckb = s.login("cookie", "bob", "builder")
        mixed = {"__Host-refresh": ck3["__Host-refresh"], "__Host-csrf": ckb["__Host-csrf"]}
        expect_error(s.request("POST", "/auth/refresh",
                               headers=cookie_headers(mixed, bb["csrf_token"])), 403,
                     "invalid_request", "CSRF token of another session (C-02)")
        both = cookie_headers(ck3, b3["csrf_token"])
        both["Authorization"] = "Bearer " + rt
        expect_error(s.request("POST", "/auth/refresh", headers=both), 400, "invalid_request",
                     "cookie and Authorization at once (H-04)")
        st, _, _ = s.request("POST", "/auth/refresh", headers=cookie_headers(ck3, b3["csrf_token"]))
        check(st == 200, "cookie refresh still works after the refused attempts")

        # 16 concurrent refreshes of one token → exactly one 200
        b, _ = s.login("token", "bob", "builder")
        tok = b["refresh_token"]
        results = []
        barrier = threading.Barrier(16)

        def worker():
            barrier.wait()
            try:
                results.append(s.request("POST", "/auth/refresh", headers=bearer(tok))[0])
            except Exception as e:  # a dropped connection must fail the test
                results.append(repr(e))
        ts = [threading.Thread(target=worker) for _ in range(16)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        check(results.count(200) == 1 and results.count(401) == 15,
              "16 concurrent refreshes: exactly one 200, fifteen 401 (got %r)" % results)

        # logout (header channel): 204, family revoked
        b, _ = s.login("token", "alice", "wonder")
        st, hl, body = s.request("POST", "/auth/logout", headers=bearer(b["refresh_token"]))
        check(st == 204 and not body and not set_cookies(hl), "logout (header) → 204")
        expect_error(s.request("POST", "/auth/refresh", headers=bearer(b["refresh_token"])), 401,
                     "invalid_grant", "refresh after logout")
        expect_error(s.request("POST", "/auth/logout", headers=bearer(b["refresh_token"])), 401,
                     "invalid_grant", "logout twice")
        expect_error(s.request("POST", "/auth/logout"), 401, "invalid_grant", "logout, no token")
        expect_error(s.request("POST", "/auth/logout", headers=bearer(b["access_token"])), 401,
                     "invalid_grant", "logout with an access token")

        # logout (cookie channel): 204, both cookies cleared
        b, ck = s.login("cookie", "alice", "wonder")
        expect_error(s.request("POST", "/auth/logout", headers=cookie_headers(ck)), 403,
                     "invalid_request", "logout cookie without CSRF")
        st, hl, _ = s.request("POST", "/auth/logout", headers=cookie_headers(ck, b["csrf_token"]))
        cl = set_cookies(hl)
        check(st == 204 and set(cl) == {"__Host-refresh", "__Host-csrf"} and
              all(v[1].get("max-age") == "0" for v in cl.values()),
              "logout (cookie) → 204 clearing both cookies with Max-Age=0: %r" % cl)
        expect_error(s.request("POST", "/auth/refresh", headers=cookie_headers(ck, b["csrf_token"])),
                     401, "invalid_grant", "cookie refresh after logout")

        # logout-all: every family of the subject, no one else's
        a1, _ = s.login("token", "alice", "wonder")
        a2, a2ck = s.login("cookie", "alice", "wonder")
        b1, _ = s.login("token", "bob", "builder")
        st, _, _ = s.request("POST", "/auth/logout-all", headers=bearer(a1["refresh_token"]))
        check(st == 204, "logout-all → 204")
        expect_error(s.request("POST", "/auth/refresh", headers=bearer(a1["refresh_token"])), 401,
                     "invalid_grant", "logout-all: the calling session is revoked")
        expect_error(s.request("POST", "/auth/refresh",
                               headers=cookie_headers(a2ck, a2["csrf_token"])), 401,
                     "invalid_grant", "logout-all: the subject's other session is revoked")
        st, _, _ = s.request("POST", "/auth/refresh", headers=bearer(b1["refresh_token"]))
        check(st == 200, "logout-all leaves other subjects alone")
        expect_error(s.request("POST", "/auth/logout-all", headers=bearer(a1["refresh_token"])),
                     401, "invalid_grant", "logout-all with a revoked token")

    # expiry: short TTLs without leeway
    with Server("--access-ttl", "1", "--refresh-ttl", "2", "--leeway", "0") as s:
        b, _ = s.login("token")
        time.sleep(3.2)
        st, hl, _ = s.request("GET", "/api/me", headers=bearer(b["access_token"]))
        check(st == 401 and 'error="invalid_token"' in (header(hl, "WWW-Authenticate") or ""),
              "expired access token → 401 invalid_token (V-15)")
        expect_error(s.request("POST", "/auth/refresh", headers=bearer(b["refresh_token"])), 401,
                     "invalid_grant", "expired refresh token")


def group_retry():
    """--reuse-interval: a lost answer retried gets the same successor (R-08)."""
    with Server("--user", "alice:wonder", "--reuse-interval", "5") as s:
        b, _ = s.login("token", "alice", "wonder")
        r1 = b["refresh_token"]
        st, _, b2 = s.request("POST", "/auth/refresh", headers=bearer(r1))
        check(st == 200, "refresh → 200")
        r2 = b2["refresh_token"]
        st, _, b3 = s.request("POST", "/auth/refresh", headers=bearer(r1))
        same = lambda a, b: (json.loads(b64d(a.split(".")[1]))["jti"] ==
                             json.loads(b64d(b.split(".")[1]))["jti"])
        check(st == 200 and same(b3.get("refresh_token", "x.e30.x"), r2),
              "retry of a rotated token inside --reuse-interval → the same successor (jti)")
        # one replay only (--max-replays 1): the next one is reuse
        expect_error(s.request("POST", "/auth/refresh", headers=bearer(r1)), 401,
                     "invalid_grant", "second replay of a rotated refresh token is reuse")
        expect_error(s.request("POST", "/auth/refresh", headers=bearer(r2)), 401,
                     "invalid_grant", "newest token of a reused family (R-02)")
        # once the successor is used, the old token is reuse at once
        b, _ = s.login("token", "alice", "wonder")
        r1 = b["refresh_token"]
        st, _, b2 = s.request("POST", "/auth/refresh", headers=bearer(r1))
        st2, _, b3 = s.request("POST", "/auth/refresh", headers=bearer(b2["refresh_token"]))
        check(st == 200 and st2 == 200, "two rotations")
        expect_error(s.request("POST", "/auth/refresh", headers=bearer(r1)), 401,
                     "invalid_grant", "previous token after its successor was used is reuse")


def group_revoke():
    """Revocation reaches access tokens: at once on this instance, within a
    second on another instance sharing the SQLite file."""
    with Server("--user", "alice:wonder") as s:
        b, _ = s.login("token", "alice", "wonder")
        at = b["access_token"]
        st, _, _ = s.request("GET", "/api/me", headers=bearer(at))
        check(st == 200, "access token works before logout")
        st, _, _ = s.request("POST", "/auth/logout", headers=bearer(b["refresh_token"]))
        check(st == 204, "logout → 204")
        expect_error(s.request("GET", "/api/me", headers=bearer(at)), 401, "invalid_token",
                     "access token refused right after logout, same instance")
        # reuse detection refuses the family's outstanding access tokens too
        b, _ = s.login("token", "alice", "wonder")
        st, _, b2 = s.request("POST", "/auth/refresh", headers=bearer(b["refresh_token"]))
        check(st == 200, "refresh → 200")
        st, _, _ = s.request("POST", "/auth/refresh", headers=bearer(b["refresh_token"]))
        check(st == 401, "reuse → 401")
        for tok, what in ((b["access_token"], "the thief's"), (b2["access_token"], "the owner's")):
            expect_error(s.request("GET", "/api/me", headers=bearer(tok)), 401, "invalid_token",
                         "after reuse, %s access token is refused" % what)
    if DEFAULT_STORE == "memory":
        return
    work = tempfile.mkdtemp(prefix="agdemo-shared-")
    db = "sqlite:" + os.path.join(work, "shared.db")
    keys = os.path.join(work, "keys")
    a = Server("--user", "alice:wonder", workdir=work, store=db, key_dir=keys).start()
    b = Server("--user", "alice:wonder", workdir=work, store=db, key_dir=keys).start()
    try:
        delays = []
        for k in range(5):
            body, _ = a.login("token", "alice", "wonder")
            at = body["access_token"]
            st, _, me = b.request("GET", "/api/me", headers=bearer(at))
            check(st == 200, "instance B accepts A's access token")
            st, _, _ = a.request("POST", "/auth/logout", headers=bearer(body["refresh_token"]))
            t0 = time.time()
            check(st == 204, "logout on A → 204")
            while True:
                st, _, _ = b.request("GET", "/api/me", headers=bearer(at))
                if st == 401 or time.time() - t0 > 3:
                    break
                time.sleep(0.01)
            delays.append(time.time() - t0)
            check(st == 401, "instance B refuses it after the logout on A")
        check(max(delays) < 1.0, "within a second on B (delays %s)" %
              ", ".join("%.0f ms" % (d * 1e3) for d in delays))
        # logout-all on B reaches A
        body, _ = a.login("token", "alice", "wonder")
        other, _ = b.login("token", "alice", "wonder")
        st, _, _ = b.request("POST", "/auth/logout-all", headers=bearer(other["refresh_token"]))
        check(st == 204, "logout-all on B → 204")
        t0 = time.time()
        while time.time() - t0 < 3:
            st, _, _ = a.request("GET", "/api/me", headers=bearer(body["access_token"]))
            if st == 401:
                break
            time.sleep(0.01)
        check(st == 401, "logout-all on B refuses A's access token of that user")
    finally:
        a.stop()
        b.stop()
        shutil.rmtree(work, ignore_errors=True)


def group_sessions():
    """The page's endpoints: GET /api/sessions, POST /api/sessions/revoke,
    POST /demo/replay (docs/demo.md)."""
    with Server("--user", "alice:wonder", "--user", "bob:builder") as s:
        a1, _ = s.login("token", "alice", "wonder")
        a2, c2 = s.login("cookie", "alice", "wonder")
        bob, _ = s.login("token", "bob", "builder")
        st, _, b = s.request("POST", "/auth/refresh", headers=bearer(a1["refresh_token"]))
        check(st == 200, "refresh → 200")
        a1 = b
        st, hl, b = s.request("GET", "/api/sessions", headers=bearer(a1["access_token"]))
        check(st == 200 and header(hl, "Cache-Control") == "no-store",
              "GET /api/sessions → 200, no-store: %s %r" % (st, b))
        sids = [x["sid"] for x in b["sessions"]]
        mine = b["current"]
        check(b["sub"] == "alice" and b["total"] == 2 and len(sids) == 2 and mine in sids,
              "alice sees her two sessions, this one marked: %r" % b)
        cur = [x for x in b["sessions"] if x["sid"] == mine][0]
        other = [x for x in b["sessions"] if x["sid"] != mine][0]
        check(cur["current"] and not other["current"], "current flag")
        check(cur["generation"] == 1 and cur["last_rotated"] >= cur["created"] > 0 and
              other["generation"] == 0 and other["last_rotated"] == 0,
              "generation and last_rotated: %r" % b["sessions"])
        check(cur["idle_expires"] > b["now"] and cur["expires"] >= cur["idle_expires"],
              "expiry times after now")
        text = json.dumps(b)
        for tok in (a1["refresh_token"], a1["access_token"], a2["access_token"]):
            check(tok not in text and tok.split(".")[2] not in text, "no token in the listing")
        check("jti" not in text and "hash" not in text, "no jti or hash in the listing")
        st, _, _ = s.request("GET", "/api/sessions")
        check(st == 401, "GET /api/sessions without a token → 401")
        st, _, _ = s.request("GET", "/api/sessions", headers=cookie_headers(c2))
        check(st == 401, "the refresh cookie is no credential for /api/sessions")

        # revoke: only one's own sessions, by sid
        rv = lambda tok, body: s.request("POST", "/api/sessions/revoke", body,
                                          headers=bearer(tok))
        st, _, _ = rv(bob["access_token"], {"sid": other["sid"]})
        check(st == 404, "bob cannot revoke alice's session → 404")
        expect_error(rv(a1["access_token"], {"sid": other["sid"], "x": 1}), 400,
                     "invalid_request", "revoke with an unknown field")
        expect_error(rv(a1["access_token"], {"sid": ""}), 400, "invalid_request",
                     "revoke with an empty sid")
        st, _, _ = s.request("POST", "/api/sessions/revoke", {"sid": other["sid"]})
        check(st == 401, "revoke without a token → 401")
        st, _, _ = rv(a1["access_token"], {"sid": other["sid"]})
        check(st == 204, "alice revokes her other session → 204")
        st, _, _ = rv(a1["access_token"], {"sid": other["sid"]})
        check(st == 404, "revoking it again → 404 (no longer live)")
        expect_error(s.request("GET", "/api/me", headers=bearer(a2["access_token"])), 401,
                     "invalid_token", "the revoked session's access token is refused at once")
        st, _, _ = s.request("POST", "/auth/refresh", headers=cookie_headers(
            c2, c2["__Host-csrf"][0]))
        check(st == 401, "the revoked session's refresh cookie is refused")
        st, _, b = s.request("GET", "/api/sessions", headers=bearer(a1["access_token"]))
        check(st == 200 and [x["sid"] for x in b["sessions"]] == [mine], "one session left")
        st, _, b = s.request("GET", "/api/sessions", headers=bearer(bob["access_token"]))
        check(st == 200 and b["total"] == 1, "bob still has his")

        # the replay lesson, cookie mode as the page does it
        a3, c3 = s.login("cookie", "alice", "wonder")
        st, _, _ = s.request("POST", "/demo/replay", {}, headers=cookie_headers(c3))
        check(st == 403, "replay without X-CSRF-Token → 403")
        st, _, b = s.request("POST", "/demo/replay", {},
                             headers=cookie_headers(c3, c3["__Host-csrf"][0]))
        check(st == 200 and b["outcome"] == "reuse_detected" and b["session"] == "revoked",
              "replay → reuse detected, session revoked: %s %r" % (st, b))
        check([x["outcome"] for x in b["steps"]] == ["ok", "reused", "revoked"],
              "steps: rotated, reuse, newest refused: %r" % b["steps"])
        check(c3["__Host-refresh"][0] not in json.dumps(b), "no token in the replay answer")
        expect_error(s.request("GET", "/api/me", headers=bearer(a3["access_token"])), 401,
                     "invalid_token", "after the replay the access token is refused")
        st, _, _ = s.request("POST", "/demo/replay", {},
                             headers=cookie_headers(c3, c3["__Host-csrf"][0]))
        check(st == 401, "replay of an ended session → 401")
        st, _, b = s.request("GET", "/api/sessions", headers=bearer(a1["access_token"]))
        check(st == 200 and b["total"] == 1, "the replayed session is gone from the list")
    # with a reuse interval, the retries it allows are shown before the reuse
    with Server("--reuse-interval", "10", "--max-replays", "2") as s:
        tok, _ = s.login("token")
        st, _, b = s.request("POST", "/demo/replay", {}, headers=bearer(tok["refresh_token"]))
        check(st == 200 and [x["outcome"] for x in b["steps"]] ==
              ["ok", "ok", "ok", "reused", "revoked"],
              "two allowed retries, then reuse: %s %r" % (st, b))


def group_raw():
    with Server() as s:
        b, ck = s.login("token")
        at, rt = b["access_token"], b["refresh_token"]
        host = "Host: 127.0.0.1:%d\r\n" % s.port

        def raw(method, path, hdrs, body=b""):
            return s.raw(("%s %s HTTP/1.1\r\n%s%sContent-Length: %d\r\nConnection: close\r\n\r\n"
                          % (method, path, host, hdrs, len(body))).encode() + body)

        # duplicate Authorization headers → 400 (H-02, M-01)
        st, _, body = raw("GET", "/api/me", "Authorization: Bearer %s\r\nAuthorization: Bearer %s\r\n"
                          % (at, at))
        check(st == 400 and json.loads(body)["error"] == "invalid_request",
              "/api/me with two Authorization fields → 400 (H-02)")
        st, _, _ = raw("POST", "/auth/refresh", "Authorization: Bearer %s\r\nAuthorization: Bearer %s\r\n"
                       % (rt, rt))
        check(st == 400, "/auth/refresh with two Authorization fields → 400 (H-02)")
        st, _, _ = raw("GET", "/api/me", "Authorization: Bearer %s, Bearer %s\r\n" % (at, at))
        check(st == 400, "comma-combined Authorization → 400 (H-02)")
        st, _, _ = raw("GET", "/api/me", "Authorization: Bearer %s\r\n" % at)
        check(st == 200, "raw single Authorization → 200")

        # duplicate cookies → 400 (H-07, H-08)
        c, cck = s.login("cookie")
        rv, cv = cck["__Host-refresh"][0], cck["__Host-csrf"][0]
        csrf = "X-CSRF-Token: %s\r\n" % c["csrf_token"]
        st, _, _ = raw("POST", "/auth/refresh", csrf +
                       "Cookie: __Host-refresh=%s; __Host-refresh=%s; __Host-csrf=%s\r\n" % (rv, rv, cv))
        check(st == 400, "same refresh cookie twice in one field → 400 (H-07)")
        st, _, _ = raw("POST", "/auth/refresh", csrf + "Cookie: __Host-refresh=%s; __Host-csrf=%s\r\n"
                       "Cookie: __Host-refresh=%s\r\n" % (rv, cv, rv))
        check(st == 400, "refresh cookie in two Cookie fields → 400 (H-07, H-08)")
        st, _, _ = raw("POST", "/auth/refresh", csrf + "Cookie: __Host-refresh=%s; __Host-csrf=%s\r\n"
                       "Cookie: __Host-csrf=%s\r\n" % (rv, cv, cv))
        check(st in (400, 403), "csrf cookie twice → refused (got %d)" % st)
        st, _, _ = raw("POST", "/auth/refresh", csrf + "Cookie: __Host-refresh=%s; __Host-csrf=%s\r\n"
                       % (rv, cv))
        check(st == 200, "raw cookie refresh → 200 after the refused attempts")

        # 1 MiB body → 413, server still answering
        big = b"{" + b" " * (1 << 20) + b"}"
        st, _, _ = s.request("POST", "/auth/login", big, {"Content-Type": "application/json"})
        check(st == 413, "1 MiB body → 413 (got %d)" % st)
        st, _, _ = raw("POST", "/auth/login", "Content-Type: application/json\r\n", big)
        check(st == 413, "1 MiB raw body → 413")
        st, _, _ = s.raw(("POST /auth/login HTTP/1.1\r\n%sContent-Length: %d\r\n"
                          "Expect: 100-continue\r\n\r\n" % (host, 1 << 20)).encode())
        check(st == 413, "1 MiB announced with Expect: 100-continue → 413 before the body")
        st, _, _ = s.raw(("POST /auth/login HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n"
                          % (host, 1 << 30)).encode())
        check(st == 413, "1 GiB announced → 413 at once")
        chunked = b"".join(b"4000\r\n" + b"a" * 0x4000 + b"\r\n" for _ in range(8)) + b"0\r\n\r\n"
        st, _, _ = s.raw(("POST /auth/login HTTP/1.1\r\n%sTransfer-Encoding: chunked\r\n\r\n"
                          % host).encode() + chunked)
        check(st == 413, "128 KiB chunked body → 413")
        st, _, _ = s.request("GET", "/healthz")
        check(st == 200, "server still answers after oversized bodies")
        st, _, _ = s.request("POST", "/auth/login", b'{"username":"demo","password":"demo","session":"token"}'
                             + b" " * 16000, {"Content-Type": "application/json"})
        check(st == 200, "a body just under 16 KiB is accepted")

        # HTTP/1.1 without Host → 400 (STRICT_FOR_CLIENT, M-06)
        st, _, _ = s.raw(b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")
        check(st == 400, "HTTP/1.1 without Host → 400 (M-06)")
        st, _, _ = s.request("GET", "/healthz")
        check(st == 200, "server healthy at the end")


def group_restart():
    work = tempfile.mkdtemp(prefix="agdemo-restart-")
    try:
        s = Server(workdir=work).start()
        b, _ = s.login("token")
        c, cck = s.login("cookie")
        jwks1 = s.request("GET", "/.well-known/jwks.json")[2]
        rc = s.stop(signal.SIGTERM)
        check(rc == 0, "SIGTERM → exit 0 (got %s)" % rc)
        keys = os.path.join(work, "keys")
        check(os.stat(keys).st_mode & 0o777 == 0o700, "key dir mode 0700")
        for f in os.listdir(keys):
            check(os.stat(os.path.join(keys, f)).st_mode & 0o777 == 0o600, "%s mode 0600" % f)
            with open(os.path.join(keys, f)) as fh:
                jwk = json.load(fh)
            check("d" in jwk or "k" in jwk, "%s is a private JWK" % f)

        s = Server(workdir=work).start()
        check(s.request("GET", "/.well-known/jwks.json")[2] == jwks1, "same JWKS after restart")
        st, _, me = s.request("GET", "/api/me", headers=bearer(b["access_token"]))
        check(st == 200 and me["sub"] == "demo", "access token valid after restart")
        st, _, b2 = s.request("POST", "/auth/refresh", headers=bearer(b["refresh_token"]))
        check(st == 200, "refresh works after restart (SQLite store, same keys)")
        st, _, _ = s.request("POST", "/auth/refresh", headers=cookie_headers(cck, c["csrf_token"]))
        check(st == 200, "cookie session (CSRF secret) survives restart")
        rc = s.stop(signal.SIGINT)
        check(rc == 0, "SIGINT → exit 0 (got %s)" % rc)

        # nothing lost: the rotation of the previous run is still known
        # (no retry window here: the replay must be reuse however fast the restart was)
        s = Server("--reuse-interval", "0", workdir=work).start()
        expect_error(s.request("POST", "/auth/refresh", headers=bearer(b["refresh_token"])), 401,
                     "invalid_grant", "reuse across a restart is still detected (R-01)")
        expect_error(s.request("POST", "/auth/refresh", headers=bearer(b2["refresh_token"])), 401,
                     "invalid_grant", "newest token dead after reuse across restart (R-02)")
        check(s.stop() == 0, "SIGTERM → exit 0")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    # memory store: tokens are verifiable after restart but refresh needs the store
    with Server(store="memory") as s:
        s.login("token")


def group_algs():
    # Every algorithm of the contract works end to end. One pool thread, so
    # that one thread verifies with both keys of a kind (access, refresh):
    # per-thread crypto caches must not mix them up.
    bad = []
    for alg in ["ES256", "EdDSA", "HS256", "RS256", "PS256", "ES384"]:
        try:
            one_alg(alg)
        except Fail as e:
            bad.append("%s: %s" % (alg, e))
    check(not bad, "algorithms failing: %s" % "; ".join(bad))


def one_alg(alg):
    with Server("--alg", alg, "--threads", "1", store="memory") as s:
        b, _ = s.login("token")
        st, _, _ = s.request("GET", "/api/me", headers=bearer(b["access_token"]))
        check(st == 200, "%s: /api/me → 200" % alg)
        st, _, b2 = s.request("POST", "/auth/refresh", headers=bearer(b["refresh_token"]))
        check(st == 200, "%s: refresh after /api/me on the same thread → 200, got %s %r"
              % (alg, st, b2))
        keys = s.request("GET", "/.well-known/jwks.json")[2]["keys"]
        if alg == "HS256":
            check(keys == [], "HS256: JWKS is empty (no public form)")
        else:
            check(len(keys) == 1 and keys[0]["alg"] == alg, "%s: JWKS alg" % alg)
        h = json.loads(b64d(b["access_token"].split(".")[0]))
        hr = json.loads(b64d(b["refresh_token"].split(".")[0]))
        check(h["typ"] == "at+jwt" and hr["typ"] == "rt+jwt", "%s: explicit typ (V-12)" % alg)
        check(h["kid"] != hr["kid"], "%s: separate access and refresh keys (I-01)" % alg)


def group_cache():
    # --verify-cache: a repeated access token skips its signature check but
    # not its checks: tampered tokens still fail, and a cached token still
    # expires on time (V-15).
    with Server("--alg", "ES256", "--access-ttl", "2", "--leeway", "0", "--verify-cache", "16",
                store="memory") as s:
        b, _ = s.login("token")
        at = b["access_token"]
        for i in range(3):
            st, _, me = s.request("GET", "/api/me", headers=bearer(at))
            check(st == 200 and me.get("sub") == "demo", "cached /api/me #%d → 200" % i)
        st, _, _ = s.request("GET", "/api/me", headers=bearer(tamper(at)))
        check(st == 401, "tampered token with a cache → 401, got %s" % st)
        exp = json.loads(b64d(at.split(".")[1]))["exp"]
        time.sleep(max(0.0, exp - time.time()) + 1.2)
        st, _, _ = s.request("GET", "/api/me", headers=bearer(at))
        check(st == 401, "cached token after exp → 401, got %s" % st)


def group_keys():
    work = tempfile.mkdtemp(prefix="agdemo-keys-")
    try:
        keys = os.path.join(work, "keys")
        with Server(store="memory", workdir=work):
            pass
        # mismatched algorithm
        rc, out, err = Server("--alg", "EdDSA", store="memory", workdir=work).start(expect_ok=False)
        check(rc != 0 and "ES256" in err and "EdDSA" in err,
              "key dir for ES256 with --alg EdDSA refuses to start: %r" % err)
        # a key file others can read
        os.chmod(os.path.join(keys, "access.jwk"), 0o644)
        rc, out, err = Server(store="memory", workdir=work).start(expect_ok=False)
        check(rc != 0 and "access.jwk" in err, "group/other-readable key refused: %r" % err)
        os.chmod(os.path.join(keys, "access.jwk"), 0o600)
        # unreadable (malformed) key
        with open(os.path.join(keys, "refresh.jwk"), "w") as fh:
            fh.write("not a jwk")
        rc, out, err = Server(store="memory", workdir=work).start(expect_ok=False)
        check(rc != 0 and "refresh.jwk" in err, "malformed key refused: %r" % err)
        # weak key: a 16-byte HS256 secret (V-17)
        shutil.rmtree(keys)
        with Server("--alg", "HS256", store="memory", workdir=work):
            pass
        with open(os.path.join(keys, "access.jwk"), "w") as fh:
            json.dump({"kty": "oct", "alg": "HS256", "kid": "weak", "k": "AAAAAAAAAAAAAAAAAAAAAA"},
                      fh)
        rc, out, err = Server("--alg", "HS256", store="memory", workdir=work).start(expect_ok=False)
        check(rc != 0 and "weak" in err, "weak HS256 key refused (V-17): %r" % err)
        # weak server secret
        shutil.rmtree(keys)
        with Server(store="memory", workdir=work):
            pass
        with open(os.path.join(keys, "secret.jwk"), "w") as fh:
            json.dump({"kty": "oct", "k": "AAAA"}, fh)
        rc, out, err = Server(store="memory", workdir=work).start(expect_ok=False)
        check(rc != 0 and "secret.jwk" in err, "short server secret refused: %r" % err)
        # incomplete key dir
        os.unlink(os.path.join(keys, "secret.jwk"))
        rc, out, err = Server(store="memory", workdir=work).start(expect_ok=False)
        check(rc != 0 and "incomplete" in err, "incomplete key dir refused: %r" % err)
        # key dir open to others
        shutil.rmtree(keys)
        os.mkdir(keys, 0o755)
        os.chmod(keys, 0o755)
        rc, out, err = Server(store="memory", workdir=work).start(expect_ok=False)
        check(rc != 0 and "chmod 700" in err, "key dir mode 0755 refused: %r" % err)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    # stores and flags
    # an unreachable database (or a build without PostgreSQL): a clear error
    # that names the store but never echoes the conninfo
    rc, out, err = Server(store="postgres:host=/nonexistent").start(expect_ok=False)
    check(rc != 0 and ("PostgreSQL" in err or "cannot open store postgres:" in err)
          and "/nonexistent" not in err + out, "postgres store: clear error: %r" % err)
    for bad in [["--alg", "none"], ["--alg", "HS512"], ["--threads", "0"], ["--access-ttl", "x"],
                ["--user", "nopassword"], ["--store", "redis:x"], ["--bogus", "1"],
                ["--listen"], ["--verify-cache", "-1"], ["--verify-cache", "65537"],
                ["--verify-cache", "x"]]:
        rc, out, err = Server(*bad, store=None).start(expect_ok=False)
        check(rc == 2 and "usage" in err, "usage error %r → exit 2" % bad)
    rc, out, err = Server("--listen", "not-an-address", store="memory").start(expect_ok=False)
    check(rc != 0 and "--listen" in err, "bad --listen refused")


def b64d(s):
    import base64
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

def group_rotate():
    """Signing keys rotate without a restart: on SIGHUP and on --rotate-every.
    New kids sign at once, tokens of the previous keys still verify, the JWKS
    lists current and previous public keys with a max-age that fits."""
    def kid_of(tok):
        h = tok.split(".")[0]
        return json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))["kid"]

    def wait_line(s, prefix, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            line = s.proc.stdout.readline()
            if not line:
                break
            s.stdout_lines.append(line.rstrip("\n"))
            if line.startswith(prefix):
                return line
        raise Fail("no %r line within %d s" % (prefix, timeout))

    with Server(store="memory") as s:
        st, hl, jwks = s.request("GET", "/.well-known/jwks.json")
        check(st == 200 and len(jwks["keys"]) == 1, "one public key before rotation: %r" % jwks)
        check(header(hl, "Cache-Control") == "public, max-age=300",
              "JWKS cacheable for 5 min without a timer: %r" % header(hl, "Cache-Control"))
        b1, c1 = s.login(mode="token")
        old_at, old_rt = b1["access_token"], b1["refresh_token"]
        kid1 = kid_of(old_at)
        time.sleep(1.1)  # rotated key files are named by the second
        s.proc.send_signal(signal.SIGHUP)
        wait_line(s, "keys reloaded:")
        check(len(os.listdir(s.key_dir)) == 5, "a new access and refresh key file: %r"
              % sorted(os.listdir(s.key_dir)))
        st, hl, jwks = s.request("GET", "/.well-known/jwks.json")
        kids = [k["kid"] for k in jwks["keys"]]
        check(len(kids) == 2 and kids[0] == kid1, "JWKS: previous and current key: %r" % kids)
        # the old access token still verifies; a new login signs with the new key
        st, _, me = s.request("GET", "/api/me", headers=bearer(old_at))
        check(st == 200, "access token of the previous key still valid: %s %r" % (st, me))
        b2, _ = s.login(mode="token")
        check(kid_of(b2["access_token"]) == kids[1], "new tokens carry the new kid")
        check(kid_of(b2["refresh_token"]) != kid_of(old_rt), "refresh key rotated too")
        st, _, _ = s.request("GET", "/api/me", headers=bearer(b2["access_token"]))
        check(st == 200, "access token of the new key valid")
        # a refresh token of the previous key still refreshes, into the new key
        st, _, b3 = s.request("POST", "/auth/refresh", headers=bearer(old_rt))
        check(st == 200 and kid_of(b3["refresh_token"]) == kid_of(b2["refresh_token"]),
              "old refresh token rotates into the new key: %s %r" % (st, b3))

    # the timer: --rotate-every 10 (the smallest) rotates without a signal
    with Server("--rotate-every", "10", store="memory") as s:
        st, hl, jwks = s.request("GET", "/.well-known/jwks.json")
        check(header(hl, "Cache-Control") == "public, max-age=60",
              "max-age follows the rotation period (clamped): %r" % header(hl, "Cache-Control"))
        kid1 = jwks["keys"][0]["kid"]
        wait_line(s, "keys reloaded:", timeout=40)
        kids = [k["kid"] for k in s.request("GET", "/.well-known/jwks.json")[2]["keys"]]
        check(len(kids) == 2 and kids[0] == kid1, "timer rotation adds a key: %r" % kids)
    for bad in (["--rotate-every", "5"], ["--rotate-every", "x"]):
        rc, out, err = Server(*bad, store=None).start(expect_ok=False)
        check(rc == 2 and "--rotate-every" in err, "%r refused: %r" % (bad, err))


# ---------------------------------------------------------------- metrics

def fetch_metrics(s):
    """GET /metrics → (text, {series: value}) of its sample lines."""
    st, hl, body = s.request("GET", "/metrics")
    check(st == 200, "GET /metrics → 200, got %s" % st)
    check((header(hl, "Content-Type") or "").startswith("text/plain; version=0.0.4"),
          "/metrics: Prometheus text content type, got %r" % header(hl, "Content-Type"))
    text = body.decode("utf-8") if isinstance(body, bytes) else json.dumps(body)
    series = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            check(name not in series, "/metrics: series %s appears once" % name)
            series[name] = float(value)
    return text, series


def group_metrics():
    """GET /metrics: known traffic moves exactly its counters; promtool accepts it."""
    kd = tempfile.mkdtemp(prefix="agdemo-keys-")
    try:
        with Server("--user", "alice:wonder", "--access-ttl", "1", "--leeway", "0",
                    store="memory", key_dir=kd) as s, \
             Server("--user", "alice:wonder", "--audience", "elsewhere", store="memory",
                    key_dir=kd) as other:
            a, _ = s.login("token", "alice", "wonder")
            r1 = a["refresh_token"]
            st, _, b2 = s.request("POST", "/auth/refresh", headers=bearer(r1))
            check(st == 200, "refresh → 200")
            # the same keys, another audience: signed right, meant for someone else
            elsewhere, _ = other.login("token", "alice", "wonder")
            time.sleep(2.2)  # the access token (ttl 1 s, no leeway) has expired

            _, before = fetch_metrics(s)
            for _ in range(3):
                st, _, _ = s.request("GET", "/api/me", headers=bearer(a["access_token"]))
                check(st == 401, "expired access token → 401")
            for _ in range(2):
                st, _, _ = s.request("GET", "/api/me", headers=bearer(elsewhere["access_token"]))
                check(st == 401, "access token of another audience → 401")
            expect_error(s.request("POST", "/auth/refresh", headers=bearer(r1)), 401,
                         "invalid_grant", "reuse of a rotated refresh token")
            text, after = fetch_metrics(s)
            # the same traffic in the event log (the scan for credentials
            # runs when the server stops)
            with open(s.event_log) as f:
                ev = f.read()
            for want in ["type=verify_refused err=AG_ERR_EXPIRED", "type=verify_refused err=AG_ERR_CLAIM",
                         "type=reuse_detected", "type=family_revoked"]:
                check(want in ev, "event log has %r: %r" % (want, ev[-600:]))

            moved = {k: after.get(k, 0) - before.get(k, 0) for k in set(before) | set(after)
                     if not k.split("{")[0].endswith(("_bucket", "_sum", "_count"))}
            moved = {k: v for k, v in moved.items() if v != 0}
            want = {
                'authgate_verify_total{result="expired",cause="exp"}': 3,
                'authgate_verify_total{result="claim",cause="aud"}': 2,
                # the reused token itself verifies, twice: the demo checks it (and
                # its CSRF binding) before ag_session_refresh verifies it again;
                # the store then finds it rotated
                'authgate_verify_total{result="ok",cause="none"}': 2,
                'authgate_refresh_total{result="reused"}': 1,
                'authgate_sessions_revoked_total{reason="reuse"}': 1,
                'authgate_store_operations_total{op="rotate",result="reused"}': 1,
            }
            check(moved == want, "/metrics moved exactly %r, got %r" % (want, moved))
            count = lambda m, k: m.get(k, 0)
            check(count(after, "authgate_refresh_duration_seconds_count") -
                  count(before, "authgate_refresh_duration_seconds_count") == 1,
                  "one more refresh timed")
            check(count(after, 'authgate_store_duration_seconds_count{op="rotate"}') -
                  count(before, 'authgate_store_duration_seconds_count{op="rotate"}') == 1,
                  "one more store rotation timed")
            for secret in ["wonder", r1, b2["refresh_token"], a["access_token"],
                           elsewhere["access_token"], r1.split(".")[2][:16]]:
                check(secret not in text, "/metrics holds no password or token")
            st, _, _ = s.request("POST", "/metrics")
            check(st == 405, "POST /metrics → 405")

            promtool = shutil.which("promtool")
            check(promtool is not None,
                  "promtool not found: apt-get install prometheus (scripts/test installs it)")
            p = subprocess.run([promtool, "check", "metrics"], input=text, text=True,
                               capture_output=True, timeout=60)
            check(p.returncode == 0, "promtool check metrics: rc=%d %s%s"
                  % (p.returncode, p.stdout, p.stderr))
    finally:
        shutil.rmtree(kd, ignore_errors=True)
# ---------------------------------------------------------------- the door

def proc_cpu_seconds(pid):
    """utime + stime of the whole process, from /proc/PID/stat."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def group_door():
    """415 for non-JSON bodies, no error code without credentials (RFC 6750
    §3.1), URL credentials behind ';', a sibling's malformed cookie."""
    with Server() as s:
        body = json.dumps({"username": "demo", "password": "demo", "session": "token"}).encode()
        for ctype in ["application/json", "application/json; charset=utf-8",
                      "Application/JSON;charset=UTF-8", 'application/json; charset="utf-8"']:
            st, _, b = s.request("POST", "/auth/login", body, {"Content-Type": ctype})
            check(st == 200, "login with Content-Type %r → 200, got %s %r" % (ctype, st, b))
        for ctype in [None, "text/plain", "application/x-www-form-urlencoded",
                      "multipart/form-data; boundary=x", "application/jsonx",
                      "application/json; charset=latin1", "application/json; x=1",
                      "text/json"]:
            hdrs = {"Content-Type": ctype} if ctype else {}
            expect_error(s.request("POST", "/auth/login", body, hdrs), 415, "invalid_request",
                         "login with Content-Type %r" % ctype)
        expect_error(s.request("POST", "/auth/login", b"", {}), 415, "invalid_request",
                     "login without a body or Content-Type")
        b, _ = s.login("token")
        rt = b["refresh_token"]
        expect_error(s.request("POST", "/auth/refresh", b"x=1",
                               dict(bearer(rt), **{"Content-Type": "text/plain"})),
                     415, "invalid_request", "refresh with a text/plain body")
        host = "Host: 127.0.0.1:%d\r\n" % s.port
        st, _, _ = s.raw(("POST /auth/login HTTP/1.1\r\n%sContent-Type: application/json\r\n"
                          "Content-Type: text/plain\r\nContent-Length: %d\r\nConnection: close"
                          "\r\n\r\n" % (host, len(body))).encode() + body)
        check(st == 415, "two Content-Type fields → 415 (got %d)" % st)
        st, _, b2 = s.request("POST", "/auth/refresh", headers=bearer(rt))
        check(st == 200, "refresh without a body still → 200, got %s %r" % (st, b2))
        at, rt = b2["access_token"], b2["refresh_token"]

        # no credentials: no error code in the body either (RFC 6750 §3.1)
        for what, hdrs in [("nothing", {}), ("Basic", {"Authorization": "Basic ZGVtbzpkZW1v"})]:
            st, hl, b = s.request("GET", "/api/me", headers=hdrs)
            check(st == 401 and header(hl, "WWW-Authenticate") == 'Bearer realm="authgate-demo"',
                  "/api/me with %s → 401 without error in WWW-Authenticate" % what)
            check(isinstance(b, dict) and "error" not in b and
                  isinstance(b.get("error_description"), str),
                  "/api/me with %s: body without error code, got %r" % (what, b))
        st, hl, b = s.request("GET", "/api/me", headers=bearer(tamper(at)))
        check(st == 401 and b.get("error") == "invalid_token", "a bad token still names its error")

        # URL credentials behind ';' (MHD splits only on '&'; H-03)
        for path in ["/api/me?a=1;access_token=x", "/healthz?a=1;JWT=1", "/healthz?x;token=1",
                     "/?a=1;b=2;id_token"]:
            expect_error(s.request("GET", path, headers=bearer(at)), 400, "invalid_request",
                         "GET %s (H-03)" % path)
        st, _, _ = s.request("GET", "/api/me?a=1;b=token", headers=bearer(at))
        check(st == 200, "an innocent ';' query is fine")

        # a sibling subdomain's malformed cookie is not ours: skipped
        c, ck = s.login("cookie")
        rv, cv, csrf = ck["__Host-refresh"][0], ck["__Host-csrf"][0], c["csrf_token"]
        st, hl, b = s.request("POST", "/auth/refresh", headers={
            "Cookie": "x=a,b; __Host-refresh=%s; __Host-csrf=%s" % (rv, cv),
            "X-CSRF-Token": csrf})
        check(st == 200, "refresh with a foreign x=a,b cookie → 200, got %s %r" % (st, b))
        ck = set_cookies(hl)
        rv, cv, csrf = ck["__Host-refresh"][0], ck["__Host-csrf"][0], b["csrf_token"]
        st, _, b = s.raw(("POST /auth/refresh HTTP/1.1\r\n%sCookie: __Host-refresh=%s,x; "
                          "__Host-csrf=%s\r\nX-CSRF-Token: %s\r\nContent-Length: 0\r\n"
                          "Connection: close\r\n\r\n" % (host, rv, cv, csrf)).encode())
        check(st == 400, "our own cookie malformed → 400 (got %d)" % st)
        st, _, _ = s.raw(("POST /auth/logout HTTP/1.1\r\n%sCookie: __Host-refresh=%s; "
                          "__Host-csrf=%s\r\nCookie: x=a,b; =junk\r\nX-CSRF-Token: %s\r\n"
                          "Content-Length: 0\r\nConnection: close\r\n\r\n"
                          % (host, rv, cv, csrf)).encode())
        check(st == 204, "logout with a foreign malformed Cookie field → 204 (got %d)" % st)


def group_accesslog():
    """One line per request with method, path, status, latency, reason on
    refusal; never a password, token, cookie value or query string."""
    work = tempfile.mkdtemp(prefix="agdemo-log-")
    log = os.path.join(work, "access.log")
    try:
        with Server("--user", "alice:wonderland", "--access-log", log, workdir=work) as s:
            b, _ = s.login("token", "alice", "wonderland")
            at, rt = b["access_token"], b["refresh_token"]
            c, ck = s.login("cookie", "alice", "wonderland")
            sent = [
                ("GET", "/healthz", None, {}, 200, None),
                ("GET", "/api/me", None, bearer(at), 200, None),
                ("GET", "/api/me", None, {}, 401, "AG_ERR_NO_CREDENTIALS"),
                ("GET", "/api/me", None, bearer(tamper(at)), 401, "AG_ERR_SIGNATURE"),
                ("GET", "/api/me?access_token=" + at, None, {}, 400, "AG_ERR_URL_CREDENTIALS"),
                ("GET", "/api/me?page=2&secretq=1", None, bearer(at), 200, None),
                ("POST", "/auth/login", {"username": "alice", "password": "wrongpass1"}, {},
                 401, "bad_password"),
                ("POST", "/auth/login", b"x", {"Content-Type": "text/plain"}, 415, "media_type"),
                ("GET", "/nope", None, {}, 404, "not_found"),
                ("PUT", "/healthz", None, {}, 405, "method"),
                ("POST", "/auth/refresh", None, {
                    "Cookie": "__Host-refresh=%s; __Host-csrf=%s" % (ck["__Host-refresh"][0],
                                                                     ck["__Host-csrf"][0])},
                 403, "AG_ERR_CSRF"),
                ("POST", "/auth/refresh", None, bearer(rt), 200, None),
                ("POST", "/auth/refresh", None, bearer(rt), 401, "AG_ERR_REUSED"),
            ]
            for method, path, body, hdrs, want, _ in sent:
                st, _, _ = s.request(method, path, body, hdrs)
                check(st == want, "%s %s → %d, got %d" % (method, path, want, st))
            total = 2 + len(sent)
            deadline = time.time() + 10
            lines = []
            while time.time() < deadline:
                with open(log) as f:
                    lines = f.read().splitlines()
                if len(lines) >= total:
                    break
                time.sleep(0.05)
        check(len(lines) == total, "one line per request: %d lines for %d requests:\n%s"
              % (len(lines), total, "\n".join(lines)))
        parsed = []
        for l in lines:
            kv = dict(p.split("=", 1) for p in l.split()[2:] if "=" in p)
            check(l.split()[1] == "access" and "T" in l.split()[0], "line shape: %r" % l)
            check(kv.get("client") == "127.0.0.1" and "ms" in kv and float(kv["ms"]) >= 0,
                  "client and latency: %r" % l)
            parsed.append(kv)
        # lines are written as requests complete, on any pool thread: match
        # them as a multiset, not in order
        want_lines = [("POST", "/auth/login", "200", None)] * 2 + [
            (m, p.split("?")[0], str(st), reason) for m, p, _, _, st, reason in sent]
        got_lines = [(kv.get("method"), kv.get("path"), kv.get("status"), kv.get("reason"))
                     for kv in parsed]
        for w in want_lines:
            check(w in got_lines, "a log line %r among %r" % (w, got_lines))
            got_lines.remove(w)
        text = "\n".join(lines)
        secrets = [at, rt, c["access_token"], c["csrf_token"], ck["__Host-refresh"][0],
                   "wonderland", "wrongpass1", "secretq", "?"]
        for sec in secrets:
            check(sec not in text, "the access log holds no secret or query (%r...)" % sec[:12])

        # --access-log - writes to stderr
        s2 = Server("--access-log", "-").start()
        s2.request("GET", "/healthz")
        time.sleep(0.3)
        s2.proc.send_signal(signal.SIGTERM)
        _, err = s2.proc.communicate(timeout=60)
        rc, s2.proc = s2.proc.returncode, None
        s2.cleanup()
        check(rc == 0 and "access client=127.0.0.1 method=GET path=/healthz status=200" in err,
              "--access-log - logs to stderr: %r" % err[-300:])
    finally:
        shutil.rmtree(work, ignore_errors=True)


def login_status(s, user, password):
    st, hl, b = s.request("POST", "/auth/login", {"username": user, "password": password,
                                                  "session": "token"})
    return st, header(hl, "Retry-After"), b


def group_throttle():
    """Token buckets per user name and per client address: the 429 boundary,
    Retry-After, recovery, another user unaffected, and the CPU bound."""
    # The boundary with a slow refill (60 s), so that no attempt comes back
    # while the test runs, however slow the machine (a sanitizer build under
    # load takes seconds for three logins).
    with Server("--user", "alice:wonder", "--user", "bob:builder", "--login-user-burst", "3",
                "--login-user-refill", "60", "--login-ip-burst", "1000") as s:
        for i in range(3):
            st, ra, b = login_status(s, "alice", "nope%d" % i)
            check(st == 401 and ra is None, "alice wrong #%d → 401, got %s" % (i + 1, st))
        st, ra, b = login_status(s, "alice", "nope3")
        check(st == 429, "alice wrong #4 → 429 (the boundary), got %s %r" % (st, b))
        check(ra is not None and ra.isdigit() and 1 <= int(ra) <= 60,
              "429 carries Retry-After in seconds (1..60), got %r" % ra)
        check(b.get("error") == "slow_down" and isinstance(b.get("error_description"), str),
              "429 body: %r" % b)
        st, ra2, _ = login_status(s, "alice", "wonder")
        check(st == 429 and ra2 is not None, "alice's right password while locked → 429 too")
        # another user, same address: unaffected; successes never drain
        for i in range(6):
            st, _, _ = login_status(s, "bob", "builder")
            check(st == 200, "bob logs in while alice is locked out (#%d) → 200, got %s"
                  % (i + 1, st))
        st, _, _ = login_status(s, "bob", "nope")
        check(st == 401, "bob's wrong password → 401 (his own bucket)")
        # an unknown name has a bucket of its own: throttling reveals nothing
        st, _, _ = login_status(s, "mallory", "x")
        check(st == 401, "unknown name → 401")

    # Recovery with a fast refill (2 s). What may come back while the test
    # runs depends on the time it took, so the bounds are computed from the
    # elapsed time (a slow run gets more attempts back, never fewer).
    refill = 2.0
    with Server("--user", "alice:wonder", "--login-user-burst", "1",
                "--login-user-refill", "%d" % refill, "--login-ip-burst", "1000") as s:
        t0 = time.monotonic()
        fails = 0
        while True:
            st, ra, _ = login_status(s, "alice", "nope")
            if st != 401:
                break
            fails += 1
            check(fails <= 1 + int((time.monotonic() - t0) / refill),
                  "alice: %d failures allowed in %.1f s" % (fails, time.monotonic() - t0))
        check(fails >= 1 and st == 429 and ra is not None and 1 <= int(ra) <= 2,
              "alice locked after %d failure(s) → 429 with Retry-After 1..2, got %s %r"
              % (fails, st, ra))
        time.sleep(int(ra) + 0.3)
        st, _, b = login_status(s, "alice", "wonder")
        check(st == 200, "alice after Retry-After → 200 (recovered), got %s %r" % (st, b))
        # about one attempt came back, not a burst
        t0 = time.monotonic()
        fails = 0
        while True:
            st, _, _ = login_status(s, "alice", "nope")
            if st != 401:
                break
            fails += 1
            check(fails <= 2 + int((time.monotonic() - t0) / refill),
                  "after recovery: %d failures in %.1f s" % (fails, time.monotonic() - t0))
        check(1 <= fails and st == 429,
              "after one refill period, failures then 429 again (got %d, %s)" % (fails, st))

    # per client address, whatever the name
    with Server("--login-ip-burst", "4", "--login-ip-refill", "60",
                "--login-user-burst", "0") as s:
        for i in range(4):
            st, _, _ = login_status(s, "user%d" % i, "x")
            check(st == 401, "address attempt #%d → 401, got %s" % (i + 1, st))
        st, ra, _ = login_status(s, "user9", "x")
        check(st == 429 and ra is not None and 1 <= int(ra) <= 60,
              "address attempt #5, a fresh name → 429 with Retry-After ≤ 60, got %s %r"
              % (st, ra))
        st, _, _ = login_status(s, "demo", "demo")
        check(st == 429, "the right password from a throttled address → 429")
        for flag, val in [("--login-ip-burst", "-1"), ("--login-user-refill", "0"),
                          ("--login-table", "10"), ("--access-log", "")]:
            rc, _, err = Server(flag, val, store=None).start(expect_ok=False)
            check(rc == 2 and flag in err, "%s %r refused: %r" % (flag, val, err))

    # the CPU bound, with the default buckets: 1,000 wrong passwords cost
    # fewer than 100 PBKDF2 runs (each is ~60 ms of CPU)
    with Server() as s:
        pid = s.proc.pid
        cal = 6
        t0 = proc_cpu_seconds(pid)
        for i in range(cal):
            st, _, _ = login_status(s, "calibrate%d" % i, "x")
            check(st == 401, "calibration login → 401")
        per_run = (proc_cpu_seconds(pid) - t0) / cal
        check(per_run > 0.005, "a PBKDF2 run costs measurable CPU (%.4f s)" % per_run)
        budget = 100 * per_run
        counts = {}
        lock = threading.Lock()
        t0 = proc_cpu_seconds(pid)

        def burst(n):
            c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=60)
            body = json.dumps({"username": "demo", "password": "guess"})
            for _ in range(n):
                c.request("POST", "/auth/login", body, {"Content-Type": "application/json"})
                r = c.getresponse()
                r.read()
                with lock:
                    counts[r.status] = counts.get(r.status, 0) + 1
            c.close()

        for _ in range(10):  # 10 rounds of 4 × 25, checking the CPU between
            ts = [threading.Thread(target=burst, args=(25,)) for _ in range(4)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            spent = proc_cpu_seconds(pid) - t0
            check(spent < budget, "1,000 wrong passwords: %.2f s CPU exceeds 100 PBKDF2 runs "
                  "(%.2f s) after %r" % (spent, budget, counts))
        spent = proc_cpu_seconds(pid) - t0
        check(sum(counts.values()) == 1000 and counts.get(429, 0) + counts.get(401, 0) == 1000,
              "1,000 answers, each 401 or 429: %r" % counts)
        check(counts.get(401, 0) < 100, "fewer than 100 password checks: %r" % counts)
        print("throttle: 1,000 wrong passwords → %r; server CPU %.3f s = %.1f PBKDF2 runs "
              "(one run %.1f ms)" % (counts, spent, spent / per_run, per_run * 1000))
        st, _, _ = s.request("GET", "/healthz")
        check(st == 200, "server healthy after the burst")


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
    groups = {"algs": group_algs, "cache": group_cache, "contract": group_contract,
              "refresh": group_refresh, "retry": group_retry, "revoke": group_revoke,
              "raw": group_raw, "sessions": group_sessions,
              "restart": group_restart,
              "keys": group_keys, "rotate": group_rotate, "metrics": group_metrics,
              "door": group_door, "accesslog": group_accesslog, "throttle": group_throttle}
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
