#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Interoperability of the `authgate` CLI with npm jose@5, both directions,
for HS256, RS256, PS256, ES256, ES384 and EdDSA (jose_interop.mjs runs the
jose side).

  test_cli_interop.py --node-dir DIR npm-install          install npm jose@5 into DIR (cached)
  test_cli_interop.py --bin PATH --node-dir DIR interop   both directions with npm jose

Shared helpers and the runner: cli_util.py. Rule IDs refer to docs/security.md.
"""
import json
import os
import shutil
import subprocess
import sys

import cli_util
from cli_util import CliCase, Run, ag, b64u_dec, flip_sig, main

INTEROP_ALGS = ["HS256", "RS256", "PS256", "ES256", "ES384", "EdDSA"]
# ECDSA group orders, for the low-S / high-S checks (docs/security.md §8.8 amendment)
EC_ORDER = {
    "ES256": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "ES384": int("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
                 "C7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973", 16),
}


def ecdsa_high_s(alg, token):
    """True when the token's raw R||S signature has S > n/2."""
    sig = b64u_dec(token.rsplit(".", 1)[1])
    s = int.from_bytes(sig[len(sig) // 2:], "big")
    return s > EC_ORDER[alg] // 2


# ---------------------------------------------------------------------------
def jose_dir():
    return os.path.join(cli_util.NODE_DIR, "node_modules", "jose", "package.json")


def npm_install():
    """npm install --prefix <node dir> jose@5, once (cached). Fails loudly."""
    if os.path.exists(jose_dir()):
        with open(jose_dir()) as f:
            if json.load(f)["version"].startswith("5."):
                return
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("FAIL: npm not found (apt-get install npm): the jose interop test "
                         "cannot run and does not skip")
    os.makedirs(cli_util.NODE_DIR, exist_ok=True)
    cp = subprocess.run([npm, "install", "--prefix", cli_util.NODE_DIR, "--no-audit",
                         "--no-fund", "--no-save", "jose@5"], stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT, timeout=540)
    sys.stderr.write(cp.stdout.decode("utf-8", "replace"))
    if cp.returncode != 0 or not os.path.exists(jose_dir()):
        raise SystemExit("FAIL: npm install jose@5 failed (is the npm registry reachable?); "
                         "the interop test does not skip")


class TestJoseInterop(CliCase):
    """Both directions with npm jose for HS256, RS256, PS256, ES256, ES384, EdDSA."""

    @classmethod
    def setUpClass(cls):
        npm_install()
        cls.node = shutil.which("node")
        if cls.node is None:
            raise SystemExit("FAIL: node not found")
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jose_interop.mjs")
        cls.script = os.path.join(cli_util.NODE_DIR, "jose_interop.mjs")
        shutil.copyfile(src, cls.script)  # next to node_modules, so `import 'jose'` resolves

    def jose(self, *args):
        cp = subprocess.run([self.node, self.script] + [str(a) for a in args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        return Run(("jose",) + args, cp)

    def verify_jwk(self, alg, keyf):
        """The JWK jose verifies with: the public one for asymmetric keys."""
        if alg.startswith("HS"):
            return keyf
        (k,) = json.loads(ag("jwks", keyf).out)["keys"]
        return self.write("jose-pub-%s.jwk" % alg, json.dumps(k))

    def test_authgate_to_jose(self):
        for alg in INTEROP_ALGS:
            with self.subTest(alg=alg):
                keyf = self.key(alg, "interop-" + alg)
                vjwk = self.verify_jwk(alg, keyf)
                for kind, typ in (("access", "at+jwt"), ("refresh", "rt+jwt")):
                    tok = self.issue(keyf, "--type", kind, "--iss", "https://as.example",
                                     "--aud", "api", "--claim", 'role="admin"',
                                     "--claim", 'scope=["a","b"]', sub="alice")
                    r = self.jose("verify", "--jwk", vjwk, "--alg", alg, "--typ", typ,
                                  "--iss", "https://as.example", "--aud", "api", tok)
                    self.assertEqual(r.rc, 0, r)
                    d = json.loads(r.out)
                    self.assertEqual(d["header"]["kid"], "interop-" + alg)
                    self.assertEqual(d["payload"]["sub"], "alice")
                    self.assertEqual(d["payload"]["role"], "admin")
                    self.assertEqual(d["payload"]["scope"], ["a", "b"])
                    if kind == "refresh":
                        self.assertIn("sid", d["payload"])
                if alg in EC_ORDER:  # authgate signs low-S (docs/security.md §8.8 amendment)
                    for _ in range(8):
                        self.assertFalse(ecdsa_high_s(alg, self.issue(keyf)))
                # the jose side really checks: a flipped signature fails there too
                bad = flip_sig(self.issue(keyf))
                r = self.jose("verify", "--jwk", vjwk, "--alg", alg, bad)
                self.assertEqual(r.rc, 1, r)
                self.assertIn("ERR_JWS_SIGNATURE_VERIFICATION_FAILED", r.stderr)

    def test_jose_to_authgate(self):
        for alg in INTEROP_ALGS:
            with self.subTest(alg=alg):
                kid = "interop-" + alg
                keyf = self.key(alg, kid)
                if alg.startswith("HS"):
                    vargs = ["--key", keyf]
                else:
                    vargs = ["--jwks", self.write("jose-%s.jwks" % alg, ag("jwks", keyf).out)]
                # several tokens: ECDSA signatures from jose are not low-S normalised
                r = self.jose("sign", "--jwk", keyf, "--alg", alg, "--kid", kid,
                              "--typ", "at+jwt", "--iss", "https://as.example", "--aud", "api",
                              "--sub", "bob", "--count", "8", "--claims", '{"n":7}')
                self.assertEqual(r.rc, 0, r)
                toks = r.stdout.split()
                self.assertEqual(len(toks), 8)
                if alg in EC_ORDER:
                    # verify accepts high-S from other issuers (§8.8 amendment): make sure
                    # at least one such token is in the set (each is high-S with p = 1/2)
                    for _ in range(8):
                        if any(ecdsa_high_s(alg, t) for t in toks):
                            break
                        more = self.jose("sign", "--jwk", keyf, "--alg", alg, "--kid", kid,
                                         "--typ", "at+jwt", "--iss", "https://as.example",
                                         "--aud", "api", "--sub", "bob", "--count", "8",
                                         "--claims", '{"n":7}')
                        toks += more.stdout.split()
                    self.assertTrue(any(ecdsa_high_s(alg, t) for t in toks))
                for tok in toks:
                    v = ag("verify", *vargs, "--type", "access", "--iss", "https://as.example",
                           "--aud", "api", tok)
                    self.assertExit(v, 0)
                    c = json.loads(v.out)
                    self.assertEqual((c["sub"], c["n"]), ("bob", 7))
                    self.assertInvalid(ag("verify", *vargs, flip_sig(tok)), "bad signature")
                    self.assertInvalid(ag("verify", *vargs, "--type", "refresh", tok),
                                       "wrong type")
                # a jose refresh token (typ rt+jwt, sid)
                r = self.jose("sign", "--jwk", keyf, "--alg", alg, "--kid", kid,
                              "--typ", "rt+jwt", "--iss", "i", "--aud", "a", "--sub", "bob",
                              "--sid", "family-1")
                self.assertEqual(r.rc, 0, r)
                v = ag("verify", *vargs, "--type", "refresh", r.stdout.strip())
                self.assertExit(v, 0)
                self.assertEqual(json.loads(v.out)["sid"], "family-1")




def install():
    npm_install()
    print("jose installed in", cli_util.NODE_DIR)
    return 0


# ---------------------------------------------------------------------------
SUITES = {"interop": [TestJoseInterop]}

if __name__ == "__main__":
    sys.exit(main(SUITES, {"npm-install": install}, need_node_dir=True))
