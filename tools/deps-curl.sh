#!/usr/bin/env bash
# tools/deps-curl.sh — the agent's libcurl: Debian bookworm's curl source
# package (upstream tarball + Debian's patches, security fixes included),
# built as a static library on Debian's libwolfssl with only what the agent
# uses: HTTP(S), proxies (HTTP proxy, CONNECT tunnelling, SOCKS, Basic and
# Digest proxy auth), the threaded resolver.  No LDAP, RTMP, SSH, IDN, PSL,
# HTTP/2, cookies, NTLM, zlib/brotli/zstd: each would pull a library (or,
# through LDAP and RTMP, GnuTLS) into the agent.  entra-sim and the test
# tools keep Debian's libcurl4-openssl.
#
#   tools/deps-curl.sh fetch   download the source package into DEPS/src
#                              (apt-get source with a private sources list and
#                              lists directory under DEPS/apt: the machine's
#                              apt configuration is never touched)
#   tools/deps-curl.sh build   fetch if needed, build, install the library
#                              and headers into DEPS (lib/, include/)
#   tools/deps-curl.sh config  run curl's configure with the options below
#                              and write its curl_config.h, comments
#                              stripped, to tools/deps-curl.config
#
# build skips curl's configure (about half of the time of this library in a
# fresh clone, and serial) when the first line of tools/deps-curl.config
# names this machine: curl's upstream version, libwolfssl-dev's version,
# the Debian architecture and the compiler's major version.  It then copies
# that file to lib/curl_config.h and compiles curl's own list of sources
# with tools/deps-curl.mk (no libtool).  Otherwise it runs configure and
# curl's make as before and says why; run `config` after changing an option
# below or when that line no longer matches.
#
#   DEPS=build/deps            where it all goes (the Makefile's DEPS_DIR)
#   CURL_DEB_VERSION=          a Debian version to pin ("" = the newest in
#                              bookworm, bookworm-security, bookworm-updates)
#
# The Makefile runs `build` only when DEPS/lib/libcurl.a is older than this
# script, tools/deps-curl.config or tools/deps-curl.mk, so changing an
# option below rebuilds it; CI's fresh clone pays the
# fetch and build once (see the README for the measured cost).
set -euo pipefail
cd "$(dirname "$0")/.."
DEPS=${DEPS:-build/deps}
mkdir -p "$DEPS"
DEPS=$(cd "$DEPS" && pwd)
# shellcheck source=tools/deps-src.sh
. "$(dirname "$0")/deps-src.sh"
# No -g: the agent's own objects carry the debug information that matters.
CURL_CFLAGS="-O2 -fPIC -fstack-protector-strong -ffunction-sections -fdata-sections"
APT=$DEPS/apt
SRC=$DEPS/src

fetch() {
  # Debian's last two patches rename the library for the GnuTLS/NSS flavours
  # in Makefile.am; the shipped Makefile.in is used as is, so they change
  # nothing here.
  deps_src_fetch deps-curl curl "${CURL_DEB_VERSION:-}" "$APT" "$SRC"
}

# configure_curl — curl's configure in the current directory (the source tree).
configure_curl() {
  # Hardened like the agent; sections so the agent's --gc-sections drops
  # what it never calls.
  CPPFLAGS="-D_FORTIFY_SOURCE=2" CFLAGS="$CURL_CFLAGS" \
    ./configure -q --prefix="$DEPS" --disable-shared --enable-static --with-pic \
    --disable-dependency-tracking \
    --with-wolfssl --without-openssl --without-gnutls --without-nss --without-mbedtls \
    --without-rustls --without-bearssl \
    --enable-http --enable-proxy --enable-crypto-auth --enable-threaded-resolver \
    --disable-ldap --disable-ldaps --disable-rtsp --disable-dict --disable-telnet \
    --disable-tftp --disable-pop3 --disable-imap --disable-smb --disable-smtp --disable-gopher \
    --disable-mqtt --disable-ftp --disable-file --disable-websockets \
    --without-libssh2 --without-libssh --without-wolfssh --without-librtmp --without-libidn2 \
    --without-libpsl --without-nghttp2 --without-nghttp3 --without-ngtcp2 --without-quiche \
    --without-brotli --without-zstd --without-zlib --without-gssapi --without-libgsasl \
    --disable-ntlm --disable-ntlm-wb --disable-manual --disable-alt-svc --disable-hsts \
    --disable-cookies --disable-netrc --disable-mime --disable-unix-sockets --disable-doh \
    --with-ca-bundle=/etc/ssl/certs/ca-certificates.crt --without-ca-path \
    2> >(grep -v 'WARNING: zlib disabled' >&2)
}

# machine_key — what tools/deps-curl.config's results depend on besides the options.
machine_key() {
  deps_machine_key curl "$SRC" "libwolfssl-dev $(dpkg-query -W -f='${Version}' libwolfssl-dev 2>/dev/null)"
}


config() {
  local out=$PWD/tools/deps-curl.config
  fetch
  deps_clean_env
  echo "deps-curl: configuring libcurl (wolfSSL) for $out"
  (cd "$SRC/curl" && configure_curl)
  {
    echo "/* deps-curl.config: $(machine_key) */"
    echo "/* curl_config.h written by curl's configure (tools/deps-curl.sh config); comments stripped */"
    deps_strip_comments <"$SRC/curl/lib/curl_config.h"
  } >"$out"
  echo "deps-curl: wrote $out ($(wc -l <"$out") lines)"
}

build() {
  local b=$SRC/curl t0=$SECONDS t1 t2 key have
  fetch
  t1=$SECONDS
  deps_clean_env
  key=$(machine_key)
  have=$(deps_config_key curl)
  if [ "$key" = "$have" ]; then
    echo "deps-curl: building libcurl.a (wolfSSL; configure skipped: tools/deps-curl.config)"
    cp tools/deps-curl.config "$b/lib/curl_config.h"
    t2=$SECONDS
    rm -rf "$DEPS/obj"
    make -s -f tools/deps-curl.mk SRC="$b" OUT="$DEPS/obj" CFLAGS="$CURL_CFLAGS"
    mkdir -p "$DEPS/lib" "$DEPS/include/curl"
    cp "$DEPS/obj/libcurl.a" "$DEPS/lib/libcurl.a"
    cp "$b"/include/curl/*.h "$DEPS/include/curl/"
  else
    echo "deps-curl: tools/deps-curl.config is for \"$have\", this machine is \"$key\": running configure"
    echo "deps-curl: configuring libcurl (wolfSSL)"
    (cd "$b" && configure_curl)
    t2=$SECONDS
    echo "deps-curl: building libcurl.a"
    make -s -C "$b/lib" >/dev/null
    make -s -C "$b/lib" install >/dev/null
    make -s -C "$b/include" install >/dev/null
  fi
  touch "$DEPS/lib/libcurl.a"
  echo "deps-curl: $DEPS/lib/libcurl.a ($(curl_version)); fetch $((t1 - t0)) s," \
    "configure $((t2 - t1)) s, build $((SECONDS - t2)) s"
}

curl_version() {
  sed -n 's/^#define LIBCURL_VERSION "\(.*\)"/\1/p' "$DEPS/include/curl/curlver.h"
}

case ${1:-} in
  fetch) fetch ;;
  build) build ;;
  config) config ;;
  *)
    echo "usage: tools/deps-curl.sh fetch|build|config" >&2
    exit 2
    ;;
esac
