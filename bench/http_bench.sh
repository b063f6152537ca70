#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# HTTP overhead of authentication: wrk on loopback against authgate-demo,
# GET /api/me with a valid bearer token vs GET /healthz (no credential),
# for HS256 and ES256. Prints requests/s, p50 and p99 latency, and the ratio
# /api/me ÷ /healthz (the issue's target for HS256: ≥ 0.9).
#
#   bench/http_bench.sh [BUILD_DIR] [SECONDS] [CONNECTIONS] [WRK_THREADS]
#   defaults: build 10 32 2; env ALGS="HS256 ES256", ROUNDS=3, PORT=18080+,
#   DEMO_ARGS="" (more authgate-demo flags, e.g. "--verify-cache 1024")
#
# Each round runs /healthz then /api/me for SECONDS each, on one server
# process; the table shows every round and the medians, and the ratio is
# median ÷ median, so a slow moment of a shared machine hits one round of
# one side, not the verdict. "server us/req" is the server process's CPU
# time (user + system, /proc/PID/stat) per request: unlike requests/s on
# two cores shared with wrk, it does not swing with the scheduler.
#
# Needs wrk and curl (Debian: apt-get install wrk curl) and a built
# authgate-demo (examples/demo_server). The server runs with the memory store
# and keys in a temporary directory; it is stopped on exit.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
secs=${2:-10}
conns=${3:-32}
wthreads=${4:-2}
algs=${ALGS:-HS256 ES256}
rounds=${ROUNDS:-3}

demo=""
for c in "$build/examples/demo_server/authgate-demo" "$build/examples/authgate-demo" \
         "$build/authgate-demo"; do
  [ -x "$c" ] && demo=$c && break
done
if [ -z "$demo" ]; then
  demo=$(find "$build" -name authgate-demo -type f -perm -u+x 2>/dev/null | head -1 || true)
fi
[ -n "$demo" ] || { echo "authgate-demo not found under $build (build examples first)" >&2; exit 2; }
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
  local p=${PORT:-18080}
  while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}

# The server's CPU time (user + system, from /proc/PID/stat) in clock ticks.
server_ticks() {
  awk '{print $14 + $15}' "/proc/$pid/stat"
}

# wrk's summary → "req/s p50 p99 server-CPU-us-per-request"
run_wrk() { # url [header]
  local out t0 t1
  t0=$(server_ticks)
  if [ $# -gt 1 ]; then
    out=$(wrk -t"$wthreads" -c"$conns" -d"${secs}s" --latency -H "$2" "$1")
  else
    out=$(wrk -t"$wthreads" -c"$conns" -d"${secs}s" --latency "$1")
  fi
  t1=$(server_ticks)
  local rps p50 p99 non2xx n cpu
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  n=$(awk '/ requests in / {print $1}' <<<"$out")
  cpu=$(awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" -v n="$n" \
    'BEGIN {printf "%.2f", (n > 0 ? t / hz * 1e6 / n : 0)}')
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$out")
  if [ -n "$non2xx" ]; then
    echo "wrk: $non2xx non-2xx responses from $1: the benchmark is invalid" >&2
    exit 1
  fi
  echo "$rps $p50 $p99 $cpu"
}

median() {
  printf '%s\n' "$@" | sort -g |
    awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

printf '%-6s %-10s %12s %10s %10s %14s\n' alg endpoint 'req/s' p50 p99 'server us/req'

for alg in $algs; do
  port=$(free_port)
  keydir=$tmp/keys-$alg
  mkdir -m 700 "$keydir"
  # shellcheck disable=SC2086 # DEMO_ARGS is a list of flags
  "$demo" --listen "127.0.0.1:$port" --store memory --alg "$alg" --key-dir "$keydir" \
    ${DEMO_ARGS:-} >"$tmp/demo-$alg.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    grep -q "listening on" "$tmp/demo-$alg.log" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { cat "$tmp/demo-$alg.log" >&2; exit 1; }
    sleep 0.1
  done
  base=http://127.0.0.1:$port
  token=$(curl -sf -X POST -H 'Content-Type: application/json' \
    -d '{"username":"demo","password":"demo","session":"token"}' "$base/auth/login" |
    sed -n 's/.*"access_token" *: *"\([^"]*\)".*/\1/p')
  [ -n "$token" ] || { echo "login failed against $base" >&2; exit 1; }
  curl -sf -H "Authorization: Bearer $token" "$base/api/me" >/dev/null ||
    { echo "/api/me refused the fresh token" >&2; exit 1; }

  h_all=() m_all=() hc_all=() mc_all=()
  for r in $(seq 1 "$rounds"); do
    read -r h_rps h_p50 h_p99 h_cpu < <(run_wrk "$base/healthz")
    read -r m_rps m_p50 m_p99 m_cpu < <(run_wrk "$base/api/me" "Authorization: Bearer $token")
    printf '%-6s %-10s %12s %10s %10s %14s   round %d\n' "$alg" /healthz "$h_rps" "$h_p50" \
      "$h_p99" "$h_cpu" "$r"
    printf '%-6s %-10s %12s %10s %10s %14s   round %d\n' "$alg" /api/me "$m_rps" "$m_p50" \
      "$m_p99" "$m_cpu" "$r"
    h_all+=("$h_rps")
    m_all+=("$m_rps")
    hc_all+=("$h_cpu")
    mc_all+=("$m_cpu")
  done
  h_med=$(median "${h_all[@]}")
  m_med=$(median "${m_all[@]}")
  printf '%-6s %-10s %12s   median of %d\n' "$alg" /healthz "$h_med" "$rounds"
  printf '%-6s %-10s %12s   median of %d\n' "$alg" /api/me "$m_med" "$rounds"
  printf '%-6s ratio /api/me ÷ /healthz: %s\n' "$alg" \
    "$(awk -v a="$m_med" -v b="$h_med" 'BEGIN {printf "%.3f", a / b}')"
  hc_med=$(median "${hc_all[@]}")
  mc_med=$(median "${mc_all[@]}")
  printf '%-6s server CPU per request (median): /healthz %s us, /api/me %s us: %s us\n' \
    "$alg" "$hc_med" "$mc_med" "$(awk -v a="$mc_med" -v b="$hc_med" 'BEGIN {printf "%+.2f", a - b}')"

  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
  pid=""
done
