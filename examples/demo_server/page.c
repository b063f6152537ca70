/* SPDX-License-Identifier: MIT */
/*
 * authgate-demo — the page served at GET /.
 *
 * One self-contained document: no external assets. Its Content-Security-
 * Policy allows exactly the inline <script> and <style> below, by their
 * SHA-256 hashes (computed at startup), and fetches to this origin only.
 *
 * How the page holds credentials (the browser half of the model):
 *  - the access token lives in a JavaScript variable only, never in
 *    localStorage or a cookie, and goes out as Authorization: Bearer;
 *  - the refresh token lives in the __Host-refresh cookie, which is
 *    HttpOnly: script never sees it (document.cookie does not show it);
 *  - every refresh/logout sends X-CSRF-Token copied from the readable
 *    __Host-csrf cookie (double submit, bound to the session, C-01/C-02).
 * All text goes in through textContent, never innerHTML.
 *
 * What it shows of the model: both lifetimes counting down (the refresh
 * token's from the store's idle expiry, via GET /api/sessions), the
 * session's rotation count, the user's live sessions with a revoke button
 * each, the reuse lesson (POST /demo/replay, then /api/me refused with the
 * access token still held), and the series of GET /metrics ("metrics
 * unavailable" when the server has no such endpoint). Every POST carries
 * Content-Type: application/json.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "demo.h"

static const char page_style[] =
    "body{font:15px system-ui,sans-serif;max-width:46em;margin:2em auto;padding:0 1em;color:#222}\n"
    "h1{font-size:1.5em}h2{font-size:1.05em;margin:1.2em 0 .4em}\n"
    "input,button{font:inherit;margin:.2em}\n"
    "pre{background:#f4f4f4;padding:.5em;white-space:pre-wrap;word-break:break-all}\n"
    ".hidden{display:none}\n"
    ".cards{display:flex;gap:.6em;flex-wrap:wrap}\n"
    ".card{flex:1 1 12em;border:1px solid #ccd;border-radius:6px;padding:.5em "
    ".7em;background:#f7f9fc}\n"
    ".card h2{margin:0 0 .2em}.big{font-size:1.6em;font-weight:600;color:#1a4d8f}\n"
    ".card small{color:#555}progress{width:100%}\n"
    "table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.2em "
    ".4em;text-align:left}\n"
    "th{background:#eef}#metrics td{font-family:monospace;font-size:.85em}\n"
    "#lesson{border-left:4px solid #b33;padding-left:.7em}\n";

static const char page_script[] =
    "'use strict';\n"
    "let access = null, timer = null, refreshes = 0;\n"
    "let accessExp = 0, accessLife = 1, refreshExp = 0, refreshLife = 1, familyExp = 0;\n"
    "const $ = (id) => document.getElementById(id);\n"
    "function csrf() {\n"
    "  const m = document.cookie.split('; ').find((c) => c.startsWith('__Host-csrf='));\n"
    "  return m ? m.slice('__Host-csrf='.length) : '';\n"
    "}\n"
    "function show(state, text) {\n"
    "  $('state').textContent = state;\n"
    "  document.body.dataset.state = state;\n"
    "  $('login').classList.toggle('hidden', state === 'logged in');\n"
    "  $('session').classList.toggle('hidden', state !== 'logged in');\n"
    "  if (text !== undefined) $('msg').textContent = text;\n"
    "}\n"
    "function ended(text) {\n"
    "  access = null; clearTimeout(timer); accessExp = refreshExp = familyExp = 0;\n"
    "  show('logged out', text);\n"
    "}\n"
    "function schedule(expiresIn) {\n"
    "  clearTimeout(timer);\n"
    "  /* refresh a little before the access token expires */\n"
    "  const s = Math.max(1, Math.min(expiresIn - 30, expiresIn * 0.8));\n"
    "  timer = setTimeout(refresh, s * 1000);\n"
    "}\n"
    "/* Every JSON request says so (the demo answers 415 to anything else). */\n"
    "async function post(path, body, bearer, key) {\n"
    "  const headers = {'Content-Type': 'application/json'};\n"
    "  if (bearer) headers['Authorization'] = 'Bearer ' + access;\n"
    "  else headers['X-CSRF-Token'] = csrf();\n"
    "  if (key) headers['Idempotency-Key'] = key;\n"
    "  return fetch(path, {method: 'POST', headers, credentials: 'same-origin',\n"
    "                      body: JSON.stringify(body || {})});\n"
    "}\n"
    "async function gotTokens(r) {\n"
    "  const j = await r.json();\n"
    "  access = j.access_token;\n"
    "  accessLife = j.expires_in;\n"
    "  accessExp = Date.now() + j.expires_in * 1000;\n"
    "  schedule(j.expires_in);\n"
    "  await me();\n"
    "  await sessions();\n"
    "}\n"
    "async function login(ev) {\n"
    "  ev.preventDefault();\n"
    "  const r = await fetch('/auth/login', {method: 'POST', credentials: 'same-origin',\n"
    "    headers: {'Content-Type': 'application/json'},\n"
    "    body: JSON.stringify({username: $('user').value, password: $('pass').value,\n"
    "                          session: 'cookie'})});\n"
    "  $('pass').value = '';\n"
    "  if (!r.ok) { show('logged out', 'login failed (' + r.status + ')'); return; }\n"
    "  await gotTokens(r);\n"
    "}\n"
    "/* One Idempotency-Key per refresh, sent again on its retry: when the\n"
    "   answer is lost on the way, the retry gets the same new tokens. */\n"
    "function newKey() {\n"
    "  const b = crypto.getRandomValues(new Uint8Array(16));\n"
    "  return '\"' + Array.from(b, x => x.toString(16).padStart(2, '0')).join('') + '\"';\n"
    "}\n"
    "async function refresh() {\n"
    "  const key = newKey();\n"
    "  let r;\n"
    "  try { r = await post('/auth/refresh', null, false, key); }\n"
    "  catch (e) { r = await post('/auth/refresh', null, false, key); }\n"
    "  if (!r.ok) { ended('session ended (' + r.status + ')'); return; }\n"
    "  refreshes++;\n"
    "  $('refreshes').textContent = String(refreshes);\n"
    "  await gotTokens(r);\n"
    "}\n"
    "async function me() {\n"
    "  const r = await fetch('/api/me', {headers: {'Authorization': 'Bearer ' + access}});\n"
    "  const j = await r.json();\n"
    "  $('me').textContent = JSON.stringify(j, null, 2);\n"
    "  if (r.ok) show('logged in', 'signed in as ' + j.sub);\n"
    "  else ended('/api/me answered ' + r.status);\n"
    "  return r.status;\n"
    "}\n"
    "function when(t) { return t ? new Date(t * 1000).toLocaleTimeString() : 'never'; }\n"
    "function cell(tr, text) {\n"
    "  const td = document.createElement('td');\n"
    "  td.textContent = text;\n"
    "  tr.appendChild(td);\n"
    "  return td;\n"
    "}\n"
    "/* The user's live sessions, from the store (GET /api/sessions). */\n"
    "async function sessions() {\n"
    "  if (!access) return;\n"
    "  const auth = {'Authorization': 'Bearer ' + access};\n"
    "  const r = await fetch('/api/sessions', {headers: auth});\n"
    "  if (!r.ok) {\n"
    "    $('sessions-msg').textContent = 'GET /api/sessions answered ' + r.status;\n"
    "    return;\n"
    "  }\n"
    "  const j = await r.json();\n"
    "  const skew = Date.now() - j.now * 1000;\n"
    "  const body = $('sessions-body');\n"
    "  body.replaceChildren();\n"
    "  for (const s of j.sessions) {\n"
    "    const tr = document.createElement('tr');\n"
    "    tr.dataset.sid = s.sid;\n"
    "    cell(tr, s.sid.slice(0, 10) + '\\u2026' + (s.current ? ' (this one)' : ''));\n"
    "    cell(tr, when(s.created));\n"
    "    cell(tr, when(s.last_rotated));\n"
    "    cell(tr, String(s.generation)).className = 'gen';\n"
    "    const b = document.createElement('button');\n"
    "    b.type = 'button'; b.className = 'revoke'; b.textContent = 'Revoke';\n"
    "    b.addEventListener('click', () => revoke(s.sid));\n"
    "    tr.appendChild(document.createElement('td')).appendChild(b);\n"
    "    body.appendChild(tr);\n"
    "    if (s.current) {\n"
    "      $('rotations').textContent = String(s.generation);\n"
    "      refreshExp = s.idle_expires * 1000 + skew;\n"
    "      refreshLife = Math.max(1, s.idle_expires - (s.last_rotated || s.created));\n"
    "      familyExp = s.expires * 1000 + skew;\n"
    "    }\n"
    "  }\n"
    "  const shown = j.sessions.length;\n"
    "  const more = j.total > shown ? ' (oldest ' + shown + ' shown)' : '';\n"
    "  $('sessions-msg').textContent =\n"
    "    j.total + ' live session' + (j.total === 1 ? '' : 's') + ' of ' + j.sub + more;\n"
    "  document.body.dataset.sessions = String(j.total);\n"
    "  tick();\n"
    "}\n"
    "async function revoke(sid) {\n"
    "  const r = await post('/api/sessions/revoke', {sid}, true);\n"
    "  $('sessions-msg').textContent = 'revoke answered ' + r.status;\n"
    "  if ((await me()) === 200) await sessions();\n"
    "}\n"
    "/* The reuse lesson (POST /demo/replay): the server rotates this session's\n"
    " * refresh token and presents the old one again, as a thief would. */\n"
    "async function replay() {\n"
    "  const list = $('replay-steps');\n"
    "  list.replaceChildren();\n"
    "  const say = (text) => {\n"
    "    const li = document.createElement('li');\n"
    "    li.textContent = text;\n"
    "    list.appendChild(li);\n"
    "  };\n"
    "  const held = access;\n"
    "  const r = await post('/demo/replay');\n"
    "  const j = await r.json();\n"
    "  if (!r.ok) {\n"
    "    say('POST /demo/replay answered ' + r.status + ' ' + (j.error || ''));\n"
    "    return;\n"
    "  }\n"
    "  for (const s of j.steps)\n"
    "    say(s.action + ' \\u2192 ' + s.result + ' [' + s.outcome + ']');\n"
    "  const m = await fetch('/api/me', {headers: {'Authorization': 'Bearer ' + held}});\n"
    "  say('GET /api/me with this session\\u2019s access token \\u2192 ' + m.status +\n"
    "      (m.ok ? ' (still accepted)' : ' (refused: the session is revoked)'));\n"
    "  $('lesson').dataset.outcome = j.outcome + ' me=' + m.status;\n"
    "  ended('session ended by reuse detection');\n"
    "}\n"
    "async function logout(all) {\n"
    "  const r = await post(all ? '/auth/logout-all' : '/auth/logout');\n"
    "  $('me').textContent = '';\n"
    "  ended(r.status === 204 ? 'logged out' : 'logout answered ' + r.status);\n"
    "}\n"
    "function left(ms) {\n"
    "  if (ms <= 0) return 'expired';\n"
    "  const s = Math.ceil(ms / 1000);\n"
    "  if (s < 120) return s + ' s';\n"
    "  if (s < 7200) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';\n"
    "  const h = Math.floor(s / 3600), min = Math.floor((s % 3600) / 60);\n"
    "  if (s < 172800) return h + ' h ' + min + ' min';\n"
    "  return Math.floor(s / 86400) + ' days';\n"
    "}\n"
    "function tick() {\n"
    "  const now = Date.now();\n"
    "  const a = access ? accessExp - now : 0, f = access ? refreshExp - now : 0;\n"
    "  $('access-left').textContent = access ? left(a) : '\\u2014';\n"
    "  $('refresh-left').textContent = access && refreshExp ? left(f) : '\\u2014';\n"
    "  $('family-left').textContent = access && familyExp ? left(familyExp - now) : '\\u2014';\n"
    "  $('access-bar').value = access ? Math.max(0, a / 1000 / accessLife) : 0;\n"
    "  $('refresh-bar').value =\n"
    "    access && refreshExp ? Math.max(0, f / 1000 / refreshLife) : 0;\n"
    "}\n"
    "/* A tolerant reader of the Prometheus text format: series lines only. */\n"
    "function series(text) {\n"
    "  const out = [];\n"
    "  for (const line of text.split('\\n')) {\n"
    "    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(\\{[^}]*\\})?\\s+(\\S+)/.exec(line.trim());\n"
    "    if (m && !/_bucket$/.test(m[1])) out.push([m[1] + (m[2] || ''), m[3]]);\n"
    "  }\n"
    "  const want = /verify|refresh|reuse|login|revok|session|store/;\n"
    "  const hot = out.filter((s) => want.test(s[0]));\n"
    "  return (hot.length ? hot : out).slice(0, 16);\n"
    "}\n"
    "async function metrics() {\n"
    "  let rows = null, why = '';\n"
    "  try {\n"
    "    const r = await fetch('/metrics', {headers: {'Accept': 'text/plain'}});\n"
    "    if (r.ok) rows = series(await r.text()); else why = ' (' + r.status + ')';\n"
    "  } catch (e) { why = ''; }\n"
    "  const body = $('metrics-body');\n"
    "  body.replaceChildren();\n"
    "  const panel = $('metrics');\n"
    "  if (!rows || !rows.length) {\n"
    "    panel.dataset.state = 'unavailable';\n"
    "    $('metrics-msg').textContent = 'metrics unavailable' + why;\n"
    "    return;\n"
    "  }\n"
    "  panel.dataset.state = 'ok';\n"
    "  $('metrics-msg').textContent = 'GET /metrics, every 3 s';\n"
    "  for (const [k, v] of rows) {\n"
    "    const tr = document.createElement('tr');\n"
    "    cell(tr, k);\n"
    "    cell(tr, v);\n"
    "    body.appendChild(tr);\n"
    "  }\n"
    "}\n"
    "$('login').addEventListener('submit', login);\n"
    "$('refresh').addEventListener('click', refresh);\n"
    "$('callme').addEventListener('click', me);\n"
    "$('logout').addEventListener('click', () => logout(false));\n"
    "$('logoutall').addEventListener('click', () => logout(true));\n"
    "$('replay').addEventListener('click', replay);\n"
    "setInterval(tick, 250);\n"
    "setInterval(() => { if (access) sessions(); }, 5000);\n"
    "setInterval(metrics, 3000);\n"
    "metrics();\n"
    "/* a reload keeps the session: the refresh cookie is still there */\n"
    "if (csrf()) refresh(); else show('logged out', '');\n";

static const char page_head[] =
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>authgate demo</title>\n<style>";
static const char page_body[] =
    "</style></head>\n"
    "<body data-state=\"loading\">\n"
    "<h1>authgate demo</h1>\n"
    "<p>State: <strong id=\"state\">loading</strong> <span id=\"msg\"></span></p>\n"
    "<form id=\"login\" class=\"hidden\">\n"
    "<input id=\"user\" autocomplete=\"username\" placeholder=\"user\" value=\"demo\">\n"
    "<input id=\"pass\" type=\"password\" autocomplete=\"current-password\" "
    "placeholder=\"password\">\n"
    "<button id=\"dologin\" type=\"submit\">Log in</button>\n"
    "</form>\n"
    "<div id=\"session\" class=\"hidden\">\n"
    "<div class=\"cards\">\n"
    "<div class=\"card\"><h2>Access token</h2><div class=\"big\" id=\"access-left\">-</div>\n"
    "<progress id=\"access-bar\" max=\"1\" value=\"0\"></progress>\n"
    "<small>Held in a script variable only, sent as Authorization: Bearer.\n"
    "Short-lived; the page refreshes it before it runs out.</small></div>\n"
    "<div class=\"card\"><h2>Refresh token</h2><div class=\"big\" id=\"refresh-left\">-</div>\n"
    "<progress id=\"refresh-bar\" max=\"1\" value=\"0\"></progress>\n"
    "<small>An HttpOnly cookie: no script, this page's included, can read it.\n"
    "Each refresh replaces it. The login ends for good in <span "
    "id=\"family-left\">-</span>.</small></div>\n"
    "<div class=\"card\"><h2>Rotations</h2><div class=\"big\" id=\"rotations\">0</div>\n"
    "<small>Refresh tokens this session has used up. The store keeps only a hash of\n"
    "the current one and of the one before.</small></div>\n"
    "</div>\n"
    "<p><button id=\"callme\" type=\"button\">GET /api/me</button>\n"
    "<button id=\"refresh\" type=\"button\">Refresh now</button>\n"
    "<button id=\"logout\" type=\"button\">Log out</button>\n"
    "<button id=\"logoutall\" type=\"button\">Log out everywhere</button>\n"
    "Refreshes: <span id=\"refreshes\">0</span></p>\n"
    "<h2>Your sessions</h2>\n"
    "<p id=\"sessions-msg\"></p>\n"
    "<table id=\"sessions\"><thead><tr><th>session</th><th>created</th><th>last rotated</th>\n"
    "<th>rotations</th><th></th></tr></thead><tbody id=\"sessions-body\"></tbody></table>\n"
    "<h2>What if a refresh token is stolen?</h2>\n"
    "<p>A thief's copy is a token the real client has already rotated. Presenting it\n"
    "again is reuse: the server ends the whole session, the newest refresh token and\n"
    "its access tokens included.\n"
    "<button id=\"replay\" type=\"button\">Replay the previous refresh token</button></p>\n"
    "<pre id=\"me\"></pre>\n"
    "</div>\n"
    "<div id=\"lesson\"><ol id=\"replay-steps\"></ol></div>\n"
    "<h2>Metrics</h2>\n"
    "<div id=\"metrics\" data-state=\"loading\"><p id=\"metrics-msg\">loading</p>\n"
    "<table><tbody id=\"metrics-body\"></tbody></table></div>\n"
    "<script>";
static const char page_tail[] = "</script>\n</body></html>\n";

/* 'sha256-<base64 of SHA-256(text)>' as CSP wants it (standard base64). */
static bool csp_hash(const char *text, char out[64])
{
    unsigned char md[32];
    unsigned int n = 0;
    if (EVP_Digest(text, strlen(text), md, &n, EVP_sha256(), NULL) != 1 || n != 32)
        return false;
    return EVP_EncodeBlock((unsigned char *)out, md, 32) == 44;
}

bool demo_page_build(char **html, char *csp, size_t cap)
{
    char script_hash[64], style_hash[64];
    size_t len = strlen(page_head) + strlen(page_style) + strlen(page_body) + strlen(page_script) +
                 strlen(page_tail) + 1;
    int n;
    if (!csp_hash(page_script, script_hash) || !csp_hash(page_style, style_hash))
        return false;
    n = snprintf(csp, cap,
                 "default-src 'none'; script-src 'sha256-%s'; style-src 'sha256-%s'; "
                 "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; "
                 "base-uri 'none'",
                 script_hash, style_hash);
    if (n < 0 || (size_t)n >= cap)
        return false;
    *html = malloc(len);
    if (*html == NULL)
        return false;
    snprintf(*html, len, "%s%s%s%s%s", page_head, page_style, page_body, page_script, page_tail);
    return true;
}
