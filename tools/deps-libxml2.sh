#!/usr/bin/env bash
# tools/deps-libxml2.sh — the agent's libxml2: Debian bookworm's libxml2
# source package (upstream tarball + Debian's patches, security fixes
# included), built as a static library with what agent/proto/mdm_*.c uses:
# the parser (xmlCtxtReadMemory), the tree and xmlwriter.  No ICU, lzma,
# zlib, HTTP/FTP, modules, Python, debug, DocBook or legacy APIs: Debian's
# libxml2 pulls ICU (about 1.5 MiB of resident memory) and liblzma into the
# agent.  entra-sim and the test tools keep Debian's libxml2.
#
#   tools/deps-libxml2.sh fetch   download the source package into
#                                 DEPS/src-libxml2 (apt-get source with a
#                                 private sources list and lists directory
#                                 under DEPS/apt-libxml2: the machine's apt
#                                 configuration is never touched)
#   tools/deps-libxml2.sh build   fetch if needed, build, install
#                                 DEPS/lib/libxml2.a and DEPS/include/libxml2
#   tools/deps-libxml2.sh config  run libxml2's configure with the options
#                                 below and write its config.h and
#                                 include/libxml/xmlversion.h, comments
#                                 stripped, to tools/deps-libxml2.config
#
# build skips libxml2's configure (serial, as long as the build) when the
# first line of tools/deps-libxml2.config names this machine: libxml2's
# upstream version, the Debian architecture and the compiler's major
# version.  It then writes the two headers from that file and compiles with
# tools/deps-libxml2.mk (no libtool).  Otherwise it runs configure and
# libxml2's make and says why; run `config` after changing an option below
# or when that line no longer matches.
#
#   DEPS=build/deps            where it all goes (the Makefile's DEPS_DIR)
#   LIBXML2_DEB_VERSION=       a Debian version to pin ("" = the newest in
#                              bookworm, bookworm-security, bookworm-updates)
#
# The Makefile runs `build` only when DEPS/lib/libxml2.a is older than this
# script, tools/deps-libxml2.config or tools/deps-libxml2.mk.
set -euo pipefail
cd "$(dirname "$0")/.."
DEPS=${DEPS:-build/deps}
mkdir -p "$DEPS"
DEPS=$(cd "$DEPS" && pwd)
# shellcheck source=tools/deps-src.sh
. "$(dirname "$0")/deps-src.sh"
# No -g: the agent's own objects carry the debug information that matters;
# -w: upstream's warnings are not ours to fix.
XML_CFLAGS="-w -O2 -fPIC -fstack-protector-strong -ffunction-sections -fdata-sections"
# Its own apt and source directories: tools/deps-curl.sh empties its own.
APT=$DEPS/apt-libxml2
SRC=$DEPS/src-libxml2

fetch() {
  deps_src_fetch deps-libxml2 libxml2 "${LIBXML2_DEB_VERSION:-}" "$APT" "$SRC"
}


configure_libxml2() {
  CPPFLAGS="-D_FORTIFY_SOURCE=2" CFLAGS="$XML_CFLAGS" \
    ./configure -q --prefix="$DEPS" --disable-shared --enable-static --with-pic \
    --disable-dependency-tracking \
    --without-icu --without-lzma --without-zlib --without-python --without-http \
    --without-ftp --without-debug --without-docbook --without-legacy --without-modules \
    --without-catalog --without-readline --without-history --without-html --without-c14n \
    --without-xinclude --without-xptr --without-schemas --without-schematron --without-pattern \
    --without-reader --without-iso8859x >/dev/null
}

# machine_key — what tools/deps-libxml2.config's results depend on besides the options.
machine_key() { deps_machine_key libxml2 "$SRC"; }

# The marker between config.h and xmlversion.h in tools/deps-libxml2.config.
MARK='/* include/libxml/xmlversion.h */'

config() {
  local out=$PWD/tools/deps-libxml2.config b=$SRC/libxml2
  fetch
  deps_clean_env
  echo "deps-libxml2: configuring libxml2 for $out"
  (cd "$b" && touch aclocal.m4 && touch configure config.h.in && find . -name Makefile.in -exec touch {} +)
  (cd "$b" && configure_libxml2)
  {
    echo "/* deps-libxml2.config: $(machine_key) */"
    echo "/* config.h, then include/libxml/xmlversion.h, written by libxml2's configure (tools/deps-libxml2.sh config); comments stripped */"
    deps_strip_comments <"$b/config.h"
    echo "$MARK"
    deps_strip_comments <"$b/include/libxml/xmlversion.h"
  } >"$out"
  echo "deps-libxml2: wrote $out ($(wc -l <"$out") lines)"
}

build() {
  local b=$SRC/libxml2 t0=$SECONDS t1 t2 key have
  fetch
  t1=$SECONDS
  deps_clean_env
  key=$(machine_key)
  have=$(deps_config_key libxml2)
  if [ "$key" = "$have" ]; then
    echo "deps-libxml2: building libxml2.a (configure skipped: tools/deps-libxml2.config)"
    awk -v m="$MARK" '$0 == m { exit } NR > 2' tools/deps-libxml2.config >"$b/config.h"
    awk -v m="$MARK" 'f; $0 == m { f = 1 }' tools/deps-libxml2.config >"$b/include/libxml/xmlversion.h"
    t2=$SECONDS
    rm -rf "$DEPS/obj-libxml2"
    make -s -f tools/deps-libxml2.mk SRC="$b" OUT="$DEPS/obj-libxml2" CFLAGS="$XML_CFLAGS"
    mkdir -p "$DEPS/lib" "$DEPS/include/libxml2/libxml"
    cp "$DEPS/obj-libxml2/libxml2.a" "$DEPS/lib/libxml2.a"
    cp "$b"/include/libxml/*.h "$DEPS/include/libxml2/libxml/"
    touch "$DEPS/lib/libxml2.a"
    echo "deps-libxml2: $DEPS/lib/libxml2.a ($(basename "$SRC"/libxml2_*.dsc .dsc));" \
      "fetch $((t1 - t0)) s, configure 0 s, build $((SECONDS - t2)) s"
    return 0
  fi
  echo "deps-libxml2: tools/deps-libxml2.config is for \"$have\", this machine is \"$key\": running configure"
  # Debian's patches touch Makefile.am and configure.ac; the shipped
  # configure and Makefile.in are used as is (no automake here).
  (cd "$b" && touch aclocal.m4 && touch configure config.h.in && find . -name Makefile.in -exec touch {} +)
  echo "deps-libxml2: configuring libxml2"
  # A rebuild after an option changed starts from clean objects.
  [ ! -f "$b/Makefile" ] || make -s -C "$b" clean >/dev/null
  (cd "$b" && configure_libxml2)
  t2=$SECONDS
  echo "deps-libxml2: building libxml2.a"
  make -s -C "$b" libxml2.la >/dev/null
  mkdir -p "$DEPS/lib" "$DEPS/include/libxml2/libxml"
  cp "$b/.libs/libxml2.a" "$DEPS/lib/libxml2.a"
  cp "$b"/include/libxml/*.h "$DEPS/include/libxml2/libxml/"
  touch "$DEPS/lib/libxml2.a"
  echo "deps-libxml2: $DEPS/lib/libxml2.a ($(basename "$SRC"/libxml2_*.dsc .dsc));" \
    "fetch $((t1 - t0)) s, configure $((t2 - t1)) s, build $((SECONDS - t2)) s"
}

case ${1:-} in
  fetch) fetch ;;
  build) build ;;
  config) config ;;
  *)
    echo "usage: tools/deps-libxml2.sh fetch|build|config" >&2
    exit 2
    ;;
esac
