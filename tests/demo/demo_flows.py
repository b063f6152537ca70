# SPDX-License-Identifier: MIT
"""Groups of tests/demo/test_demo.py (which runs them and holds the
fixture): the login, refresh, retry, revoke and session-list flows of the
demo's HTTP API (docs/demo.md)."""
import base64
import json
import os
import shutil
import tempfile
import threading
import time

import test_demo  # DEFAULT_STORE, read when a group runs
from test_demo import (URL_CREDENTIAL_NAMES, Server, b64d, bearer, check, cookie_headers,
                       expect_error, header, set_cookies, tamper)


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


def login_and_rotate_twice(s):
    """A token-mode login of alice, refreshed twice. Returns the first
    refresh token (now two rotations old) and the second refresh's body."""
    b, _ = s.login("token", "alice", "wonder")
    r1 = b["refresh_token"]
    st, _, b2 = s.request("POST", "/auth/refresh", headers=bearer(r1))
    st2, _, b3 = s.request("POST", "/auth/refresh", headers=bearer(b2["refresh_token"]))
    check(st == 200 and st2 == 200, "two rotations")
    return r1, b3


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
        r1, b3 = login_and_rotate_twice(s)
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
    """The demo's default: a refresh retried with the same Idempotency-Key
    inside 5 s (a lost answer) gets the same successor (R-08); any other
    replay is reuse, so concurrent keyless refreshes keep one winner."""
    same = lambda a, b: (json.loads(b64d(a.split(".")[1]))["jti"] ==
                         json.loads(b64d(b.split(".")[1]))["jti"])

    def refresh(s, tok, key=None):
        h = bearer(tok)
        if key is not None:
            h["Idempotency-Key"] = key
        return s.request("POST", "/auth/refresh", headers=h)

    with Server("--user", "alice:wonder") as s:
        b, _ = s.login("token", "alice", "wonder")
        r1 = b["refresh_token"]
        st, _, b2 = refresh(s, r1, '"k-1"')
        check(st == 200, "refresh with a key → 200")
        r2 = b2["refresh_token"]
        st, _, b3 = refresh(s, r1, '"k-1"')
        check(st == 200 and same(b3.get("refresh_token", "x.e30.x"), r2),
              "retry with the same key of a rotated token → the same successor (jti)")
        # one replay only (--max-replays 1): the next one is reuse
        expect_error(refresh(s, r1, '"k-1"'), 401, "invalid_grant",
                     "second replay of a rotated refresh token is reuse")
        expect_error(refresh(s, r2), 401, "invalid_grant",
                     "newest token of a reused family (R-02)")
        # a replay without the key, or with another, is reuse at once
        for other, what in ((None, "without the key"), ('"k-2"', "with another key")):
            b, _ = s.login("token", "alice", "wonder")
            st, _, b2 = refresh(s, b["refresh_token"], '"k-1"')
            check(st == 200, "refresh with a key → 200")
            expect_error(refresh(s, b["refresh_token"], other), 401, "invalid_grant",
                         "replay %s is reuse" % what)
            expect_error(refresh(s, b2["refresh_token"]), 401, "invalid_grant",
                         "after a replay %s the newest token is refused" % what)
        # keyless refreshes: a replay is reuse, as with no window at all
        b, _ = s.login("token", "alice", "wonder")
        st, _, _ = refresh(s, b["refresh_token"])
        check(st == 200, "keyless refresh → 200")
        expect_error(refresh(s, b["refresh_token"]), 401, "invalid_grant",
                     "keyless replay is reuse")
        # once the successor is used, the old token is reuse at once, key or not
        b, _ = s.login("token", "alice", "wonder")
        st, _, b2 = refresh(s, b["refresh_token"], '"k-3"')
        st2, _, _ = refresh(s, b2["refresh_token"], '"k-4"')
        check(st == 200 and st2 == 200, "two keyed refreshes → 200")
        expect_error(refresh(s, b["refresh_token"], '"k-3"'), 401, "invalid_grant",
                     "previous token after its successor was used is reuse")
        # a malformed key is refused before anything is stored or rotated
        b, _ = s.login("token", "alice", "wonder")
        for bad in ("k-1", '""', '"a\\"b"', '"%s"' % ("x" * 129), '"caf\u00e9"'):
            st, _, body = refresh(s, b["refresh_token"], bad)
            check(st == 400, "malformed Idempotency-Key %r → 400, got %s %r" % (bad, st, body))
        host = "Host: 127.0.0.1:%d\r\n" % s.port
        st, _, _ = s.raw(("POST /auth/refresh HTTP/1.1\r\n%sAuthorization: Bearer %s\r\n"
                          "Idempotency-Key: \"a\"\r\nIdempotency-Key: \"a\"\r\n"
                          "Content-Length: 0\r\nConnection: close\r\n\r\n"
                          % (host, b["refresh_token"])).encode())
        check(st == 400, "two Idempotency-Key fields → 400, got %s" % st)
        st, _, _ = refresh(s, b["refresh_token"], '"k-5"')
        check(st == 200, "the token refused for a malformed key still refreshes")

    # --reuse-interval 0: a keyed retry is reuse
    with Server("--reuse-interval", "0") as s:
        b, _ = s.login("token")
        st, _, _ = refresh(s, b["refresh_token"], '"k-1"')
        check(st == 200, "refresh → 200")
        expect_error(refresh(s, b["refresh_token"], '"k-1"'), 401, "invalid_grant",
                     "--reuse-interval 0: a keyed retry is reuse")


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
    if test_demo.DEFAULT_STORE == "memory":
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
    # a retry window allows keyed retries only: the thief's copy, sent
    # without the client's key, is reuse at once however many are allowed
    with Server("--reuse-interval", "10", "--max-replays", "2") as s:
        tok, _ = s.login("token")
        st, _, b = s.request("POST", "/demo/replay", {}, headers=bearer(tok["refresh_token"]))
        check(st == 200 and [x["outcome"] for x in b["steps"]] == ["ok", "reused", "revoked"],
              "a keyless replay inside the window is reuse: %s %r" % (st, b))


GROUPS = {
    "contract": group_contract,
    "refresh": group_refresh,
    "retry": group_retry,
    "revoke": group_revoke,
    "sessions": group_sessions,
}
