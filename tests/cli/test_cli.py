#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Black-box tests of the `authgate` command-line tool (docs/cli.md).

Drives the built binary only; python3 standard library only.

  test_cli.py --bin PATH basic                 every command, exit code and reason word
  test_cli.py --bin PATH garbage               random / mutated input never crashes
  test_cli.py --node-dir DIR npm-install       install npm jose@5 into DIR (cached)
  test_cli.py --bin PATH --node-dir DIR interop   both directions with npm jose

Exit codes (contract): 0 valid, 1 invalid token (one line on stderr: the
reason word), 2 usage or unreadable input. Rule IDs refer to docs/security.md.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

BIN = None
NODE_DIR = None
TOKEN_MAX = 8192  # AG_TOKEN_MAX_LEN
ALL_ALGS = ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512",
            "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"]
INTEROP_ALGS = ["HS256", "RS256", "PS256", "ES256", "ES384", "EdDSA"]
NOW = 1_700_000_000  # a fixed clock for --now
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


def sanitizer_env():
    """Give sanitizer reports their own exit code so they can never pass for 0/1/2."""
    env = dict(os.environ)
    for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        cur = env.get(var, "")
        env[var] = (cur + ":" if cur else "") + "exitcode=86"
    return env


ENV = sanitizer_env()


class Run:
    def __init__(self, args, cp):
        self.args = args
        self.rc = cp.returncode
        self.out = cp.stdout
        self.err = cp.stderr

    @property
    def stdout(self):
        return self.out.decode("utf-8", "replace")

    @property
    def stderr(self):
        return self.err.decode("utf-8", "replace")

    def __repr__(self):
        return "authgate %r -> rc=%r\nstdout=%r\nstderr=%r" % (
            self.args, self.rc, self.out[:400], self.err[:800])


def ag(*args, stdin=None, stdout=subprocess.PIPE):
    """Runs the binary; stdin is bytes or str."""
    if isinstance(stdin, str):
        stdin = stdin.encode()
    cp = subprocess.run([BIN] + [str(a) for a in args], input=stdin, stdout=stdout,
                        stderr=subprocess.PIPE, env=ENV, timeout=120)
    if cp.stdout is None:
        cp.stdout = b""
    return Run(args, cp)


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_dec(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def hs_token(secret, header, payload, digest=hashlib.sha256):
    """Signs a compact JWS with HMAC in Python, for tokens authgate would never issue."""
    h = b64u(json.dumps(header, separators=(",", ":")).encode())
    p = b64u(json.dumps(payload, separators=(",", ":")).encode())
    mac = hmac.new(secret, (h + "." + p).encode(), digest).digest()
    return h + "." + p + "." + b64u(mac)


def flip_sig(token):
    """Changes one character in the middle of the signature: still canonical base64url."""
    i = token.rindex(".") + 5
    c = "B" if token[i] != "B" else "C"
    return token[:i] + c + token[i + 1:]


class CliCase(unittest.TestCase):
    tmp = None  # one directory for the whole run (main() creates and removes it)
    keys = {}

    def path(self, name):
        return os.path.join(self.tmp, name)

    def write(self, name, data):
        p = self.path(name)
        with open(p, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        return p

    def assertExit(self, r, rc):
        self.assertEqual(r.rc, rc, r)

    def assertInvalid(self, r, reason):
        """Exit 1 and exactly one stderr line naming the reason (contract): the
        reason word, then for key and claim problems ": " and the cause. A
        reason given with its cause ("claim: aud") must match exactly."""
        self.assertEqual(r.rc, 1, r)
        lines = r.stderr.splitlines()
        self.assertEqual(len(lines), 1, r)
        if ": " in reason:
            self.assertEqual(lines[0], reason, r)
        else:
            self.assertIn(lines[0].split(": ", 1)[0], (reason,), r)
        self.assertEqual(r.out, b"", r)

    def assertUsage(self, r, needle=None):
        self.assertEqual(r.rc, 2, r)
        self.assertNotEqual(r.stderr.strip(), "", r)
        if needle is not None:
            self.assertIn(needle, r.stderr, r)

    def key(self, alg, kid=None):
        """A private JWK file for alg (cached per class; RSA keygen is slow)."""
        kid = kid or "k-" + alg.lower()
        name = "%s-%s.jwk" % (alg, kid)
        if name not in CliCase.keys:
            r = ag("keygen", "--alg", alg, "--kid", kid)
            self.assertExit(r, 0)
            CliCase.keys[name] = self.write(name, r.out)
        return CliCase.keys[name]

    def issue(self, key, *extra, sub="alice"):
        r = ag("issue", "--key", key, "--sub", sub, *extra)
        self.assertExit(r, 0)
        self.assertTrue(r.out.endswith(b"\n"), r)
        return r.stdout.strip()


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
class TestGarbage(CliCase):
    """Random and mutated input through verify and decode: exit 0/1/2 only, never a signal."""

    def check(self, r, original, stdin_token):
        self.assertIn(r.rc, (0, 1, 2), r)  # negative = killed by a signal; 86 = sanitizer
        if r.rc == 1:
            self.assertEqual(len(r.stderr.splitlines()), 1, r)
        if r.rc == 0 and r.args[0] == "verify":
            # Only the untouched token (modulo the one stripped newline) may verify.
            t = stdin_token
            if t.endswith(b"\n"):
                t = t[:-1]
                if t.endswith(b"\r"):
                    t = t[:-1]
            self.assertEqual(t, original, r)
        if r.rc == 0 and r.args[0] == "decode":
            json.loads(r.out)

    def test_mutations_never_crash(self):
        iters = int(os.environ.get("AG_CLI_FUZZ_ITERS", "150"))
        seed = int(os.environ.get("AG_CLI_FUZZ_SEED", str(int(time.time()))))
        print("\ngarbage: seed=%d iters=%d" % (seed, iters), file=sys.stderr)
        rng = random.Random(seed)
        keys = [self.key("HS256"), self.key("ES256"), self.key("EdDSA")]
        bases = [self.issue(k, "--claim", 'x={"a":[1,2,{"b":null}]}').encode() for k in keys]
        alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.="

        def mutate(t):
            t = bytearray(t)
            for _ in range(rng.randint(1, 4)):
                op = rng.randrange(11)
                i = rng.randrange(len(t) + 1) if t else 0
                if op == 0 and t:
                    t[min(i, len(t) - 1)] ^= 1 << rng.randrange(8)
                elif op == 1:
                    t[i:i] = bytes([rng.randrange(256)])
                elif op == 2 and t:
                    del t[i:i + rng.randint(1, 8)]
                elif op == 3:
                    t = t[:i]
                elif op == 4:
                    t[i:i] = bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 64)))
                elif op == 5:
                    t = t + t[i:]
                elif op == 6:
                    segs = bytes(t).split(b".")
                    rng.shuffle(segs)
                    t = bytearray(b".".join(segs))
                elif op == 7:
                    t[i:i] = b"." * rng.randint(1, 50)
                elif op == 8:
                    t[i:i] = rng.choice([b"\x00", b"\n", b"\r\n", b"\xff\xfe", b"\xc0\xaf",
                                         b"=", b"+/", b" ", b"\t", b"%00"])
                elif op == 9:
                    seg = b64u(rng.choice([b'{"alg":"none"}', b'{"alg":"HS256","kid":1}',
                                           b'{"alg":"ES256","kid":"k-es256","typ":"at+jwt",'
                                           b'"crit":[]}', b"[" * 100, b'{"a":1,"a":1}',
                                           bytes(rng.randrange(256) for _ in range(20))]))
                    parts = bytes(t).split(b".")
                    parts[rng.randrange(len(parts))] = seg.encode()
                    t = bytearray(b".".join(parts))
                else:
                    t = bytearray(rng.randrange(256) for _ in range(rng.randint(0, 300)))
            return bytes(t)

        for n in range(iters):
            base = bases[n % len(bases)]
            key = keys[n % len(keys)]
            m = mutate(base)
            self.check(ag("verify", "--key", key, "-", stdin=m), base, m)
            self.check(ag("decode", "-", stdin=m), base, m)
            if b"\x00" not in m and m[:1] != b"-":
                self.check(ag("verify", "--key", key, "--type", "access", os.fsdecode(m)),
                           base, m)
        # sizes around the caps
        for size in (0, 1, TOKEN_MAX - 1, TOKEN_MAX, TOKEN_MAX + 1, TOKEN_MAX + 2,
                     TOKEN_MAX + 3, 1 << 20):
            blob = bytes(rng.choice(alphabet) for _ in range(size))
            self.check(ag("verify", "--key", keys[0], "-", stdin=blob), b"", blob)
            self.check(ag("decode", "-", stdin=blob), b"", blob)

    def test_garbage_key_files_never_crash(self):
        rng = random.Random(1234)
        base = open(self.key("ES256")).read().encode()
        for n in range(40):
            b = bytearray(base)
            for _ in range(rng.randint(1, 6)):
                i = rng.randrange(len(b))
                b[i] = rng.randrange(256)
            f = self.write("mut-%d.jwk" % n, bytes(b))
            for args in (("verify", "--key", f, "a.b.c"), ("jwks", f),
                         ("issue", "--key", f, "--sub", "x")):
                r = ag(*args)
                self.assertIn(r.rc, (0, 1, 2), r)


# ---------------------------------------------------------------------------
def jose_dir():
    return os.path.join(NODE_DIR, "node_modules", "jose", "package.json")


def npm_install():
    """npm install --prefix NODE_DIR jose@5, once (cached). Fails loudly."""
    if os.path.exists(jose_dir()):
        with open(jose_dir()) as f:
            if json.load(f)["version"].startswith("5."):
                return
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("FAIL: npm not found (apt-get install npm): the jose interop test "
                         "cannot run and does not skip")
    os.makedirs(NODE_DIR, exist_ok=True)
    cp = subprocess.run([npm, "install", "--prefix", NODE_DIR, "--no-audit", "--no-fund",
                         "--no-save", "jose@5"], stdout=subprocess.PIPE,
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
        cls.script = os.path.join(NODE_DIR, "jose_interop.mjs")
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


# ---------------------------------------------------------------------------
SUITES = {
    "basic": [TestUsage, TestKeygen, TestJwks, TestIssueVerify, TestRejections, TestDecode],
    "garbage": [TestGarbage],
    "interop": [TestJoseInterop],
}


def main():
    global BIN, NODE_DIR
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin")
    ap.add_argument("--node-dir")
    ap.add_argument("suite", choices=sorted(SUITES) + ["npm-install"])
    ap.add_argument("-k", dest="pattern", help="only tests whose name contains this")
    a = ap.parse_args()
    BIN = a.bin
    NODE_DIR = a.node_dir
    if a.suite in ("npm-install", "interop") and not NODE_DIR:
        ap.error("--node-dir is required")
    if a.suite == "npm-install":
        npm_install()
        print("jose installed in", NODE_DIR)
        return 0
    if not BIN or not os.access(BIN, os.X_OK):
        ap.error("--bin must name the built authgate binary")
    loader = unittest.TestLoader()
    if a.pattern:
        loader.testNamePatterns = ["*%s*" % a.pattern]
    suite = unittest.TestSuite(loader.loadTestsFromTestCase(c) for c in SUITES[a.suite])
    CliCase.tmp = tempfile.mkdtemp(prefix="authgate-cli-")
    try:
        res = unittest.TextTestRunner(verbosity=2).run(suite)
    finally:
        shutil.rmtree(CliCase.tmp, ignore_errors=True)
    return 0 if res.wasSuccessful() and res.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
