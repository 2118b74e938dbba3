#!/usr/bin/env bash
# test_crash.sh — crash and power loss at every step of the join.
#
# The test build's crash hook (platform/testhook.h) kills the agent with
# SIGKILL right after each journal save, after the certificate is saved and
# after the join answer arrived but before it was saved.  For each point:
# run -> killed -> run again -> completes, with exactly one device object
# in entra-sim, the same device key (key files unchanged, CSR key = cert
# key), no transient TPM handle left, and the UI told what happened.  Also:
# power loss (agent and swtpm killed together), and journals that are
# truncated, corrupt or from a newer version.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_join.sh"

KEYFILES="keys.rec device.pub device.priv transport.pub transport.priv"

pw_conf() {
  printf 'Demo-Passw0rd!\n' >"$CASE/pw"
  lj_conf "$CASE/lj.conf" "signin = password" "username = alice@contoso.example" \
    "password_file = $CASE/pw" "$@"
}

key_sums() { (cd "$CASE/state" && sha256sum $KEYFILES 2>/dev/null); }

# The checks after the run that completes.
assert_one_device_same_key() {
  local sums=$1 pub1 pub2 did
  assert_eq "$(sim_devices)" 1 "device objects"
  [ -z "$sums" ] || assert_eq "$(key_sums)" "$sums" "key files changed"
  openssl x509 -inform DER -in "$CASE/state/device-cert.der" -pubkey -noout >"$CASE/cert.pub" || fail "cert"
  assert_rc 0 lj csr --state-dir "$CASE/state" --tcti "$TCTI"
  pub2=$(openssl req -pubkey -noout <<<"$(grep -v '^linkjoin' <<<"$OUT")")
  pub1=$(cat "$CASE/cert.pub")
  assert_eq "$pub1" "$pub2" "certificate key = csr key"
  did=$(sim_ctl GET /control/devices | jq -r '.[0].device_id')
  assert_rc 0 lj status --json --state-dir "$CASE/state" --tcti "$TCTI"
  assert_eq "$(jq -r .joined <<<"$OUT")" true "status joined"
  assert_eq "$(jq -r .device_id <<<"$OUT")" "$did" "status device id = the simulator's"
  assert_eq "$(jq -r .keys_state <<<"$OUT")" ok "keys_state"
  assert_no_transient_handles
}

# crash_at POINT EXPECT_DEVICES_AFTER_CRASH EXPECT_EXIT NOTICE
crash_at() {
  local point=$1 ndev=$2 want_rc=$3 notice=$4 sums did1=
  join_env
  pw_conf
  LJ_TEST_CRASH_AT=$point lj_run_bg --ui stdio
  lj_wait
  assert_eq "$LJ_RC" 137 "killed by SIGKILL at $point ($(tail -3 "$CASE/err.log"))"
  assert_contains "$(cat "$CASE/err.log")" "event=test_crash point=$point"
  assert_eq "$(result_event)" "" "no result event from a killed run"
  assert_eq "$(sim_devices)" "$ndev" "device objects after the crash"
  [ "$ndev" = 0 ] || did1=$(sim_ctl GET /control/devices | jq -r '.[0].device_id')
  sums=$(key_sums)
  [ -n "$sums" ] || fail "no key files after $point"
  cp "$CASE/out.jsonl" "$CASE/out1.jsonl"
  lj_run_bg --ui stdio
  lj_wait
  assert_eq "$LJ_RC" "$want_rc" "second run exit ($(tail -5 "$CASE/err.log"))"
  if [ "$want_rc" = 0 ]; then
    assert_eq "$(result_event | jq -r .status)" joined
  else
    assert_eq "$(result_event | jq -r .status)" already_joined
  fi
  [ -z "$notice" ] || assert_contains "$(grep '"type":"progress"' "$CASE/out.jsonl")" "$notice" "UI notice"
  assert_one_device_same_key "$sums"
  [ -z "$did1" ] || assert_eq "$(sim_ctl GET /control/devices | jq -r '.[0].device_id')" "$did1" "same device object"
  # The lost-answer case: the retry carried the same key with ReuseDevice.
  if [ "$point" = join_response ]; then
    assert_contains "$(cat "$CASE/err.log")" "event=join_answer status=200"
    grep -q "event=join_reused" "$SIM_LOG" || fail "the simulator did not reuse the device object"
  fi
}

case_keys_ready() { crash_at keys_ready 0 0 "Setup was interrupted earlier; continuing where it stopped"; }
case_join_sent() { crash_at join_sent 0 0 "Setup was interrupted earlier; continuing where it stopped"; }
case_join_response() { crash_at join_response 1 0 "Setup was interrupted earlier; continuing where it stopped"; }
case_cert_saved() { crash_at cert_saved 1 10 "Setup was interrupted after the device joined; the join is complete"; }
case_joined() { crash_at joined 1 10 ""; }

# The hook is honoured only when asked: without LJ_TEST_CRASH_AT nothing dies.
case_no_hook_without_env() {
  join_env
  pw_conf
  LJ_TEST_CRASH_AT= lj_run_bg --ui stdio
  lj_wait
  assert_eq "$LJ_RC" 0 "exit"
  assert_not_contains "$(cat "$CASE/err.log")" "test_crash"
}

# Power loss: the agent (stopped at join_sent) and swtpm die together;
# swtpm restarts on the same state; the next run joins with the same keys.
case_power_loss() {
  local sums i
  join_env
  pw_conf
  LJ_TEST_CRASH_AT=join_sent LJ_TEST_CRASH_SIGNAL=stop lj_run_bg --ui stdio
  for i in $(seq 600); do
    [[ $(ps -o stat= -p "$LJ_PID" 2>/dev/null) == T* ]] && break
    kill -0 "$LJ_PID" 2>/dev/null || fail "agent exited before the stop point: $(tail -5 "$CASE/err.log")"
    sleep 0.05
  done
  [[ $(ps -o stat= -p "$LJ_PID") == T* ]] || fail "agent not stopped at join_sent"
  kill -9 "$LJ_PID" "$SWTPM_PID"
  lj_wait
  assert_eq "$LJ_RC" 137 "agent killed"
  for i in $(seq 100); do kill -0 "$SWTPM_PID" 2>/dev/null || break; sleep 0.02; done
  sums=$(key_sums)
  assert_eq "$(sim_devices)" 0 "no device object yet"
  swtpm_start "$CASE/tpm"
  sed -i "s|^tcti = .*|tcti = $TCTI|" "$CASE/lj.conf"
  lj_run_bg --ui stdio
  lj_wait
  assert_eq "$LJ_RC" 0 "run after power loss ($(tail -5 "$CASE/err.log"))"
  assert_contains "$(cat "$CASE/out.jsonl")" "Setup was interrupted earlier; continuing where it stopped"
  assert_one_device_same_key "$sums"
}

# Power loss after the join answer arrived (device object exists, nothing saved).
case_power_loss_lost_answer() {
  local sums i did1
  join_env
  pw_conf
  LJ_TEST_CRASH_AT=join_response LJ_TEST_CRASH_SIGNAL=stop lj_run_bg --ui stdio
  for i in $(seq 600); do
    [[ $(ps -o stat= -p "$LJ_PID" 2>/dev/null) == T* ]] && break
    kill -0 "$LJ_PID" 2>/dev/null || fail "agent exited before the stop point"
    sleep 0.05
  done
  kill -9 "$LJ_PID" "$SWTPM_PID"
  lj_wait
  for i in $(seq 100); do kill -0 "$SWTPM_PID" 2>/dev/null || break; sleep 0.02; done
  sums=$(key_sums)
  assert_eq "$(sim_devices)" 1 "the simulator made the device object"
  did1=$(sim_ctl GET /control/devices | jq -r '.[0].device_id')
  swtpm_start "$CASE/tpm"
  sed -i "s|^tcti = .*|tcti = $TCTI|" "$CASE/lj.conf"
  lj_run_bg --ui stdio
  lj_wait
  assert_eq "$LJ_RC" 0 "run after power loss ($(tail -5 "$CASE/err.log"))"
  assert_one_device_same_key "$sums"
  assert_eq "$(result_event | jq -r .device_id)" "$did1" "same device object"
}

# ---- journals that can't be trusted --------------------------------------

# join, then damage the journal with CMD; the next run must keep the old
# file aside, say why, and prove the join from the certificate (no request).
damaged_after_join() {
  local did before reason=$1
  shift
  join_env
  pw_conf
  lj_run_bg --ui stdio
  lj_wait
  assert_eq "$LJ_RC" 0 "first run"
  did=$(result_event | jq -r .device_id)
  "$@"
  before=$(sim_requests)
  lj_run_bg --ui stdio
  lj_wait
  assert_eq "$LJ_RC" 10 "already joined, proven by the certificate ($(tail -5 "$CASE/err.log"))"
  assert_eq "$(result_event | jq -r .device_id)" "$did" "device id from the certificate"
  # plain words on the screen; the cause and the kept file in the log
  assert_contains "$(cat "$CASE/out.jsonl")" "The saved setup progress could not be read, so setup starts again"
  assert_contains "$(cat "$CASE/err.log")" "event=journal_moved_aside path=$CASE/state/journal.json.bad-"
  assert_contains "$(grep event=journal_moved_aside "$CASE/err.log")" "$reason" "reason logged"
  assert_contains "$(cat "$CASE/out.jsonl")" "the join is complete"
  ls "$CASE"/state/journal.json.bad-* >/dev/null 2>&1 || fail "old journal not kept"
  assert_eq "$(sim_requests)" "$before" "requests"
  assert_one_device_same_key ""
  assert_eq "$(jq -r .tenant_id <<<"$OUT")" 6b1c2a3e-0f4d-4c55-9a77-1e2f3a4b5c6d "tenant from the certificate"
}
truncate_journal() { truncate -s 20 "$CASE/state/journal.json"; }
corrupt_journal() { head -c 300 /dev/urandom >"$CASE/state/journal.json"; }
newer_journal() {
  jq '.version = 2' "$CASE/state/journal.json" >"$CASE/j2" && cp "$CASE/j2" "$CASE/state/journal.json"
}
case_truncated_after_join() { damaged_after_join "malformed" truncate_journal; }
case_corrupt_after_join() { damaged_after_join "malformed" corrupt_journal; }
case_newer_after_join() { damaged_after_join "newer version" newer_journal; }
case_journal_deleted_after_join() {
  local did before
  join_env
  pw_conf
  lj_run_bg --ui stdio
  lj_wait
  did=$(result_event | jq -r .device_id)
  rm -f "$CASE/state/journal.json"
  before=$(sim_requests)
  lj_run_bg --ui stdio
  lj_wait
  assert_eq "$LJ_RC" 10 "already joined ($(tail -5 "$CASE/err.log"))"
  assert_eq "$(result_event | jq -r .device_id)" "$did"
  assert_eq "$(sim_requests)" "$before" "requests"
  assert_file "$CASE/state/joined"
}

# A corrupt journal in the middle of a join: moved aside, the keys on disk
# are reused, the join completes with one device object.
case_corrupt_mid_join() {
  local sums
  join_env
  pw_conf
  LJ_TEST_CRASH_AT=join_sent lj_run_bg --ui stdio
  lj_wait
  assert_eq "$LJ_RC" 137
  sums=$(key_sums)
  printf '\x00\x01garbage' >"$CASE/state/journal.json"
  lj_run_bg --ui stdio
  lj_wait
  assert_eq "$LJ_RC" 0 "joins ($(tail -5 "$CASE/err.log"))"
  assert_contains "$(cat "$CASE/out.jsonl")" "The saved setup progress could not be read, so setup starts again"
  assert_contains "$(cat "$CASE/err.log")" "event=journal_moved_aside path=$CASE/state/journal.json.bad-"
  assert_one_device_same_key "$sums"
}

# A certificate on disk that is not for this key is kept aside, not trusted.
case_foreign_cert_moved_aside() {
  join_env
  pw_conf
  LJ_TEST_CRASH_AT=join_sent lj_run_bg --ui stdio
  lj_wait
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$CASE/o.key" -outform DER \
    -out "$CASE/state/device-cert.der" -subj "/CN=0a2c1b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d" -days 2 2>/dev/null
  lj_run_bg --ui stdio
  lj_wait
  assert_eq "$LJ_RC" 0 "joins ($(tail -5 "$CASE/err.log"))"
  assert_contains "$(cat "$CASE/err.log")" "event=cert_not_ours"
  ls "$CASE"/state/device-cert.der.bad-* >/dev/null 2>&1 || fail "foreign cert not kept aside"
  assert_one_device_same_key ""
}

tcase crash_after_keys_ready_resumes case_keys_ready
tcase crash_after_join_sent_resumes case_join_sent
tcase crash_after_join_response_reuses_device case_join_response
tcase crash_after_cert_saved_proven_by_cert case_cert_saved
tcase crash_after_joined_already_joined case_joined
tcase crash_hook_needs_env case_no_hook_without_env
tcase power_loss_at_join_sent case_power_loss
tcase power_loss_after_join_answer case_power_loss_lost_answer
tcase journal_truncated_after_join case_truncated_after_join
tcase journal_corrupt_after_join case_corrupt_after_join
tcase journal_newer_version_after_join case_newer_after_join
tcase journal_deleted_after_join case_journal_deleted_after_join
tcase journal_corrupt_mid_join case_corrupt_mid_join
tcase foreign_cert_moved_aside case_foreign_cert_moved_aside
