# tools/deps-src.sh — sourced by tools/deps-curl.sh, tools/deps-libxml2.sh
# and tools/deps-tss.sh: what they do the same way.
#
# deps_src_fetch TAG PKG VERSION APT SRC [SUITE] — the source package PKG
#   (=VERSION when not empty) of Debian SUITE (default bookworm, the
#   machine's release: curl and libxml2 come from there; tpm2-tss comes from
#   trixie, see tools/deps-tss.sh) into SRC/PKG, with Debian's patch series
#   applied, through apt-get source with a private sources list, lists and
#   cache under APT: the machine's apt configuration is never read or
#   changed.  Does nothing when SRC already holds it.  TAG prefixes the
#   progress lines.
# deps_machine_key PKG SRC [EXTRA] — "PKG VERSION, [EXTRA, ]ARCH, CC MAJOR":
#   what a tools/deps-*.config's contents depend on besides the options
#   (VERSION: the upstream version of SRC/PKG_*.dsc), written on its first
#   line by `config` and compared by `build`.
# deps_config_key NAME — the key on tools/deps-NAME.config's first line
#   ("" when there is none).
# deps_strip_comments — stdin without C comments and blank lines (the
#   generated headers kept in tools/deps-*.config).
# deps_clean_env — called from make: keep its job slots, not its command-line
#   variables (CFLAGS=, SANITIZE= ... are the agent's, not the library's).

deps_src_fetch() {
  local tag=$1 pkg=$2 ver=$3 apt=$4 src=$5 suite=${6:-bookworm} spec=$2
  local opts=(
    -o "Dir::Etc::SourceList=$apt/sources.list"
    -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State::Lists=$apt/lists"
    -o "Dir::Cache=$apt/cache"
    -o "Debug::NoLocking=1"
    -o "APT::Sandbox::User=$(id -un)"
  )
  if compgen -G "$src/${pkg}_*.dsc" >/dev/null && [ -d "$src/$pkg" ]; then
    return 0
  fi
  rm -rf "$src" "$apt"
  mkdir -p "$src" "$apt/lists/partial" "$apt/cache/archives/partial"
  # Source indexes are checked against the archive's signing keys, and
  # apt-get source checks each file against the signed index.  bookworm's
  # debian-archive-keyring holds trixie's keys too.
  local key=/usr/share/keyrings/debian-archive-keyring.gpg
  {
    echo "deb-src [signed-by=$key] http://deb.debian.org/debian $suite main"
    echo "deb-src [signed-by=$key] http://deb.debian.org/debian $suite-updates main"
    echo "deb-src [signed-by=$key] http://deb.debian.org/debian-security $suite-security main"
  } >"$apt/sources.list"
  echo "$tag: apt-get update (private lists in ${apt#"$PWD"/})"
  apt-get "${opts[@]}" -qq update
  [ -z "$ver" ] || spec="$pkg=$ver"
  (cd "$src" && apt-get "${opts[@]}" -qq source --download-only "$spec")
  # dpkg-source applies Debian's patch series (the CVE fixes).
  (cd "$src" && dpkg-source -q -x --no-check "${pkg}"_*.dsc "$pkg" >/dev/null)
  echo "$tag: $(basename "$src"/"${pkg}"_*.dsc .dsc) unpacked"
}

deps_clean_env() {
  MAKEFLAGS=${MAKEFLAGS:-}
  MAKEFLAGS=${MAKEFLAGS%% -- *}
  unset MAKEOVERRIDES CPPFLAGS LDFLAGS LIBS CFLAGS
}

deps_machine_key() {
  local pkg=$1 src=$2 extra=${3:-} dsc v
  dsc=$(basename "$(compgen -G "$src/${pkg}_*.dsc" | head -1)" .dsc)
  v=${dsc#"${pkg}"_}
  echo "$pkg ${v%%[+-]*}, ${extra:+$extra, }$(dpkg --print-architecture), ${CC:-gcc} $(${CC:-gcc} -dumpversion)"
}

deps_config_key() {
  sed -n "1s|^/\\* deps-$1.config: \\(.*\\) \\*/\$|\\1|p" "tools/deps-$1.config" 2>/dev/null || true
}

deps_strip_comments() {
  python3 -c 'import re, sys; s = re.sub(r"/\*.*?\*/", "", sys.stdin.read(), flags=re.S); print("\n".join(l.rstrip() for l in s.splitlines() if l.strip()))'
}
