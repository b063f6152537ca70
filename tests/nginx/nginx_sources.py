#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The nginx groups whose keys or revocations come from elsewhere, run by
test_nginx.py (whose helpers they use):

remote      authgate_jwks_url: a JWKS served over TLS by a local server with
            a test CA made by the openssl command; keys fetched by the
            workers, a provider key rotation, unknown kids, the server down
            (serve-stale within max_stale, fail closed after it) and back.
revocation  authgate_revocations: the demo server logs sessions out in a
            SQLite store that nginx's workers follow.
"""
import http.server
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time

import test_nginx as t
from test_nginx import (AUD, INVALID, ISS, Key, Nginx, b64, bearer, check, cli, expect,
                        jtext, request, upstream_headers, values)

# ---------------------------------------------------------------- remote JWKS

def sh(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True, timeout=60)


def make_tls(d):
    """A test CA and a certificate for 127.0.0.1 signed by it: (ca, cert, key)."""
    ca_key, ca = os.path.join(d, "ca.key"), os.path.join(d, "ca.pem")
    key, csr, cert = (os.path.join(d, "srv" + x) for x in (".key", ".csr", ".pem"))
    ext = os.path.join(d, "ext.cnf")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    sh("openssl", "req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2",
       "-subj", "/CN=agnginx test CA")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    sh("openssl", "req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    sh("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
       "-out", cert, "-days", "2", "-extfile", ext)
    return ca, cert, key


class JwksServer:
    """https://127.0.0.1:PORT/<name>: the JWKS set with serve(); counts GETs per path;
    hold() makes a path's GETs wait until release()."""

    def __init__(self, cert, key, port=0):
        self.lock = threading.Lock()
        self.docs, self.count, self.gates, self.waiting = {}, {}, {}, {}
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                with outer.lock:
                    outer.count[self.path] = outer.count.get(self.path, 0) + 1
                    gate = outer.gates.get(self.path)
                    if gate is not None:
                        outer.waiting[self.path] = outer.waiting.get(self.path, 0) + 1
                if gate is not None:
                    gate.wait(30)
                with outer.lock:
                    doc = outer.docs.get(self.path)
                if doc is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(doc)))
                self.send_header("Cache-Control", "max-age=3600")
                self.end_headers()
                self.wfile.write(doc)

            def log_message(self, *a):
                pass

        class Quiet(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass

        self.httpd = Quiet(("127.0.0.1", port), H)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def serve(self, path, jwks_text):
        with self.lock:
            self.docs[path] = jwks_text.encode()

    def fetches(self, path):
        with self.lock:
            return self.count.get(path, 0)

    def hold(self, path):
        with self.lock:
            self.gates[path] = threading.Event()
            self.waiting[path] = 0

    def held(self, path):
        """GETs of path that arrived since hold()."""
        with self.lock:
            return self.waiting.get(path, 0)

    def release(self, path):
        with self.lock:
            gate = self.gates.pop(path, None)
        if gate is not None:
            gate.set()

    def stop(self):
        for path in list(self.gates):
            self.release(path)
        self.httpd.shutdown()
        self.httpd.server_close()


REMOTE_BLOCK = """
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;

    authgate_issuer {iss};
    authgate_audience {aud};
    authgate_realm {realm};
    authgate_claim_header sub X-User;
    # refreshed after max-age (an hour): a new kid is fetched because it is new
    authgate_jwks_url https://127.0.0.1:{jp}/a ca_file={dir}/ca.pem
                      unknown_kid_interval=60s timeout=10s connect_timeout=1s;

    upstream echo {{ server 127.0.0.1:{up}; }}

    server {{
        listen 127.0.0.1:{port};
        listen 127.0.0.1:{h2port};
        authgate on;
        location / {{
            proxy_pass http://echo;
        }}
        location /stale/ {{              # refreshed every second, stale keys kept an hour
            authgate_jwks_url https://127.0.0.1:{jp}/b ca_file={dir}/ca.pem
                              min_refresh=1s max_refresh=1s max_stale=1h timeout=1s;
            proxy_pass http://echo;
        }}
        location /strict/ {{             # refreshed every second, stale keys dropped after 2s
            authgate_jwks_url https://127.0.0.1:{jp}/c ca_file={dir}/ca.pem
                              min_refresh=1s max_refresh=1s max_stale=2s timeout=1s;
            proxy_pass http://echo;
        }}
    }}
"""


def wait_status(ng, path, headers, status, secs, what):
    deadline = time.time() + secs
    while True:
        st = request(ng.port, path, headers)[0]
        if st == status:
            return
        check(time.time() < deadline, f"{what}: still {st} after {secs}s, wanted {status}")
        time.sleep(0.1)


def wait_steady(ng, path, headers, n, secs, what):
    """Waits until n requests in a row answer 200 (every worker has the key)."""
    deadline, run = time.time() + secs, 0
    while run < n:
        st = request(ng.port, path, headers)[0]
        run = run + 1 if st == 200 else 0
        if st != 200:
            check(time.time() < deadline, f"{what}: still {st} after {secs}s")
            time.sleep(0.1)


def prompt(ng, case, headers, status):
    """A GET on /x answered within 5s: a worker that waited for a held refetch
    (timeout=10s) would not answer in time."""
    try:
        st = request(ng.port, "/x", headers, timeout=5)[0]
    except TimeoutError:
        check(False, f"{case}: no answer within 5s (the worker waited for the network)")
    check(st == status, f"{case}: status {st}, wanted {status}")


def children(pid):
    """The live child processes of pid (nginx's workers)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    st = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(st[1]) == pid and st[0] != "Z":
                out.append(int(d))
    return out


def group_remote(up):
    check(t.CLI is not None, "the remote group needs --cli")
    work = tempfile.mkdtemp(prefix="agnginx-tls-")
    jw = ng = None
    try:
        ca, cert, key = make_tls(work)
        jwk = {}
        for kid in ("k1", "k2", "k3"):
            jwk[kid] = os.path.join(work, kid + ".jwk")
            with open(jwk[kid], "w") as f:
                f.write(cli("keygen", "--alg", "ES256", "--kid", kid))

        def jwks(*kids):
            return cli("jwks", *(jwk[k] for k in kids))

        def tok(kid, sub="dave"):
            return cli("issue", "--key", jwk[kid], "--sub", sub, "--iss", ISS, "--aud",
                       AUD).strip()

        jw = JwksServer(cert, key)
        for p in ("/a", "/b", "/c"):
            jw.serve(p, jwks("k1"))
        ng = Nginx(up.port, [Key("unused")], block=REMOTE_BLOCK, jp=jw.port)
        shutil.copy(ca, os.path.join(ng.dir, "ca.pem"))
        check(jw.fetches("/a") == 0, "the master fetched the JWKS")
        ng.start()
        t1, t2, t3 = tok("k1"), tok("k2"), tok("k3")  # k2 is never published
        for p in ("/x", "/stale/x", "/strict/x"):
            _, body = expect(ng, f"remote key {p}", p, bearer(t1), 200, None)
            check(values(upstream_headers(body), "X-User") == ["dave"], f"{p}: X-User")
        expect(ng, "alg none", "/x", bearer(b64(jtext({"alg": "none", "kid": "k1"})) + "."
                                             + t1.split(".")[1] + "."), 401, INVALID)
        a0 = jw.fetches("/a")
        check(a0 == 2, f"fetches of /a after the start: {a0} (one per worker)")

        # the provider rotates: k3 is published. A worker's first token with the
        # new kid hands the refetch to its refresher thread and is refused at once
        # (at most one refetch per worker per interval): the server holds those
        # refetches, and the workers keep answering meanwhile.
        jw.serve("/a", jwks("k1", "k3"))
        jw.hold("/a")
        for i in range(4):
            prompt(ng, f"new kid while its refetch is held #{i}", bearer(t3), 401)
            prompt(ng, f"known kid while a refetch is held #{i}", bearer(t1), 200)
        deadline = time.time() + 20
        while jw.held("/a") == 0:
            check(time.time() < deadline, "no worker refetched /a for the new kid")
            time.sleep(0.05)
        jw.release("/a")
        # every worker that saw t3 has k3 once its refetch lands
        wait_steady(ng, "/x", bearer(t3), 8, 20, "the new kid once the refetches land")
        a1 = jw.fetches("/a")
        check(a1 - a0 <= 2, f"rotation: {a1 - a0} fetches (at most one per worker)")
        # unknown kids do not make nginx fetch: the interval holds them back
        for i in range(20):
            forged = b64(jtext({"alg": "ES256", "typ": "at+jwt", "kid": f"r{i}"})) + "." + \
                t1.split(".", 1)[1]
            expect(ng, f"random kid #{i}", "/x", bearer(forged), 401, INVALID)
        a2 = jw.fetches("/a")
        check(a2 - a1 <= 2, f"20 unknown kids caused {a2 - a1} fetches")
        expect(ng, "a key the JWKS lacks", "/x", bearer(t2), 401, INVALID)

        # the JWKS server goes away: /stale/ keeps its keys, /strict/ drops them after 2s
        b0 = jw.fetches("/b")
        time.sleep(1.5)
        check(jw.fetches("/b") > b0, "min_refresh=1s: /b was not refetched")
        port = jw.port
        jw.stop()
        jw = None
        wait_status(ng, "/strict/x", bearer(t1), 401, 10, "max_stale=2s with the server down")
        expect(ng, "stale keys within max_stale", "/stale/x", bearer(t1), 200, None)
        expect(ng, "keys of an hour's max-age", "/x", bearer(t3), 200, None)
        check("JWKS" in ng.log() and "AG_ERR_CRYPTO" in ng.log(),
              "the failed fetches are not logged")
        # back again: the strict location recovers on its next refresh
        jw = JwksServer(cert, key, port)
        for p in ("/a", "/b", "/c"):
            jw.serve(p, jwks("k1"))
        wait_status(ng, "/strict/x", bearer(t1), 200, 10, "the JWKS server came back")
        # a reload: new workers fetch for themselves, the old ones stop their
        # threads and exit
        master = ng.proc.pid
        a3 = jw.fetches("/a")
        ng.reload()
        deadline = time.time() + 15
        while jw.fetches("/a") < a3 + 2 or len(children(master)) != 2:
            check(time.time() < deadline, f"reload: {jw.fetches('/a') - a3} fetches, "
                  f"workers {children(master)}")
            time.sleep(0.1)
        expect(ng, "after a reload", "/x", bearer(t1), 200, None)
        ours = "\n".join(x for x in ng.log().splitlines() if "authgate" in x)
        check(t1.split(".")[2] not in ours, "a token in authgate's log lines")
        check('"d"' not in ours, "key material in authgate's log lines")
    finally:
        if ng is not None:
            ng.cleanup()
        if jw is not None:
            jw.stop()
        shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------- revocation

REVOCATION_BLOCK = """
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;

    authgate_jwks_file {dir}/jwks.json;
    authgate_issuer {iss};
    authgate_audience {aud};
    authgate_realm {realm};
    authgate_revocations sqlite:{db} interval=100ms;

    upstream echo {{ server 127.0.0.1:{up}; }}

    server {{
        listen 127.0.0.1:{port};
        listen 127.0.0.1:{h2port};
        authgate on;
        location / {{
            proxy_pass http://echo;
        }}
        location /unchecked/ {{
            authgate_revocations off;      # the same keys, no revocation set
            proxy_pass http://echo;
        }}
        location /unreachable/ {{         # a store that cannot be opened, strict
            authgate_revocations sqlite:{dir}/missing/store.db max_staleness=2s;
            proxy_pass http://echo;
        }}
    }}
"""


def http_json(port, method, path, body=None, headers=()):
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    data = b"" if body is None else jtext(body)
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
    else:
        lines += ["Content-Length: 0"]
    lines += [f"{k}: {v}" for k, v in headers]
    with socket.create_connection(("127.0.0.1", port), 30) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    head, _, rest = out.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), rest


class Demo:
    def __init__(self, dir, db):
        self.proc = subprocess.Popen(
            [t.DEMO, "--listen", "127.0.0.1:0", "--store", "sqlite:" + db, "--key-dir",
             os.path.join(dir, "demo-keys"), "--issuer", ISS, "--audience", AUD,
             "--user", "erin:pw1", "--user", "frank:pw2"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.port = None
        deadline = time.time() + 30
        while self.port is None:
            line = self.proc.stdout.readline()
            check(line and time.time() < deadline, "the demo did not start")
            if line.startswith("listening on http://"):
                self.port = int(line.strip().rsplit(":", 1)[1])
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def login(self, user, pw):
        st, body = http_json(self.port, "POST", "/auth/login",
                             {"username": user, "password": pw, "session": "token"})
        check(st == 200, f"demo login {user}: {st}")
        j = json.loads(body)
        return j["access_token"], j["refresh_token"]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)


def group_revocation(up):
    check(t.DEMO is not None, "the revocation group needs --demo")
    work = tempfile.mkdtemp(prefix="agnginx-rev-")
    demo = ng = None
    try:
        db = os.path.join(work, "store.db")
        demo = Demo(work, db)
        st, jwks = http_json(demo.port, "GET", "/.well-known/jwks.json")
        check(st == 200, "demo JWKS")
        ng = Nginx(up.port, jwks.decode(), block=REVOCATION_BLOCK, db=db)
        ng.start()
        a_access, a_refresh = demo.login("erin", "pw1")
        b_access, _ = demo.login("frank", "pw2")
        for who, tok in (("erin", a_access), ("frank", b_access)):
            expect(ng, f"{who} before the logout", "/x", bearer(tok), 200, None)
        # erin logs out at the demo: her session's sid goes to the store's log
        st, _ = http_json(demo.port, "POST", "/auth/logout", None, bearer(a_refresh))
        check(st == 204, f"demo logout: {st}")
        t0 = time.time()
        wait_status(ng, "/x", bearer(a_access), 401, 5, "the logged-out session's token")
        took = time.time() - t0
        for i in range(10):  # every worker follows the log for itself
            expect(ng, f"revoked sid #{i}", "/x", bearer(a_access), 401, INVALID)
            expect(ng, f"other session #{i}", "/x", bearer(b_access), 200, None)
        expect(ng, "revoked sid where the set is off", "/unchecked/x", bearer(a_access), 200,
               None)
        check("authgate: refused (AG_ERR_REVOKED)" in ng.log(), "the log names the reason")
        # a store the workers cannot read: strict mode refuses everything once
        # max_staleness has passed since they started, and says why
        wait_status(ng, "/unreachable/x", bearer(b_access), 503, 10, "max_staleness=2s")
        check("revocation log" in ng.log() and "missing/store.db" in ng.log(),
              "an unreadable store is not logged")
        # a new login of the same user is a new session: it passes
        a2, _ = demo.login("erin", "pw1")
        expect(ng, "erin's new session", "/x", bearer(a2), 200, None)
        # logout everywhere revokes the subject: every token of frank issued before
        b2_access, b2_refresh = demo.login("frank", "pw2")
        st, _ = http_json(demo.port, "POST", "/auth/logout-all", None, bearer(b2_refresh))
        check(st == 204, f"demo logout-all: {st}")
        for who, tok in (("frank's first session", b_access), ("frank's second", b2_access)):
            wait_status(ng, "/x", bearer(tok), 401, 5, f"{who} after logout-all")
        expect(ng, "erin after frank's logout-all", "/x", bearer(a2), 200, None)
        print(f"revocation: refused by nginx {took:.2f}s after the logout")
    finally:
        if ng is not None:
            ng.cleanup()
        if demo is not None:
            demo.stop()
        shutil.rmtree(work, ignore_errors=True)
