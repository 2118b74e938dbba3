#!/usr/bin/env bash
# make install / uninstall into a temp DESTDIR, the installed files (config,
# man page, systemd units, sysusers entry), and the documents that must agree
# with the code: exit codes (exitcodes.h, linkjoin.8, README, --help),
# configuration keys (config --help, linkjoin.conf, linkjoin.8), commands.
. "$(dirname "$0")/lib.sh"

DIST=$LJ_TOP/platform/dist
# make install installs the release binary (TEST_HOOKS=0), built by `make
# release` in its own directory; the tests' own binary ($LINKJOIN) keeps the hooks.
REL=$LJ_TOP/build-rel/linkjoin

# release_build — `make release` once per script (only the agent binary; make
# reuses what is up to date), so each install below does not rebuild (-o release).
release_build() {
  [ -f "$LJ_SCRIPT_TMP/release.built" ] && return 0
  make -s -j2 -C "$LJ_TOP" --no-print-directory release >"$LJ_SCRIPT_TMP/release.out" 2>&1 ||
    fail "make release failed: $(tail -20 "$LJ_SCRIPT_TMP/release.out")"
  : >"$LJ_SCRIPT_TMP/release.built"
}

# install_into ROOT [MAKE ARGS...] — make install of the release binary.
install_into() {
  local root=$1; shift
  release_build
  make -s -C "$LJ_TOP" --no-print-directory -o release \
    DESTDIR="$root" "$@" install >"$CASE/install.out" 2>&1 ||
    fail "make install failed: $(cat "$CASE/install.out")"
}
uninstall_from() {
  local root=$1; shift
  make -s -C "$LJ_TOP" --no-print-directory DESTDIR="$root" "$@" uninstall >"$CASE/uninstall.out" 2>&1 ||
    fail "make uninstall failed: $(cat "$CASE/uninstall.out")"
}
# Every non-directory under ROOT as "MODE PATH", sorted.
tree_of() { (cd "$1" && find . -not -type d -printf '%m %p\n' | sort); }

# man_section FILE NAME — the lines of one section of a man page (after ".SH NAME", up to the next .SH).
man_section() {
  awk -v s="$2" '/^\.SH /{on = ($0 == ".SH " s); next} on' "$1"
}

# The setup screen's page files (platform/oobe/www/*.html|js|css) and its
# words (i18n/LOCALE.json) as tree_of lines under PREFIX/share/linkjoin/oobe.
oobe_www_tree() {
  local f
  for f in $(cd "$LJ_TOP/platform/oobe/www" 2>/dev/null && ls -- *.html *.js *.css 2>/dev/null); do
    echo "644 ./usr/local/share/linkjoin/oobe/$f"
  done
  for f in en de fr ja; do echo "644 ./usr/local/share/linkjoin/oobe/i18n/$f.json"; done
}

case_install_tree() {
  local root=$CASE/root
  install_into "$root"
  assert_eq "$(tree_of "$root")" "$( (echo "644 ./etc/linkjoin/linkjoin.conf
644 ./usr/local/lib/systemd/system/linkjoin-mdm-retry.service
644 ./usr/local/lib/systemd/system/linkjoin-mdm-retry.timer
644 ./usr/local/lib/systemd/system/linkjoin-oobe-kiosk.service
644 ./usr/local/lib/systemd/system/linkjoin-oobe.service
644 ./usr/local/lib/systemd/system/linkjoin-prt-renew.service
644 ./usr/local/lib/systemd/system/linkjoin-prt-renew.timer
644 ./usr/local/lib/systemd/system/linkjoin-token.socket
644 ./usr/local/lib/systemd/system/linkjoin-token@.service
644 ./usr/local/lib/systemd/system/linkjoin.service
644 ./usr/local/lib/sysusers.d/linkjoin.conf
644 ./usr/local/share/man/man8/linkjoin.8
755 ./usr/local/libexec/linkjoin/linkjoin-oobe-kiosk
755 ./usr/local/sbin/linkjoin
755 ./usr/local/sbin/linkjoin-oobe"; oobe_www_tree) | sort)" "installed tree"
  assert_contains "$(cat "$root/usr/local/lib/systemd/system/linkjoin-oobe.service")" \
    "ExecStart=/usr/local/sbin/linkjoin-oobe --ui-socket /run/linkjoin/ui.sock --listen 127.0.0.1:47361 --assets /usr/local/share/linkjoin/oobe --token-file /run/linkjoin-oobe/token"
  assert_contains "$(cat "$root/usr/local/lib/systemd/system/linkjoin-oobe-kiosk.service")" \
    "ExecStartPre=+/usr/local/libexec/linkjoin/linkjoin-oobe-kiosk prepare"
  assert_not_contains "$(cat "$root"/usr/local/lib/systemd/system/*)" "@OOBEDIR@"
  assert_not_contains "$(cat "$root"/usr/local/lib/systemd/system/*)" "@KIOSK@"
  assert_mode "$root/etc/linkjoin" 755
  cmp -s "$root/usr/local/sbin/linkjoin" "$REL" || fail "installed binary differs from $REL"
  assert_rc 0 "$root/usr/local/sbin/linkjoin" --version
  assert_contains "$OUT" "linkjoin "
  # Units name the installed binary, without DESTDIR.
  assert_contains "$(cat "$root/usr/local/lib/systemd/system/linkjoin.service")" \
    "ExecStart=/usr/local/sbin/linkjoin run --ui socket"
  assert_contains "$(cat "$root/usr/local/lib/systemd/system/linkjoin-mdm-retry.service")" \
    "ExecStart=/usr/local/sbin/linkjoin mdm-retry"
  assert_contains "$(cat "$root/usr/local/lib/systemd/system/linkjoin-token@.service")" \
    "ExecStart=/usr/local/sbin/linkjoin token --serve"
  assert_not_contains "$(cat "$root"/usr/local/lib/systemd/system/*)" "@SBINDIR@"
  assert_not_contains "$(cat "$root"/usr/local/lib/systemd/system/*)" "$root"
}

# The installed binary is built without test hooks: the environment variables
# are not in it, and the hidden test commands and the clock override are gone,
# while the tests' own build ($LINKJOIN) has them.
case_installed_has_no_test_hooks() {
  local root=$CASE/root inst
  install_into "$root"
  inst=$root/usr/local/sbin/linkjoin
  : >"$CASE/empty.conf"
  assert_eq "$(strings "$inst" | grep -xE 'LJ_TEST_[A-Z_]+' | sort | tr '\n' ' ')" "" \
    "test-hook variables in the installed binary"
  assert_eq "$(strings "$LINKJOIN" | grep -xE 'LJ_TEST_[A-Z_]+' | sort | tr '\n' ' ')" \
    "LJ_TEST_CRASH_AT LJ_TEST_CRASH_SIGNAL LJ_TEST_DEVICE_KEY LJ_TEST_HOOKS LJ_TEST_NOW " "test-hook variables in $LINKJOIN"
  # csr --test-decrypt: an unknown option, whatever the environment says.
  export LJ_TEST_HOOKS=1
  assert_rc 2 "$inst" csr --config "$CASE/empty.conf" --state-dir "$CASE/rel" --test-decrypt </dev/null
  assert_contains "$OUT" "linkjoin csr: unknown option '--test-decrypt'"
  assert_no_file "$CASE/rel"
  assert_rc 1 lj csr --config "$CASE/empty.conf" --key-provider soft --state-dir "$CASE/test" \
    --test-decrypt </dev/null
  assert_contains "$OUT" "--test-decrypt wants base64 on stdin"
  # tpm seal|unseal|sealed-remove: not offered, and bad usage.
  for sub in seal unseal sealed-remove; do
    assert_rc 2 "$inst" tpm "$sub" refresh_token --config "$CASE/empty.conf" --state-dir "$CASE/rel" </dev/null
    assert_contains "$OUT" "linkjoin tpm: bad usage"
  done
  assert_rc 0 "$inst" tpm --help
  assert_not_contains "$OUT" "unseal"
  assert_rc 0 lj tpm --help
  assert_contains "$OUT" "linkjoin tpm seal|unseal|sealed-remove"
  assert_rc 1 lj tpm unseal refresh_token --key-provider soft --config "$CASE/empty.conf" --state-dir "$CASE/test"
  assert_contains "$OUT" "reason=no sealed data"
  # LJ_TEST_NOW: ignored (factory-test prints the clock it uses even without a TPM).
  export LJ_TEST_NOW=2001-01-01T00:00:00Z
  assert_rc 14 "$inst" factory-test --config "$CASE/empty.conf" --tcti device:/nonexistent
  grep -qE '^  PASS +clock ' <<<"$OUT" || fail "clock check: $OUT"
  assert_not_contains "$OUT" "2001-01-01"
  assert_rc 14 lj factory-test --config "$CASE/empty.conf" --tcti device:/nonexistent
  grep -qE '^  FAIL +clock .*2001-01-01T00:00:00Z \(LJ_TEST_NOW\)' <<<"$OUT" || fail "clock check: $OUT"
}

# A release build refuses the software key provider and a TPM simulator TCTI
# at configuration time (exit 3, saying which build accepts them); the test
# build accepts both.
case_release_refuses_soft_and_simulator() {
  local root=$CASE/root inst tcti
  install_into "$root"
  inst=$root/usr/local/sbin/linkjoin
  : >"$CASE/empty.conf"
  assert_rc 3 "$inst" config --check --config "$CASE/empty.conf" --key-provider soft
  assert_contains "$OUT" "key_provider = soft is for tests only"
  assert_contains "$OUT" "only a test build (make TEST_HOOKS=1) accepts it"
  printf 'key_provider = soft\n' >"$CASE/soft.conf"
  assert_rc 3 "$inst" config --check --config "$CASE/soft.conf"
  assert_contains "$OUT" "$CASE/soft.conf: key_provider = soft is for tests only"
  assert_rc 3 "$inst" csr --config "$CASE/empty.conf" --key-provider soft --state-dir "$CASE/rel"
  assert_contains "$OUT" "linkjoin csr: $CASE/empty.conf: key_provider = soft is for tests only"
  assert_no_file "$CASE/rel"
  for tcti in swtpm:host=127.0.0.1,port=2321 mssim:host=127.0.0.1,port=2321 libtpms; do
    assert_rc 3 "$inst" config --check --config "$CASE/empty.conf" --tcti "$tcti"
    assert_contains "$OUT" "tcti $tcti is a TPM simulator, for tests only; only a test build (make TEST_HOOKS=1) accepts it"
    assert_rc 3 "$inst" tpm health --config "$CASE/empty.conf" --tcti "$tcti"
    assert_contains "$OUT" "is a TPM simulator, for tests only"
    assert_rc 3 "$inst" factory-test --config "$CASE/empty.conf" --tcti "$tcti"
    assert_contains "$OUT" "is a TPM simulator, for tests only"
  done
  assert_rc 0 "$inst" config --check --config "$CASE/empty.conf" --tcti device:/dev/tpmrm0 --key-provider tpm
  assert_rc 0 "$inst" config --check --config "$CASE/empty.conf" --tcti tabrmd:
  # The test build accepts both.
  assert_rc 0 lj config --check --config "$CASE/empty.conf" --key-provider soft \
    --tcti swtpm:host=127.0.0.1,port=2321
  assert_eq "$OUT" ""
}

case_install_prefix_usr() {
  local root=$CASE/root
  install_into "$root" PREFIX=/usr
  assert_file "$root/usr/sbin/linkjoin"
  assert_file "$root/usr/share/man/man8/linkjoin.8"
  assert_file "$root/usr/lib/systemd/system/linkjoin.service"
  assert_file "$root/usr/lib/sysusers.d/linkjoin.conf"
  assert_file "$root/etc/linkjoin/linkjoin.conf"
  assert_contains "$(cat "$root/usr/lib/systemd/system/linkjoin.service")" \
    "ExecStart=/usr/sbin/linkjoin run --ui socket"
  uninstall_from "$root" PREFIX=/usr
  assert_eq "$(tree_of "$root")" "" "files left after uninstall"
}

case_uninstall_leaves_nothing() {
  local root=$CASE/root
  install_into "$root"
  uninstall_from "$root"
  assert_eq "$(tree_of "$root")" "" "files left after uninstall"
  assert_no_file "$root/etc/linkjoin"
  # Only the standard hierarchy's empty directories remain; remove them and nothing is left.
  find "$root" -depth -mindepth 1 -type d -empty -delete
  assert_eq "$(ls -A "$root")" "" "entries left after uninstall"
}

case_modified_config_kept() {
  local root=$CASE/root conf
  install_into "$root"
  conf=$root/etc/linkjoin/linkjoin.conf
  echo "tenant = contoso.example" >>"$conf"
  install_into "$root"
  assert_contains "$(cat "$CASE/install.out")" "keeping existing $conf"
  assert_contains "$(tail -n1 "$conf")" "tenant = contoso.example" "reinstall overwrote the config"
  uninstall_from "$root"
  assert_contains "$(cat "$CASE/uninstall.out")" "keeping modified $conf"
  assert_eq "$(tree_of "$root")" "644 ./etc/linkjoin/linkjoin.conf" "uninstall left"
}

# The installed config parses, and uncommenting every '#key = value' line
# gives exactly the built-in defaults: the file documents the real defaults.
case_config_parses_and_lists_defaults() {
  local root=$CASE/root conf key
  install_into "$root"
  conf=$root/etc/linkjoin/linkjoin.conf
  assert_rc 0 "$root/usr/local/sbin/linkjoin" config --check --config "$conf"
  assert_eq "$OUT" ""
  sed -E 's/^#([a-z_]+ =)/\1/' "$conf" >"$CASE/uncommented.conf"
  : >"$CASE/empty.conf"
  assert_rc 0 lj config --config "$CASE/uncommented.conf"
  local got=$OUT
  assert_rc 0 lj config --config "$CASE/empty.conf"
  assert_eq "$got" "$OUT" "uncommented linkjoin.conf vs built-in defaults"
  # Every key (one per configuration flag) is in the file, commented out.
  assert_rc 0 lj config --help
  for key in $(grep -oE '^  --[a-z-]+' <<<"$OUT" | sed 's/^  --//; s/-/_/g' | grep -vx config); do
    grep -qE "^#( *)$key =" "$conf" || fail "linkjoin.conf does not list key '$key'"
  done
  # Every line fits the parser's line limit.
  awk 'length($0) > 196 { print FILENAME ":" NR; bad = 1 } END { exit bad }' "$conf" ||
    fail "linkjoin.conf has lines over 196 characters"
}

case_man_lists_every_key_and_command() {
  local key cmd cfg cmds
  cfg=$(man_section "$DIST/linkjoin.8" CONFIGURATION | sed 's/\\-/-/g')
  assert_rc 0 lj config --help
  for key in $(grep -oE '^  --[a-z-]+' <<<"$OUT" | sed 's/^  --//; s/-/_/g' | grep -vx config); do
    grep -qx "\.B $key" <<<"$cfg" || fail "linkjoin.8 CONFIGURATION does not describe key '$key'"
  done
  cmds=$(man_section "$DIST/linkjoin.8" COMMANDS | sed 's/\\-/-/g')
  assert_rc 0 lj --help
  for cmd in $(sed -n '/^commands:/,/^$/p' <<<"$OUT" | awk 'NF > 1 { print $1 }') \
             run status csr config factory-test factory-reset leave mdm-retry; do
    grep -qE "^\.BR? $cmd( |$)" <<<"$cmds" || fail "linkjoin.8 COMMANDS does not describe '$cmd'"
  done
  assert_not_contains "$(cat "$DIST/linkjoin.8")" "not implemented"
}

# The exit code contract, four places: exitcodes.h, linkjoin.8, README.md, --help.
case_exit_codes_agree() {
  local h man readme help
  h=$(grep -oE 'LJ_EXIT_[A-Z_]+ *= *[0-9]+' "$LJ_TOP/agent/core/exitcodes.h" | grep -oE '[0-9]+$' | sort -n | tr '\n' ' ')
  [ -n "$h" ] || fail "no codes found in exitcodes.h"
  man=$(man_section "$DIST/linkjoin.8" "EXIT STATUS" | awk '/^\.IP [0-9]+/ { print $2 }' | sort -n | tr '\n' ' ')
  readme=$(awk '/^## /{on = ($0 == "## Exit codes"); next} on' "$LJ_TOP/README.md" |
    grep -oE '^\| *[0-9]+ *\|' | tr -dc '0-9\n' | sort -n | tr '\n' ' ')
  assert_rc 0 lj --help
  help=$(sed -n '/^exit codes:/,$p' <<<"$OUT" | grep -oE '(^| )[0-9]+ [a-zA-Z]' | grep -oE '[0-9]+' | sort -n | tr '\n' ' ')
  assert_eq "$man" "$h" "linkjoin.8 EXIT STATUS vs agent/core/exitcodes.h"
  assert_eq "$readme" "$h" "README.md 'Exit codes' vs agent/core/exitcodes.h"
  assert_eq "$help" "$h" "linkjoin --help vs agent/core/exitcodes.h"
}

case_man_renders_without_warnings() {
  command -v groff >/dev/null || skip "groff not installed"
  local err
  err=$(groff -man -Tutf8 -ww -z "$DIST/linkjoin.8" 2>&1)
  assert_eq "$err" "" "groff warnings"
  if command -v man >/dev/null; then
    err=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$DIST/linkjoin.8" 2>&1 >"$CASE/man.txt")
    assert_eq "$err" "" "man warnings"
    assert_contains "$(cat "$CASE/man.txt")" "EXIT STATUS"
  fi
  LC_ALL=C grep -nP '[^\x00-\x7f]' "$DIST/linkjoin.8" && fail "linkjoin.8 is not ASCII"
  true
}

# systemd-analyze verify needs ExecStart to exist: verify copies of the
# installed units whose ExecStart points into DESTDIR, with MANPATH there
# so Documentation=man:linkjoin(8) resolves too.
verify_copies() {
  local root=$1 dir=$2 f
  mkdir -p "$dir"
  for f in linkjoin.service linkjoin-mdm-retry.service linkjoin-mdm-retry.timer \
    linkjoin-prt-renew.service linkjoin-prt-renew.timer linkjoin-token.socket \
    linkjoin-token@.service linkjoin-oobe.service linkjoin-oobe-kiosk.service; do
    sed -e "s|^ExecStart=/usr/local/sbin/|ExecStart=$root/usr/local/sbin/|" \
      -e "s|/usr/local/libexec/|$root/usr/local/libexec/|g" \
      "$root/usr/local/lib/systemd/system/$f" >"$dir/$f"
  done
  # a template is checked as one of its instances (one connection of the broker)
  cp "$dir/linkjoin-token@.service" "$dir/linkjoin-token@0.service"
}

case_units_verify() {
  command -v systemd-analyze >/dev/null || skip "systemd-analyze not installed"
  local root=$CASE/root out
  install_into "$root"
  verify_copies "$root" "$CASE/verify"
  out=$(cd "$CASE/verify" && MANPATH=$root/usr/local/share/man systemd-analyze verify \
    ./linkjoin.service ./linkjoin-mdm-retry.service ./linkjoin-mdm-retry.timer \
    ./linkjoin-prt-renew.service ./linkjoin-prt-renew.timer ./linkjoin-token.socket \
    ./linkjoin-token@0.service ./linkjoin-oobe.service ./linkjoin-oobe-kiosk.service 2>&1) ||
    fail "systemd-analyze verify failed: $out"
  assert_eq "$out" "" "systemd-analyze verify output"
}

case_units_security_exposure() {
  command -v systemd-analyze >/dev/null || skip "systemd-analyze not installed"
  local root=$CASE/root u score
  install_into "$root"
  verify_copies "$root" "$CASE/verify"
  for u in linkjoin.service linkjoin-mdm-retry.service linkjoin-prt-renew.service \
    linkjoin-token@0.service; do
    (cd "$CASE/verify" && systemd-analyze security --offline=true "./$u") >"$CASE/$u.sec" 2>&1 ||
      fail "systemd-analyze security failed: $(tail -5 "$CASE/$u.sec")"
    score=$(grep -oE 'Overall exposure level for [^:]+: [0-9.]+' "$CASE/$u.sec" | grep -oE '[0-9.]+$')
    [ -n "$score" ] || fail "no exposure score: $(tail -3 "$CASE/$u.sec")"
    echo "# $u exposure $score" >&2
    # Regression guard: the sandbox as written scores 1.4; 2.0 leaves room for
    # systemd's weights changing, not for options going missing.
    awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || fail "$u exposure $score > 2.0: $(cat "$CASE/$u.sec")"
    grep -q '^✗ PrivateDevices=' "$CASE/$u.sec" || fail "PrivateDevices must stay off (it hides /dev/tpmrm0)"
  done
  # The bridge: no devices, loopback only (it scores 1.1 as written).
  u=linkjoin-oobe.service
  (cd "$CASE/verify" && systemd-analyze security --offline=true "./$u") >"$CASE/$u.sec" 2>&1 ||
    fail "systemd-analyze security failed: $(tail -5 "$CASE/$u.sec")"
  score=$(grep -oE 'Overall exposure level for [^:]+: [0-9.]+' "$CASE/$u.sec" | grep -oE '[0-9.]+$')
  echo "# $u exposure $score" >&2
  awk -v s="$score" 'BEGIN { exit !(s <= 1.5) }' || fail "$u exposure $score > 1.5: $(cat "$CASE/$u.sec")"
  grep -q '^✓ PrivateDevices=' "$CASE/$u.sec" || fail "the bridge has PrivateDevices=yes"
  grep -qE '^✗ IPAddressDeny=.*only localhost' "$CASE/$u.sec" || fail "the bridge: localhost only"
}

# Both services run the agent in the same sandbox.
case_units_same_sandbox() {
  local a b
  a=$(sed -n '/^# --- sandbox/,/^# --- end sandbox/p' "$DIST/linkjoin.service.in" | grep -v '^# --- sandbox')
  b=$(sed -n '/^# --- sandbox/,/^# --- end sandbox/p' "$DIST/linkjoin-mdm-retry.service.in" | grep -v '^# --- sandbox')
  [ -n "$a" ] || fail "no sandbox block in linkjoin.service.in"
  assert_eq "$b" "$a" "sandbox blocks differ"
  b=$(sed -n '/^# --- sandbox/,/^# --- end sandbox/p' "$DIST/linkjoin-token@.service.in" | grep -v '^# --- sandbox')
  assert_eq "$b" "$a" "sandbox blocks of linkjoin.service and linkjoin-token@.service differ"
  assert_contains "$a" "DeviceAllow=/dev/tpmrm0 rw"
  assert_contains "$a" "DevicePolicy=closed"
  assert_contains "$a" "StateDirectory=linkjoin"
  # No core file ever (the agent is non-dumpable from its first secret on),
  # and freed heap wiped: the same tunables the agent sets for itself.
  assert_contains "$a" "LimitCORE=0"
  assert_contains "$a" "Environment=GLIBC_TUNABLES=$(sed -n 's/^#define LJ_HEAP_TUNABLES "\(.*\)"$/\1/p' "$LJ_TOP/platform/heapguard.h")"
  # /run/linkjoin (the UI socket) belongs to linkjoin.service alone: systemd
  # removes a unit's RuntimeDirectory= when that unit stops (systemd.exec(5)),
  # so mdm-retry declaring it too would delete the socket under a running join.
  assert_contains "$(cat "$DIST/linkjoin.service.in")" "RuntimeDirectory=linkjoin"
  assert_not_contains "$(grep -v '^#' "$DIST/linkjoin-mdm-retry.service.in")" "RuntimeDirectory"
  assert_contains "$(cat "$DIST/linkjoin-mdm-retry.service.in")" "SuccessExitStatus=11 17"
  # ... and keeps it when it stops: the token broker's socket lives there too
  assert_contains "$(cat "$DIST/linkjoin.service.in")" "RuntimeDirectoryPreserve=yes"
  assert_not_contains "$(grep -v '^#' "$DIST/linkjoin-token@.service.in")" "RuntimeDirectory"
  assert_contains "$(cat "$DIST/linkjoin.service.in")" "ConditionPathExists=!/var/lib/linkjoin/joined"
  assert_contains "$(cat "$DIST/linkjoin-mdm-retry.service.in")" "ConditionPathExists=/var/lib/linkjoin/mdm-pending"
}

# The token broker: a socket only root and the group linkjoin may open, one
# instance per connection with the socket as stdin/stdout, bounded in time.
case_token_broker_units() {
  local sock svc
  sock=$(grep -v '^#' "$DIST/linkjoin-token.socket")
  svc=$(grep -v '^#' "$DIST/linkjoin-token@.service.in")
  for l in ListenStream=/run/linkjoin/token.sock SocketMode=0660 SocketUser=root \
    SocketGroup=linkjoin Accept=yes MaxConnections=4 WantedBy=sockets.target; do
    grep -qx "$l" <<<"$sock" || fail "linkjoin-token.socket lacks $l"
  done
  for l in "ExecStart=@SBINDIR@/linkjoin token --serve" StandardInput=socket StandardOutput=socket \
    StandardError=journal RuntimeMaxSec=10min User=linkjoin SupplementaryGroups=linkjoin; do
    grep -qx "$l" <<<"$svc" || fail "linkjoin-token@.service lacks $l"
  done
  # the socket path is the configuration's default
  : >"$CASE/empty.conf"
  assert_rc 0 lj config --config "$CASE/empty.conf"
  assert_contains "$OUT" "token_socket = /run/linkjoin/token.sock"
}

case_sysusers_creates_user_in_tss() {
  command -v systemd-sysusers >/dev/null || skip "systemd-sysusers not installed"
  local root=$CASE/root sys=$CASE/sysroot out
  install_into "$root"
  mkdir -p "$sys/etc"
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$sys/etc/passwd"
  printf 'root:x:0:\n' >"$sys/etc/group"
  out=$(systemd-sysusers --root="$sys" "$root/usr/local/lib/sysusers.d/linkjoin.conf" 2>&1) ||
    fail "systemd-sysusers failed: $out"
  grep -qE '^linkjoin:x:[0-9]+:[0-9]+:[^:]*:/var/lib/linkjoin:/usr/sbin/nologin$' "$sys/etc/passwd" ||
    fail "no linkjoin user: $(cat "$sys/etc/passwd")"
  grep -qE '^tss:x:[0-9]+:(.*,)?linkjoin(,.*)?$' "$sys/etc/group" ||
    fail "linkjoin not in group tss: $(cat "$sys/etc/group")"
  # the setup screen's bridge may reach the UI socket (ui_group = linkjoin)
  grep -qE '^linkjoin:x:[0-9]+:(.*,)?linkjoin-oobe(,.*)?$' "$sys/etc/group" ||
    fail "linkjoin-oobe not in group linkjoin: $(cat "$sys/etc/group")"
  grep -qE '^linkjoin-kiosk:x:' "$sys/etc/passwd" || fail "no linkjoin-kiosk user"
}

# Every command listed by --help answers COMMAND --help with its usage, exit 0.
case_command_help() {
  local cmd n=0
  assert_rc 0 lj --help
  for cmd in $(sed -n '/^commands:/,/^$/p' <<<"$OUT" | awk 'NF > 1 { print $1 }'); do
    assert_rc 0 lj "$cmd" --help
    assert_contains "$OUT" "usage: linkjoin $cmd" "$cmd --help"
    n=$((n + 1))
  done
  [ "$n" -ge 2 ] || fail "found only $n commands in --help"
}

case_log_target_option() {
  : >"$CASE/empty.conf"
  assert_rc 0 lj --log-target stderr config --check --config "$CASE/empty.conf"
  assert_rc 0 lj config --log-target=syslog --check --config "$CASE/empty.conf"
  assert_rc 2 lj --log-target journal config --check
  assert_contains "$OUT" "linkjoin: bad value 'journal' for option '--log-target' (auto, stderr or syslog)"
  assert_rc 2 lj config --check --log-target
  assert_contains "$OUT" "option '--log-target' needs a value"
}

tcase install_tree case_install_tree
tcase installed_has_no_test_hooks case_installed_has_no_test_hooks
tcase release_refuses_soft_and_simulator case_release_refuses_soft_and_simulator
tcase install_prefix_usr case_install_prefix_usr
tcase install_uninstall_leaves_nothing case_uninstall_leaves_nothing
tcase install_modified_config_kept case_modified_config_kept
tcase install_config_parses_and_lists_defaults case_config_parses_and_lists_defaults
tcase man_lists_every_key_and_command case_man_lists_every_key_and_command
tcase exit_codes_agree_header_man_readme_help case_exit_codes_agree
tcase man_renders_without_warnings case_man_renders_without_warnings
tcase units_systemd_analyze_verify case_units_verify
tcase units_security_exposure case_units_security_exposure
tcase units_same_sandbox case_units_same_sandbox
tcase token_broker_units case_token_broker_units
tcase sysusers_creates_user_in_tss case_sysusers_creates_user_in_tss
tcase command_help case_command_help
tcase log_target_option case_log_target_option
