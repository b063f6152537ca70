// SPDX-License-Identifier: MIT
// Browser test of the authgate-demo page (GET /) in headless Chromium,
// driven by playwright-core (installed build-locally by test_demo.py
// npm-install) against /usr/bin/chromium. Started by `test_demo.py browser`,
// which runs the server.
//
// Walks the page as a user would: log in (cookie mode), see /api/me, force
// a refresh, let the page refresh on its own before the access token
// expires, reload (the session survives through the refresh cookie), log
// out. Throughout, the refresh token must never reach script: document.cookie
// never shows __Host-refresh (HttpOnly, H-09), and the page must run under
// its Content-Security-Policy without a single violation.
import { createRequire } from 'node:module';
import path from 'node:path';

function arg(name) {
  const i = process.argv.indexOf('--' + name);
  if (i < 0 || i + 1 >= process.argv.length) throw new Error('missing --' + name);
  return process.argv[i + 1];
}

const nodeDir = arg('node-dir');
const url = arg('url');
const require = createRequire(path.join(path.resolve(nodeDir), 'package.json'));
const { chromium } = require('playwright-core');

let failures = 0;
function check(cond, what) {
  if (cond) {
    console.log('ok   ' + what);
  } else {
    console.log('FAIL ' + what);
    failures++;
  }
}

const ctx = await chromium.launchPersistentContext(arg('profile'), {
  executablePath: arg('chromium'),
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = ctx.pages()[0] || await ctx.newPage();
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 40[13]/.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(String(e)));

  const state = () => page.locator('body').getAttribute('data-state');
  const waitState = (s) => page.waitForFunction((want) => document.body.dataset.state === want,
                                                s, { timeout: 20000 });
  const scriptCookies = () => page.evaluate(() => document.cookie);
  const jarCookie = async (name) => (await ctx.cookies()).find((c) => c.name === name);

  await page.goto(url);
  await waitState('logged out');
  check(await state() === 'logged out', 'fresh page shows "logged out"');

  // wrong password: stays logged out
  await page.fill('#user', 'demo');
  await page.fill('#pass', 'wrong');
  await page.click('#dologin');
  await page.waitForFunction(() => /login failed/.test(document.getElementById('msg').textContent));
  check(await state() === 'logged out', 'wrong password: still logged out');

  // log in
  await page.fill('#pass', 'demo');
  await page.click('#dologin');
  await waitState('logged in');
  check(await state() === 'logged in', 'login through the page: "logged in"');
  const me = JSON.parse(await page.textContent('#me'));
  check(me.sub === 'demo' && me.aud && me.jti, '/api/me shown on the page: ' + JSON.stringify(me));

  const rc1 = await jarCookie('__Host-refresh');
  check(rc1 !== undefined,
        '__Host-refresh cookie stored by Chromium over plain http on ' + new URL(url).hostname);
  check(rc1 && rc1.httpOnly && rc1.secure && rc1.sameSite === 'Strict' && rc1.path === '/',
        '__Host-refresh is HttpOnly; Secure; SameSite=Strict; Path=/');
  const csrf = await jarCookie('__Host-csrf');
  check(csrf && !csrf.httpOnly, '__Host-csrf cookie readable by script');
  let dc = await scriptCookies();
  check(!dc.includes('__Host-refresh') && !(rc1 && dc.includes(rc1.value)),
        'document.cookie never shows the refresh token (after login): ' + JSON.stringify(dc));
  check(dc.includes('__Host-csrf='), 'document.cookie shows __Host-csrf');

  // forced refresh
  await page.click('#refresh');
  await page.waitForFunction(() => document.getElementById('refreshes').textContent === '1');
  await waitState('logged in');
  const rc2 = await jarCookie('__Host-refresh');
  check(rc2 && rc1 && rc2.value !== rc1.value, 'forced refresh rotated the refresh cookie');
  dc = await scriptCookies();
  check(!dc.includes('__Host-refresh'), 'document.cookie never shows the refresh token (after refresh)');

  // the page's own timer refreshes before the access token (40 s) expires
  await page.waitForFunction(() => Number(document.getElementById('refreshes').textContent) >= 2,
                             null, { timeout: 40000 });
  check(await state() === 'logged in', 'automatic refresh before expiry keeps the session');

  // a reload keeps the session through the refresh cookie
  await page.reload();
  await waitState('logged in');
  check(await state() === 'logged in', 'reload: still logged in (refresh via cookie)');

  // a cross-origin-looking request without the CSRF header is refused
  const noCsrf = await page.evaluate(async () =>
    (await fetch('/auth/refresh', { method: 'POST', credentials: 'same-origin' })).status);
  check(noCsrf === 403, 'refresh without X-CSRF-Token from the page → 403 (C-01), got ' + noCsrf);

  // log out
  await page.click('#logout');
  await waitState('logged out');
  check(await state() === 'logged out', 'logout: "logged out"');
  check(await jarCookie('__Host-refresh') === undefined, 'logout cleared __Host-refresh');
  check(await jarCookie('__Host-csrf') === undefined, 'logout cleared __Host-csrf');
  dc = await scriptCookies();
  check(!dc.includes('__Host-refresh'), 'document.cookie never shows the refresh token (after logout)');
  await page.reload();
  await waitState('logged out');
  check(await state() === 'logged out', 'reload after logout: logged out');

  check(problems.length === 0, 'no CSP violation or script error: ' + JSON.stringify(problems));
} catch (e) {
  console.log('FAIL exception: ' + (e && e.stack ? e.stack : e));
  failures++;
} finally {
  await ctx.close();
}
process.exit(failures === 0 ? 0 : 1);
