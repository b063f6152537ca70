# SPDX-License-Identifier: MIT
"""Groups of tests/demo/test_demo.py (which runs them and holds the
fixture): restarts over the same store, the key directory, every signing
algorithm, the verify cache, key rotation and /metrics."""
import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

from test_demo import (Fail, Server, b64d, bearer, check, cookie_headers, expect_error, header,
                       tamper)


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
                # the reused token itself verifies, once: the demo checks it (and
                # its CSRF binding) and hands the verified claims to
                # ag_session_refresh_verified; the store then finds it rotated
                'authgate_verify_total{result="ok",cause="none"}': 1,
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


GROUPS = {
    "restart": group_restart,
    "keys": group_keys,
    "algs": group_algs,
    "cache": group_cache,
    "rotate": group_rotate,
    "metrics": group_metrics,
}
