// SPDX-License-Identifier: MIT
// The npm `jose` side of tests/cli/test_oidc_interop.py: jose as an outside
// identity provider (tokens authgate must accept through a remote JWKS), and
// jose as an outside relying party (verifying the demo's tokens through the
// demo's /.well-known/jwks.json with its remote key set).
//
//   node oidc_interop.mjs provider --alg ALG --kid KID --iss I --aud A --sub S
//                                  --jwks OUT --count N
//       a fresh key pair; writes the public JWKS to OUT and prints N tokens
//       signed the way providers sign them: typ JWT, no jti.
//   node oidc_interop.mjs relying --url URL --iss I --aud A --typ T
//       reads tokens from stdin, one per line, and answers each on stdout
//       with {"ok":true,"kid":…,"sub":…} or {"ok":false,"code":…}; one remote
//       key set serves every line, so a key rotation is seen through its cache.
import * as jose from 'jose';
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

function parse(argv) {
  const opts = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || i + 1 >= argv.length) throw new Error(`bad argument ${argv[i]}`);
    opts[argv[i].slice(2)] = argv[i + 1];
  }
  return opts;
}

async function provider(o) {
  const { publicKey, privateKey } = await jose.generateKeyPair(o.alg, { extractable: true });
  const jwk = await jose.exportJWK(publicKey);
  Object.assign(jwk, { kid: o.kid, alg: o.alg, use: 'sig' });
  writeFileSync(o.jwks, JSON.stringify({ keys: [jwk] }));
  const now = Math.floor(Date.now() / 1000);
  for (let i = 0; i < Number(o.count || 1); i++) {
    const t = await new jose.SignJWT({ scope: 'orders:read', n: i })
      .setProtectedHeader({ alg: o.alg, kid: o.kid, typ: 'JWT' })
      .setIssuer(o.iss).setAudience(o.aud).setSubject(o.sub)
      .setIssuedAt(now).setExpirationTime(now + 300)
      .sign(privateKey);
    console.log(t);
  }
}

async function relying(o) {
  // cooldownDuration 0: an unknown kid refetches at once (the test rotates
  // the demo's keys and expects the new kid to verify in the same process)
  const set = jose.createRemoteJWKSet(new URL(o.url), { cooldownDuration: 0 });
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    const tok = line.trim();
    if (!tok) continue;
    try {
      const { payload, protectedHeader } = await jose.jwtVerify(tok, set, {
        issuer: o.iss, audience: o.aud, typ: o.typ,
      });
      console.log(JSON.stringify({ ok: true, kid: protectedHeader.kid, sub: payload.sub }));
    } catch (e) {
      console.log(JSON.stringify({ ok: false, code: e.code || String(e) }));
    }
  }
}

const [cmd, ...rest] = process.argv.slice(2);
const o = parse(rest);
(cmd === 'provider' ? provider(o) : cmd === 'relying' ? relying(o) : Promise.reject(new Error('usage')))
  .catch((e) => { console.error(e); process.exit(2); });
