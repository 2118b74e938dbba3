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
#   tools/deps-curl.sh build   fetch if needed, configure, build, install the
#                              library and headers into DEPS (lib/, include/)
#
#   DEPS=build/deps            where it all goes (the Makefile's DEPS_DIR)
#   CURL_DEB_VERSION=          a Debian version to pin ("" = the newest in
#                              bookworm, bookworm-security, bookworm-updates)
#
# The Makefile runs `build` only when DEPS/lib/libcurl.a is older than this
# script, so changing an option below rebuilds it; CI's fresh clone pays the
# fetch and build once (see the README for the measured cost).
set -euo pipefail
cd "$(dirname "$0")/.."
DEPS=${DEPS:-build/deps}
mkdir -p "$DEPS"
DEPS=$(cd "$DEPS" && pwd)
APT=$DEPS/apt
SRC=$DEPS/src

apt_opts=(
  -o "Dir::Etc::SourceList=$APT/sources.list"
  -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::State::Lists=$APT/lists"
  -o "Dir::Cache=$APT/cache"
  -o "Debug::NoLocking=1"
  -o "APT::Sandbox::User=$(id -un)"
)

fetch() {
  local spec=curl
  if compgen -G "$SRC/curl_*.dsc" >/dev/null && [ -d "$SRC/curl" ]; then
    return 0
  fi
  rm -rf "$SRC" "$APT"
  mkdir -p "$SRC" "$APT/lists/partial" "$APT/cache/archives/partial"
  # Source indexes are checked against the archive's signing keys, and
  # apt-get source checks each file against the signed index.
  {
    echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main"
    echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-updates main"
    echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bookworm-security main"
  } >"$APT/sources.list"
  echo "deps-curl: apt-get update (private lists in ${APT#"$PWD"/})"
  apt-get "${apt_opts[@]}" -qq update
  [ -z "${CURL_DEB_VERSION:-}" ] || spec="curl=$CURL_DEB_VERSION"
  (cd "$SRC" && apt-get "${apt_opts[@]}" -qq source --download-only "$spec")
  # dpkg-source applies Debian's patch series (the CVE fixes).  Its last two
  # patches rename the library for the GnuTLS/NSS flavours in Makefile.am;
  # the shipped Makefile.in is used as is, so they change nothing here.
  (cd "$SRC" && dpkg-source -q -x --no-check curl_*.dsc curl >/dev/null)
  echo "deps-curl: $(basename "$SRC"/curl_*.dsc .dsc) unpacked"
}

build() {
  local b=$SRC/curl t0=$SECONDS t1 t2
  fetch
  t1=$SECONDS
  # Called from make: keep its job slots, not its command-line variables
  # (CFLAGS=, SANITIZE= ... are the agent's, not curl's).
  MAKEFLAGS=${MAKEFLAGS%% -- *}
  unset MAKEOVERRIDES CPPFLAGS LDFLAGS LIBS CFLAGS
  echo "deps-curl: configuring libcurl (wolfSSL)"
  cd "$b"
  # Hardened like the agent; sections so the agent's --gc-sections drops
  # what it never calls.
  CPPFLAGS="-D_FORTIFY_SOURCE=2" \
    CFLAGS="-O2 -g -fPIC -fstack-protector-strong -ffunction-sections -fdata-sections" \
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
  t2=$SECONDS
  echo "deps-curl: building libcurl.a"
  make -s -C lib >/dev/null
  make -s -C lib install >/dev/null
  make -s -C include install >/dev/null
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
  *)
    echo "usage: tools/deps-curl.sh fetch|build" >&2
    exit 2
    ;;
esac
