#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Instructions per operation, per row, under callgrind: exact and immune to
# the noise of a busy machine (wall-clock ratios on 2 shared cores are not).
#
#   bench/callgrind.sh BUILD_DIR FILTER [COUNT]
#   e.g. bench/callgrind.sh build hs256 2000
#
# Runs authgate-bench --count COUNT for each row the filter selects, with
# collection toggled on inside the row's op function only (every op
# function in bench/ is named *_benchop), and prints
# Ir/op. Also leaves the profile in /tmp/ag-cg.<case>.<impl>.out for
# callgrind_annotate --inclusive=yes.
set -euo pipefail
build=${1:?build dir}; filter=${2:?filter}; count=${3:-1000}
bench=$build/bench/authgate-bench
printf '%-16s %-18s %12s\n' case impl 'Ir/op'
"$bench" --list --filter "$filter" | while read -r case impl; do
  out=/tmp/ag-cg.$case.$impl.out
  log=$(valgrind --tool=callgrind --callgrind-out-file="$out" \
        --toggle-collect='*_benchop' \
        "$bench" --filter "$case/$impl\$" --count "$count" --reps 5 2>&1 >/dev/null </dev/null)
  calls=$(sed -n 's/.* \([0-9][0-9]*\) op calls in all.*/\1/p' <<<"$log" | head -1)
  total=$(callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ && !d {gsub(",","",$1); print $1; d=1}')
  if [ -n "$calls" ] && [ -n "$total" ]; then
    printf '%-16s %-18s %12.0f\n' "$case" "$impl" "$(echo "$total / $calls" | bc -l)"
  else
    printf '%-16s %-18s %12s\n' "$case" "$impl" "failed"
  fi
done
