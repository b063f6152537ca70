// SPDX-License-Identifier: MIT
// The npm `jose` side of the authgate CLI interoperability test
// (tests/cli/test_cli_interop.py interop). test_cli_interop.py copies this file next to a
// build-local node_modules/jose and runs it with node:
//
//   node jose_interop.mjs verify --jwk FILE --alg ALG [--typ T] [--iss I] [--aud A] TOKEN
//       jwtVerify with the JWK pinned to ALG; prints {"header":…,"payload":…}.
//       Exit 0 valid, 1 rejected (jose's error code on stderr), 2 usage.
//   node jose_interop.mjs sign --jwk FILE --alg ALG --kid KID --typ T --iss I --aud A
//                              --sub S [--ttl S] [--count N] [--claims JSON] [--sid SID]
//       prints N tokens, one per line, signed by jose.
import * as jose from 'jose';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

function parse(argv) {
  const opts = {};
  const pos = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      if (i + 1 >= argv.length) throw new Error(`option ${a} needs a value`);
      opts[a.slice(2)] = argv[++i];
    } else {
      pos.push(a);
    }
  }
  return { opts, pos };
}

function need(opts, name) {
  if (opts[name] === undefined) throw new Error(`--${name} is required`);
  return opts[name];
}

async function verify(opts, pos) {
  if (pos.length !== 1) throw new Error('verify wants exactly one token');
  const alg = need(opts, 'alg');
  const jwk = JSON.parse(readFileSync(need(opts, 'jwk'), 'utf8'));
  const key = await jose.importJWK(jwk, alg);
  const options = { algorithms: [alg] };
  if (opts.typ !== undefined) options.typ = opts.typ;
  if (opts.iss !== undefined) options.issuer = opts.iss;
  if (opts.aud !== undefined) options.audience = opts.aud;
  try {
    const { payload, protectedHeader } = await jose.jwtVerify(pos[0], key, options);
    process.stdout.write(JSON.stringify({ header: protectedHeader, payload }) + '\n');
    return 0;
  } catch (e) {
    process.stderr.write(`${e.code ?? 'ERROR'}: ${e.message}\n`);
    return 1;
  }
}

async function sign(opts) {
  const alg = need(opts, 'alg');
  const jwk = JSON.parse(readFileSync(need(opts, 'jwk'), 'utf8'));
  const key = await jose.importJWK(jwk, alg);
  const count = Number(opts.count ?? '1');
  const ttl = Number(opts.ttl ?? '600');
  const extra = opts.claims !== undefined ? JSON.parse(opts.claims) : {};
  const out = [];
  for (let i = 0; i < count; i++) {
    const claims = { ...extra };
    if (opts.sid !== undefined) claims.sid = opts.sid;
    const now = Math.floor(Date.now() / 1000);
    const token = await new jose.SignJWT(claims)
      .setProtectedHeader({ alg, kid: need(opts, 'kid'), typ: need(opts, 'typ') })
      .setIssuer(need(opts, 'iss'))
      .setAudience(need(opts, 'aud'))
      .setSubject(need(opts, 'sub'))
      .setIssuedAt(now)
      .setExpirationTime(now + ttl)
      .setJti(jose.base64url.encode(randomBytes(32)))
      .sign(key);
    out.push(token);
  }
  process.stdout.write(out.join('\n') + '\n');
  return 0;
}

try {
  const [cmd, ...rest] = process.argv.slice(2);
  const { opts, pos } = parse(rest);
  let rc;
  if (cmd === 'verify') rc = await verify(opts, pos);
  else if (cmd === 'sign') rc = await sign(opts);
  else throw new Error(`unknown command ${cmd}`);
  process.exitCode = rc;
} catch (e) {
  process.stderr.write(`jose_interop: ${e.stack ?? e}\n`);
  process.exitCode = 2;
}
