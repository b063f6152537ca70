#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the built tree into a temporary prefix, then, using only what
# was installed:
#  - builds a consumer with find_package(authgate) (shared, static, mhd);
#  - builds the README's verify example with nothing but
#    PKG_CONFIG_PATH=<prefix>/<libdir>/pkgconfig (the .pc files are
#    relocatable: no --define-variable) and runs it on a real token;
#  - checks --cflags leaks no dependency's include directory, the SONAME,
#    the symbol versions, and that the man pages were installed.
#   install_test.sh BUILD SRC [MAKE_TOKEN]
set -eu
build=$1
src=$2
make_token=${3:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "install test: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
pcdir=$(dirname "$(find "$tmp/prefix" -name authgate.pc | head -n 1)")
[ -f "$pcdir/authgate.pc" ] || fail "authgate.pc not installed"
libdir=$(dirname "$pcdir")
export LD_LIBRARY_PATH="$libdir:${LD_LIBRARY_PATH:-}"

# find_package
cmake -S "$src/tests/install/consumer" -B "$tmp/b" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/b" >/dev/null
"$tmp/b/consumer" | grep -qx 'HS256 token has expired' || fail "find_package consumer"
"$tmp/b/consumer_static" | grep -qx 'HS256 token has expired' || fail "static consumer"

# pkg-config, relocatable: PKG_CONFIG_PATH alone, and the tree moved
mv "$tmp/prefix" "$tmp/moved"
pcdir=$(echo "$pcdir" | sed "s|$tmp/prefix|$tmp/moved|")
libdir=$(dirname "$pcdir")
export LD_LIBRARY_PATH="$libdir:${LD_LIBRARY_PATH:-}"
pc() { env -u PKG_CONFIG_LIBDIR PKG_CONFIG_PATH="$pcdir" pkg-config "$@"; }
cflags=$(pc --cflags authgate | sed "s/ *$//")
# only our include directory: no libpq (-I/usr/include/postgresql), no libcurl triplet dir
[ "$(echo "$cflags" | wc -w)" = 1 ] || fail "--cflags authgate leaks: $cflags"
[ -f "$(echo "$cflags" | sed 's/^-I//')/authgate/version.h" ] || fail "--cflags: $cflags has no authgate/version.h"
awk '/<!-- example:verify -->/ {f = 1; next} f && /^```c/ {p = 1; next} p && /^```/ {exit} p' \
  "$src/README.md" >"$tmp/verify.c"
[ -s "$tmp/verify.c" ] || fail "README.md has no verify example"
# shellcheck disable=SC2046
cc -o "$tmp/verify" "$tmp/verify.c" $(pc --cflags --libs authgate) || fail "README example does not build"
if [ -n "$make_token" ]; then
  out=$("$make_token")
  jwks=$(printf '%s\n' "$out" | sed -n 1p)
  tok=$(printf '%s\n' "$out" | sed -n 2p)
  "$tmp/verify" "$jwks" "$tok" | grep -qx 'sub=alice' || fail "README example rejects a good token"
  if "$tmp/verify" "$jwks" "${tok}x" 2>/dev/null; then fail "README example accepts a bad token"; fi
fi
cc -o "$tmp/pc" "$src/tests/install/consumer/main.c" $(pc --cflags --libs authgate)
"$tmp/pc" | grep -qx 'HS256 token has expired' || fail "pkg-config consumer"
# static link through pkg-config (Requires.private, Libs.private)
cc -o "$tmp/pc_static" "$src/tests/install/consumer/main.c" $(pc --cflags authgate) \
  "$libdir/libauthgate.a" $(pc --libs --static authgate | sed 's/-lauthgate//') ||
  fail "static link with pkg-config --static"
"$tmp/pc_static" | grep -qx 'HS256 token has expired' || fail "static pkg-config consumer"
if [ -f "$pcdir/authgate-mhd.pc" ]; then
  pc --exists authgate-mhd || fail "authgate-mhd.pc does not resolve"
  pc --libs authgate-mhd | grep -q -- '-lauthgate-mhd' || fail "authgate-mhd.pc Libs"
fi

# SONAME and symbol versions: every exported ag_ symbol is versioned, no internal one exported
objdump -p "$libdir"/libauthgate.so | grep -q 'SONAME *libauthgate.so.0' || fail "SONAME"
if objdump -T "$libdir"/libauthgate.so | grep -q ' ag__'; then fail "internal ag__ symbols exported"; fi
n_ag=$(objdump -T "$libdir"/libauthgate.so | grep -c ' ag_[a-z0-9]' || true)
n_ver=$(objdump -T "$libdir"/libauthgate.so | grep ' ag_[a-z0-9]' | grep -c 'AUTHGATE_0 ' || true)
[ "$n_ag" -gt 50 ] && [ "$n_ag" = "$n_ver" ] || fail "symbol versions: $n_ver of $n_ag in AUTHGATE_0"

# man pages
[ -f "$tmp/moved/share/man/man3/libauthgate.3" ] || fail "libauthgate.3 not installed"
echo "install, find_package, pkg-config (relocated), README example, symbols, man: ok"
