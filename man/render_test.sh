#!/bin/sh
# SPDX-License-Identifier: MIT
# Renders each man page given with groff -ww (every warning on) and, when
# man-db is installed, with `man -l`; fails when either prints anything on
# stderr or fails.
set -u
status=0
command -v groff >/dev/null || { echo "render_test: groff missing (apt-get install groff-base)" >&2; exit 1; }
for page in "$@"; do
  [ -s "$page" ] || { echo "render_test: $page missing or empty" >&2; status=1; continue; }
  err=$(LC_ALL=C.UTF-8 groff -ww -z -b -man -Tutf8 "$page" 2>&1 >/dev/null) || status=1
  if [ -n "$err" ]; then
    printf '%s: groff:\n%s\n' "$page" "$err" >&2
    status=1
  fi
  if command -v man >/dev/null; then
    err=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null) || status=1
    if [ -n "$err" ]; then
      printf '%s: man -l:\n%s\n' "$page" "$err" >&2
      status=1
    fi
  fi
done
[ $status = 0 ] && echo "render_test: $# pages render without warnings"
exit $status
