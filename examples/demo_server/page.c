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
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "demo.h"

static const char page_style[] =
    "body{font:15px system-ui,sans-serif;max-width:40em;margin:2em auto;padding:0 1em}"
    "input,button{font:inherit;margin:.2em}pre{background:#f4f4f4;padding:.5em;"
    "white-space:pre-wrap;word-break:break-all}.hidden{display:none}";

static const char page_script[] =
    "'use strict';\n"
    "let access = null, timer = null, refreshes = 0;\n"
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
    "function schedule(expiresIn) {\n"
    "  clearTimeout(timer);\n"
    "  /* refresh a little before the access token expires */\n"
    "  const s = Math.max(1, Math.min(expiresIn - 30, expiresIn * 0.8));\n"
    "  timer = setTimeout(refresh, s * 1000);\n"
    "}\n"
    "async function post(path, body) {\n"
    "  const headers = {'X-CSRF-Token': csrf()};\n"
    "  if (body) headers['Content-Type'] = 'application/json';\n"
    "  return fetch(path, {method: 'POST', headers, credentials: 'same-origin',\n"
    "                      body: body ? JSON.stringify(body) : undefined});\n"
    "}\n"
    "async function gotTokens(r) {\n"
    "  const j = await r.json();\n"
    "  access = j.access_token;\n"
    "  schedule(j.expires_in);\n"
    "  await me();\n"
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
    "async function refresh() {\n"
    "  const r = await post('/auth/refresh');\n"
    "  if (!r.ok) { access = null; clearTimeout(timer);\n"
    "               show('logged out', 'session ended (' + r.status + ')'); return; }\n"
    "  refreshes++;\n"
    "  $('refreshes').textContent = String(refreshes);\n"
    "  await gotTokens(r);\n"
    "}\n"
    "async function me() {\n"
    "  const r = await fetch('/api/me', {headers: {'Authorization': 'Bearer ' + access}});\n"
    "  const j = await r.json();\n"
    "  $('me').textContent = JSON.stringify(j, null, 2);\n"
    "  if (r.ok) show('logged in', 'signed in as ' + j.sub);\n"
    "  else show('logged out', '/api/me answered ' + r.status);\n"
    "}\n"
    "async function logout(all) {\n"
    "  const r = await post(all ? '/auth/logout-all' : '/auth/logout');\n"
    "  access = null; clearTimeout(timer);\n"
    "  $('me').textContent = '';\n"
    "  show('logged out', r.status === 204 ? 'logged out' : 'logout answered ' + r.status);\n"
    "}\n"
    "$('login').addEventListener('submit', login);\n"
    "$('refresh').addEventListener('click', refresh);\n"
    "$('callme').addEventListener('click', me);\n"
    "$('logout').addEventListener('click', () => logout(false));\n"
    "$('logoutall').addEventListener('click', () => logout(true));\n"
    "/* a reload keeps the session: the refresh cookie is still there */\n"
    "if (csrf()) refresh(); else show('logged out', '');\n";

static const char page_head[] =
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>authgate demo</title>\n<style>";
static const char page_body[] =
    "</style></head>\n<body data-state=\"loading\">\n"
    "<h1>authgate demo</h1>\n"
    "<p>State: <strong id=\"state\">loading</strong> <span id=\"msg\"></span></p>\n"
    "<form id=\"login\" class=\"hidden\">\n"
    "<input id=\"user\" autocomplete=\"username\" placeholder=\"user\" value=\"demo\">\n"
    "<input id=\"pass\" type=\"password\" autocomplete=\"current-password\" "
    "placeholder=\"password\">\n"
    "<button id=\"dologin\" type=\"submit\">Log in</button>\n</form>\n"
    "<div id=\"session\" class=\"hidden\">\n"
    "<button id=\"callme\" type=\"button\">GET /api/me</button>\n"
    "<button id=\"refresh\" type=\"button\">Refresh now</button>\n"
    "<button id=\"logout\" type=\"button\">Log out</button>\n"
    "<button id=\"logoutall\" type=\"button\">Log out everywhere</button>\n"
    "<p>Refreshes: <span id=\"refreshes\">0</span></p>\n"
    "<pre id=\"me\"></pre>\n</div>\n<script>";
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
