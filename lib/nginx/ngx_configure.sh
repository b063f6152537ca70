#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Configures nginx's build of ngx_http_authgate_module the way Debian builds
# its own nginx module packages (dh-nginx's nginx_mod build system): nginx's
# ./configure from nginx-dev, run with the exact flags /usr/sbin/nginx was
# built with (conf_flags: --with-compat and the same modules), so the
# module's signature matches the binary; everything it writes goes to OBJS.
#
#   ngx_configure.sh NGINX_SRC_DIR MODULE_DIR OBJS_DIR
# AUTHGATE_INCLUDE_DIR and AUTHGATE_LIBS (environment) are read by
# MODULE_DIR/config.
set -euo pipefail
src=$1 mod=$2 objs=$3

cflags="" cppflags="" ldflags=""
if command -v dpkg-buildflags >/dev/null; then
  cflags=$(dpkg-buildflags --get CFLAGS)
  cppflags=$(dpkg-buildflags --get CPPFLAGS)
  ldflags=$(dpkg-buildflags --get LDFLAGS)
fi

rm -rf "$objs"
mkdir -p "$objs"
cd "$src"
# shellcheck disable=SC1091
. ./conf_flags
if ! ./configure --with-cc-opt="$cflags -fPIC $cppflags" --with-ld-opt="$ldflags -fPIC" \
    "${NGX_CONF_FLAGS[@]}" --add-dynamic-module="$mod" --builddir="$objs" \
    >"$objs/configure.log" 2>&1; then
  cat "$objs/configure.log" >&2
  echo "nginx configure failed (log above)" >&2
  exit 1
fi
