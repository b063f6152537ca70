#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Cost of ngx_http_authgate_module in nginx: wrk on loopback against one
# nginx worker serving the same small static file from three locations:
#   off     authgate off (the same Authorization header is sent, so nginx
#           parses the same bytes and the difference is the module's work)
#   on      authgate on, a valid HS256 bearer token
#   claims  as "on", plus authgate_claim_header sub X-User and
#           add_header X-Sub $authgate_claim_sub
# Prints, per round and as medians, requests/s and the worker's CPU time per
# request (user + system, from /proc/PID/schedstat, in ns; /proc/PID/stat
# ticks when schedstat is missing). CPU per request is the steady measure:
# requests/s on two cores shared with wrk swings with the scheduler. The
# verdict is median(on) − median(off); the target is ≤ 2 µs per request.
# (A `return 200` would answer in the rewrite phase, before any access
# check runs, so the locations serve a file.)
#
#   bench/nginx_bench.sh [BUILD_DIR] [SECONDS] [CONNECTIONS] [WRK_THREADS]
#   defaults: build 5 16 1; env ROUNDS=5, PORT=18180+, NGINX=/usr/sbin/nginx,
#   CALLGRIND=N (also count instructions, below; ROUNDS=0 for only that),
#   REVOCATIONS=1 (also a location "rev": as "on", plus authgate_revocations
#   following a SQLite store's log; the token then carries a sid, so the set
#   is probed for both sid and sub. Off by default: it adds a thread)
#
# With CALLGRIND=N, nginx (one process, master_process off) runs under
# valgrind's callgrind for each location: after 50 warm-up requests the
# counters are zeroed, N requests are made on one keep-alive connection, and
# the instructions executed in user space are divided by N. Exact and immune
# to the machine's load, but blind to the kernel (most of a request's time)
# and, as bench/callgrind.sh notes, valgrind's CPU has no SHA extensions.
#
# Rounds alternate off → on → claims, so a slow moment of a shared machine
# hits one round of one side. Needs wrk (apt-get install wrk), curl, nginx,
# and a build with the module (lib/nginx) and the CLI (tools/).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
secs=${2:-5}
conns=${3:-16}
wthreads=${4:-1}
rounds=${ROUNDS:-5}
nginx=${NGINX:-/usr/sbin/nginx}
module=$build/lib/nginx/objs/ngx_http_authgate_module.so
cli=$build/tools/authgate

[ -f "$module" ] || { echo "$module not found (build with nginx-dev installed)" >&2; exit 2; }
[ -x "$cli" ] || { echo "$cli not found (build the tools)" >&2; exit 2; }
[ -x "$nginx" ] || { echo "$nginx not found: apt-get install nginx" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk not found: apt-get install wrk" >&2; exit 2; }
command -v curl >/dev/null || { echo "curl not found: apt-get install curl" >&2; exit 2; }

tmp=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

free_port() {
  local p=${PORT:-18180}
  while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}

(umask 077; "$cli" keygen --alg HS256 --kid bench >"$tmp/hs.jwk")
printf '{"keys":[%s]}\n' "$(cat "$tmp/hs.jwk")" >"$tmp/jwks.json"
rev=${REVOCATIONS:-0}
sid=() locs=(off on claims) rev_loc=""
if [ "$rev" = 1 ]; then
  sid=(--sid bench-session-0001)
  locs+=(rev)
  rev_loc="location /rev/ { authgate on; authgate_revocations sqlite:$tmp/rev.db; alias $tmp/html/; }"
fi
token=$("$cli" issue --key "$tmp/hs.jwk" --sub bench-user --iss bench --aud bench --ttl 3600 \
  "${sid[@]}")
mkdir -p "$tmp/html"
printf 'ok\n' >"$tmp/html/index.html"

port=$(free_port)
user=""
[ "$(id -u)" = 0 ] && user="user root;"
write_conf() { # file port master_process
  cat >"$1" <<EOF
load_module $module;
$user
daemon off;
master_process $3;
worker_processes 1;
pid $1.pid;
error_log $tmp/error.log crit;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $tmp/body;
    proxy_temp_path $tmp/proxy;
    fastcgi_temp_path $tmp/fastcgi;
    uwsgi_temp_path $tmp/uwsgi;
    scgi_temp_path $tmp/scgi;
    authgate_jwks_file $tmp/jwks.json;
    authgate_issuer bench;
    authgate_audience bench;
    server {
        listen 127.0.0.1:$2;
        root $tmp/html;
        location /off/ { alias $tmp/html/; }
        location /on/ { authgate on; alias $tmp/html/; }
        $rev_loc
        location /claims/ {
            authgate on;
            authgate_claim_header sub X-User;
            add_header X-Sub \$authgate_claim_sub;
            alias $tmp/html/;
        }
    }
}
EOF
}
write_conf "$tmp/nginx.conf" "$port" on
"$nginx" -p "$tmp" -c "$tmp/nginx.conf" >"$tmp/stderr" 2>&1 &
pid=$!
base=http://127.0.0.1:$port
for _ in $(seq 1 100); do
  curl -s -o /dev/null "$base/off/" && break
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/stderr" "$tmp/error.log" >&2; exit 1; }
  sleep 0.1
done
worker=$(pgrep -P "$pid" | head -1)
[ -n "$worker" ] || { echo "no nginx worker" >&2; exit 1; }
auth="Authorization: Bearer $token"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/on/")" = 401 ] ||
  { echo "/on/ without a token is not 401: is the module active?" >&2; exit 1; }
curl -sf -H "$auth" "$base/on/" >/dev/null || { echo "/on/ refused the token" >&2; exit 1; }
[ "$(curl -sf -D - -o /dev/null -H "$auth" "$base/claims/" | tr -d '\r' |
  awk -F': ' 'tolower($1) == "x-sub" {print $2}')" = bench-user ] ||
  { echo "/claims/ did not set X-Sub" >&2; exit 1; }

# The worker's CPU time in ns.
worker_ns() {
  if [ -r "/proc/$worker/schedstat" ]; then
    awk '{print $1}' "/proc/$worker/schedstat"
  else
    awk -v hz="$(getconf CLK_TCK)" '{printf "%.0f", ($14 + $15) * 1e9 / hz}' "/proc/$worker/stat"
  fi
}

# wrk → "req/s worker-ns-per-request"
run_wrk() { # url [header]
  local out t0 t1 n rps non2xx
  t0=$(worker_ns)
  if [ $# -gt 1 ]; then
    out=$(wrk -t"$wthreads" -c"$conns" -d"${secs}s" -H "$2" "$1")
  else
    out=$(wrk -t"$wthreads" -c"$conns" -d"${secs}s" "$1")
  fi
  t1=$(worker_ns)
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  n=$(awk '/ requests in / {print $1}' <<<"$out")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$out")
  if [ -n "$non2xx" ]; then
    echo "wrk: $non2xx non-2xx responses from $1: the benchmark is invalid" >&2
    exit 1
  fi
  awk -v r="$rps" -v d="$((t1 - t0))" -v n="$n" 'BEGIN {printf "%s %.0f\n", r, (n > 0 ? d / n : 0)}'
}

median() {
  printf '%s\n' "$@" | sort -g |
    awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

if [ "$rounds" -gt 0 ]; then
  echo "nginx $("$nginx" -v 2>&1 | sed 's/.*nginx\///'), 1 worker; wrk -t$wthreads -c$conns, ${secs}s per run, $rounds rounds"
  printf '%-6s %-8s %12s %16s\n' round location 'req/s' 'worker ns/req'
fi
off_r=() on_r=() cl_r=() off_c=() on_c=() cl_c=() rv_r=() rv_c=()
for r in $(seq 1 "$rounds"); do
  [ "$rounds" -gt 0 ] || break
  read -r rps cpu < <(run_wrk "$base/off/" "$auth")
  off_r+=("$rps") off_c+=("$cpu")
  printf '%-6s %-8s %12s %16s\n' "$r" off "$rps" "$cpu"
  read -r rps cpu < <(run_wrk "$base/on/" "$auth")
  on_r+=("$rps") on_c+=("$cpu")
  printf '%-6s %-8s %12s %16s\n' "$r" on "$rps" "$cpu"
  read -r rps cpu < <(run_wrk "$base/claims/" "$auth")
  cl_r+=("$rps") cl_c+=("$cpu")
  printf '%-6s %-8s %12s %16s\n' "$r" claims "$rps" "$cpu"
  if [ "$rev" = 1 ]; then
    read -r rps cpu < <(run_wrk "$base/rev/" "$auth")
    rv_r+=("$rps") rv_c+=("$cpu")
    printf '%-6s %-8s %12s %16s\n' "$r" rev "$rps" "$cpu"
  fi
done
if [ "$rounds" -gt 0 ]; then
m_off=$(median "${off_c[@]}") m_on=$(median "${on_c[@]}") m_cl=$(median "${cl_c[@]}")
printf '%-6s %-8s %12s %16s\n' median off "$(median "${off_r[@]}")" "$m_off"
printf '%-6s %-8s %12s %16s\n' median on "$(median "${on_r[@]}")" "$m_on"
printf '%-6s %-8s %12s %16s\n' median claims "$(median "${cl_r[@]}")" "$m_cl"
if [ "$rev" = 1 ]; then
  m_rv=$(median "${rv_c[@]}")
  printf '%-6s %-8s %12s %16s\n' median rev "$(median "${rv_r[@]}")" "$m_rv"
fi
awk -v a="$m_on" -v b="$m_off" -v c="$m_cl" 'BEGIN {
  d = (a - b) / 1000; e = (c - b) / 1000
  printf "authgate adds %.2f us of worker CPU per HS256 request (%.2f us with claims); target <= 2 us: %s\n",
    d, e, (d <= 2 ? "met" : "MISSED") }'
if [ "$rev" = 1 ]; then
  awk -v a="$m_rv" -v b="$m_on" 'BEGIN {
    printf "the revocation check adds %.2f us of worker CPU per request\n", (a - b) / 1000 }'
fi
fi

[ -n "${CALLGRIND:-}" ] || exit 0
command -v valgrind >/dev/null || { echo "valgrind not found: apt-get install valgrind" >&2; exit 2; }
kill -TERM "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
pid=""

# N GETs of a path on one keep-alive connection, each must answer 200.
drive() { # port path count
  python3 - "$1" "$2" "$3" "$token" <<'PY'
import http.client, sys
port, path, n, tok = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
for _ in range(n):
    c.request("GET", path, headers={"Authorization": "Bearer " + tok})
    r = c.getresponse()
    r.read()
    if r.status != 200:
        sys.exit(f"{path}: status {r.status}")
PY
}

# → "Ir-per-request authgate-handler-Ir-per-request"
cg_run() { # location count
  local loc=$1 n=$2 out=$tmp/cg.$1.out cport
  cport=$(free_port)
  write_conf "$tmp/cg.conf" "$cport" off
  valgrind --tool=callgrind --callgrind-out-file="$out" "$nginx" -p "$tmp" -c "$tmp/cg.conf" \
    >"$tmp/cg.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do
    curl -s -o /dev/null "http://127.0.0.1:$cport/off/" && break
    kill -0 "$pid" 2>/dev/null || { cat "$tmp/cg.log" >&2; exit 1; }
    sleep 0.1
  done
  drive "$cport" "/$loc/" 50
  callgrind_control -z "$pid" >/dev/null 2>&1
  drive "$cport" "/$loc/" "$n"
  callgrind_control -d "$pid" >/dev/null 2>&1
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
  pid=""
  local total handler
  total=$(callgrind_annotate "$out.1" 2>/dev/null |
    awk '/PROGRAM TOTALS/ && !d {gsub(",", "", $1); print $1; d = 1}')
  handler=$(callgrind_annotate --inclusive=yes "$out.1" 2>/dev/null |
    awk '/:ngx_http_authgate_handler / && !d {gsub(",", "", $1); print $1; d = 1}')
  awk -v t="$total" -v h="${handler:-0}" -v n="$n" 'BEGIN {printf "%.0f %.0f\n", t / n, h / n}'
}

echo
echo "callgrind: instructions per request (user space), $CALLGRIND requests per location"
printf '%-8s %14s %18s\n' location 'Ir/request' 'in authgate/req'
declare -A ir
for loc in "${locs[@]}"; do
  read -r t h < <(cg_run "$loc" "$CALLGRIND")
  ir[$loc]=$t
  printf '%-8s %14s %18s\n' "$loc" "$t" "$h"
done
echo "authgate adds $((ir[on] - ir[off])) instructions per request ($((ir[claims] - ir[off])) with claims)"
if [ "$rev" = 1 ]; then
  echo "the revocation check adds $((ir[rev] - ir[on])) instructions per request"
fi
