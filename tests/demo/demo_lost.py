# SPDX-License-Identifier: MIT
"""Group of tests/demo/test_demo.py (which runs it and holds the fixture):
a lost answer is not an attack, tested the way it fails in production.

A client refreshes in a loop against the demo (SQLite store); the demo is
killed (SIGKILL) at random moments and restarted on the same store and
keys. The client names every refresh with a fresh Idempotency-Key and,
when a request fails on the wire, sends the same token with the same key
to the restarted server. With the demo's defaults no session is lost and
no reuse is reported, and some retries were replays (answers lost after
the commit); with --reuse-interval 0 the same loss is reuse.
"""
import http.client
import json
import os
import random
import shutil
import signal
import tempfile
import threading
import time

from test_demo import Server, bearer, check

ROUNDS_MAX = 150  # kills at most, per run


def events(s, kind):
    if s.event_log is None or not os.path.exists(s.event_log):
        return 0
    with open(s.event_log, errors="replace") as f:
        return sum(1 for line in f if (" event type=%s " % kind) in line + " ")


class Client:
    """Holds one refresh token and the key of the refresh in flight."""

    def __init__(self, token):
        self.token, self.key, self.refused = token, None, None
        self.ok = 0

    def loop(self, port, stop):
        while not stop.is_set():
            if self.key is None:
                self.key = '"%032x"' % random.getrandbits(128)
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                h = bearer(self.token)
                h["Idempotency-Key"] = self.key
                c.request("POST", "/auth/refresh", headers=h)
                r = c.getresponse()
                body = r.read()
                c.close()
            except OSError:
                return  # the server died: retry this refresh (same key) later
            if r.status != 200:
                self.refused = (r.status, body[:200])
                return
            self.token = json.loads(body)["refresh_token"]
            self.key = None  # the next refresh gets a new key
            self.ok += 1


def run(extra, stop_at_refusal):
    """Kill rounds; returns (client, rounds, replays, reuses)."""
    work = tempfile.mkdtemp(prefix="agdemo-lost-")
    replays = reuses = rounds = 0
    try:
        s = Server(*extra, workdir=work).start()
        b, _ = s.login("token")
        s.stop()
        client = Client(b["refresh_token"])
        rnd = random.Random()
        while rounds < ROUNDS_MAX and client.refused is None:
            s = Server(*extra, workdir=work).start()
            stop = threading.Event()
            t = threading.Thread(target=client.loop, args=(s.port, stop))
            t.start()
            # the kill lands inside the refresh loop, however slow the
            # build (sanitizers): after this round's first answer
            ok0, deadline = client.ok, time.time() + 10
            while client.ok == ok0 and client.refused is None and time.time() < deadline:
                time.sleep(0.001)
            time.sleep(rnd.uniform(0, 0.015))
            s.proc.send_signal(signal.SIGKILL)
            s.proc.wait()
            stop.set()
            t.join(60)
            check(not t.is_alive(), "the client did not stop after the kill")
            s.stop()  # reaps, closes pipes, scans the event log for secrets
            replays += events(s, "refresh_replayed")
            reuses += events(s, "reuse_detected")
            rounds += 1
            if not stop_at_refusal and replays >= 3 and rounds >= 20:
                break
        # the last round's retry, if any, on a server left running
        s = Server(*extra, workdir=work).start()
        stop = threading.Event()
        stop.set()
        if client.refused is None and client.key is not None:
            stop.clear()
            t = threading.Thread(target=client.loop, args=(s.port, stop))
            t.start()
            time.sleep(0.2)
            stop.set()
            t.join(60)
        s.stop()
        replays += events(s, "refresh_replayed")
        reuses += events(s, "reuse_detected")
        s.cleanup()
        print("lost answers, demo %s: %d kills, %d refreshes, %d replays, %d reuse, refused %r"
              % (" ".join(extra) or "defaults", rounds, client.ok, replays, reuses,
                 client.refused))
        return client, rounds, replays, reuses
    finally:
        shutil.rmtree(work, ignore_errors=True)


def group_lost():
    # the demo's defaults: retries with the key continue the session
    client, rounds, replays, reuses = run([], False)
    check(client.refused is None, "a session was lost: %r" % (client.refused,))
    check(reuses == 0, "reuse reported %d times with the demo's defaults" % reuses)
    check(replays >= 1, "no answer was lost after its commit in %d kills: the test saw "
          "nothing of what it is about" % rounds)
    # no retry window: the same loss is reuse, and the session ends
    client, rounds, replays, reuses = run(["--reuse-interval", "0"], True)
    check(client.refused is not None and client.refused[0] == 401,
          "no lost answer turned into reuse in %d kills" % rounds)
    check(reuses == 1, "reuse events with --reuse-interval 0: %d" % reuses)


GROUPS = {"lost": group_lost}
