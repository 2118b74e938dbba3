#!/usr/bin/env bash
# tools/deps-tss.sh — the agent's TPM software stack: Debian trixie's
# tpm2-tss source package (upstream tarball + Debian's patches), built as
# static libraries with what tpm/*.c uses: libtss2-esys with no crypto
# backend (the agent hands ESYS its wolfCrypt callbacks,
# Esys_SetCryptoCallbacks, tpm/esys_crypto.c), libtss2-sys, libtss2-mu,
# libtss2-rc and libtss2-tctildr with the device, swtpm and mssim TCTIs
# compiled in (tctildr-nodl.c: no dlopen() of libtss2-tcti-*.so).  No FAPI,
# policy library, other TCTIs or log output (--with-maxloglevel=none: the
# agent decodes TSS2 return codes itself).  Debian's libtss2-esys is built on
# OpenSSL's libcrypto; this is how the agent has one TLS stack.
#
# trixie's, not bookworm's: bookworm's tpm2-tss 3.2.1 has no crypto
# callbacks (ESYS always calls OpenSSL or mbedTLS), and its source package
# is not served by the package mirror here (apt-get source gives 404).
#
#   tools/deps-tss.sh fetch   download the source package into DEPS/src-tss
#                             (apt-get source with a private sources list
#                             and lists directory under DEPS/apt-tss: the
#                             machine's apt configuration is never touched)
#   tools/deps-tss.sh build   fetch if needed, build, install
#                             DEPS/lib/libtss2-{esys,sys,mu,rc,tctildr}.a
#                             and DEPS/include/tss2
#   tools/deps-tss.sh config  run tpm2-tss's bootstrap and configure with the
#                             options below and write the config.h they
#                             generate, comments stripped, to
#                             tools/deps-tss.config (needs Debian's autoconf,
#                             autoconf-archive, automake, libtool and
#                             libltdl-dev, tpm2-tss's Build-Depends: the
#                             upstream tarball ships no configure)
#
# build writes config.h from tools/deps-tss.config and compiles with
# tools/deps-tss.mk (no libtool, no configure).  Only when the config's
# first line (tpm2-tss's version, the Debian architecture, the compiler's
# major version) does not name this machine does build run `config` first,
# which rewrites tools/deps-tss.config; commit that.
#
#   DEPS=build/deps            where it all goes (the Makefile's DEPS_DIR)
#   TSS_DEB_VERSION=           a Debian version to pin ("" = the newest in
#                              trixie, trixie-security, trixie-updates)
#
# The Makefile runs `build` only when DEPS/lib/libtss2-esys.a is older than
# this script, tools/deps-tss.config or tools/deps-tss.mk.
set -euo pipefail
cd "$(dirname "$0")/.."
DEPS=${DEPS:-build/deps}
mkdir -p "$DEPS"
DEPS=$(cd "$DEPS" && pwd)
# shellcheck source=tools/deps-src.sh
. "$(dirname "$0")/deps-src.sh"
# No -g: the agent's own objects carry the debug information that matters;
# -w: upstream's warnings are not ours to fix.
TSS_CFLAGS="-w -O2 -fPIC -fstack-protector-strong -ffunction-sections -fdata-sections"
APT=$DEPS/apt-tss
SRC=$DEPS/src-tss
TSS_LIBS="esys sys mu rc tctildr"
AUTOTOOLS="autoconf autoconf-archive automake libtool libltdl-dev"

fetch() {
  deps_src_fetch deps-tss tpm2-tss "${TSS_DEB_VERSION:-}" "$APT" "$SRC" trixie
}

# machine_key — what tools/deps-tss.config's results depend on besides the options.
machine_key() { deps_machine_key tpm2-tss "$SRC"; }

config() {
  local out=$PWD/tools/deps-tss.config b=$SRC/tpm2-tss tool
  fetch
  deps_clean_env
  for tool in autoreconf aclocal automake libtoolize; do
    command -v "$tool" >/dev/null || {
      echo "deps-tss: config needs $tool: apt-get install $AUTOTOOLS" >&2
      exit 1
    }
  done
  # configure.ac's macros from autoconf-archive (AX_*) and libltdl-dev (LT_LIB_DLLOAD).
  for tool in ax_is_release.m4 ltdl.m4; do
    [ -f "/usr/share/aclocal/$tool" ] || {
      echo "deps-tss: config needs /usr/share/aclocal/$tool: apt-get install $AUTOTOOLS" >&2
      exit 1
    }
  done
  echo "deps-tss: bootstrapping and configuring tpm2-tss for $out"
  # bootstrap writes VERSION from debian/changelog (Debian's patch), the
  # source lists and configure.
  (cd "$b" && ./bootstrap >bootstrap.log 2>&1) || {
    tail -20 "$b/bootstrap.log" >&2
    exit 1
  }
  (cd "$b" && CFLAGS="$TSS_CFLAGS" ./configure -q --disable-shared --enable-static --with-pic \
    --disable-dependency-tracking --disable-doxygen-doc --disable-defaultflags \
    --with-crypto=none --disable-fapi --disable-policy \
    --enable-nodl --enable-tcti-device --enable-tcti-swtpm --enable-tcti-mssim \
    --disable-tcti-pcap --disable-tcti-libtpms --disable-tcti-cmd --disable-tcti-spi-helper \
    --disable-tcti-spi-ltt2go --disable-tcti-spidev --disable-tcti-spi-ftdi \
    --disable-tcti-i2c-helper --disable-tcti-i2c-ftdi --disable-tcti-fuzzing \
    --with-maxloglevel=none --disable-log-file >/dev/null)
  {
    echo "/* deps-tss.config: $(machine_key) */"
    echo "/* config.h, written by tpm2-tss's configure (tools/deps-tss.sh config); comments stripped */"
    deps_strip_comments <"$b/config.h"
  } >"$out"
  echo "deps-tss: wrote $out ($(wc -l <"$out") lines)"
}

build() {
  local b=$SRC/tpm2-tss t0=$SECONDS t1 t2 key have l
  fetch
  t1=$SECONDS
  deps_clean_env
  key=$(machine_key)
  have=$(deps_config_key tss)
  if [ "$key" != "$have" ]; then
    echo "deps-tss: tools/deps-tss.config is for \"$have\", this machine is \"$key\": running config"
    config
  fi
  t2=$SECONDS
  echo "deps-tss: building libtss2-{${TSS_LIBS// /,}}.a (config.h from tools/deps-tss.config)"
  tail -n +3 tools/deps-tss.config >"$b/config.h"
  rm -rf "$DEPS/obj-tss"
  make -s -f tools/deps-tss.mk SRC="$b" OUT="$DEPS/obj-tss" CFLAGS="$TSS_CFLAGS"
  mkdir -p "$DEPS/lib" "$DEPS/include/tss2"
  rm -f "$DEPS"/include/tss2/*.h
  cp "$b"/include/tss2/*.h "$DEPS/include/tss2/"
  # libtss2-esys.a last: the Makefile's rule looks at its date.
  for l in $TSS_LIBS; do
    [ "$l" = esys ] || cp "$DEPS/obj-tss/libtss2-$l.a" "$DEPS/lib/"
  done
  cp "$DEPS/obj-tss/libtss2-esys.a" "$DEPS/lib/"
  touch "$DEPS/lib/libtss2-esys.a"
  echo "deps-tss: $DEPS/lib/libtss2-*.a ($(basename "$SRC"/tpm2-tss_*.dsc .dsc));" \
    "fetch $((t1 - t0)) s, configure $((t2 - t1)) s, build $((SECONDS - t2)) s"
}

case ${1:-} in
  fetch) fetch ;;
  build) build ;;
  config) config ;;
  *)
    echo "usage: tools/deps-tss.sh fetch|build|config" >&2
    exit 2
    ;;
esac
