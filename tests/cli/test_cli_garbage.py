#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Black-box robustness test of the `authgate` CLI: random and mutated tokens
and key files through verify, decode, jwks and issue exit 0, 1 or 2 only,
never by a signal or a sanitizer report.

  test_cli_garbage.py --bin PATH garbage

Shared helpers and the runner: cli_util.py. Rule IDs refer to docs/security.md.
"""
import json
import os
import random
import sys
import time

from cli_util import TOKEN_MAX, CliCase, ag, b64u, main


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
SUITES = {"garbage": [TestGarbage]}

if __name__ == "__main__":
    sys.exit(main(SUITES))
