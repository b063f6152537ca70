// SPDX-License-Identifier: MIT
// Browser test of the authgate-demo page (GET /) in headless Chromium,
// driven by playwright-core (installed build-locally by test_demo.py
// npm-install) against /usr/bin/chromium. Started by `test_demo.py browser`,
// which runs the server.
//
// Walks the page as a user would: log in (cookie mode), see /api/me and the
// two lifetimes counting down, force a refresh (the rotation count goes
// up), let the page refresh on its own before the access token expires,
// reload (the session survives through the refresh cookie), see a second
// login in the session list and revoke it, log out; log in again and replay
// the previous refresh token (reuse detection ends the session and /api/me
// refuses the access token). The metrics panel shows /metrics or says it is
// unavailable. A screenshot of the logged-in page must be a real picture
// (size, many colours, not one flat colour). Throughout, the refresh token must never reach script: document.cookie
// never shows __Host-refresh (HttpOnly, H-09), and the page must run under
// its Content-Security-Policy without a single violation.
import { createRequire } from 'node:module';
import fs from 'node:fs';
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
    // expected refusals: 401/403, and 404 while the server has no /metrics
    if (m.type() === 'error' && !/status of 40[134]/.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(String(e)));

  const state = () => page.locator('body').getAttribute('data-state');
  const waitState = (s) => page.waitForFunction((want) => document.body.dataset.state === want,
                                                s, { timeout: 20000 });
  const scriptCookies = () => page.evaluate(() => document.cookie);
  const jarCookie = async (name) => (await ctx.cookies()).find((c) => c.name === name);
  const text = (sel) => page.textContent(sel);
  // requests outside the browser (Node's fetch): no cookie of the page's
  const api = async (method, p, body, tok) => {
    const headers = {};
    if (body) headers['Content-Type'] = 'application/json';
    if (tok) headers['Authorization'] = 'Bearer ' + tok;
    const r = await fetch(new URL(p, url), {method, headers,
                                            body: body ? JSON.stringify(body) : undefined});
    const t = await r.text();
    let j = null;
    try { j = JSON.parse(t); } catch (e) { /* not JSON */ }
    return {status: r.status, json: j, text: t};
  };

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

  // the lifetimes count down; the rotation count starts at 0
  await page.waitForFunction(() => document.body.dataset.sessions === '1');
  const secs = async (sel) => {
    const m = /^(\d+) s$/.exec((await text(sel)).trim());
    return m ? Number(m[1]) : NaN;
  };
  await page.waitForFunction(() => /\d/.test(document.getElementById('refresh-left').textContent));
  const acc1 = await secs('#access-left');
  check(acc1 > 0 && acc1 <= 40, 'access token countdown shown: ' + await text('#access-left'));
  check(/\d/.test(await text('#refresh-left')) && /\d/.test(await text('#family-left')),
        'refresh token and session countdowns shown: ' + await text('#refresh-left') + ' / ' +
        await text('#family-left'));
  await page.waitForTimeout(2100);
  const acc2 = await secs('#access-left');
  check(acc2 < acc1, 'access countdown goes down: ' + acc1 + ' s then ' + acc2 + ' s');
  check(await text('#rotations') === '0', 'rotation count 0 after login');

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
  await page.waitForFunction(() => document.getElementById('rotations').textContent === '1');
  check(await text('#rotations') === '1', 'rotation count 1 after the refresh (from the store)');
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

  // a second login (token mode, outside the browser) shows up in the list
  const other = await api('POST', '/auth/login', {username: 'demo', password: 'demo',
                                                   session: 'token'});
  check(other.status === 200, 'second login outside the browser → 200');
  await page.click('#refresh');
  await page.waitForFunction(() => document.body.dataset.sessions === '2', null,
                             { timeout: 20000 });
  const rows = await page.locator('#sessions-body tr').count();
  check(rows === 2, 'session list shows both live sessions, got ' + rows);
  const gens = await page.locator('#sessions-body tr .gen').allTextContents();
  check(gens.includes('0') && gens.some((g) => Number(g) >= 2),
        'rotation counts per session: ' + JSON.stringify(gens));
  // the metrics panel: live series, or a plain "unavailable"
  const hasMetrics = (await api('GET', '/metrics')).status === 200;
  await page.waitForFunction(() => document.getElementById('metrics').dataset.state !== 'loading');
  const mstate = await page.getAttribute('#metrics', 'data-state');
  const mrows = await page.locator('#metrics-body tr').count();
  check(hasMetrics ? mstate === 'ok' && mrows > 0
                   : mstate === 'unavailable' && /metrics unavailable/.test(await text('#metrics-msg')),
        'metrics panel ' + (hasMetrics ? 'shows ' + mrows + ' series' : 'says unavailable') +
        ' (/metrics ' + (hasMetrics ? 'present' : 'absent') + ')');

  // a screenshot of the logged-in page is a real picture
  const png = await page.screenshot({ fullPage: true });
  if (process.argv.includes('--screenshot')) fs.writeFileSync(arg('screenshot'), png);
  const shot = await ctx.newPage(); // about:blank: no CSP to stop a data: image
  await shot.setContent('<canvas id="c"></canvas>');
  const pic = await shot.evaluate(async (b64) => {
    const img = new Image();
    img.src = 'data:image/png;base64,' + b64;
    await img.decode();
    const c = document.getElementById('c');
    c.width = img.width;
    c.height = img.height;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, img.width, img.height).data;
    const count = new Map();
    for (let i = 0; i < d.length; i += 4) {
      const k = (d[i] << 16) | (d[i + 1] << 8) | d[i + 2];
      count.set(k, (count.get(k) || 0) + 1);
    }
    const top = Math.max(...count.values());
    return { w: img.width, h: img.height, colours: count.size,
             other: 1 - top / (img.width * img.height) };
  }, png.toString('base64'));
  await shot.close();
  check(png.length > 8000 && pic.w >= 300 && pic.h >= 300 && pic.colours >= 16 && pic.other > 0.03,
        'screenshot renders: ' + png.length + ' bytes, ' + pic.w + 'x' + pic.h + ', ' +
        pic.colours + ' colours, ' + (pic.other * 100).toFixed(1) + '% not background');

  // revoke the other session from the page
  const otherRow = page.locator('#sessions-body tr', { hasNotText: '(this one)' });
  await otherRow.locator('button.revoke').click();
  await page.waitForFunction(() => document.body.dataset.sessions === '1', null,
                             { timeout: 20000 });
  check(await page.locator('#sessions-body tr').count() === 1, 'revoked session left the list');
  check(await state() === 'logged in', 'revoking the other session keeps this one');
  const otherMe = await api('GET', '/api/me', null, other.json.access_token);
  check(otherMe.status === 401, 'the revoked session\'s access token is refused, got ' +
        otherMe.status);
  const otherRt = await api('POST', '/auth/refresh', null, other.json.refresh_token);
  check(otherRt.status === 401, 'the revoked session\'s refresh token is refused, got ' +
        otherRt.status);

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

  // the reuse lesson: replay the previous refresh token
  await page.fill('#pass', 'demo');
  await page.click('#dologin');
  await waitState('logged in');
  await page.waitForFunction(() => document.body.dataset.sessions === '1');
  const rcBefore = await jarCookie('__Host-refresh');
  await page.click('#replay');
  await page.waitForFunction(() => document.getElementById('lesson').dataset.outcome, null,
                             { timeout: 20000 });
  const lesson = await page.getAttribute('#lesson', 'data-outcome');
  const steps = await page.locator('#replay-steps li').allTextContents();
  check(lesson === 'reuse_detected me=401',
        'replay: reuse detected, then /api/me refused: ' + lesson + ' ' + JSON.stringify(steps));
  check(steps.length === 4 && /reuse detected/.test(steps[1]) && /refused/.test(steps[2]) &&
        /401/.test(steps[3]), 'replay steps shown on the page: ' + JSON.stringify(steps));
  check(await state() === 'logged out', 'after the replay the page is logged out');
  const rcAfter = await jarCookie('__Host-refresh');
  check(rcBefore && rcAfter && rcAfter.value === rcBefore.value &&
        !steps.join(' ').includes(rcBefore.value),
        'the replay kept every refresh token server-side (cookie unchanged, none shown)');
  dc = await scriptCookies();
  check(!dc.includes('__Host-refresh'), 'document.cookie never shows the refresh token (replay)');
  await page.reload();
  await waitState('logged out');
  check(await state() === 'logged out', 'reload after the replay: the session is over');

  check(problems.length === 0, 'no CSP violation or script error: ' + JSON.stringify(problems));
} catch (e) {
  console.log('FAIL exception: ' + (e && e.stack ? e.stack : e));
  failures++;
} finally {
  await ctx.close();
}
process.exit(failures === 0 ? 0 : 1);
