#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Remote JWKS (lib/token/jwks_remote.c) against a local TLS server.

A test CA and a server certificate for 127.0.0.1 are made with the openssl
command at test time; the server (python3 http.server over ssl) serves a
JWKS the test changes as it goes and counts requests. Checked through the
CLI (authgate verify --jwks-url --cacert) and through jwks_remote_driver,
whose clock the test sets: first fetch, max-age refresh, a provider key
rotation, 1,000 tokens with random unknown kids, server down (stale keys
until the bound, then fail closed), and oversized, garbage, http:// and
wrong-CA documents refused with the previous keys kept. With
refetch_in_background, a new kid's first token fails at once while the
server still holds the refetch, and verifies once the refresher lands it.

usage: test_jwks_remote.py --cli AUTHGATE --driver JWKS_REMOTE_DRIVER
"""
import argparse
import base64
import http.server
import json
import os
import random
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time

T0 = 1700000000


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def sh(*cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, timeout=60, **kw)


def make_ca(d, name):
    key, pem = os.path.join(d, name + ".key"), os.path.join(d, name + ".pem")
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
       "-nodes", "-keyout", key, "-out", pem, "-days", "2", "-subj", "/CN=" + name)
    return key, pem


def make_server_cert(d, ca_key, ca_pem):
    key, csr, pem = (os.path.join(d, "srv" + x) for x in (".key", ".csr", ".pem"))
    ext = os.path.join(d, "ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    sh("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", key, "-out", csr, "-subj", "/CN=localhost")
    sh("openssl", "x509", "-req", "-in", csr, "-CA", ca_pem, "-CAkey", ca_key,
       "-CAcreateserial", "-out", pem, "-days", "2", "-extfile", ext)
    return key, pem


class State:
    lock = threading.Lock()
    doc = b"{}"
    headers = {}
    count = 0
    gate = None  # a threading.Event every request waits for, when set
    held = 0     # requests waiting at the gate now


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with State.lock:
            State.count += 1
            gate = State.gate
            if gate is not None:
                State.held += 1
        if gate is not None:
            gate.wait(30)
            with State.lock:
                State.held -= 1
        with State.lock:
            doc, headers = State.doc, dict(State.headers)
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:1/jwks")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(doc)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(doc)

    def log_message(self, *a):
        pass


class Quiet(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # refused handshakes (the wrong-CA cases) are expected


class TlsServer:
    def __init__(self, cert, key, port=0):
        self.httpd = Quiet(("127.0.0.1", port), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.t = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.t.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def serve(doc, headers=None):
    with State.lock:
        State.doc = doc if isinstance(doc, bytes) else doc.encode()
        State.headers = headers or {}


def requests():
    with State.lock:
        return State.count


def hold():
    """Requests from now on wait until release()."""
    with State.lock:
        State.gate = threading.Event()


def release():
    with State.lock:
        gate, State.gate = State.gate, None
    gate.set()


def held():
    with State.lock:
        return State.held


def wait_until(what, cond, secs=20):
    deadline = time.time() + secs
    while not cond():
        check(time.time() < deadline, "%s: not within %d s" % (what, secs))
        time.sleep(0.05)


class Driver:
    def __init__(self, path):
        self.p = subprocess.Popen([path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True)

    def __call__(self, *words):
        self.p.stdin.write(" ".join(str(w) for w in words) + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        check(line, "driver answered %r" % (words,))
        return line.strip()

    def close(self):
        self.p.stdin.write("quit\n")
        self.p.stdin.close()
        self.p.wait(timeout=30)


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--driver", required=True)
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="agjwks-")
    srv = drv = None
    try:
        ca_key, ca = make_ca(d, "test-ca")
        _, other_ca = make_ca(d, "other-ca")
        skey, scert = make_server_cert(d, ca_key, ca)

        def cli(*args):
            return subprocess.run([a.cli] + [str(x) for x in args], capture_output=True,
                                  text=True, timeout=60)

        keys = []
        for kid in ("k1", "k2"):
            p = os.path.join(d, kid + ".jwk")
            with open(p, "w") as f:
                f.write(cli("keygen", "--alg", "ES256", "--kid", kid).stdout)
            os.chmod(p, 0o600)
            keys.append(p)
        jwks1 = cli("jwks", keys[0]).stdout
        jwks12 = cli("jwks", keys[0], keys[1]).stdout
        tok1 = cli("issue", "--key", keys[0], "--sub", "alice", "--now", T0, "--ttl",
                   "86400").stdout.strip()
        tok2 = cli("issue", "--key", keys[1], "--sub", "bob", "--now", T0, "--ttl",
                   "86400").stdout.strip()
        check(tok1.count(".") == 2 and tok2.count(".") == 2, "tokens issued")

        serve(jwks1, {"Cache-Control": "public, max-age=100"})
        srv = TlsServer(scert, skey)
        srv_port = srv.port
        url = "https://127.0.0.1:%d/jwks" % srv.port

        # ---- the CLI: one fetch per run
        r = cli("verify", "--jwks-url", url, "--cacert", ca, "--now", T0 + 10, tok1)
        check(r.returncode == 0 and json.loads(r.stdout)["sub"] == "alice",
              "CLI verifies a token from the remote JWKS: %r" % (r,))
        r = cli("verify", "--jwks-url", url, "--cacert", ca, "--now", T0 + 10, tok2)
        check(r.returncode == 1 and r.stderr.strip() == 'unknown key: no key with kid "k2"',
              "unknown kid named: %r" % r.stderr)
        r = cli("verify", "--jwks-url", url, "--cacert", other_ca, tok1)
        check(r.returncode == 2 and "JWKS" in r.stderr, "wrong CA refused: %r" % r.stderr)
        r = cli("verify", "--jwks-url", url.replace("https:", "http:"), tok1)
        check(r.returncode == 2 and "https" in r.stderr, "http:// refused: %r" % r.stderr)
        r = cli("verify", "--jwks-url", "https://127.0.0.1:%d/redirect" % srv.port,
                "--cacert", ca, tok1)
        check(r.returncode == 2, "a redirect is not followed: %r" % r.stderr)
        r = cli("verify", "--jwks", keys[0], "--cacert", ca, tok1)
        check(r.returncode == 2 and "--cacert" in r.stderr, "--cacert needs --jwks-url")
        serve(b" " * 300000)
        r = cli("verify", "--jwks-url", url, "--cacert", ca, tok1)
        check(r.returncode == 2 and "too large" in r.stderr, "oversized refused: %r" % r.stderr)
        serve(jwks1, {"Cache-Control": "public, max-age=100"})

        # ---- the library, with an injected clock
        drv = Driver(a.driver)
        check(drv("new", url.replace("https:", "http:"), ca, 0) == "AG_ERR_INVALID_ARGUMENT",
              "http:// URL refused by the library")
        check(drv("new", url, other_ca, 0) == "AG_ERR_CRYPTO", "wrong CA: no start")
        drv.close()
        drv = Driver(a.driver)
        check(drv("new", url, other_ca, 1) == "AG_OK", "lenient start without keys")
        check(drv("verify", tok1) == "AG_ERR_KEY no key with that kid", "no keys: fail closed")
        drv.close()

        drv = Driver(a.driver)
        before = requests()
        check(drv("new", url, ca, 0) == "AG_OK", "first fetch at start")
        check(requests() == before + 1, "one request at start")
        res = drv("verify", tok1)
        check(res == "AG_OK", "token of k1 verifies: %r" % res)
        # max-age=100: nothing before it runs out, one fetch after
        drv("clock", T0 + 50)
        check(drv("wait_fetches", 2, 3) == "1", "no refresh before max-age")  # the refresher looks every second
        drv("clock", T0 + 101)
        check(drv("wait_fetches", 2) == "2", "refresh after max-age")
        # the provider rotates: k2 appears; its token verifies after one refetch
        serve(jwks12, {"Cache-Control": "max-age=100"})
        n = int(drv("fetches"))
        check(drv("verify", tok2) == "AG_OK", "new kid verifies after a refetch")
        check(int(drv("fetches")) == n + 1, "exactly one refetch for the new kid")
        # 1,000 tokens with random kids: no further fetch in this interval
        h_p_s = tok1.split(".")
        n = int(drv("fetches"))
        for i in range(1000):
            kid = "rnd-%016x" % random.getrandbits(64)
            hdr = b64u(json.dumps({"alg": "ES256", "typ": "at+jwt", "kid": kid}).encode())
            res = drv("verify", ".".join([hdr, h_p_s[1], h_p_s[2]]))
            check(res == "AG_ERR_KEY no key with that kid", "random kid refused: %r" % res)
            if i == 499:
                drv("clock", T0 + 101 + 61)  # next interval: one more fetch allowed
        got = int(drv("fetches")) - n
        check(got <= 1, "1,000 unknown kids over two intervals: %d fetches" % got)
        # bad documents keep the previous keys and are reported
        errors = int(drv("errors"))
        oct_secret = b64u(os.urandom(32))
        for bad in (b"not json", b'{"keys":[{"kty":"EC"}]}', b" " * 20000,
                    b'{"keys":[{"kty":"oct","kid":"s","alg":"HS256","k":"' +
                    oct_secret.encode() + b'"}]}'):
            serve(bad)
            check(drv("refresh") != "AG_OK", "bad document refused: %r" % bad[:30])
            check(drv("verify", tok1) == "AG_OK", "previous keys kept after %r" % bad[:30])
        check(int(drv("errors")) >= errors + 4, "each refusal reported")
        # server down: stale keys until max_stale (300 s after the last good fetch)
        serve(jwks12)
        check(drv("refresh") == "AG_OK", "good again")
        drv("clock", T0 + 1000)
        check(drv("refresh") == "AG_OK", "good fetch at T0+1000")
        srv.stop()
        srv = None
        drv("clock", T0 + 1200)
        check(drv("refresh") == "AG_ERR_CRYPTO", "server down: fetch fails")
        check(drv("verify", tok1) == "AG_OK", "stale keys served within the bound")
        drv("clock", T0 + 1301)
        check(drv("refresh") == "AG_ERR_CRYPTO", "still down")
        check(drv("verify", tok1) == "AG_ERR_KEY no key with that kid",
              "past max_stale: fail closed")
        # every event of this flow (events.h): the fetches and refusals are
        # there, and no token, signature, private key or secret
        path = os.path.join(d, "events.txt")
        check(int(drv("events", path)) > 0, "events recorded")
        with open(path) as f:
            ev = f.read()
        for kind in ("jwks_fetch_ok ", "jwks_fetch_failed AG_ERR_CRYPTO", "keys_changed ",
                     "verify_refused AG_ERR_KEY cause=no key with that kid"):
            check(kind in ev, "event %r reported: %s" % (kind, ev[:2000]))
        secrets = [tok1, tok2, tok1.split(".")[2][:16], tok2.split(".")[2][:16],
                   tok1.split(".")[1][:16], oct_secret, oct_secret[:12]]
        for p in keys:
            with open(p) as f:
                d_val = json.loads(f.read())["d"]
            secrets += [d_val, d_val[:12]]
        for sec in secrets:
            check(sec not in ev, "an event holds a token or key: %r" % sec[:20])
        drv.close()

        # ---- refetch_in_background: an unknown kid never makes a verify wait
        srv = TlsServer(scert, skey, srv_port)
        serve(jwks1, {"Cache-Control": "max-age=100"})
        drv = Driver(a.driver)
        check(drv("new", url, ca, 0, 1) == "AG_OK", "background: first fetch at start")
        check(drv("verify", tok1) == "AG_OK", "background: k1 verifies")
        serve(jwks12, {"Cache-Control": "max-age=100"})
        n, errors = int(drv("fetches")), int(drv("errors"))
        hold()  # the refetch will wait at the server until released below
        check(drv("verify", tok2) == "AG_ERR_KEY no key with that kid",
              "background: the new kid's first token fails at once")
        # Only now can the server answer: had the verify waited for the
        # refetch, it would have timed out, failed, and used this interval.
        wait_until("the refresher's refetch reaches the server", lambda: held() == 1)
        check(drv("verify", tok1) == "AG_OK", "background: k1 verifies during the refetch")
        release()
        wait_until("k2 verifies once the refetch lands",
                   lambda: drv("verify", tok2) == "AG_OK")
        check(int(drv("fetches")) == n + 1, "background: exactly one refetch")
        check(int(drv("errors")) == errors, "background: no error reported")
        for i in range(100):
            kid = "rnd-%016x" % random.getrandbits(64)
            hdr = b64u(json.dumps({"alg": "ES256", "typ": "at+jwt", "kid": kid}).encode())
            res = drv("verify", ".".join([hdr, h_p_s[1], h_p_s[2]]))
            check(res == "AG_ERR_KEY no key with that kid", "background: random kid: %r" % res)
        check(int(drv("fetches")) == n + 1, "background: random kids wait for the interval")
        drv.close()
        drv = None
        print("ok [jwks_remote]")
        return 0
    except Fail as e:
        print("FAIL [jwks_remote]: %s" % e, file=sys.stderr)
        return 1
    finally:
        with State.lock:
            if State.gate is not None:
                State.gate.set()  # a failed check must not leave a request held
        if drv is not None:
            drv.p.kill()
        if srv is not None:
            srv.stop()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
