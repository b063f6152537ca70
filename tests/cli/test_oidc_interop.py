#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Interoperability with npm jose as the outside world sees authgate.

provider: jose mints tokens the way an identity provider does (typ JWT, no
  jti, a fresh key pair per algorithm); its public JWKS is served by a local
  TLS server (test CA made now) and the CLI verifies through --jwks-url.
  The same tokens without the relaxations (--allow-typ jwt, --optional jti)
  are refused, and a token of a key the provider has not published is too.
relying: jose's remote key set (createRemoteJWKSet) verifies the demo's
  access tokens from the demo's /.well-known/jwks.json, before and after a
  demo key rotation (SIGHUP), in one process: the new kid is fetched, and a
  token of the previous key still verifies.

usage: test_oidc_interop.py --cli AUTHGATE --demo AUTHGATE_DEMO --node-dir DIR
(the node dir holds jose@5, installed by the cli_jose_install fixture)
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "token"))
sys.path.insert(0, os.path.join(HERE, "..", "demo"))
import test_jwks_remote as tls  # noqa: E402  (test CA, TLS JWKS server)
import test_demo as demo  # noqa: E402  (the demo server fixture)

ALGS = ("RS256", "PS256", "ES256", "EdDSA")


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def node_script(node_dir):
    jose_pkg = os.path.join(node_dir, "node_modules", "jose", "package.json")
    check(os.path.exists(jose_pkg), "jose is not installed in %s (fixture cli_jose_install)"
          % node_dir)
    dst = os.path.join(node_dir, "oidc_interop.mjs")
    shutil.copyfile(os.path.join(HERE, "oidc_interop.mjs"), dst)  # beside node_modules
    node = shutil.which("node")
    check(node is not None, "node not found")
    return [node, dst]


def group_provider(cli, jose, work):
    ca_key, ca_pem = tls.make_ca(work, "ca")
    srv_key, srv_pem = tls.make_server_cert(work, ca_key, ca_pem)
    server = tls.TlsServer(srv_pem, srv_key)
    url = "https://127.0.0.1:%d/jwks" % server.port
    iss, aud = "https://idp.example/realms/main", "orders-api"
    try:
        for alg in ALGS:
            jwks = os.path.join(work, "idp-%s.json" % alg)
            cp = subprocess.run(jose + ["provider", "--alg", alg, "--kid", "idp-" + alg,
                                        "--iss", iss, "--aud", aud, "--sub", "carol",
                                        "--jwks", jwks, "--count", "3"],
                                capture_output=True, text=True, timeout=120)
            check(cp.returncode == 0, "jose provider %s: %s" % (alg, cp.stderr))
            toks = cp.stdout.split()
            with open(jwks, "rb") as f:
                tls.serve(f.read(), {"Cache-Control": "max-age=300"})
            base = [cli, "verify", "--jwks-url", url, "--cacert", ca_pem, "--type", "access",
                    "--iss", iss, "--aud", aud]
            for t in toks:
                r = subprocess.run(base + ["--allow-typ", "jwt", "--optional", "jti", t],
                                   capture_output=True, text=True, timeout=60)
                check(r.returncode == 0, "%s provider token refused: %s" % (alg, r.stderr))
                claims = json.loads(r.stdout)
                check(claims["sub"] == "carol" and claims["scope"] == "orders:read",
                      "%s claims as signed: %r" % (alg, claims))
            # the relaxations are needed, one at a time: typ JWT, then no jti
            r = subprocess.run(base + ["--optional", "jti", toks[0]],
                               capture_output=True, text=True, timeout=60)
            check(r.returncode == 1 and "wrong type" in r.stderr,
                  "%s typ JWT without --allow-typ jwt: %d %s" % (alg, r.returncode, r.stderr))
            r = subprocess.run(base + ["--allow-typ", "jwt", toks[0]],
                               capture_output=True, text=True, timeout=60)
            check(r.returncode == 1 and "claim" in r.stderr,
                  "%s no jti without --optional jti: %d %s" % (alg, r.returncode, r.stderr))
        # the provider has rotated to a key it has not published (here: the
        # last algorithm's document is served): an unknown kid is refused
        r = subprocess.run([cli, "verify", "--jwks-url", url, "--cacert", ca_pem, "--type",
                            "access", "--allow-typ", "jwt", "--optional", "jti", "--iss", iss,
                            "--aud", aud, first_rs256(jose, work, iss, aud)],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 1, "a kid the JWKS does not list is refused: %d %s"
              % (r.returncode, r.stderr))
    finally:
        server.stop()


def first_rs256(jose, work, iss, aud):
    cp = subprocess.run(jose + ["provider", "--alg", "RS256", "--kid", "unpublished", "--iss",
                                iss, "--aud", aud, "--sub", "carol", "--jwks",
                                os.path.join(work, "unpublished.json"), "--count", "1"],
                        capture_output=True, text=True, timeout=120)
    check(cp.returncode == 0, "jose provider: %s" % cp.stderr)
    return cp.stdout.split()[0]


def group_relying(jose):
    with demo.Server(store="memory") as s:
        url = "http://127.0.0.1:%d/.well-known/jwks.json" % s.port
        rp = subprocess.Popen(jose + ["relying", "--url", url, "--iss", "authgate-demo",
                                      "--aud", "authgate-demo", "--typ", "at+jwt"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

        def ask(tok):
            rp.stdin.write(tok + "\n")
            rp.stdin.flush()
            line = rp.stdout.readline()
            check(line, "jose relying party answered")
            return json.loads(line)

        try:
            b1, _ = s.login(mode="token")
            a1 = ask(b1["access_token"])
            check(a1["ok"] and a1["sub"] == "demo", "jose verifies the demo's token: %r" % a1)
            r1 = ask(b1["refresh_token"])
            check(not r1["ok"], "a refresh token is not an access token for jose: %r" % r1)
            time.sleep(1.1)  # rotated key files are named by the second
            s.proc.send_signal(signal.SIGHUP)
            deadline = time.time() + 60
            while time.time() < deadline:
                line = s.proc.stdout.readline()
                check(line, "demo exited during rotation")
                if line.startswith("keys reloaded:"):
                    break
            b2, _ = s.login(mode="token")
            a2 = ask(b2["access_token"])
            check(a2["ok"] and a2["kid"] != a1["kid"],
                  "jose fetches the rotated key and verifies the new token: %r vs %r"
                  % (a2, a1))
            a1b = ask(b1["access_token"])
            check(a1b["ok"], "the previous key's token still verifies after rotation: %r" % a1b)
            bad = b2["access_token"][:-4] + ("AAAA" if not b2["access_token"].endswith("AAAA")
                                             else "BBBB")
            ab = ask(bad)
            check(not ab["ok"], "a tampered token fails in jose too: %r" % ab)
        finally:
            rp.stdin.close()
            rp.wait(timeout=30)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--demo", required=True)
    ap.add_argument("--node-dir", required=True)
    ap.add_argument("group", choices=("provider", "relying"))
    a = ap.parse_args()
    demo.BIN = os.path.abspath(a.demo)
    work = tempfile.mkdtemp(prefix="agoidc-")
    try:
        jose = node_script(os.path.abspath(a.node_dir))
        if a.group == "provider":
            group_provider(os.path.abspath(a.cli), jose, work)
        else:
            group_relying(jose)
    except (Fail, tls.Fail, demo.Fail) as e:
        print("FAIL [%s]: %s" % (a.group, e), file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("ok [%s]" % a.group)
    return 0


if __name__ == "__main__":
    sys.exit(main())
