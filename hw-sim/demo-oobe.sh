#!/usr/bin/env bash
# hw-sim/demo-oobe.sh — `make demo-oobe`: `make demo` with the OOBE web
# screen.  entra-sim (demo tenant) and a swtpm on free loopback ports, the
# agent with its UI on a socket, linkjoin-oobe in front of it, and the
# screen in headless chromium (tests/browser/demo.mjs) that plays the
# person and keeps a picture of every screen in $(BUILD)/oobe-demo/.
# Everything it started is stopped at the end (also on Ctrl-C).
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
export LJ_TOP=$TOP
source "$TOP/tests/integration/lib.sh"
source "$TOP/tests/integration/lib_join.sh"
OOBE=$LJ_BUILD/linkjoin-oobe
SHOTS=${LJ_OOBE_SHOTS:-$LJ_BUILD/oobe-demo}
for b in "$LINKJOIN" "$ENTRASIM" "$OOBE"; do
  [ -x "$b" ] || { echo "demo-oobe: $b is missing (run make first)" >&2; exit 1; }
done
[ -d "$TOP/tests/browser/node_modules/playwright-core" ] || { echo "demo-oobe: run make deps" >&2; exit 1; }
trap 'exit 130' INT TERM

CASE=$LJ_SCRIPT_TMP/demo
mkdir -p "$CASE"
: >"$CASE/pids"
rm -rf "$SHOTS"
mkdir -p "$SHOTS"
(
  cd "$CASE" || exit 1
  echo "==> entra-sim (tenant Contoso) and a swtpm on loopback"
  join_env
  # the join request held 2 s, so the progress screen can be seen
  sim_ctl POST /control/faults \
    '{"path_prefix":"/EnrollmentServer/device/","method":"POST","kind":"delay","delay_ms":2000,"count":1}' >/dev/null
  lj_conf "$CASE/lj.conf" "ui = socket" "ui_socket = $CASE/ui.sock"
  echo "==> linkjoin run (ui = socket) and linkjoin-oobe"
  lj_run_bg
  "$OOBE" --ui-socket "$CASE/ui.sock" --listen 127.0.0.1:0 --assets "$TOP/platform/oobe/www" \
    --token-file "$CASE/oobe.token" --i18n "$LJ_BUILD/oobe/i18n" >"$CASE/oobe.out" 2>"$CASE/oobe.err" &
  track_pid $!
  for _ in $(seq 200); do grep -q '^listening ' "$CASE/oobe.out" && break; sleep 0.05; done
  url=$(sed -n 's/^listening //p' "$CASE/oobe.out")
  [ -n "$url" ] || { echo "linkjoin-oobe did not start: $(tail -3 "$CASE/oobe.err")"; exit 1; }
  echo "    the screen: $url (token in a 0600 file)"
  echo "==> the screen in headless chromium"
  OOBE_URL=$url OOBE_TOKEN_FILE=$CASE/oobe.token SIM_CTL=$SIM_CTL OOBE_CASE=demo \
    LJ_OOBE_SHOTS=$SHOTS node "$TOP/tests/browser/demo.mjs" || exit 1
  lj_wait
  echo "==> the agent ended with exit code $LJ_RC"
  _lj_kill_all "$CASE"
)
rc=$?
_lj_kill_all "$CASE"
echo
echo "demo-oobe: $(find "$SHOTS" -name '*.png' | wc -l) pictures of the screen in $SHOTS/"
exit $rc
