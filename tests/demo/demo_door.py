# SPDX-License-Identifier: MIT
"""Groups of tests/demo/test_demo.py (which runs them and holds the
fixture): the server's door — raw requests, 415 and the no-credentials
answer, the access log and the login throttle."""
import http.client
import json
import os
import shutil
import signal
import tempfile
import threading
import time

from test_demo import Server, bearer, check, expect_error, header, set_cookies, tamper


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


def fail_until_refused(s, burst, refill, who):
    """Wrong passwords for alice until the answer is not 401. The failures
    allowed are the burst plus one per refill period elapsed. Returns
    (failures, status, Retry-After)."""
    t0 = time.monotonic()
    fails = 0
    while True:
        st, ra, _ = login_status(s, "alice", "nope")
        if st != 401:
            return fails, st, ra
        fails += 1
        check(fails <= burst + int((time.monotonic() - t0) / refill),
              "%s: %d failures allowed in %.1f s" % (who, fails, time.monotonic() - t0))


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
        fails, st, ra = fail_until_refused(s, 1, refill, "alice")
        check(fails >= 1 and st == 429 and ra is not None and 1 <= int(ra) <= 2,
              "alice locked after %d failure(s) → 429 with Retry-After 1..2, got %s %r"
              % (fails, st, ra))
        time.sleep(int(ra) + 0.3)
        st, _, b = login_status(s, "alice", "wonder")
        check(st == 200, "alice after Retry-After → 200 (recovered), got %s %r" % (st, b))
        # about one attempt came back, not a burst
        fails, st, _ = fail_until_refused(s, 2, refill, "after recovery")
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


GROUPS = {
    "raw": group_raw,
    "door": group_door,
    "accesslog": group_accesslog,
    "throttle": group_throttle,
}
