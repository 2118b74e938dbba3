#!/usr/bin/env bash
# test_oobe_browser.sh — the OOBE web screen (platform/oobe/www) in Debian's
# chromium, driven by tests/browser/run.mjs (playwright-core), against the
# real chain: entra-sim + swtpm + `linkjoin run` (ui = socket) + linkjoin-oobe.
# Each case starts its own of all four on free loopback ports in its temp
# dir; lib.sh stops them (chromium is closed by run.mjs).  Every screen a
# case waits for is checked with axe-core (no serious or critical
# violation), for focus on its heading and for reflow at 320 CSS px; the
# browser may reach 127.0.0.1 only (run.mjs counts any other host).
# LJ_OOBE_SHOTS=DIR: a PNG of each of those screens (make oobe-shots).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_join.sh"
OOBE=$LJ_BUILD/linkjoin-oobe
BROWSER_DIR=$LJ_TOP/tests/browser
export OOBE_I18N=$LJ_BUILD/oobe/i18n

need_browser() {
  [ -x "$OOBE" ] || fail "linkjoin-oobe not built ($OOBE)"
  [ -x /usr/bin/chromium ] || fail "chromium missing (make deps)"
  [ -d "$BROWSER_DIR/node_modules/playwright-core" ] || fail "tests/browser/node_modules missing (make deps)"
}

# oobe_start — linkjoin-oobe on a free port in front of $CASE/ui.sock; sets
# OOBE_URL and OOBE_TOKEN_FILE.
oobe_start() {
  local line i
  OOBE_TOKEN_FILE=$CASE/oobe.token
  "$OOBE" --ui-socket "$CASE/ui.sock" --listen 127.0.0.1:0 --assets "$LJ_TOP/platform/oobe/www" \
    --token-file "$OOBE_TOKEN_FILE" --i18n "$OOBE_I18N" >"$CASE/oobe.out" 2>"$CASE/oobe.err" &
  OOBE_PID=$!
  track_pid "$OOBE_PID"
  for i in $(seq 200); do
    line=$(grep -m1 '^listening http://127.0.0.1:[0-9]*/$' "$CASE/oobe.out" 2>/dev/null) && break
    kill -0 "$OOBE_PID" 2>/dev/null || fail "linkjoin-oobe exited: $(tail -5 "$CASE/oobe.err")"
    sleep 0.05
  done
  [ -n "$line" ] || fail "linkjoin-oobe did not say where it listens: $(tail -5 "$CASE/oobe.err")"
  OOBE_URL=${line#listening }
  assert_mode "$OOBE_TOKEN_FILE" 600
  export OOBE_URL OOBE_TOKEN_FILE
}

# oobe_case NAME [CONFIG LINES...] — agent (socket UI) + bridge, then the
# browser case NAME from run.mjs; its "# SKIP" ends the case as skipped.
oobe_case() {
  local name=$1 rc
  shift
  lj_conf "$CASE/lj.conf" "ui = socket" "ui_socket = $CASE/ui.sock" "$@"
  lj_run_bg
  oobe_start
  OOBE_CASE=$name SIM_CTL=$SIM_CTL LINKJOIN=$LINKJOIN LJ_PID=$LJ_PID \
    node "$BROWSER_DIR/run.mjs" "$name" >"$CASE/browser.log" 2>&1
  rc=$?
  cat "$CASE/browser.log"
  [ $rc = 3 ] && skip "$(sed -n 's/^# SKIP //p' "$CASE/browser.log" | head -1)"
  [ $rc = 0 ] || fail "browser case $name (exit $rc)"
  # nothing secret reached the bridge's or the agent's logs
  assert_not_contains "$(cat "$CASE/oobe.out" "$CASE/oobe.err" "$CASE/err.log")" "Demo-Passw0rd!"
  assert_not_contains "$(cat "$CASE/oobe.out" "$CASE/oobe.err" "$CASE/err.log")" "$(cat "$OOBE_TOKEN_FILE")"
}

PW=("signin = password" "username = alice@contoso.example")
# the DRS join request held for 5 s, so the progress screen is there to see
HOLD_JOIN='{"path_prefix":"/EnrollmentServer/device/","method":"POST","kind":"delay","delay_ms":5000,"count":1}'

case_device_code_join() {
  need_browser
  join_env
  sim_ctl POST /control/faults "$HOLD_JOIN" >/dev/null || fail "fault refused"
  oobe_case device_code_join
  lj_wait
  assert_eq "$LJ_RC" 0 "agent exit status"
}

case_password_join_keyboard() {
  need_browser
  join_env
  oobe_case password_join_keyboard "${PW[@]}"
  lj_wait
  assert_eq "$LJ_RC" 0 "agent exit status"
}

case_join_not_permitted() {
  need_browser
  join_env
  sim_ctl PUT /control/device-settings '{"users_may_join":"none"}' >/dev/null || fail "policy"
  oobe_case join_not_permitted
}

case_wrong_password_retry() {
  need_browser
  join_env
  oobe_case wrong_password_retry "${PW[@]}"
  lj_wait
  assert_eq "$LJ_RC" 0 "agent exit status"
  assert_eq "$(sim_devices)" 1 "device objects"
}

case_mdm_pending() {
  need_browser
  join_env
  sim_ctl POST /control/faults '{"path_prefix":"/StatelessEnrollmentService/DeviceEnrollment.svc","kind":"status","status":503,"count":1000}' \
    >/dev/null || fail "fault refused"
  oobe_case mdm_pending
}

case_intune_refused() {
  need_browser
  join_env
  sim_ctl PATCH /control/users/alice@contoso.example '{"licenses":["entra_p1"]}' >/dev/null ||
    fail "licences"
  oobe_case intune_refused
}

case_reload_after_signin() {
  need_browser
  join_env
  sim_ctl POST /control/faults \
    '{"path_prefix":"/EnrollmentServer/device/","method":"POST","kind":"delay","delay_ms":5000,"count":1}' \
    >/dev/null || fail "fault refused"
  oobe_case reload_after_signin
  lj_wait
  assert_eq "$LJ_RC" 0 "agent exit status"
}

case_agent_restart() {
  need_browser
  join_env
  oobe_case agent_restart
}

case_checking_device() {
  need_browser
  join_env
  sim_ctl POST /control/faults \
    '{"path_prefix":"/contoso.example/discover","method":"GET","kind":"delay","delay_ms":8000,"count":1}' \
    >/dev/null || fail "fault refused"
  oobe_case checking_device
}

case_german() {
  need_browser
  join_env
  oobe_case german
}

case_japanese() {
  need_browser
  join_env
  oobe_case japanese
}

case_notice_service_busy() {
  need_browser
  join_env
  sim_ctl POST /control/faults \
    '{"path_prefix":"/EnrollmentServer/device/","method":"POST","kind":"status","status":503,"retry_after":3,"count":1}' \
    >/dev/null || fail "fault refused"
  oobe_case notice_service_busy
}

case_leaving_after_failure() {
  need_browser
  join_env
  oobe_case leaving_after_failure "${PW[@]}" "retry_wait = 2"
}

tcase oobe_device_code_join case_device_code_join
tcase oobe_password_join_keyboard case_password_join_keyboard
tcase oobe_join_not_permitted case_join_not_permitted
tcase oobe_wrong_password_retry case_wrong_password_retry
tcase oobe_mdm_pending case_mdm_pending
tcase oobe_intune_refused case_intune_refused
tcase oobe_reload_after_signin case_reload_after_signin
tcase oobe_agent_restart case_agent_restart
tcase oobe_checking_device case_checking_device
tcase oobe_german case_german
tcase oobe_japanese case_japanese
tcase oobe_notice_service_busy case_notice_service_busy
tcase oobe_leaving_after_failure case_leaving_after_failure
