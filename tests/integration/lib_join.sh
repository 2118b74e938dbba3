# tests/integration/lib_join.sh — helpers for join-flow tests (source after lib.sh).
#
#   join_env [TENANT]     entra-sim (demo tenant) + swtpm for this case; device
#                         codes are polled every second
#   lj_conf FILE [LINE..] agent config pointing at the simulator (stdio UI)
#   lj_run_bg ARGS..      `linkjoin run --config $CASE/lj.conf ARGS` in the
#                         background: events in $CASE/out.jsonl, log in
#                         $CASE/err.log, pid in LJ_PID
#   lj_wait               wait for it; exit status in LJ_RC
#   wait_event PATTERN    wait until out.jsonl has a line matching PATTERN
#   result_event          the result line (JSON)
#   approve CODE [UPN]    approve a device code as the user (control API)
#   sim_devices           number of device objects in the simulator
#   sim_requests          number of requests the simulator has served
LJ_TENANT_DEMO=$LJ_TOP/hw-sim/tenants/demo.json

need_sim() {
  [ -x "$ENTRASIM" ] && [ -f "$LJ_TENANT_DEMO" ] || fail "entra-sim not built ($ENTRASIM)"
}

join_env() {
  need_sim
  sim_start "${1:-$LJ_TENANT_DEMO}"
  swtpm_start "$CASE/tpm"
  sim_ctl PATCH /control/login '{"device_code_interval":1}' >/dev/null || fail "cannot set login settings"
}

lj_conf() {
  local f=$1 h l
  shift
  {
    echo "tenant = contoso.example"
    for h in login.microsoftonline.com enterpriseregistration.windows.net enrollment.manage.microsoft.com; do
      echo "connect_to = $h:443:127.0.0.1:$SIM_PORT"
    done
    echo "ca_file = $SIM_CA"
    echo "tcti = $TCTI"
    echo "state_dir = $CASE/state"
    echo "serial = SIM-0001"
    echo "log_level = info"
    echo "connect_timeout = 10"
    for l in "$@"; do echo "$l"; done
  } >"$f"
}

lj_run_bg() {
  : >"$CASE/out.jsonl"
  local cmd=("$LINKJOIN")
  # Not through the lj function: LJ_PID must be the agent itself (signals).
  [ -z "${LJ_VALGRIND:-}" ] || cmd=(valgrind -q --error-exitcode=99 --leak-check=full
    --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect "$LINKJOIN")
  "${cmd[@]}" run --config "$CASE/lj.conf" "$@" >"$CASE/out.jsonl" 2>"$CASE/err.log" </dev/null &
  LJ_PID=$!
  track_pid "$LJ_PID"
}

lj_wait() {
  wait "$LJ_PID"
  LJ_RC=$?
}

wait_event() {
  local i
  for i in $(seq 1200); do
    grep -q -- "$1" "$CASE/out.jsonl" 2>/dev/null && return 0
    kill -0 "$LJ_PID" 2>/dev/null || break
    sleep 0.1
  done
  grep -q -- "$1" "$CASE/out.jsonl" || fail "no event matching $1: $(cat "$CASE/out.jsonl") $(tail -5 "$CASE/err.log")"
}

result_event() { grep '"type":"result"' "${1:-$CASE/out.jsonl}" | tail -1; }

approve() {
  sim_ctl POST /control/devicecode/approve "{\"user_code\":\"$1\",\"upn\":\"${2:-alice@contoso.example}\"}" >/dev/null ||
    fail "approve $1 failed"
}

sim_devices() { sim_ctl GET /control/devices | jq length; }
sim_requests() { sim_ctl GET /control/requests | jq length; }

# run_device_code [UPN] — run with device code, approve as UPN, wait; LJ_RC set.
run_device_code() {
  local code
  lj_run_bg --ui stdio
  wait_event '"kind":"device_code"'
  code=$(grep '"kind":"device_code"' "$CASE/out.jsonl" | jq -r .user_code)
  approve "$code" "${1:-alice@contoso.example}"
  lj_wait
}

# assert_failed_result REASON CODE FIX_BY RETRYABLE EXIT [PHASE] — check the
# result event, the exit status, status's last error and that the simulator
# holds no device object.
assert_failed_result() {
  local r
  r=$(result_event)
  [ -n "$r" ] || fail "no result event: $(cat "$CASE/out.jsonl") $(tail -20 "$CASE/err.log")"
  assert_eq "$(jq -r .status <<<"$r")" failed "status"
  assert_eq "$(jq -r .reason <<<"$r")" "$1" "reason ($r)"
  assert_eq "$(jq -r .code <<<"$r")" "$2" "code"
  assert_eq "$(jq -r .fix_by <<<"$r")" "$3" "fix_by"
  assert_eq "$(jq -r .retryable <<<"$r")" "$4" "retryable"
  [ -z "${6:-}" ] || assert_eq "$(jq -r .phase <<<"$r")" "$6" "phase"
  assert_ne "$(jq -r .message <<<"$r")" null "message"
  assert_ne "$(jq -r .admin_action <<<"$r")" null "admin_action"
  assert_eq "$(grep -c '"type":"result"' "$CASE/out.jsonl")" 1 "exactly one result"
  assert_eq "$LJ_RC" "$5" "exit code"
  assert_rc 12 lj status ${TCTI:+--tcti "$TCTI"} --json --state-dir "$CASE/state"
  assert_eq "$(jq -r .last_error.reason <<<"$OUT")" "$1" "status last_error.reason"
  assert_eq "$(jq -r .last_error.code <<<"$OUT")" "$2" "status last_error.code"
  assert_eq "$(jq -r .joined <<<"$OUT")" false "status joined"
  if [ -n "${SIM_PID:-}" ]; then
    assert_eq "$(sim_devices)" 0 "device objects in the simulator"
  fi
  assert_no_file "$CASE/state/device-cert.der"
  assert_no_file "$CASE/state/joined"
}
