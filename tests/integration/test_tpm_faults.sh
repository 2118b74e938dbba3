#!/usr/bin/env bash
# test_tpm_faults.sh — the TPM failing under the join: swtpm
# killed in the middle of keygen and before the CSR is signed, each with
# its exact result and a clean join once the TPM is back; the TPM cleared
# after the join (status: keys lost; run: old state kept aside, joins as a
# new device); keys of an older key record version, likewise.
# Dictionary-attack lockout: test_join_failures.sh
# (tpm_locked_before_signin).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_join.sh"

pw_conf() {
  printf 'Demo-Passw0rd!\n' >"$CASE/pw"
  lj_conf "$CASE/lj.conf" "signin = password" "username = alice@contoso.example" \
    "password_file = $CASE/pw" "$@"
}

# Wait until the agent stopped itself at its crash point (SIGSTOP).
wait_stopped() {
  local i
  for i in $(seq 600); do
    [[ $(ps -o stat= -p "$LJ_PID" 2>/dev/null) == T* ]] && return 0
    kill -0 "$LJ_PID" 2>/dev/null || fail "agent exited before its stop point: $(tail -5 "$CASE/err.log")"
    sleep 0.05
  done
  fail "agent did not stop"
}

kill_swtpm() {
  kill -9 "$SWTPM_PID"
  for _ in $(seq 100); do kill -0 "$SWTPM_PID" 2>/dev/null || break; sleep 0.02; done
}

# After a TPM failure: bring swtpm back on the same state, run, join.
rejoin_after_restart() {
  swtpm_start "$CASE/tpm"
  sed -i "s|^tcti = .*|tcti = $TCTI|" "$CASE/lj.conf"
  lj_run_bg --ui stdio
  lj_wait
  assert_eq "$LJ_RC" 0 "joins once the TPM is back ($(tail -5 "$CASE/err.log"))"
  assert_eq "$(sim_devices)" 1 "device objects"
  assert_no_transient_handles
}

# swtpm dies while the background keygen runs (the agent is stopped right
# after queuing it, swtpm is killed, the agent continues).
case_killed_during_keygen() {
  join_env
  pw_conf
  LJ_TEST_CRASH_AT=keys_started LJ_TEST_CRASH_SIGNAL=stop lj_run_bg --ui stdio
  wait_stopped
  kill_swtpm
  kill -CONT "$LJ_PID"
  lj_wait
  assert_failed_result tpm_unavailable 0x8028400f hardware false 4 keys
  assert_no_file "$CASE/state/keys.rec"
  rejoin_after_restart
}

# swtpm dies after the keys were made, before the CSR is signed.  By
# default the TPM worker signs the join CSR right after keygen, during
# sign-in, with no stop point between the two; --no-early-keygen signs it
# in the join, after the journal says keys_ready, where the agent stops.
case_killed_before_csr() {
  local sums
  join_env
  pw_conf
  LJ_TEST_CRASH_AT=keys_ready LJ_TEST_CRASH_SIGNAL=stop lj_run_bg --ui stdio --no-early-keygen
  wait_stopped
  kill_swtpm
  sums=$(cd "$CASE/state" && sha256sum keys.rec device.pub device.priv transport.pub transport.priv)
  kill -CONT "$LJ_PID"
  lj_wait
  assert_failed_result tpm_unavailable 0x8028400f hardware false 4 keys
  rejoin_after_restart
  assert_eq "$(cd "$CASE/state" && sha256sum keys.rec device.pub device.priv transport.pub transport.priv)" "$sums" "same keys"
}

# The TPM is cleared after the join (a new swtpm state in the same place).
case_cleared_after_join() {
  local did1 did2 pub1 pub2 aside
  join_env
  pw_conf
  lj_run_bg --ui stdio
  lj_wait
  assert_eq "$LJ_RC" 0 "first join"
  did1=$(result_event | jq -r .device_id)
  pub1=$(openssl x509 -inform DER -in "$CASE/state/device-cert.der" -pubkey -noout)
  swtpm_stop
  rm -rf "$CASE/tpm"
  swtpm_start "$CASE/tpm"
  sed -i "s|^tcti = .*|tcti = $TCTI|" "$CASE/lj.conf"
  # status: the keys are lost, the device is not joined any more.
  assert_rc 13 lj status --json --state-dir "$CASE/state" --tcti "$TCTI"
  assert_eq "$(jq -r .keys_state <<<"$OUT")" lost "keys_state"
  assert_eq "$(jq -r .keys_problem <<<"$OUT")" tpm_keys_lost "keys_problem"
  assert_eq "$(jq -r .joined <<<"$OUT")" false "joined"
  assert_rc 13 lj status --state-dir "$CASE/state" --tcti "$TCTI"
  assert_contains "$OUT" "KeyState : lost"
  # consistent after a TPM clear: no "enrolled" next to "not joined"
  assert_contains "$OUT" "State : keys lost: the TPM no longer loads this device's keys"
  assert_not_contains "$OUT" "MdmState : enrolled"
  # run: the old state is kept aside and the device joins as a new one.
  lj_run_bg --ui stdio
  lj_wait
  assert_eq "$LJ_RC" 0 "rejoin ($(tail -5 "$CASE/err.log"))"
  assert_contains "$(grep '"type":"progress"' "$CASE/out.jsonl")" "no longer work on this device, so it is being set up again"
  assert_contains "$(cat "$CASE/err.log")" 'reason="the TPM cannot load them: it was cleared or replaced"' 
  did2=$(result_event | jq -r .device_id)
  assert_ne "$did2" "$did1" "a new device object"
  assert_eq "$(sim_devices)" 2 "the old object stays for the admin to delete"
  aside=$(ls -d "$CASE"/state/lost-* | head -1)
  [ -n "$aside" ] || fail "no lost-* directory"
  for f in journal.json device-cert.der keys.rec device.priv joined; do assert_file "$aside/$f"; done
  pub2=$(openssl x509 -inform DER -in "$CASE/state/device-cert.der" -pubkey -noout)
  assert_ne "$pub2" "$pub1" "new device key"
  assert_rc 0 lj status --json --state-dir "$CASE/state" --tcti "$TCTI"
  assert_eq "$(jq -r .device_id <<<"$OUT")" "$did2"
  assert_eq "$(jq -r .keys_state <<<"$OUT")" ok
  assert_no_transient_handles
}

# Keys made by a version with the older key templates (key record version
# 1: transport key fixed to OAEP-SHA256, no noDA) are lost keys like those
# of a cleared TPM: status says so, run keeps the old state aside and joins
# as a new device.  The record's version line is what tells them apart; the
# checksums in it cover only the key files.
case_old_key_record_rejoins() {
  local did1 did2 pub1 pub2 aside
  join_env
  pw_conf
  lj_run_bg --ui stdio
  lj_wait
  assert_eq "$LJ_RC" 0 "first join"
  did1=$(result_event | jq -r .device_id)
  pub1=$(openssl x509 -inform DER -in "$CASE/state/device-cert.der" -pubkey -noout)
  assert_eq "$(head -1 "$CASE/state/keys.rec")" "format=linkjoin-keys-2" "record version"
  sed -i '1s/^format=linkjoin-keys-2$/format=linkjoin-keys-1/' "$CASE/state/keys.rec"
  assert_rc 13 lj status --json --state-dir "$CASE/state" --tcti "$TCTI"
  assert_eq "$(jq -r .keys_state <<<"$OUT")" lost "keys_state"
  assert_eq "$(jq -r .keys_problem <<<"$OUT")" tpm_keys_lost "keys_problem"
  assert_eq "$(jq -r .joined <<<"$OUT")" false "joined"
  assert_rc 13 lj csr --state-dir "$CASE/state" --tcti "$TCTI"
  assert_contains "$OUT" "event=keys_record_old_version"
  assert_contains "$OUT" "version=1 current=2"
  assert_contains "$OUT" "were made by an older version"
  lj_run_bg --ui stdio --log-level info
  lj_wait
  assert_eq "$LJ_RC" 0 "rejoin ($(tail -5 "$CASE/err.log"))"
  assert_contains "$(cat "$CASE/err.log")" "event=keys_record_old_version"
  assert_contains "$(grep '"type":"progress"' "$CASE/out.jsonl")" "no longer work on this device, so it is being set up again"
  assert_contains "$(cat "$CASE/err.log")" 'reason="they were made by an older version with key settings that can no longer be used"' 
  did2=$(result_event | jq -r .device_id)
  assert_ne "$did2" "$did1" "a new device object"
  assert_eq "$(sim_devices)" 2 "the old object stays for the admin to delete"
  aside=$(ls -d "$CASE"/state/lost-* | head -1)
  [ -n "$aside" ] || fail "no lost-* directory"
  for f in journal.json device-cert.der keys.rec device.priv transport.pub joined; do assert_file "$aside/$f"; done
  assert_eq "$(head -1 "$aside/keys.rec")" "format=linkjoin-keys-1" "old record kept aside"
  assert_eq "$(head -1 "$CASE/state/keys.rec")" "format=linkjoin-keys-2" "new record"
  pub2=$(openssl x509 -inform DER -in "$CASE/state/device-cert.der" -pubkey -noout)
  assert_ne "$pub2" "$pub1" "new device key"
  assert_rc 0 lj status --json --state-dir "$CASE/state" --tcti "$TCTI"
  assert_eq "$(jq -r .device_id <<<"$OUT")" "$did2"
  assert_eq "$(jq -r .keys_state <<<"$OUT")" ok
  assert_no_transient_handles
}

tcase swtpm_killed_during_keygen case_killed_during_keygen
tcase swtpm_killed_before_csr case_killed_before_csr
tcase tpm_cleared_after_join_rejoins case_cleared_after_join
tcase old_key_record_rejoins case_old_key_record_rejoins
