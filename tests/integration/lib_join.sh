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
#   assert_failed_result  the failed result, exit status, status, journal, keys
#   assert_server_ids F.. result.server (and status) carry these fields
#   keys_sum DIR          checksums of the key files in a state directory
#   assert_retry_joins_with_same_keys   a second run joins with the kept keys
#   assert_tty_golden [NAME]  tty rendering of the result vs tests/data/tty/NAME.txt
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
  export LJ_AGENT_PID=$LJ_PID # ui_client.py stops waiting for the socket when it exits
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
# result event, the exit status, status's last error, that the simulator
# holds no device object, that nothing half-done remains (no certificate, no
# joined marker, journal readable and not joined, keys whole) and the tty
# rendering against its golden file.
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
  # A server that stored a device object and then sent an unusable answer
  # keeps it (the agent cannot delete it without a valid certificate; the
  # retry reuses it): such cases set LJ_EXPECT_SIM_DEVICES=1.
  if [ -n "${SIM_PID:-}" ]; then
    assert_eq "$(sim_devices)" "${LJ_EXPECT_SIM_DEVICES:-0}" "device objects in the simulator"
  fi
  assert_no_file "$CASE/state/device-cert.der"
  assert_no_file "$CASE/state/joined"
  assert_journal_failed "$1"
  assert_keys_kept
  assert_tty_golden
}

# The journal is readable, not joined, and holds this failure as last error.
assert_journal_failed() {
  local j=$CASE/state/journal.json
  assert_file "$j"
  jq -e . "$j" >/dev/null || fail "journal is not JSON: $(head -c 500 "$j")"
  assert_ne "$(jq -r .state "$j")" joined "journal state"
  assert_eq "$(jq -r .last_error.reason "$j")" "$1" "journal last_error.reason"
  assert_eq "$(jq -r '.device_id // ""' "$j")" "" "journal device id"
}

# Keys made before the failure are kept for the retry: when any key file
# exists, all of them do (nothing half-deleted).
LJ_KEY_FILES=(device.priv device.pub transport.priv transport.pub keys.rec)
assert_keys_kept() {
  local k n=0
  for k in "${LJ_KEY_FILES[@]}"; do [ -f "$CASE/state/$k" ] && n=$((n + 1)); done
  [ $n = 0 ] || [ $n = ${#LJ_KEY_FILES[@]} ] || fail "only $n of the key files are left: $(ls "$CASE/state")"
}

# keys_sum DIR — one line of checksums of the key files ("" when none).
keys_sum() {
  local k
  for k in "${LJ_KEY_FILES[@]}"; do
    [ -f "$1/$k" ] && sha256sum <"$1/$k" | cut -c1-64
  done | tr '\n' ' '
}

# After a failed join whose cause was fixed: run again (device code as
# alice), expect a join, with the key files exactly as the failure left them.
# The demo tenant has Intune set up for alice, so the retry also enrolls.
assert_retry_joins_with_same_keys() {
  local before
  before=$(keys_sum "$CASE/state")
  [ -n "$before" ] || fail "no keys were kept for the retry"
  mv "$CASE/out.jsonl" "$CASE/out-failed.jsonl"
  run_device_code
  assert_eq "$LJ_RC" 0 "the retry joins ($(result_event) $(tail -5 "$CASE/err.log"))"
  assert_eq "$(result_event | jq -r .status)" joined
  assert_eq "$(keys_sum "$CASE/state")" "$before" "key files after the retry"
  assert_file "$CASE/state/device-cert.der"
  assert_eq "$(jq -r .state "$CASE/state/journal.json")" mdm_enrolled
}

# assert_server_ids FIELD.. — the server answered: result.server has each
# FIELD (request_id trace_id time ...) non-empty, and `linkjoin status`
# shows the same request id.
assert_server_ids() {
  local r f v
  r=$(result_event "${LJ_RESULT_FILE:-$CASE/out.jsonl}")
  for f in "$@"; do
    v=$(jq -r --arg f "$f" '.server[$f] // ""' <<<"$r")
    [ -n "$v" ] || fail "result.server.$f missing: $r"
  done
  assert_rc 12 lj status --json --state-dir "$CASE/state"
  assert_eq "$(jq -r .last_error.request_id <<<"$OUT")" "$(jq -r .server.request_id <<<"$r")" \
    "status last_error.request_id"
}

# What changes from run to run in a rendering (GUIDs, every time format the
# agent prints or echoes from a server, ports, user codes, SHA-1 thumbprints)
# replaced by placeholders: the rules are in normalise.sed, tested by
# test_normalise.sh.
tty_normalise() { sed -E -f "$LJ_TOP/tests/integration/normalise.sed"; }

# assert_tty_golden [NAME] — the result event as `--ui tty` shows it
# (rendered by `linkjoin errors --render-tty`, the tty UI's own renderer),
# normalised, must equal tests/data/tty/NAME.txt (NAME defaults to the
# case name).  LJ_UPDATE_GOLDEN=1 writes the file instead.  Also checks
# what a person must never read: raw JSON, library strings, vague text.
assert_tty_golden() {
  local name=${1:-$(basename "$CASE")} gold got=$CASE/tty.txt
  gold=$LJ_TOP/tests/data/tty/$name.txt
  result_event "${LJ_RESULT_FILE:-$CASE/out.jsonl}" | "$LINKJOIN" errors --render-tty >"$CASE/tty.raw" ||
    fail "render failed: $(result_event)"
  tty_normalise <"$CASE/tty.raw" >"$got"
  local bad
  for bad in '{"' 'something went wrong' 'curl' 'CURLE' 'wolfSSL' 'SSL_' 'errno' 'Failure!' \
      'null'; do
    assert_not_contains "$(cat "$got")" "$bad" "tty rendering of $name has '$bad'"
  done
  if [ -n "${LJ_UPDATE_GOLDEN:-}" ]; then
    mkdir -p "$(dirname "$gold")"
    cp "$got" "$gold"
    return 0
  fi
  [ -f "$gold" ] || fail "no golden file $gold (run with LJ_UPDATE_GOLDEN=1 to create it)"
  diff -u "$gold" "$got" >&2 || fail "tty rendering differs from $gold"
}
