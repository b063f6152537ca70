#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Black-box tests of ngx_http_authgate_module in the distribution's nginx.

Python 3 standard library only. Each group starts a real nginx (master and
two workers, not daemonized) on a free 127.0.0.1 port with a temporary
prefix and configuration that loads the built module, in front of a tiny
upstream (http.server on 127.0.0.1 port 0) that answers with the request
headers it received as JSON. Requests go over raw sockets, one connection
each, so duplicate fields and exact bytes are under the test's control.

    test_nginx.py --nginx PATH --module PATH [--cli PATH] [--curl PATH] [--demo PATH]
                  GROUP...
    GROUP: gate claims reload config http2 (needs --curl) asym (needs --cli)
           remote (needs --cli and openssl) revocation (needs --demo)

HS256 tokens are made here (hmac) so that broken ones can be made too;
with --cli, tokens from `authgate issue` are checked to pass the gate as
well. A group fails on the first broken expectation, naming the case.
remote: keys from authgate_jwks_url, served over TLS by a local server with
a test CA made by the openssl command. revocation: the demo server logs a
session out in a SQLite store that nginx's workers follow.
"""
import argparse
import base64
import hashlib
import hmac
import http.server
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

NGINX = MODULE = CLI = CURL = DEMO = None
ISS = "https://issuer.test"
AUD = "api"
REALM = "test"


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


# ---------------------------------------------------------------- tokens

def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jtext(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


class Key:
    def __init__(self, kid):
        self.kid = kid
        self.secret = os.urandom(32)

    def jwk(self):
        return {"kty": "oct", "k": b64(self.secret), "alg": "HS256", "kid": self.kid,
                "use": "sig"}

    def token(self, header=None, **over):
        now = int(time.time())
        claims = {"iss": ISS, "sub": "alice", "aud": AUD, "exp": now + 300, "iat": now,
                  "jti": b64(os.urandom(32))}
        claims.update(over)
        claims = {k: v for k, v in claims.items() if v is not None}
        hdr = header or {"alg": "HS256", "typ": "at+jwt", "kid": self.kid}
        signing = b64(jtext(hdr)) + "." + b64(jtext(claims))
        sig = hmac.new(self.secret, signing.encode(), hashlib.sha256).digest()
        return signing + "." + b64(sig)


def write_jwks(path, keys):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"keys": [k.jwk() for k in keys]}, f)
    os.replace(tmp, path)  # nginx reads either the old or the new file, never half


# ---------------------------------------------------------------- upstream

class Echo(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = jtext([[k, v] for k, v in self.headers.items()])
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Upstream:
    def __init__(self):
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
        self.srv.daemon_threads = True
        self.port = self.srv.server_address[1]
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


# ---------------------------------------------------------------- nginx

HTTP_BLOCK = """
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
    authgate_claim_header sub X-User;
    authgate_claim_header role X-Role;

    upstream echo {{ server 127.0.0.1:{up}; }}

    server {{
        listen 127.0.0.1:{port};
        listen 127.0.0.1:{h2port} http2;  # cleartext HTTP/2 (prior knowledge)
        authgate on;                      # inherited by every location but /open/
        location / {{
            proxy_set_header X-Sub-Var $authgate_claim_sub;
            proxy_set_header X-Scope-Var $authgate_claim_scope;
            proxy_pass http://echo;
        }}
        location /open/ {{
            authgate off;
            proxy_set_header X-Sub-Var $authgate_claim_sub;
            proxy_pass http://echo;
        }}
        location /other/ {{
            authgate_audience other;      # its own verifier
            proxy_pass http://echo;
        }}
        location /to-same/ {{            # internal redirect, same verifier
            try_files /nonexistent @same;
        }}
        location @same {{
            proxy_set_header X-Sub-Var $authgate_claim_sub;
            proxy_pass http://echo;
        }}
        location /to-other/ {{           # internal redirect, another verifier
            try_files /nonexistent @other;
        }}
        location @other {{
            authgate_audience other;
            proxy_pass http://echo;
        }}
        location /any/ {{
            authgate_token_type any;
            proxy_pass http://echo;
        }}
    }}
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main_conf(dir, http_block):
    user = "user root;\n" if os.geteuid() == 0 else ""  # else workers run as nobody
    return (f"load_module {MODULE};\n{user}daemon off;\nmaster_process on;\n"
            f"worker_processes 2;\npid {dir}/nginx.pid;\nerror_log {dir}/error.log info;\n"
            f"events {{ worker_connections 256; }}\nhttp {{{http_block}}}\n")


class Nginx:
    """One nginx master with its own prefix directory; keys: Key objects, or
    the JWKS text itself."""

    def __init__(self, up_port, keys, block=HTTP_BLOCK, **extra):
        self.block, self.extra = block, extra
        self.dir = tempfile.mkdtemp(prefix="agnginx-")
        self.jwks = os.path.join(self.dir, "jwks.json")
        self.conf = os.path.join(self.dir, "nginx.conf")
        if isinstance(keys, str):
            with open(self.jwks, "w") as f:
                f.write(keys)
        else:
            write_jwks(self.jwks, keys)
        self.up_port = up_port
        self.proc = None

    def log(self):
        try:
            with open(os.path.join(self.dir, "error.log")) as f:
                return f.read()
        except OSError:
            return ""

    def start(self):
        for _ in range(3):  # the probed port may be taken meanwhile
            self.port, self.h2port = free_port(), free_port()
            with open(self.conf, "w") as f:
                f.write(main_conf(self.dir, self.block.format(
                    dir=self.dir, iss=ISS, aud=AUD, realm=REALM, up=self.up_port,
                    port=self.port, h2port=self.h2port, **self.extra)))
            self.out = open(os.path.join(self.dir, "stderr"), "w")
            self.proc = subprocess.Popen([NGINX, "-p", self.dir, "-c", self.conf],
                                         stdout=self.out, stderr=self.out)
            deadline = time.time() + 15
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                    return
                except OSError:
                    time.sleep(0.05)
            self.stop()
            if "Address already in use" not in self.log():
                break
        raise Fail("nginx did not start:\n" + self.log()[-2000:])

    def reload(self):
        r = subprocess.run([NGINX, "-p", self.dir, "-c", self.conf, "-s", "reload"],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 0, "nginx -s reload failed: " + r.stderr)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def request(port, path, headers=(), timeout=10):
    """One GET on a new connection: (status, [(name, value)], body)."""
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers]
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout) as s:
        s.sendall(raw)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    hl = head.decode("latin-1").split("\r\n")
    status = int(hl[0].split(" ")[1])
    hdrs = [tuple(x.split(": ", 1)) for x in hl[1:] if ": " in x]
    return status, hdrs, body


def values(hdrs, name):
    return [v for k, v in hdrs if k.lower() == name.lower()]


def bearer(tok):
    return [("Authorization", "Bearer " + tok)]


def upstream_headers(body):
    return [tuple(x) for x in json.loads(body)]


# ---------------------------------------------------------------- groups

def expect(ng, case, path, headers, status, www):
    """www: None for no WWW-Authenticate, else the exact expected value."""
    st, hdrs, body = request(ng.port, path, headers)
    check(st == status, f"{case}: status {st}, wanted {status}")
    got = values(hdrs, "WWW-Authenticate")
    if www is None:
        check(got == [], f"{case}: unexpected WWW-Authenticate {got}")
    else:
        check(got == [www], f"{case}: WWW-Authenticate {got}, wanted {www!r}")
    return hdrs, body


NO_ERROR = f'Bearer realm="{REALM}"'
INVALID = (f'Bearer realm="{REALM}", error="invalid_token", '
           'error_description="the access token is invalid or expired"')


def group_gate(up):
    k = Key("k1")
    other = Key("k2")  # not in the JWKS
    ng = Nginx(up.port, [k])
    try:
        ng.start()
        now = int(time.time())
        good = k.token()
        expect(ng, "valid token", "/x", bearer(good), 200, None)
        expect(ng, "no credentials", "/x", [], 401, NO_ERROR)
        expect(ng, "another scheme", "/x", [("Authorization", "Basic Zm9vOmJhcg==")], 401,
               NO_ERROR)
        expect(ng, "expired", "/x", bearer(k.token(exp=now - 3600, iat=now - 4000)), 401,
               INVALID)
        expect(ng, "not yet valid", "/x", bearer(k.token(nbf=now + 3600)), 401, INVALID)
        h, p, s = good.split(".")
        forged = h + "." + b64(jtext({**json.loads(base64.urlsafe_b64decode(p + "==")),
                                      "sub": "admin"})) + "." + s
        expect(ng, "tampered payload", "/x", bearer(forged), 401, INVALID)
        expect(ng, "tampered signature", "/x", bearer(good[:-2] + ("AA" if good[-2:] != "AA"
                                                                   else "BA")), 401, INVALID)
        expect(ng, "wrong audience", "/x", bearer(k.token(aud="other")), 401, INVALID)
        expect(ng, "audience of another location", "/other/x", bearer(k.token(aud="other")),
               200, None)
        expect(ng, "api token at /other/", "/other/x", bearer(good), 401, INVALID)
        _, body = expect(ng, "internal redirect, same verifier", "/to-same/x", bearer(good),
                         200, None)
        u = upstream_headers(body)
        check(values(u, "X-User") == ["alice"] and values(u, "X-Sub-Var") == ["alice"],
              f"claims after an internal redirect: {u}")
        expect(ng, "internal redirect to a location of another audience", "/to-other/x",
               bearer(good), 401, INVALID)
        expect(ng, "internal redirect, token for both audiences", "/to-other/x",
               bearer(k.token(aud=[AUD, "other"])), 200, None)
        expect(ng, "wrong issuer", "/x", bearer(k.token(iss="https://evil.test")), 401,
               INVALID)
        expect(ng, "unknown key", "/x", bearer(other.token()), 401, INVALID)
        none_hdr = b64(jtext({"alg": "none", "typ": "at+jwt", "kid": "k1"}))
        none_tok = none_hdr + "." + good.split(".")[1] + "."
        expect(ng, "alg none", "/x", bearer(none_tok), 401, INVALID)
        hs_none = {"alg": "none", "typ": "at+jwt", "kid": "k1"}
        expect(ng, "alg none, HMAC signature kept", "/x", bearer(k.token(header=hs_none)), 401,
               INVALID)
        rt = k.token(header={"alg": "HS256", "typ": "rt+jwt", "kid": "k1"}, sid="fam")
        expect(ng, "refresh token at an access gate", "/x", bearer(rt), 401, INVALID)
        expect(ng, "refresh token where any type passes", "/any/x", bearer(rt), 200, None)
        expect(ng, "garbage", "/x", bearer("a.b.c"), 401, INVALID)
        # the request is wrong: 400 invalid_request, which carries no WWW-Authenticate
        expect(ng, "duplicate Authorization", "/x", bearer(good) + bearer(good), 400, None)
        expect(ng, "two credentials in one field", "/x",
               [("Authorization", f"Bearer {good}, Bearer {good}")], 400, None)
        expect(ng, "a tab after Bearer", "/x", [("Authorization", "Bearer\t" + good)], 400,
               None)
        expect(ng, "Bearer without a token", "/x", [("Authorization", "Bearer")], 400, None)
        expect(ng, "?access_token=", "/x?access_token=" + good, [], 400, None)
        expect(ng, "?access_token= with a header too", "/x?a=1&access_token=" + good,
               bearer(good), 400, None)
        expect(ng, "percent-encoded name", "/x?acc%65ss_token=" + good, bearer(good), 400,
               None)
        expect(ng, "?jwt=", "/x?jwt=" + good, [], 400, None)
        expect(ng, "harmless query", "/x?page=2", bearer(good), 200, None)
        expect(ng, "open location", "/open/x", [], 200, None)
        if CLI:
            jwk = os.path.join(ng.dir, "k1.jwk")
            with open(jwk, "w") as f:
                json.dump(k.jwk(), f)
            r = subprocess.run([CLI, "issue", "--key", jwk, "--sub", "bob", "--iss", ISS,
                                "--aud", AUD], capture_output=True, text=True, timeout=30)
            check(r.returncode == 0, "authgate issue failed: " + r.stderr)
            _, body = expect(ng, "token from the CLI", "/x", bearer(r.stdout.strip()), 200,
                             None)
            check(values(upstream_headers(body), "X-User") == ["bob"], "CLI token: X-User")
        log = ng.log()
        check("authgate: refused (AG_ERR_EXPIRED)" in log, "the log names the reason")
        # (nginx itself logs a duplicate field's value at info level: its lines, not ours)
        ours = "\n".join(x for x in log.splitlines() if "authgate" in x)
        check(good.split(".")[2] not in ours, "a token signature in authgate's log lines")
    finally:
        ng.cleanup()


def group_claims(up):
    k = Key("k1")
    ng = Nginx(up.port, [k])
    try:
        ng.start()
        tok = k.token(role="admin", scope=["read", "write"])
        _, body = expect(ng, "valid token", "/x", bearer(tok), 200, None)
        u = upstream_headers(body)
        check(values(u, "X-User") == ["alice"], f"X-User: {values(u, 'X-User')}")
        check(values(u, "X-Role") == ["admin"], f"X-Role: {values(u, 'X-Role')}")
        check(values(u, "X-Sub-Var") == ["alice"], "$authgate_claim_sub")
        check(values(u, "X-Scope-Var") == ['["read","write"]'], "a JSON claim as JSON text")

        injected = bearer(tok) + [("X-User", "mallory"), ("x-user", "eve"), ("X-Role", "root"),
                                  ("X-Sub-Var", "evil")]
        _, body = expect(ng, "injected claim headers", "/x", injected, 200, None)
        u = upstream_headers(body)
        check(values(u, "X-User") == ["alice"], f"injected X-User kept: {values(u, 'X-User')}")
        check(values(u, "X-Role") == ["admin"], f"injected X-Role kept: {values(u, 'X-Role')}")
        check(values(u, "X-Sub-Var") == ["alice"], "injected X-Sub-Var kept")

        # the claim is absent: the client's field is still removed, none added
        _, body = expect(ng, "absent claim", "/x", bearer(k.token()) + [("X-Role", "root")],
                         200, None)
        u = upstream_headers(body)
        check(values(u, "X-Role") == [], "absent claim: client X-Role passed through")
        check(values(u, "X-Scope-Var") == [], "absent claim: variable set")

        # a decoded CR LF cannot reach a header: the claim is dropped
        _, body = expect(ng, "CR LF in a claim", "/x",
                         bearer(k.token(role="a\r\nX-Evil: 1")), 200, None)
        u = upstream_headers(body)
        check(values(u, "X-Role") == [] and values(u, "X-Evil") == [], "CR LF claim")

        _, body = expect(ng, "open location", "/open/x", [("X-Sub-Var", "evil")], 200, None)
        u = upstream_headers(body)
        check(values(u, "X-Sub-Var") == [], "variable outside a gate is empty")
    finally:
        ng.cleanup()


def group_reload(up):
    a, b, c = Key("a"), Key("b"), Key("c")
    ng = Nginx(up.port, [a, b])
    try:
        ng.start()
        ta, tb, tc = a.token(), b.token(), c.token()
        expect(ng, "old key before reload", "/x", bearer(ta), 200, None)
        expect(ng, "new key before reload", "/x", bearer(tc), 401, INVALID)

        stop = threading.Event()
        stats = {"ok": 0, "failed": []}
        lock = threading.Lock()

        def load():  # key b is in both sets: every request must pass
            while not stop.is_set():
                try:
                    st, _, _ = request(ng.port, "/x", bearer(tb))
                    res = None if st == 200 else f"status {st}"
                except OSError as e:
                    res = f"{type(e).__name__}: {e}"
                with lock:
                    if res is None:
                        stats["ok"] += 1
                    else:
                        stats["failed"].append(res)

        threads = [threading.Thread(target=load, daemon=True) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            time.sleep(0.5)
            master = ng.proc.pid
            write_jwks(ng.jwks, [b, c])
            ng.reload()
            deadline = time.time() + 20
            while request(ng.port, "/x", bearer(tc))[0] != 200:
                check(time.time() < deadline, "the new key was not accepted after reload")
                time.sleep(0.05)
            time.sleep(0.5)
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        check(stats["failed"] == [], f"requests failed during reload: {stats['failed'][:5]}")
        check(stats["ok"] >= 10, f"too few requests during reload: {stats['ok']}")
        check(ng.proc.poll() is None and ng.proc.pid == master, "the master restarted")
        time.sleep(0.5)  # old workers finish and exit
        for i in range(10):
            expect(ng, f"old key after reload #{i}", "/x", bearer(ta), 401, INVALID)
            expect(ng, f"new key after reload #{i}", "/x", bearer(tc), 200, None)

        # a broken key file: `nginx -s reload` reads the configuration itself and
        # refuses; a SIGHUP straight to the master keeps the running configuration
        with open(ng.jwks, "w") as f:
            f.write('{"keys": [')
        r = subprocess.run([NGINX, "-p", ng.dir, "-c", ng.conf, "-s", "reload"],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode != 0 and "cannot load keys" in r.stderr,
              "nginx -s reload accepted a broken JWKS: " + r.stderr)
        os.kill(ng.proc.pid, signal.SIGHUP)
        deadline = time.time() + 10
        while "cannot load keys" not in ng.log():
            check(time.time() < deadline, "the broken JWKS was not reported")
            time.sleep(0.05)
        expect(ng, "keys kept after a failed reload", "/x", bearer(tc), 200, None)
        print(f"reload: {stats['ok']} requests during the reload, none failed")
    finally:
        ng.cleanup()


def request_h2(port, path, headers=()):
    """One GET over cleartext HTTP/2 with curl: (status, [(name, value)], body)."""
    cmd = [CURL, "-s", "-i", "--http2-prior-knowledge", "--max-time", "10"]
    for k, v in headers:
        cmd += ["-H", f"{k}: {v}"]
    r = subprocess.run(cmd + [f"http://127.0.0.1:{port}{path}"], capture_output=True,
                       timeout=30)
    check(r.returncode == 0, f"curl failed on {path}: {r.stderr!r}")
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    hl = head.decode("latin-1").split("\r\n")
    check(hl[0].startswith("HTTP/2 "), f"not HTTP/2: {hl[0]!r}")
    return (int(hl[0].split(" ")[1]), [tuple(x.split(": ", 1)) for x in hl[1:] if ": " in x],
            body)


def group_http2(up):
    check(CURL is not None, "the http2 group needs --curl")
    k = Key("k1")
    ng = Nginx(up.port, [k])
    try:
        ng.start()
        now = int(time.time())
        good = k.token()
        cases = [
            ("valid", "/x", bearer(good) + [("X-User", "mallory")], 200, None),
            ("no credentials", "/x", [], 401, NO_ERROR),
            ("expired", "/x", bearer(k.token(exp=now - 3600, iat=now - 4000)), 401, INVALID),
            ("wrong audience", "/x", bearer(k.token(aud="other")), 401, INVALID),
            ("duplicate Authorization", "/x", bearer(good) + bearer(good), 400, None),
            ("?access_token=", "/x?access_token=" + good, [], 400, None),
        ]
        for name, path, headers, status, www in cases:
            st, hdrs, body = request_h2(ng.h2port, path, headers)
            check(st == status, f"HTTP/2 {name}: status {st}, wanted {status}")
            got = values(hdrs, "WWW-Authenticate")
            check(got == ([] if www is None else [www]), f"HTTP/2 {name}: {got}")
            if st == 200:
                u = upstream_headers(body)
                check(values(u, "X-User") == ["alice"], f"HTTP/2 X-User: {u}")
    finally:
        ng.cleanup()


def cli(*args):
    r = subprocess.run([CLI, *args], capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, f"authgate {args[0]} failed: {r.stderr}")
    return r.stdout


def group_asym(up):
    """Public-key JWKS as issuers publish them, keys and tokens from the CLI."""
    check(CLI is not None, "the asym group needs --cli")
    work = tempfile.mkdtemp(prefix="agnginx-keys-")
    try:
        files = {}
        for alg in ("ES256", "EdDSA", "RS256"):
            files[alg] = os.path.join(work, alg + ".jwk")
            with open(files[alg], "w") as f:
                f.write(cli("keygen", "--alg", alg, "--kid", alg.lower()))
        jwks = cli("jwks", *files.values())
        check('"d"' not in jwks, "authgate jwks printed a private member")
        ng = Nginx(up.port, jwks)
        try:
            ng.start()
            for alg, jwk in files.items():
                tok = cli("issue", "--key", jwk, "--sub", "carol", "--iss", ISS, "--aud",
                          AUD).strip()
                _, body = expect(ng, f"{alg} token", "/x", bearer(tok), 200, None)
                check(values(upstream_headers(body), "X-User") == ["carol"], f"{alg}: X-User")
                h, p, sig = tok.split(".")
                bad = sig[:-4] + ("AAAA" if sig[-4:] != "AAAA" else "BBBB")
                expect(ng, f"{alg} bad signature", "/x", bearer(f"{h}.{p}.{bad}"), 401, INVALID)
                hs = {"alg": "HS256", "typ": "at+jwt", "kid": alg.lower()}
                confused = b64(jtext(hs)) + "." + p
                mac = hmac.new(jwks.encode(), confused.encode(), hashlib.sha256).digest()
                expect(ng, f"{alg} key used as an HMAC secret", "/x",
                       bearer(confused + "." + b64(mac)), 401, INVALID)
        finally:
            ng.cleanup()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def nginx_t(dir, http_block):
    conf = os.path.join(dir, "t.conf")
    with open(conf, "w") as f:
        f.write(main_conf(dir, http_block))
    r = subprocess.run([NGINX, "-t", "-q", "-p", dir, "-c", conf], capture_output=True,
                       text=True, timeout=30)
    return r.returncode, r.stderr


def group_config(up):
    dir = tempfile.mkdtemp(prefix="agnginx-")
    try:
        k = Key("k1")
        jwks = os.path.join(dir, "jwks.json")
        write_jwks(jwks, [k])
        ok = (f"authgate_jwks_file {jwks}; "
              "server { listen 127.0.0.1:1; location / { authgate on; } }")
        rc, err = nginx_t(dir, ok)
        check(rc == 0, "a valid configuration is refused: " + err)
        # keys from a URL are fetched by the workers, never by nginx -t or the master
        remote = ("authgate_jwks_url https://127.0.0.1:1/jwks timeout=1s min_refresh=30s; "
                  f"authgate_revocations sqlite:{dir}/rev.db ttl=2d; "
                  "server { listen 127.0.0.1:1; location / { authgate on; } "
                  f"location /f/ {{ authgate_jwks_file {jwks}; authgate on; "
                  "authgate_revocations off; } }")
        rc, err = nginx_t(dir, remote)
        check(rc == 0, "a configuration with a JWKS URL is refused: " + err)
        docs_example_check(dir, jwks)
        weak = os.path.join(dir, "weak.json")
        with open(weak, "w") as f:
            json.dump({"keys": [{"kty": "oct", "k": b64(b"short"), "alg": "HS256",
                                 "kid": "w"}]}, f)
        bad = os.path.join(dir, "bad.json")
        with open(bad, "w") as f:
            f.write("{}")
        cases = [
            ("on without keys", "server { listen 127.0.0.1:1; authgate on; }",
             "needs authgate_jwks_file"),
            ("missing file", "authgate_jwks_file /nonexistent/jwks.json; "
             "server { listen 127.0.0.1:1; }", "failed"),
            ("not a JWKS", f"authgate_jwks_file {bad}; server {{ listen 127.0.0.1:1; }}",
             "cannot load keys"),
            ("weak key", f"authgate_jwks_file {weak}; server {{ listen 127.0.0.1:1; }}",
             "cannot load keys"),
            ("leeway over 300s", f"authgate_jwks_file {jwks}; authgate_leeway 301s; "
             "server { listen 127.0.0.1:1; }", "authgate_leeway"),
            ("claim into Host", "authgate_claim_header sub Host;", "cannot carry a claim"),
            ("claim into X_User after X-User",
             "authgate_claim_header sub X-User; authgate_claim_header role X_User;",
             "same header twice"),
            ("bad header name", 'authgate_claim_header sub "X User";', "invalid header name"),
            ("bad token type", "authgate_token_type id;", "invalid value"),
            ("http JWKS URL", "authgate_jwks_url http://127.0.0.1/jwks;", "https://"),
            ("file and URL at one level", f"authgate_jwks_file {jwks}; "
             "authgate_jwks_url https://127.0.0.1/jwks;", "is duplicate"),
            ("unknown JWKS URL parameter", "authgate_jwks_url https://127.0.0.1/ refresh=1s;",
             "invalid parameter"),
            ("JWKS URL timeout", "authgate_jwks_url https://127.0.0.1/ timeout=0;",
             "invalid time"),
            ("revocations: no store", "authgate_revocations /tmp/x.db;", "sqlite:PATH"),
            ("revocations: bad interval", f"authgate_revocations sqlite:{dir}/r.db interval=2m;",
             "interval"),
            ("revocations: ttl shorter than a token's life",
             f"authgate_jwks_file {jwks}; authgate_revocations sqlite:{dir}/r.db ttl=1h; "
             "server { listen 127.0.0.1:1; }", "ttl="),
            ("revocations: refresh tokens live longer",
             f"authgate_jwks_file {jwks}; authgate_revocations sqlite:{dir}/r.db; "
             "authgate_token_type any; server { listen 127.0.0.1:1; }", "ttl="),
            ("revocations: one store, two settings",
             f"authgate_revocations sqlite:{dir}/r.db; server {{ listen 127.0.0.1:1; "
             f"authgate_revocations sqlite:{dir}/r.db interval=1s; }}", "other parameters"),
            ("bad realm", f'authgate_jwks_file {jwks}; authgate_realm "a\\"b\x01"; '
             "server { listen 127.0.0.1:1; }", "authgate_realm"),
        ]
        for name, block, msg in cases:
            rc, err = nginx_t(dir, block)
            check(rc != 0, f"config {name}: accepted")
            check(msg in err, f"config {name}: message {err!r} lacks {msg!r}")
    finally:
        shutil.rmtree(dir, ignore_errors=True)


def docs_example_check(dir, jwks):
    """docs/nginx.md's first configuration must pass nginx -t (paths made local)."""
    doc = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs",
                       "nginx.md")
    with open(doc) as f:
        text = f.read()
    block = text.split("```nginx\n", 1)[1].split("```", 1)[0]
    check("load_module modules/ngx_http_authgate_module.so;" in block
          and "listen 443 ssl;" in block,
          "docs/nginx.md: the example changed shape; update this test")
    block = (block.replace("load_module modules/ngx_http_authgate_module.so;",
                           f"load_module {MODULE};")
             .replace("/etc/nginx/authgate/jwks.json", jwks)
             .replace("listen 443 ssl;", "listen 127.0.0.1:1;"))
    conf = os.path.join(dir, "doc.conf")
    with open(conf, "w") as f:
        f.write(f"{block}\npid {dir}/doc.pid;\nerror_log {dir}/doc.log;\nevents {{}}\n")
    r = subprocess.run([NGINX, "-t", "-q", "-p", dir, "-c", conf], capture_output=True,
                       text=True, timeout=30)
    check(r.returncode == 0, "docs/nginx.md example: " + r.stderr)


# the remote and revocation groups live in nginx_sources.py, which uses this
# module's helpers and settings under its own name
sys.modules.setdefault("test_nginx", sys.modules[__name__])
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import nginx_sources  # noqa: E402

GROUPS = {"gate": group_gate, "claims": group_claims, "reload": group_reload,
          "config": group_config, "http2": group_http2, "asym": group_asym,
          "remote": nginx_sources.group_remote,
          "revocation": nginx_sources.group_revocation}


def main():
    global NGINX, MODULE, CLI, CURL, DEMO
    ap = argparse.ArgumentParser()
    ap.add_argument("--nginx", required=True)
    ap.add_argument("--module", required=True)
    ap.add_argument("--cli")
    ap.add_argument("--curl")
    ap.add_argument("--demo")
    ap.add_argument("groups", nargs="+", choices=sorted(GROUPS))
    a = ap.parse_args()
    NGINX, MODULE, CLI, CURL, DEMO = a.nginx, os.path.abspath(a.module), a.cli, a.curl, a.demo
    up = Upstream()
    try:
        for g in a.groups:
            GROUPS[g](up)
            print(f"{g}: ok")
    except Fail as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    finally:
        up.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
