# SPDX-License-Identifier: MIT
"""What the black-box tests of the `authgate` CLI (docs/cli.md) share: the
runner, the binary's wrapper, token helpers and the CliCase base class.

Python 3 standard library only. Each test file beside this one holds one
responsibility and runs through main() here:

  test_cli_commands.py   --bin PATH commands     every command, its options and output
  test_cli_rejections.py --bin PATH rejections   every rejection class and its reason word
  test_cli_garbage.py    --bin PATH garbage      random / mutated input never crashes
  test_cli_interop.py --node-dir DIR npm-install        install npm jose@5 into DIR (cached)
  test_cli_interop.py --bin PATH --node-dir DIR interop   both directions with npm jose

Exit codes (contract): 0 valid, 1 invalid token (one line on stderr: the
reason word), 2 usage or unreadable input. Rule IDs refer to docs/security.md.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import tempfile
import unittest

BIN = None
NODE_DIR = None
TOKEN_MAX = 8192  # AG_TOKEN_MAX_LEN
ALL_ALGS = ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512",
            "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"]
NOW = 1_700_000_000  # a fixed clock for --now


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



def main(suites, commands=None, need_node_dir=False):
    """Runs one of suites (name -> TestCase classes) as the command line asks;
    commands (name -> function) are other verbs, such as npm-install;
    need_node_dir: --node-dir is required."""
    global BIN, NODE_DIR
    commands = commands or {}
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin")
    ap.add_argument("--node-dir")
    ap.add_argument("suite", choices=sorted(suites) + sorted(commands))
    ap.add_argument("-k", dest="pattern", help="only tests whose name contains this")
    a = ap.parse_args()
    BIN = a.bin
    NODE_DIR = a.node_dir
    if need_node_dir and not NODE_DIR:
        ap.error("--node-dir is required")
    if a.suite in commands:
        return commands[a.suite]()
    if not BIN or not os.access(BIN, os.X_OK):
        ap.error("--bin must name the built authgate binary")
    loader = unittest.TestLoader()
    if a.pattern:
        loader.testNamePatterns = ["*%s*" % a.pattern]
    suite = unittest.TestSuite(loader.loadTestsFromTestCase(c) for c in suites[a.suite])
    CliCase.tmp = tempfile.mkdtemp(prefix="authgate-cli-")
    try:
        res = unittest.TextTestRunner(verbosity=2).run(suite)
    finally:
        shutil.rmtree(CliCase.tmp, ignore_errors=True)
    return 0 if res.wasSuccessful() and res.testsRun > 0 else 1
