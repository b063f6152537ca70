#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the built tree into a temporary prefix, then builds a consumer
# with find_package(authgate) and another with pkg-config, and runs both.
set -eu
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
cmake -S "$src/tests/install/consumer" -B "$tmp/b" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/b" >/dev/null
LD_LIBRARY_PATH="$tmp/prefix/lib:$tmp/prefix/lib64:${LD_LIBRARY_PATH:-}" "$tmp/b/consumer" | grep -qx 'HS256 token has expired'
"$tmp/b/consumer_static" | grep -qx 'HS256 token has expired'
libdir=$(ls -d "$tmp"/prefix/lib*/pkgconfig | head -n 1)
cc -o "$tmp/pc" "$src/tests/install/consumer/main.c" \
  $(PKG_CONFIG_PATH="$libdir" pkg-config --define-variable=prefix="$tmp/prefix" --cflags --libs authgate)
LD_LIBRARY_PATH="$tmp/prefix/lib:$tmp/prefix/lib64:${LD_LIBRARY_PATH:-}" "$tmp/pc" | grep -qx 'HS256 token has expired'
# the SONAME is versioned
objdump -p "$tmp"/prefix/lib*/libauthgate.so | grep -q 'SONAME *libauthgate.so.0'
echo "install, find_package, pkg-config: ok"
