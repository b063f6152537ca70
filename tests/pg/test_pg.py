#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Two `authgate-demo` processes sharing one PostgreSQL database (issue 7).

Python 3 standard library only. A throwaway cluster comes from
scripts/pg-test-server (trust on 127.0.0.1, an unprivileged user, a
temporary directory, removed at the end); each group gets a database of its
own and two demo servers on different ports with the same --key-dir.

    test_pg.py --bin AUTHGATE_DEMO --script PG_TEST_SERVER GROUP
    GROUP: reuse | concurrent | restart | revoke | all

Rule IDs (R-) refer to docs/security.md. A group fails on the first broken
expectation, naming the case; when PostgreSQL cannot be started the run
FAILS (exit 1), it is never skipped.
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

BIN = None
SCRIPT = None


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


# ---------------------------------------------------------------- database

class Cluster:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="agpg-")
        r = subprocess.run([SCRIPT, "start", self.dir, "--owner", str(os.getpid())],
                           capture_output=True, text=True, timeout=180)
        if r.returncode != 0:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise Fail("cannot start a throwaway PostgreSQL (apt-get install postgresql): %s"
                       % r.stderr.strip())
        self.conninfo = r.stdout.strip().splitlines()[-1]

    def ctl(self, what):
        r = subprocess.run([SCRIPT, what, self.dir], capture_output=True, text=True, timeout=180)
        check(r.returncode == 0, "pg-test-server %s: %s" % (what, r.stderr.strip()))

    def sql(self, query, db="authgate"):
        r = subprocess.run([SCRIPT, "psql", self.dir, "-d", db, "-v", "ON_ERROR_STOP=1",
                            "-Atc", query], capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, "psql %r: %s" % (query, r.stderr.strip()))
        return r.stdout.strip()

    def new_db(self, name):
        self.sql("CREATE DATABASE %s" % name)
        return self.conninfo.replace("dbname=authgate", "dbname=" + name)

    def destroy(self):
        subprocess.run([SCRIPT, "destroy", self.dir], capture_output=True, timeout=180)


# ---------------------------------------------------------------- servers

class Demo:
    """One authgate-demo process on 127.0.0.1 port 0 over a PostgreSQL store."""

    def __init__(self, conninfo, key_dir, workdir):
        cmd = [BIN, "--listen", "127.0.0.1:0", "--key-dir", key_dir,
               "--store", "postgres:" + conninfo]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     cwd=workdir, text=True)
        self.port = None
        deadline = time.time() + 120
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise Fail("demo exited before listening: rc=%s stderr=%s"
                           % (self.proc.wait(), self.proc.stderr.read().strip()))
            # the conninfo (it may hold a password) is never printed
            check(conninfo not in line and "dbname=" not in line,
                  "demo output shows the conninfo: %r" % line)
            if line.startswith("listening on http://127.0.0.1:"):
                self.port = int(line.strip().rsplit(":", 1)[1])
                return
        raise Fail("demo did not print 'listening on' in time")

    def stop(self):
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = "killed"
        self.proc.stdout.close()
        self.proc.stderr.close()
        self.proc = None
        check(rc == 0, "demo on port %s: SIGTERM → exit 0 (got %s)" % (self.port, rc))

    def kill(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc.stdout.close()
            self.proc.stderr.close()
            self.proc = None

    def request(self, method, path, body=None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        hdrs = dict(headers or {})
        if body is not None:
            body = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        c.request(method, path, body=body, headers=hdrs)
        r = c.getresponse()
        data = r.read()
        ctype = r.getheader("Content-Type", "")
        c.close()
        if ctype.startswith("application/json") and data:
            data = json.loads(data.decode())
        return r.status, data

    def login(self):
        st, b = self.request("POST", "/auth/login",
                             {"username": "demo", "password": "demo", "session": "token"})
        check(st == 200 and b.get("refresh_token"), "login on :%d → 200, got %s %r"
              % (self.port, st, b))
        return b["refresh_token"]

    def refresh(self, rt):
        return self.request("POST", "/auth/refresh", headers={"Authorization": "Bearer " + rt})


class Pair:
    """Two demos on one database with one key directory."""

    def __init__(self, cluster, db):
        self.dir = tempfile.mkdtemp(prefix="agpgdemo-")
        key_dir = os.path.join(self.dir, "keys")
        ci = cluster.new_db(db)
        self.a = self.b = None
        try:
            self.a = Demo(ci, key_dir, self.dir)  # creates the keys
            self.b = Demo(ci, key_dir, self.dir)  # loads the same keys
        except BaseException:
            self.close(ok=False)
            raise
        check(self.a.port != self.b.port, "two ports")

    def close(self, ok=True):
        for d in (self.a, self.b):
            if d is not None:
                d.stop() if ok else d.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close(ok=exc[0] is None)


def expect(res, status, code, what):
    st, b = res
    check(st == status, "%s → %d, got %d %r" % (what, status, st, b))
    if code is not None:
        check(isinstance(b, dict) and b.get("error") == code,
              "%s: error %s, got %r" % (what, code, b))


def ok_refresh(demo, rt, what):
    st, b = demo.refresh(rt)
    check(st == 200 and b.get("refresh_token"), "%s → 200, got %s %r" % (what, st, b))
    return b["refresh_token"]


def expect_store_down(res, what):
    """Fail closed while the database is away: a 5xx with server_error (R-06)."""
    st, b = res
    check(500 <= st <= 599, "%s while the database is down → 5xx, got %d %r" % (what, st, b))
    check(isinstance(b, dict) and b.get("error") == "server_error" and
          isinstance(b.get("error_description"), str),
          "%s: {error: server_error, error_description}, got %r" % (what, b))


# ---------------------------------------------------------------- groups

def group_reuse(cluster):
    with Pair(cluster, "g_reuse") as p:
        # sessions are shared: login on B, refresh on A, and back
        rt = p.b.login()
        rt = ok_refresh(p.a, rt, "login on B, refresh on A")
        rt = ok_refresh(p.b, rt, "then refresh on B")
        # R-02 across instances: rotate on A, reuse the old token on B
        rt0 = p.a.login()
        rt1 = ok_refresh(p.a, rt0, "refresh on A")
        # With the demo's reuse interval on, the first retry of rt0 is a
        # benign replay answered with rt1's claims (a lost answer, R-08);
        # past the replay budget it is reuse.
        st, b = p.b.refresh(rt0)
        if st == 200:
            check(b["refresh_token"].split(".")[1] == rt1.split(".")[1],
                  "a replay of the rotated token on B gets the same successor")
        expect(p.b.refresh(rt0), 401, "invalid_grant", "reuse of the rotated token on B (R-02)")
        expect(p.a.refresh(rt1), 401, "invalid_grant", "newest token on A after reuse (R-02)")
        expect(p.b.refresh(rt1), 401, "invalid_grant", "newest token on B after reuse (R-02)")
        check(cluster.sql("SELECT count(*) FROM ag_families WHERE revoke_reason = 3",
                          "g_reuse") == "1", "exactly one family revoked for reuse")
        # logout on one instance ends the session on the other
        rt = p.a.login()
        st, _ = p.a.request("POST", "/auth/logout", headers={"Authorization": "Bearer " + rt})
        check(st == 204, "logout on A → 204, got %s" % st)
        expect(p.b.refresh(rt), 401, "invalid_grant", "refresh on B after logout on A")
        # a new session still works on both
        rt = ok_refresh(p.b, p.b.login(), "fresh login on B, refresh on B")
        ok_refresh(p.a, rt, "fresh chain continues on A")


def group_concurrent(cluster):
    with Pair(cluster, "g_conc") as p:
        for round_ in range(3):
            rt = p.a.login()
            go = threading.Barrier(16)
            results = [None] * 16

            def hit(i):
                demo = p.a if i % 2 == 0 else p.b
                go.wait()
                try:
                    results[i] = demo.refresh(rt)
                except Exception as e:  # noqa: BLE001 - reported below
                    results[i] = (0, repr(e))

            th = [threading.Thread(target=hit, args=(i,)) for i in range(16)]
            for t in th:
                t.start()
            for t in th:
                t.join()
            codes = sorted(r[0] for r in results)
            wins = [r for r in results if r[0] == 200]
            # One rotation; a demo with a reuse interval also serves its few
            # replays — the same successor, never a second one.
            # (the same claims; an ES256 signature differs each time it is made)
            succ = set(b["refresh_token"].split(".")[1] for _, b in wins)
            check(len(wins) >= 1 and len(succ) == 1 and codes.count(401) == 16 - len(wins)
                  and codes.count(401) > 0,
                  "round %d: 16 concurrent refreshes over two instances → one successor, the "
                  "rest 401 (R-05), got %s with %d distinct successors"
                  % (round_, codes, len(succ)))
            for st, b in results:
                if st == 401:
                    check(b.get("error") == "invalid_grant", "losers get invalid_grant: %r" % b)
            # the losers were reuse: the family is revoked, the winner's token dies too
            expect(p.b.refresh(wins[0][1]["refresh_token"]), 401, "invalid_grant",
                   "round %d: the winner's new token after the concurrent reuse (R-02)" % round_)
        rows = cluster.sql("SELECT count(*), count(*) FILTER (WHERE revoke_reason = 3"
                           " AND cur_hash IS NULL AND prev_hash IS NULL), max(generation)"
                           " FROM ag_families", "g_conc")
        check(rows == "3|3|1", "one row per session, each revoked for reuse after exactly one"
              " rotation (count|reuse tombstones|max generation = 3|3|1), got %s" % rows)


def group_restart(cluster):
    with Pair(cluster, "g_restart") as p:
        st, b = p.a.request("POST", "/auth/login",
                            {"username": "demo", "password": "demo", "session": "token"})
        check(st == 200, "login on A → 200")
        at, rt = b["access_token"], b["refresh_token"]
        rt = ok_refresh(p.b, rt, "refresh on B before the outage")
        chain = 2  # tokens of this family so far
        cluster.ctl("stop")
        # Down: refresh, login and logout fail closed on both instances.
        expect_store_down(p.a.refresh(rt), "refresh on A")
        expect_store_down(p.b.refresh(rt), "refresh on B")
        expect_store_down(p.a.request("POST", "/auth/login", {"username": "demo",
                                                              "password": "demo",
                                                              "session": "token"}), "login")
        expect_store_down(p.b.request("POST", "/auth/logout",
                                      headers={"Authorization": "Bearer " + rt}), "logout")
        st, _ = p.a.request("GET", "/healthz")
        check(st == 200, "the process itself stays up")
        st, b = p.b.request("GET", "/api/me", headers={"Authorization": "Bearer " + at})
        check(st == 200 and b.get("sub") == "demo",
              "access tokens verify without the store: /api/me → 200, got %s %r" % (st, b))
        cluster.ctl("resume")
        # Back: the token presented during the outage was not consumed.
        rt = ok_refresh(p.a, rt, "refresh on A after the database is back")
        rt = ok_refresh(p.b, rt, "refresh on B after the database is back")
        chain += 2
        # A restart between requests is invisible: the pools reconnect.
        cluster.ctl("restart")
        for i in range(6):
            rt = ok_refresh(p.a if i % 2 else p.b, rt, "refresh %d after a restart" % i)
            chain += 1
        # Requests during a restart: fail closed or succeed, never anything else.
        stop = threading.Event()
        seen = []

        def churn():
            cur = rt
            n = 0
            while not stop.is_set():
                st, b = (p.a if n % 2 else p.b).refresh(cur)
                seen.append(st)
                if st == 200:
                    cur = b["refresh_token"]
                    n += 1
                elif st < 500:
                    return
                else:
                    time.sleep(0.01)
            seen.append(("final", cur, n))

        t = threading.Thread(target=churn)
        t.start()
        time.sleep(0.3)
        cluster.ctl("restart")
        time.sleep(0.3)
        stop.set()
        t.join()
        codes = [s for s in seen if isinstance(s, int)]
        check(all(c == 200 or 500 <= c <= 599 for c in codes),
              "refreshes across a restart: only 200 or 5xx, got %s" % sorted(set(codes)))
        check(isinstance(seen[-1], tuple), "the chain survived the restart: %s" % codes[-5:])
        _, rt, n = seen[-1]
        print("     refreshes across a restart under load: %d × 200, %d × 5xx"
              % (codes.count(200), len(codes) - codes.count(200)))
        chain += n
        rt = ok_refresh(p.a, rt, "refresh after the restart under load")
        chain += 1
        # No lost or doubled rotation: one session row, unrevoked, holding a
        # current token, at exactly the generation of the chain's last token.
        rows = cluster.sql("SELECT count(*), max(generation), bool_and(revoked_at IS NULL),"
                           " bool_and(cur_hash IS NOT NULL) FROM ag_families", "g_restart")
        check(rows == "1|%d|t|t" % (chain - 1),
              "session rows (count|generation|live|has current) = 1|%d|t|t, got %s"
              % (chain - 1, rows))


def refused_within(demo, at, limit):
    """Seconds until `demo` refuses access token `at` (401), failing past limit."""
    t0 = time.time()
    while True:
        st, b = demo.request("GET", "/api/me", headers={"Authorization": "Bearer " + at})
        if st == 401:
            check(b.get("error") == "invalid_token", "refused with invalid_token, got %r" % b)
            return time.time() - t0
        check(st == 200, "GET /api/me → 200 until refused, got %d %r" % (st, b))
        check(time.time() - t0 < limit, "not refused within %.1f s" % limit)
        time.sleep(0.01)


def login_tokens(demo):
    st, b = demo.request("POST", "/auth/login",
                         {"username": "demo", "password": "demo", "session": "token"})
    check(st == 200 and b.get("access_token"), "login → 200, got %s %r" % (st, b))
    return b


def group_revoke(cluster):
    """A logout on one instance refuses its access token on the other within
    a second (LISTEN/NOTIFY), and still does after the listeners' connections
    were killed (reconnect, then the catch-up read by id)."""
    with Pair(cluster, "g_revoke") as p:
        listeners = "SELECT count(*) FROM pg_stat_activity WHERE datname = 'g_revoke'" \
                    " AND application_name = 'authgate listener'"
        deadline = time.time() + 10
        while cluster.sql(listeners) != "2" and time.time() < deadline:
            time.sleep(0.05)
        check(cluster.sql(listeners) == "2", "each demo LISTENs on a connection of its own")
        delays = []
        for k in range(5):
            b = login_tokens(p.a)
            at = b["access_token"]
            st, _ = p.b.request("GET", "/api/me", headers={"Authorization": "Bearer " + at})
            check(st == 200, "instance B accepts A's access token")
            st, _ = p.a.request("POST", "/auth/logout",
                                headers={"Authorization": "Bearer " + b["refresh_token"]})
            check(st == 204, "logout on A → 204, got %s" % st)
            delays.append(refused_within(p.b, at, 3.0))
        check(max(delays) < 1.0, "refused on B within a second (delays %s)"
              % ", ".join("%.0f ms" % (d * 1e3) for d in delays))
        # logout-all on B reaches A
        a_tok = login_tokens(p.a)
        b_tok = login_tokens(p.b)
        st, _ = p.b.request("POST", "/auth/logout-all",
                            headers={"Authorization": "Bearer " + b_tok["refresh_token"]})
        check(st == 204, "logout-all on B → 204, got %s" % st)
        d = refused_within(p.a, a_tok["access_token"], 3.0)
        check(d < 1.0, "logout-all on B refuses A's token within a second (%.0f ms)" % (d * 1e3))
        # the listeners' connections killed: logouts made meanwhile still arrive
        time.sleep(1.1)  # a new second: new logins are not covered by the logout-all
        toks = [login_tokens(p.a) for _ in range(3)]
        cluster.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = 'g_revoke' AND application_name = 'authgate listener'")
        for b in toks:
            st, _ = p.a.request("POST", "/auth/logout",
                                headers={"Authorization": "Bearer " + b["refresh_token"]})
            check(st == 204, "logout on A while B's listener reconnects → 204, got %s" % st)
        for b in toks:
            refused_within(p.b, b["access_token"], 5.0)
        deadline = time.time() + 10
        while cluster.sql(listeners) != "2" and time.time() < deadline:
            time.sleep(0.05)
        check(cluster.sql(listeners) == "2", "both listeners are back")
        print("revoke: logout on A refused on B after %s"
              % ", ".join("%.0f ms" % (d * 1e3) for d in delays))


GROUPS = {"reuse": group_reuse, "concurrent": group_concurrent, "restart": group_restart,
          "revoke": group_revoke}


def main():
    global BIN, SCRIPT
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--script", required=True)
    ap.add_argument("group", choices=sorted(GROUPS) + ["all"])
    a = ap.parse_args()
    BIN, SCRIPT = os.path.abspath(a.bin), os.path.abspath(a.script)
    names = sorted(GROUPS) if a.group == "all" else [a.group]
    cluster = None
    try:
        cluster = Cluster()
        for name in names:
            t0 = time.time()
            GROUPS[name](cluster)
            print("ok   %s (%.1f s)" % (name, time.time() - t0))
    except Fail as e:
        print("FAIL %s" % e, file=sys.stderr)
        return 1
    finally:
        if cluster is not None:
            cluster.destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
