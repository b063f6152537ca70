#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# PostgreSQL rotations per second of an earlier release (default fd0b128,
# the per-token store) beside this tree's (one row per session), on ONE
# throwaway cluster, alternating runs so that a busy moment hits both:
#
#   bench/pg_compare.sh [OLD_COMMIT] [THREADS,...] [SECONDS]     (RUNS=5 by default)
#
# Builds both libraries (Release) in a temporary directory, compiles
# bench/pg_compare.c against each (it speaks both store interfaces), starts
# a cluster with scripts/pg-test-server and prints the median rate of each
# and their ratio. Needs git, cmake, a C compiler, libpq-dev and PostgreSQL.
# Beside it, `AG_PG_CONNINFO=… authgate-bench --filter rotate_postgres` gives
# the rotation against its floor (one raw prepared UPDATE … RETURNING).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
old=${1:-fd0b128}
threads=${2:-1}
secs=${3:-3}
runs=${RUNS:-5}
work=$(mktemp -d /tmp/ag-pgcmp-XXXXXX)
chmod 755 "$work"
cleanup() {
  "$root/scripts/pg-test-server" destroy "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

build() { # SRC BUILD
  cmake -S "$1" -B "$2" -DCMAKE_BUILD_TYPE=Release -DAG_BUILD_TESTS=OFF -DAG_BUILD_EXAMPLES=OFF \
    -DAG_BUILD_BENCH=OFF -DAG_BUILD_FUZZ=OFF >"$2.log" 2>&1
  cmake --build "$2" -j2 --target authgate_static >>"$2.log" 2>&1 ||
    { tail -n 20 "$2.log" >&2; exit 1; }
}

mkdir -p "$work/old"
git -C "$root" archive "$old" | tar -x -C "$work/old"
echo "building $old and this tree (Release)..." >&2
build "$work/old" "$work/old-build"
build "$root" "$work/new-build"
libs="$(pkg-config --libs libpq sqlite3 jansson libcrypto) $(pkg-config --libs libsodium 2>/dev/null || true) -lpthread -lm"
for v in old new; do
  src=$([ $v = old ] && echo "$work/old" || echo "$root")
  # shellcheck disable=SC2086
  # generated headers (version.h) come from the build directory
  cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -I"$work/$v-build/include" -I"$src/include" \
    "$root/bench/pg_compare.c" \
    "$work/$v-build/libauthgate.a" $libs -o "$work/pg_compare_$v"
done

ci=$("$root/scripts/pg-test-server" start "$work/pg" --owner $$)
psql_() { "$root/scripts/pg-test-server" psql "$work/pg" -qAtc "$1" >/dev/null; }
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for t in ${threads//,/ }; do
  declare -A rates=([old]="" [new]="")
  for ((r = 1; r <= runs; r++)); do
    for v in old new; do
      s="${v}_${t}_$r"
      psql_ "CREATE SCHEMA $s"
      out=$("$work/pg_compare_$v" "$ci options='-csearch_path=$s'" "$t" "$secs")
      rates[$v]+="${out#rotations_per_s } "
      echo "$t thread(s), run $r, $v: ${out#rotations_per_s } rotations/s" >&2
    done
  done
  mo=$(echo "${rates[old]}" | median)
  mn=$(echo "${rates[new]}" | median)
  echo "postgres rotations/s, $t thread(s), median of $runs x ${secs}s:" \
    "$old $mo, this tree $mn, ratio $(awk -v a="$mn" -v b="$mo" 'BEGIN {printf "%.2f", a / b}')x"
done
