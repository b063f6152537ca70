#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Black-box tests of the `authgate` CLI's rejections (docs/cli.md): every
class of invalid token exits 1 with one stderr line, the reason word and,
for key and claim problems, the cause.

  test_cli_rejections.py --bin PATH rejections

Shared helpers and the runner: cli_util.py. Rule IDs refer to docs/security.md.
"""
import json
import sys

from cli_util import NOW, TOKEN_MAX, CliCase, ag, b64u, b64u_dec, flip_sig, hs_token, main


# ---------------------------------------------------------------------------
class TestRejections(CliCase):
    """Every rejection class the CLI can produce: exit 1, one line, the reason word."""

    def test_expired_V14(self):
        key = self.key("HS256")
        tok = self.issue(key, "--now", NOW, "--ttl", "60")
        # RFC 7519 §4.1.4: valid only *before* exp (+ leeway, default 30 s)
        self.assertExit(ag("verify", "--key", key, "--now", NOW + 60 + 29, tok), 0)
        self.assertInvalid(ag("verify", "--key", key, "--now", NOW + 60 + 30, tok), "expired")
        self.assertExit(ag("verify", "--key", key, "--leeway", "0", "--now", NOW + 59, tok), 0)
        self.assertInvalid(ag("verify", "--key", key, "--leeway", "0", "--now", NOW + 60, tok),
                           "expired")
        self.assertInvalid(ag("verify", "--key", key, "--now", NOW + 10**6, tok), "expired")

    def test_not_yet_valid_V14(self):
        key = self.key("ES256")
        tok = self.issue(key, "--now", NOW)
        self.assertExit(ag("verify", "--key", key, "--now", NOW - 30, tok), 0)
        self.assertInvalid(ag("verify", "--key", key, "--now", NOW - 1000, tok), "not yet valid")

    def test_wrong_type_both_directions_V12(self):
        key = self.key("HS256")
        at = self.issue(key, "--type", "access")
        rt = self.issue(key, "--type", "refresh")
        self.assertInvalid(ag("verify", "--key", key, "--type", "access", rt), "wrong type")
        self.assertInvalid(ag("verify", "--key", key, "--type", "refresh", at), "wrong type")

    def test_bad_signature_V09(self):
        for alg in ("HS256", "RS256", "ES256", "EdDSA"):
            with self.subTest(alg=alg):
                key = self.key(alg)
                tok = self.issue(key)
                self.assertInvalid(ag("verify", "--key", key, flip_sig(tok)), "bad signature")
        # another key with the same kid and alg: verifies nothing
        k1 = self.key("HS256", "shared")
        other = self.write("other-shared.jwk", ag("keygen", "--alg", "HS256", "--kid", "shared").out)
        self.assertInvalid(ag("verify", "--key", other, self.issue(k1)), "bad signature")
        # a changed payload under the old signature
        tok = self.issue(k1, sub="alice")
        h, _, s = tok.split(".")
        forged = h + "." + self.issue(k1, sub="mallory").split(".")[1] + "." + s
        self.assertInvalid(ag("verify", "--key", k1, forged), "bad signature")
        # a truncated signature: canonical base64url (43 -> 40 chars), wrong length
        self.assertInvalid(ag("verify", "--key", k1, tok[:-3]), "bad signature")

    def test_unknown_key_V08(self):
        tok = self.issue(self.key("ES256", "kid-a"))
        self.assertInvalid(ag("verify", "--key", self.key("ES256", "kid-b"), tok),
                           'unknown key: no key with kid "kid-a"')
        jwks = self.write("ab.jwks", ag("jwks", self.key("ES256", "kid-b"),
                                        self.key("EdDSA", "kid-c")).out)
        self.assertInvalid(ag("verify", "--jwks", jwks, tok), 'unknown key: no key with kid "kid-a"')

    def test_refusal_causes(self):
        keyf = self.key("HS256", "cause")
        secret = b64u_dec(json.load(open(keyf))["k"])
        p = {"iss": "authgate", "sub": "x", "aud": "authgate", "iat": NOW, "exp": NOW + 60,
             "jti": "j" * 43}
        hdr = {"alg": "HS256", "typ": "at+jwt", "kid": "cause"}
        v = lambda tok, *o: ag("verify", "--key", keyf, "--now", NOW, *o, tok)
        self.assertInvalid(v(hs_token(secret, {"alg": "HS256", "typ": "at+jwt"}, p)),
                           "unknown key: token has no kid")
        # a kid with control bytes is printed as JSON text, never raw
        tok = hs_token(secret, {"alg": "HS256", "kid": "x\u001b[2Jy"}, p)
        self.assertInvalid(v(tok), 'unknown key: no key with kid "x\\u001B[2Jy"')
        self.assertInvalid(v(hs_token(secret, hdr, p), "--aud", "other"), "claim: aud")
        self.assertInvalid(v(hs_token(secret, hdr, p), "--iss", "other"), "claim: iss")
        for name in ("jti", "iat", "sub"):
            q = dict(p)
            del q[name]
            self.assertInvalid(v(hs_token(secret, hdr, q)), "claim: " + name)
        q = dict(p, nbf=NOW + 1000)
        self.assertInvalid(v(hs_token(secret, hdr, q)), "not yet valid: nbf")
        q = dict(p, iat=NOW + 1000, exp=NOW + 2000)
        self.assertInvalid(v(hs_token(secret, hdr, q)), "not yet valid: iat")
        # unchanged where the word says it all
        self.assertInvalid(v(hs_token(secret, hdr, dict(p, exp=NOW - 100))), "expired")

    def test_outside_issuer_options(self):
        """What an identity provider sends (typ JWT, no jti, several audiences)
        is refused by default and accepted with the explicit opt-outs."""
        keyf = self.key("HS256", "idp")
        secret = b64u_dec(json.load(open(keyf))["k"])
        p = {"iss": "https://idp.example/", "sub": "u1", "aud": ["account", "api://orders"],
             "iat": NOW, "exp": NOW + 300}
        tok = hs_token(secret, {"alg": "HS256", "typ": "JWT", "kid": "idp"}, p)
        base = ("verify", "--key", keyf, "--now", NOW, "--type", "access")
        self.assertInvalid(ag(*base, tok), "wrong type")
        self.assertInvalid(ag(*base, "--allow-typ", "jwt", tok), "claim: jti")
        ok = base + ("--allow-typ", "jwt", "--optional", "jti", "--iss", "https://other/",
                     "--iss", "https://idp.example/", "--aud", "web", "--aud", "api://orders")
        r = ag(*ok, tok)
        self.assertExit(r, 0)
        self.assertEqual(json.loads(r.out)["sub"], "u1")
        self.assertInvalid(ag(*base, "--allow-typ", "jwt", "--optional", "jti", "--iss",
                              "https://other/", tok), "claim: iss")
        notyp = hs_token(secret, {"alg": "HS256", "kid": "idp"}, p)
        self.assertInvalid(ag(*ok, notyp), "wrong type")
        self.assertExit(ag(*ok, "--allow-typ", "absent", notyp), 0)
        self.assertUsage(ag("verify", "--key", keyf, "--allow-typ", "jwt", tok), "--type")
        self.assertUsage(ag(*base, "--allow-typ", "xml", tok))
        self.assertUsage(ag(*base, "--optional", "jti,exp", tok))
        self.assertUsage(ag(*base, "--iss", "", tok))

    def test_algorithm_mismatch_V01(self):
        # same kid, key pinned to another algorithm of the same family
        tok = self.issue(self.key("HS256", "pinned"))
        self.assertInvalid(ag("verify", "--key", self.key("HS384", "pinned"), tok), "algorithm")
        tok = self.issue(self.key("RS256", "pinned-rsa"))
        self.assertInvalid(ag("verify", "--key", self.key("PS256", "pinned-rsa"), tok),
                           "algorithm")

    def test_alg_none_and_hmac_with_rsa_public_key_V01_V02(self):
        rs = self.key("RS256", "conf")
        jwks = json.loads(ag("jwks", rs).out)
        pubf = self.write("conf.jwks", json.dumps(jwks))
        n = jwks["keys"][0]["n"].encode()
        payload = {"iss": "authgate", "sub": "x", "aud": "authgate", "iat": NOW,
                   "exp": NOW + 60, "jti": "j" * 43}
        confused = hs_token(n, {"alg": "HS256", "typ": "at+jwt", "kid": "conf"}, payload)
        self.assertInvalid(ag("verify", "--jwks", pubf, "--now", NOW, confused), "algorithm")
        for none in ("none", "None", "NONE", "nOnE"):
            h = b64u(json.dumps({"alg": none, "typ": "at+jwt", "kid": "conf"}).encode())
            p = b64u(json.dumps(payload).encode())
            r = ag("verify", "--jwks", pubf, "--now", NOW, h + "." + p + ".")
            self.assertEqual(r.rc, 1, r)
            self.assertIn(r.stderr.strip(), ("algorithm", "malformed", "bad signature"), r)

    def test_header_V07(self):
        keyf = self.key("HS256", "hdr")
        secret = b64u_dec(json.load(open(keyf))["k"])
        payload = {"iss": "authgate", "sub": "x", "aud": "authgate", "iat": NOW,
                   "exp": NOW + 60, "jti": "j" * 43}
        good = hs_token(secret, {"alg": "HS256", "typ": "at+jwt", "kid": "hdr"}, payload)
        self.assertExit(ag("verify", "--key", keyf, "--now", NOW, good), 0)  # positive control
        for extra in ({"jku": "https://evil.example/jwks"}, {"x5u": "https://evil.example"},
                      {"crit": ["exp"]}, {"crit": ["zzz"], "zzz": 1}, {"b64": False},
                      {"cty": "JWT"}):
            with self.subTest(extra=extra):
                hdr = {"alg": "HS256", "typ": "at+jwt", "kid": "hdr"}
                hdr.update(extra)
                tok = hs_token(secret, hdr, payload)
                self.assertInvalid(ag("verify", "--key", keyf, "--now", NOW, tok), "header")

    def test_claim_iss_aud_V16(self):
        key = self.key("EdDSA")
        tok = self.issue(key, "--iss", "iss-a", "--aud", "aud-a")
        self.assertExit(ag("verify", "--key", key, "--iss", "iss-a", "--aud", "aud-a", tok), 0)
        self.assertInvalid(ag("verify", "--key", key, "--iss", "iss-b", tok), "claim: iss")
        self.assertInvalid(ag("verify", "--key", key, "--aud", "aud-b", tok), "claim: aud")
        self.assertInvalid(ag("verify", "--key", key, "--iss", "iss-", tok),
                           "claim: iss")  # no prefix
        self.assertInvalid(ag("verify", "--key", key, "--aud", "aud-aa", tok), "claim: aud")

    def test_typ_media_type_forms_V12(self):
        keyf = self.key("HS256", "typ")
        secret = b64u_dec(json.load(open(keyf))["k"])
        p = {"iss": "authgate", "sub": "x", "aud": "authgate", "iat": NOW, "exp": NOW + 60,
             "jti": "j" * 43, "sid": "s"}
        for typ, kind in (("at+jwt", "access"), ("application/at+jwt", "access"),
                          ("rt+jwt", "refresh"), ("application/rt+jwt", "refresh")):
            with self.subTest(typ=typ):
                tok = hs_token(secret, {"alg": "HS256", "typ": typ, "kid": "typ"}, p)
                self.assertExit(ag("verify", "--key", keyf, "--type", kind, "--now", NOW, tok), 0)
                other = "refresh" if kind == "access" else "access"
                self.assertInvalid(ag("verify", "--key", keyf, "--type", other, "--now", NOW,
                                      tok), "wrong type")
        for typ in ("JWT", "at+jwt+x", "application/jwt"):
            tok = hs_token(secret, {"alg": "HS256", "typ": typ, "kid": "typ"}, p)
            self.assertInvalid(ag("verify", "--key", keyf, "--type", "access", "--now", NOW,
                                  tok), "wrong type")
        tok = hs_token(secret, {"alg": "HS256", "kid": "typ"}, p)  # no typ at all
        self.assertInvalid(ag("verify", "--key", keyf, "--type", "access", "--now", NOW, tok),
                           "wrong type")

    def test_nbf_V14(self):
        keyf = self.key("HS256", "nbf")
        secret = b64u_dec(json.load(open(keyf))["k"])
        p = {"iss": "authgate", "sub": "x", "aud": "authgate", "iat": NOW, "exp": NOW + 600,
             "nbf": NOW + 100, "jti": "j" * 43}
        tok = hs_token(secret, {"alg": "HS256", "typ": "at+jwt", "kid": "nbf"}, p)
        self.assertInvalid(ag("verify", "--key", keyf, "--now", NOW + 69, tok), "not yet valid")
        self.assertExit(ag("verify", "--key", keyf, "--now", NOW + 70, tok), 0)

    def test_lifetime_caps(self):
        key = self.key("ES256")
        day = 86400
        long_at = self.issue(key, "--ttl", day + 1, "--now", NOW)
        self.assertInvalid(ag("verify", "--key", key, "--type", "access", "--now", NOW, long_at),
                           "claim")
        self.assertExit(ag("verify", "--key", key, "--now", NOW, long_at), 0)  # untyped: 90 d
        ok_at = self.issue(key, "--ttl", day, "--now", NOW)
        self.assertExit(ag("verify", "--key", key, "--type", "access", "--now", NOW, ok_at), 0)
        rt = self.issue(key, "--type", "refresh", "--ttl", 90 * day + 1, "--now", NOW)
        self.assertInvalid(ag("verify", "--key", key, "--type", "refresh", "--now", NOW, rt),
                           "claim")

    def test_claim_missing_required_V13(self):
        keyf = self.key("HS256", "req")
        secret = b64u_dec(json.load(open(keyf))["k"])
        full = {"iss": "authgate", "sub": "x", "aud": "authgate", "iat": NOW,
                "exp": NOW + 60, "jti": "j" * 43}
        hdr = {"alg": "HS256", "typ": "at+jwt", "kid": "req"}
        for missing in ("iss", "sub", "aud", "exp", "iat", "jti"):
            with self.subTest(missing=missing):
                p = {k: v for k, v in full.items() if k != missing}
                r = ag("verify", "--key", keyf, "--now", NOW, hs_token(secret, hdr, p))
                self.assertInvalid(r, "claim")

    def test_malformed_V03_V05_V06(self):
        key = self.key("HS256")
        tok = self.issue(key)
        h, p, s = tok.split(".")
        bad = ["abc", "a.b", "a.b.c.d", tok + ".", "." + tok, "..", h + "." + p,
               h + "=." + p + "." + s, h + "." + p + "." + s + "=",
               h.replace("e", "+", 1) + "." + p + "." + s,
               b64u(b"not json") + "." + p + "." + s,
               h + "." + p + "." + s + "\t", h + " ." + p + "." + s,
               "a.b.c.d.e"]
        for t in bad:
            with self.subTest(token=t[:40]):
                self.assertInvalid(ag("verify", "--key", key, t), "malformed")

    def test_too_large_V04(self):
        key = self.key("HS256")
        big = "e" * (TOKEN_MAX + 1)
        self.assertInvalid(ag("verify", "--key", key, big), "too large")
        self.assertInvalid(ag("verify", "--key", key, "-", stdin=big), "too large")
        self.assertInvalid(ag("verify", "--key", key, "-", stdin=b"A" * (4 << 20)), "too large")
        self.assertInvalid(ag("decode", "-", stdin=b"A" * (4 << 20)), "too large")
        # exactly the cap plus a newline is read whole and judged on its merits
        self.assertInvalid(ag("verify", "--key", key, "-", stdin="e" * TOKEN_MAX + "\n"),
                           "malformed")



# ---------------------------------------------------------------------------
SUITES = {"rejections": [TestRejections]}

if __name__ == "__main__":
    sys.exit(main(SUITES))
