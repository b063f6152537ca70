#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Black-box tests of the `authgate` CLI's commands (docs/cli.md): usage and
help, keygen, jwks, issue and verify with their options, and decode.

  test_cli_commands.py --bin PATH commands

Shared helpers and the runner: cli_util.py. Rule IDs refer to docs/security.md.
"""
import json
import os
import sys

from cli_util import ALL_ALGS, NOW, TOKEN_MAX, CliCase, ag, b64u, b64u_dec, flip_sig, main


# ---------------------------------------------------------------------------
class TestUsage(CliCase):
    def test_no_args_is_usage_exit_2(self):
        r = ag()
        self.assertUsage(r, "usage: authgate")

    def test_help_exit_0(self):
        for args in (["--help"], ["-h"], ["help"]):
            r = ag(*args)
            self.assertExit(r, 0)
            self.assertIn("usage: authgate", r.stdout)
            for cmd in ("keygen", "jwks", "issue", "verify", "decode"):
                self.assertIn(cmd, r.stdout)

    def test_command_help_exit_0(self):
        for cmd in ("keygen", "jwks", "issue", "verify", "decode"):
            r = ag(cmd, "--help")
            self.assertExit(r, 0)
            self.assertIn("usage: authgate " + cmd, r.stdout)

    def test_unknown_command_exit_2(self):
        self.assertUsage(ag("frobnicate"), "unknown command")

    def test_version(self):
        r = ag("--version")
        self.assertExit(r, 0)
        self.assertRegex(r.stdout, r"^authgate \d+\.\d+\.\d+\n$")


# ---------------------------------------------------------------------------
class TestKeygen(CliCase):
    def test_every_alg_makes_a_private_jwk(self):
        kty = {"HS": "oct", "RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}
        for alg in ALL_ALGS:
            with self.subTest(alg=alg):
                r = ag("keygen", "--alg", alg, "--kid", "kid-1")
                self.assertExit(r, 0)
                jwk = json.loads(r.out)
                self.assertEqual(jwk["alg"], alg)
                self.assertEqual(jwk["kid"], "kid-1")
                self.assertEqual(jwk["kty"], kty[alg[:2]])
                self.assertIn("k" if alg.startswith("HS") else "d", jwk)

    def test_hmac_secret_is_at_least_the_hash_size_V17(self):
        for alg, n in (("HS256", 32), ("HS384", 48), ("HS512", 64)):
            jwk = json.loads(ag("keygen", "--alg", alg).out)
            self.assertGreaterEqual(len(b64u_dec(jwk["k"])), n)

    def test_default_kid_is_a_thumbprint_and_keys_differ(self):
        a = json.loads(ag("keygen", "--alg", "EdDSA").out)
        b = json.loads(ag("keygen", "--alg", "EdDSA").out)
        self.assertRegex(a["kid"], r"^[A-Za-z0-9_-]{43}$")
        self.assertNotEqual(a["kid"], b["kid"])
        self.assertNotEqual(a["d"], b["d"])

    def test_bad_alg_is_usage_V01(self):
        for alg in ("none", "None", "hs256", "ES512", "", "HS256 "):
            with self.subTest(alg=alg):
                self.assertUsage(ag("keygen", "--alg", alg))

    def test_missing_or_repeated_options(self):
        self.assertUsage(ag("keygen"))
        self.assertUsage(ag("keygen", "--alg"))
        self.assertUsage(ag("keygen", "--alg", "HS256", "--alg", "HS384"), "twice")
        self.assertUsage(ag("keygen", "--alg", "HS256", "extra"))

    def test_bad_kid_is_usage_V08(self):
        self.assertUsage(ag("keygen", "--alg", "HS256", "--kid", ""))
        self.assertUsage(ag("keygen", "--alg", "HS256", "--kid", "x" * 129))

    def test_write_error_is_exit_2_not_a_signal(self):
        if not os.path.exists("/dev/full"):
            self.skipTest("no /dev/full")
        with open("/dev/full", "wb") as full:
            r = ag("keygen", "--alg", "HS256", stdout=full)
        self.assertUsage(r)


# ---------------------------------------------------------------------------
class TestJwks(CliCase):
    def test_public_jwks_of_private_files(self):
        es, ed, hs = self.key("ES256"), self.key("EdDSA"), self.key("HS256")
        r = ag("jwks", es, ed, hs)
        self.assertExit(r, 0)
        jwks = json.loads(r.out)
        kids = sorted(k["kid"] for k in jwks["keys"])
        self.assertEqual(kids, ["k-eddsa", "k-es256"])
        for k in jwks["keys"]:
            for private in ("d", "p", "q", "dp", "dq", "qi", "k"):
                self.assertNotIn(private, k)
            self.assertIn("alg", k)
        self.assertIn("HMAC", r.stderr)  # the note that the HMAC key was left out

    def test_rsa_public_members_only(self):
        r = ag("jwks", self.key("RS256"))
        self.assertExit(r, 0)
        (k,) = json.loads(r.out)["keys"]
        self.assertEqual(k["kty"], "RSA")
        self.assertEqual(set(k) & {"d", "p", "q", "dp", "dq", "qi"}, set())
        self.assertGreaterEqual(len(b64u_dec(k["n"])) * 8, 2048)

    def test_jwks_of_a_jwks_and_of_public_jwks_round_trips(self):
        r1 = ag("jwks", self.key("ES384"), self.key("PS256"))
        self.assertExit(r1, 0)
        f = self.write("pub.jwks", r1.out)
        r2 = ag("jwks", f)
        self.assertExit(r2, 0)
        self.assertEqual(json.loads(r1.out), json.loads(r2.out))
        one = self.write("one-pub.jwk", json.dumps(json.loads(r1.out)["keys"][0]))
        r3 = ag("jwks", one)
        self.assertExit(r3, 0)
        self.assertEqual(len(json.loads(r3.out)["keys"]), 1)

    def test_only_hmac_keys_gives_empty_set(self):
        r = ag("jwks", self.key("HS512"))
        self.assertExit(r, 0)
        self.assertEqual(json.loads(r.out), {"keys": []})

    def test_duplicate_kid_is_usage(self):
        a = self.key("ES256", "same")
        b = self.key("EdDSA", "same")
        self.assertUsage(ag("jwks", a, b), "duplicate")

    def test_bad_files_are_usage(self):
        self.assertUsage(ag("jwks"))
        self.assertUsage(ag("jwks", self.path("does-not-exist")))
        self.assertUsage(ag("jwks", self.write("garbage.jwk", "not json")))
        self.assertUsage(ag("jwks", self.write("array.jwk", "[]")))
        self.assertUsage(ag("jwks", self.write("keys-not-array.jwk", '{"keys":{}}')))
        self.assertUsage(ag("jwks", self.write("nul.jwk", b'{"kty":"oct"\x00}')), "NUL")
        big = self.write("big.jwk", b" " * (1024 * 1024 + 1))
        self.assertUsage(ag("jwks", big), "larger")
        self.assertUsage(ag("jwks", self.tmp))  # a directory


# ---------------------------------------------------------------------------
class TestIssueVerify(CliCase):
    def test_round_trip_every_alg(self):
        for alg in ALL_ALGS:
            with self.subTest(alg=alg):
                key = self.key(alg)
                tok = self.issue(key, "--now", NOW)
                r = ag("verify", "--key", key, "--now", NOW + 10, tok)
                self.assertExit(r, 0)
                claims = json.loads(r.out)
                self.assertEqual(claims["sub"], "alice")
                # verify must also accept the public JWKS (asymmetric algs)
                if not alg.startswith("HS"):
                    pub = self.write("pub-%s.jwks" % alg, ag("jwks", key).out)
                    r = ag("verify", "--jwks", pub, "--now", NOW + 10, tok)
                    self.assertExit(r, 0)

    def test_access_defaults(self):
        key = self.key("ES256")
        tok = self.issue(key, "--now", NOW)
        h, p, s = tok.split(".")
        header = json.loads(b64u_dec(h))
        self.assertEqual(header, {"alg": "ES256", "typ": "at+jwt", "kid": "k-es256"})  # I-01
        self.assertEqual(len(b64u_dec(s)), 64)  # raw R||S (V-09)
        claims = json.loads(b64u_dec(p))
        self.assertEqual(claims["iss"], "authgate")
        self.assertEqual(claims["aud"], "authgate")
        self.assertEqual(claims["iat"], NOW)
        self.assertEqual(claims["exp"], NOW + 900)
        self.assertRegex(claims["jti"], r"^[A-Za-z0-9_-]{43}$")
        self.assertNotIn("sid", claims)

    def test_refresh_defaults_and_random_sid(self):
        key = self.key("HS256")
        t1 = self.issue(key, "--type", "refresh", "--now", NOW)
        t2 = self.issue(key, "--type", "refresh", "--now", NOW)
        h1 = json.loads(b64u_dec(t1.split(".")[0]))
        c1 = json.loads(b64u_dec(t1.split(".")[1]))
        c2 = json.loads(b64u_dec(t2.split(".")[1]))
        self.assertEqual(h1["typ"], "rt+jwt")
        self.assertEqual(c1["exp"] - c1["iat"], 1209600)
        self.assertRegex(c1["sid"], r"^[A-Za-z0-9_-]{43}$")
        self.assertNotEqual(c1["sid"], c2["sid"])
        self.assertNotEqual(c1["jti"], c2["jti"])
        t3 = self.issue(key, "--type", "refresh", "--sid", "fam-1")
        self.assertEqual(json.loads(b64u_dec(t3.split(".")[1]))["sid"], "fam-1")

    def test_options_iss_aud_ttl(self):
        key = self.key("EdDSA")
        tok = self.issue(key, "--iss", "https://issuer.example", "--aud", "api://x",
                         "--ttl", "60", "--now", NOW, sub="bob")
        r = ag("verify", "--key", key, "--iss", "https://issuer.example", "--aud", "api://x",
               "--type", "access", "--now", NOW, tok)
        self.assertExit(r, 0)
        c = json.loads(r.out)
        self.assertEqual((c["iss"], c["aud"], c["sub"], c["exp"] - c["iat"]),
                         ("https://issuer.example", "api://x", "bob", 60))
        # --opt=value spelling works too
        r = ag("verify", "--key=" + key, "--iss=https://issuer.example", "--now=%d" % NOW, tok)
        self.assertExit(r, 0)

    def test_custom_claims_every_json_type(self):
        key = self.key("HS256")
        tok = self.issue(key, "--claim", 'role="admin"', "--claim", "n=42",
                         "--claim", "pi=3.5", "--claim", "ok=true", "--claim", "off=false",
                         "--claim", "nothing=null", "--claim", 'obj={"a":[1,{"b":"c"}]}',
                         "--claim", 'arr=[1,"two",false]', "--claim", 'uni="h\\u00e9"')
        r = ag("verify", "--key", key, tok)
        self.assertExit(r, 0)
        c = json.loads(r.out)
        self.assertEqual(c["role"], "admin")
        self.assertEqual(c["n"], 42)
        self.assertEqual(c["pi"], 3.5)
        self.assertIs(c["ok"], True)
        self.assertIs(c["off"], False)
        self.assertIsNone(c["nothing"])
        self.assertEqual(c["obj"], {"a": [1, {"b": "c"}]})
        self.assertEqual(c["arr"], [1, "two", False])
        self.assertEqual(c["uni"], "h\u00e9")

    def test_verify_prints_payload_exactly_as_signed(self):
        key = self.key("ES384")
        tok = self.issue(key, "--claim", 'x={"k":1}')
        r = ag("verify", "--key", key, tok)
        self.assertExit(r, 0)
        self.assertEqual(r.out, b64u_dec(tok.split(".")[1]) + b"\n")

    def test_verify_without_type_accepts_both_kinds_V12(self):
        key = self.key("HS256")
        for kind in ("access", "refresh"):
            tok = self.issue(key, "--type", kind)
            self.assertExit(ag("verify", "--key", key, tok), 0)
            self.assertExit(ag("verify", "--key", key, "--type", kind, tok), 0)

    def test_token_from_stdin(self):
        key = self.key("HS256")
        tok = self.issue(key)
        for suffix in ("", "\n", "\r\n"):
            with self.subTest(suffix=suffix):
                self.assertExit(ag("verify", "--key", key, "-", stdin=tok + suffix), 0)
        # one newline only is stripped; anything else is part of the token
        self.assertInvalid(ag("verify", "--key", key, "-", stdin=tok + "\n\n"), "malformed")
        self.assertInvalid(ag("verify", "--key", key, "-", stdin=" " + tok), "malformed")
        self.assertInvalid(ag("verify", "--key", key, "-", stdin=tok + " \n"), "malformed")
        self.assertInvalid(ag("verify", "--key", key, "-", stdin=tok + "\x00"), "malformed")
        self.assertInvalid(ag("verify", "--key", key, "-", stdin=""), "malformed")
        # a token after "--" may start with a dash
        self.assertInvalid(ag("verify", "--key", key, "--", "--" + tok), "malformed")

    def test_issue_usage_errors(self):
        key = self.key("HS256")
        self.assertUsage(ag("issue", "--sub", "a"))
        self.assertUsage(ag("issue", "--key", key))
        self.assertUsage(ag("issue", "--key", key, "--sub", ""))
        self.assertUsage(ag("issue", "--key", key, "--sub", "a", "--type", "id"))
        for ttl in ("0", "-5", "abc", "1e3", " 60", "+60", "99999999999999999999"):
            self.assertUsage(ag("issue", "--key", key, "--sub", "a", "--ttl", ttl))
        for now in ("-1", "abc", "253402300800"):
            self.assertUsage(ag("issue", "--key", key, "--sub", "a", "--now", now))
        self.assertUsage(ag("issue", "--key", key, "--sub", "a", "--claim", "role=admin"),
                         "not JSON")
        self.assertUsage(ag("issue", "--key", key, "--sub", "a", "--claim", "noequals"))
        self.assertUsage(ag("issue", "--key", key, "--sub", "a", "--claim", "=1"))
        self.assertUsage(ag("issue", "--key", key, "--sub", "a", "--claim", 'x={"a":1,"a":2}'))
        for reg in ("exp", "iss", "sub", "aud", "iat", "jti", "nbf", "sid"):
            with self.subTest(registered=reg):
                self.assertUsage(ag("issue", "--key", key, "--sub", "a", "--claim", reg + "=1"))
        self.assertUsage(ag("issue", "--key", key, "--sub", "a", "--claim", "x=1",
                            "--claim", "x=2"))
        self.assertUsage(ag("issue", "--key", key, "--sub", "a", "--bogus", "1"))
        # a token over AG_TOKEN_MAX_LEN is refused at issue time
        self.assertUsage(ag("issue", "--key", key, "--sub", "a", "--claim",
                            'big="%s"' % ("A" * TOKEN_MAX)), "too large")
        self.assertUsage(ag("issue", "--key", self.path("missing.jwk"), "--sub", "a"))

    def test_issue_not_utf8_is_usage(self):
        """Non-UTF-8 sub/iss/aud/sid/claim name: status 2, never a token, nothing leaked.

        Under ASan (LeakSanitizer) the --iss case also catches the library
        leaking the already-built `sub` when setting `iss` fails (lib/token/jws.c
        payload builder; reported to the lead)."""
        key = self.key("HS256")
        bad = os.fsdecode(b"\xc0\xaf")
        for args in (("--sub", bad), ("--sub", "a", "--iss", bad), ("--sub", "a", "--aud", bad),
                     ("--sub", "a", "--sid", bad), ("--sub", "a", "--claim", bad + "=1")):
            with self.subTest(args=args):
                self.assertUsage(ag("issue", "--key", key, *args))

    def test_issue_with_public_key_is_usage(self):
        jwks = json.loads(ag("jwks", self.key("ES256")).out)
        pub = self.write("es-pub.jwk", json.dumps(jwks["keys"][0]))
        self.assertUsage(ag("issue", "--key", pub, "--sub", "a"), "private")

    def test_weak_key_is_usage_V17(self):
        weak = self.write("weak.jwk", json.dumps(
            {"kty": "oct", "kid": "w", "alg": "HS256", "k": b64u(b"0123456789abcdef")}))
        self.assertUsage(ag("issue", "--key", weak, "--sub", "a"), "weak key")
        self.assertUsage(ag("verify", "--key", weak, "x.y.z"), "weak key")

    def test_jwk_without_alg_is_usage_V02(self):
        jwk = json.loads(open(self.key("HS256")).read())
        del jwk["alg"]
        f = self.write("noalg.jwk", json.dumps(jwk))
        self.assertUsage(ag("verify", "--key", f, "x.y.z"))

    def test_jwk_use_enc_is_usage(self):
        jwk = json.loads(open(self.key("ES256")).read())
        jwk["use"] = "enc"
        self.assertUsage(ag("verify", "--key", self.write("enc.jwk", json.dumps(jwk)), "x.y.z"))
        self.assertUsage(ag("jwks", self.write("enc2.jwk", json.dumps(jwk))))

    def test_verify_usage_errors(self):
        key = self.key("HS256")
        tok = self.issue(key)
        self.assertUsage(ag("verify", tok))
        self.assertUsage(ag("verify", "--key", key))
        self.assertUsage(ag("verify", "--key", key, "--jwks", key, tok), "exactly one")
        self.assertUsage(ag("verify", "--key", key, "--key", key, tok), "twice")
        self.assertUsage(ag("verify", "--key", key, tok, tok), "one token")
        self.assertUsage(ag("verify", "--key", key, "--type", "id", tok))
        for lw in ("301", "-1", "abc", ""):
            self.assertUsage(ag("verify", "--key", key, "--leeway", lw, tok))
        self.assertUsage(ag("verify", "--key", key, "--now", "soon", tok))
        self.assertUsage(ag("verify", "--key", key, "--frob", tok), "unknown option")
        self.assertUsage(ag("verify", "--key", self.path("nope.jwk"), tok))
        self.assertUsage(ag("verify", "--jwks", self.write("bad.jwks", "{"), tok))
        self.assertUsage(ag("verify", "--jwks", self.write("nul.jwks", b"{\x00}"), tok), "NUL")
        big = self.write("big.jwks", b'{"keys":[]}' + b" " * (1024 * 1024))
        self.assertUsage(ag("verify", "--jwks", big, tok), "larger")


# ---------------------------------------------------------------------------
class TestDecode(CliCase):
    def test_decode_prints_header_and_payload_and_warns(self):
        key = self.key("ES256")
        tok = self.issue(key, "--claim", 'role="admin"', sub="carol")
        for args, stdin in (((tok,), None), (("-",), tok + "\n")):
            r = ag("decode", *args, stdin=stdin)
            self.assertExit(r, 0)
            self.assertEqual(r.stdout.count("\n"), 1)
            d = json.loads(r.out)
            self.assertEqual(d["header"], {"alg": "ES256", "typ": "at+jwt", "kid": "k-es256"})
            self.assertEqual(d["payload"]["sub"], "carol")
            self.assertEqual(d["payload"]["role"], "admin")
            self.assertIn("NOT verified", r.stderr)

    def test_decode_does_not_verify(self):
        key = self.key("HS256")
        r = ag("decode", flip_sig(self.issue(key)))
        self.assertExit(r, 0)
        self.assertIn("NOT verified", r.stderr)

    def test_decode_malformed(self):
        for t in ("", "abc", "a.b", b64u(b"[1]") + "." + b64u(b"{}") + ".",
                  b64u(b"{}") + "." + b64u(b"nope") + ".",
                  b64u(b'{"a":1,"a":2}') + "." + b64u(b"{}") + ".",
                  b64u(b'{"a":"\\u0000"}') + "." + b64u(b"{}") + "."):
            with self.subTest(token=t):
                r = ag("decode", "-", stdin=t)
                self.assertInvalid(r, "malformed")

    def test_decode_usage(self):
        self.assertUsage(ag("decode"))
        self.assertUsage(ag("decode", "a", "b"))
        self.assertUsage(ag("decode", "--frob", "a"))



# ---------------------------------------------------------------------------
SUITES = {"commands": [TestUsage, TestKeygen, TestJwks, TestIssueVerify, TestDecode]}

if __name__ == "__main__":
    sys.exit(main(SUITES))
