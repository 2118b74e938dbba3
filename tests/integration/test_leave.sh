#!/usr/bin/env bash
# linkjoin leave against entra-sim + swtpm (devices joined with `linkjoin run`): the DELETE is authenticated by
# the device certificate as TLS client certificate whose key stays in the
# TPM (agent/net/tls_tpmkey.c); local state goes only after the cloud said the
# object is gone, or with --local-only.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_leave.sh"

export LJ_TEST_HOOKS=1

# Extra state a join accumulates: a sealed token, the PRT session key (a
# NAME.hkey: only its name matters to a wipe), MDM state, a journal moved aside.
add_extras() {
  printf 'refresh-token-xyz' | lj tpm seal refresh_token --state-dir "$CASE/state" --tcti "$TCTI" ||
    fail "seal failed"
  printf 'LJHKEY1\n' >"$CASE/state/prt_session.hkey"
  echo '{"enrollment":"x"}' >"$CASE/state/mdm-state.json"
  : >"$CASE/state/mdm-pending"
  echo '{}' >"$CASE/state/journal.json.bad-1764177000"
}

assert_state_gone() {
  local left
  left=$(ls -A "$CASE/state" 2>/dev/null)
  [ -z "$left" ] || fail "files left in the state dir: $left"
}

assert_state_kept() {
  local f
  for f in journal.json device-cert.der keys.rec device.pub device.priv transport.pub transport.priv joined; do
    assert_file "$CASE/state/$f"
  done
}

case_leave_deletes_and_rejoins() {
  local old
  leave_env
  join_device
  old=$DEVICE_ID
  add_extras
  sim_has_device "$old" || fail "device not in the simulator after join"
  assert_rc 0 lj leave --config "$CASE/lj.conf"
  # entra-sim's default (GnuTLS): TLS 1.3, the TPM signs RSA-PSS (test_wolfssl.sh).
  assert_contains "$OUT" "event=client_auth_connection tls=TLSv1.3 signs=1"
  assert_contains "$OUT" "device $old deleted from the cloud"
  assert_contains "$OUT" "local join state removed"
  sim_has_device "$old" && fail "device object $old still in the simulator"
  assert_eq "$(sim_ctl GET /control/devices | jq length)" 0 "device objects left"
  assert_state_gone
  assert_rc 12 lj status --config "$CASE/lj.conf"
  assert_no_transient_handles
  # The sim logged one DELETE, answered 200, on the public port.
  assert_eq "$(sim_ctl GET '/control/requests?path_prefix=/EnrollmentServer/device/' |
    jq '[.[] | select(.method == "DELETE" and .status == 200)] | length')" 1 "DELETEs answered 200"
  # Joining again makes new keys and a new device object.
  join_device
  assert_ne "$DEVICE_ID" "$old" "device id after the second join"
  sim_has_device "$DEVICE_ID" || fail "second join left no device object"
  assert_rc 12 lj leave --config "$CASE/lj.conf" --state-dir "$CASE/nothing"
}

# A device joined with the device-key template of earlier versions (scheme
# fixed to RSASSA, made through the test hook): status works and names the
# template (DeviceKey, device_key_scheme rsassa); against a
# server that offers RSA-PSS (entra-sim's default) wolfSSL 5.5.4 always
# asks for an RSA-PSS signature, which such a key cannot make, so leave
# refuses by name (device_key_outdated, exit 13; test_wolfssl.sh
# leave_old_key_pss_refused has its exact text) and removes nothing;
# --local-only is the way out.  The
# same key against a server without RSA-PSS leaves with rsa_pkcs1_sha256
# (test_wolfssl.sh leave_old_key_no_pss).
case_leave_old_device_key() {
  leave_env
  LJ_TEST_DEVICE_KEY=rsassa join_device
  assert_contains "$(cat "$CASE/run.err")" "event=test_device_key_rsassa"
  assert_rc 0 lj status --config "$CASE/lj.conf"
  assert_contains "$OUT" "                 DeviceKey : RSA-2048, TPM, RSASSA only (older template: leave needs a reset against RSA-PSS servers)"
  assert_rc 0 lj status --config "$CASE/lj.conf" --json
  assert_eq "$(jq -r .device_key_scheme <<<"$OUT")" rsassa "device_key_scheme"
  assert_eq "$(jq -r .device_key_bits <<<"$OUT")" 2048 "device_key_bits"
  assert_eq "$(jq -r .device_key <<<"$OUT")" \
    "RSA-2048, TPM, RSASSA only (older template: leave needs a reset against RSA-PSS servers)" "device_key"
  assert_rc 13 lj leave --config "$CASE/lj.conf"
  assert_contains "$OUT" "event=sign_refused scheme=rsa_pss reason=\"the device key was made for RSASSA-PKCS1-v1_5 only"
  assert_contains "$OUT" "(reason device_key_outdated, code 0x80280092)"
  assert_contains "$OUT" "Nothing was removed"
  assert_state_kept
  sim_has_device "$DEVICE_ID" || fail "device object gone"
  assert_rc 0 lj leave --config "$CASE/lj.conf" --local-only
  assert_state_gone
  assert_no_transient_handles
}

case_leave_sim_down_network_exit() {
  leave_env
  join_device
  add_extras
  sim_stop
  assert_rc 5 lj leave --config "$CASE/lj.conf"
  assert_contains "$OUT" "cannot reach the cloud: enterpriseregistration.windows.net:443"
  assert_contains "$OUT" "refused"
  assert_contains "$OUT" "Nothing was removed"
  assert_state_kept
  assert_file "$CASE/state/refresh_token.sealed"
  assert_file "$CASE/state/prt_session.hkey"
  assert_file "$CASE/state/mdm-state.json"
  assert_no_transient_handles
}

case_leave_local_only_sim_down() {
  leave_env
  join_device
  add_extras
  sim_stop
  assert_rc 0 lj leave --local-only --config "$CASE/lj.conf"
  assert_contains "$OUT" "the device object $DEVICE_ID remains in the cloud"
  assert_contains "$OUT" "local join state removed"
  assert_state_gone
}

case_leave_not_joined() {
  leave_env
  assert_rc 12 lj leave --config "$CASE/lj.conf"
  assert_contains "$OUT" "this device is not joined"
  assert_not_contains "$OUT" "factory-reset"
  # Keys of an unfinished join are named, and left alone.
  lj csr --state-dir "$CASE/state" --tcti "$TCTI" >/dev/null 2>&1 || fail "csr"
  assert_rc 12 lj leave --config "$CASE/lj.conf"
  assert_contains "$OUT" "linkjoin factory-reset"
  assert_file "$CASE/state/keys.rec"
  assert_rc 12 lj leave --local-only --config "$CASE/lj.conf"
  assert_file "$CASE/state/keys.rec"
}

case_leave_already_deleted_in_cloud() {
  leave_env
  join_device
  sim_ctl DELETE "/control/devices/$DEVICE_ID" >/dev/null || fail "control delete"
  assert_rc 0 lj leave --config "$CASE/lj.conf"
  assert_contains "$OUT" "the cloud has no device object $DEVICE_ID (already deleted)"
  assert_state_gone
}

# Only DRS's own "device not found" answer (MS-DVRJ ErrorDetails: ErrorType
# DirectoryError, "The device object by the given id (ID) is not found.")
# means the object is gone. Any other 404 (a wrong drs_url path, a front end,
# a proxy page) keeps the keys: nothing removed, exit 8.
case_leave_plain_404_keeps_keys() {
  leave_env
  join_device
  add_extras
  sim_ctl POST /control/faults \
    '{"path_prefix":"/EnrollmentServer/device/","method":"DELETE","kind":"status","status":404}' >/dev/null ||
    fail "fault"
  assert_rc 8 lj leave --config "$CASE/lj.conf"
  assert_contains "$OUT" "unexpected answer from enterpriseregistration.windows.net:443 to the delete (HTTP 404 UnknownError"
  assert_contains "$OUT" "Nothing was"
  assert_not_contains "$OUT" "already deleted"
  assert_state_kept
  assert_file "$CASE/state/refresh_token.sealed"
  sim_has_device "$DEVICE_ID" || fail "device object gone"
}

case_leave_html_404_keeps_keys() {
  leave_env
  join_device
  sim_ctl POST /control/faults \
    '{"path_prefix":"/EnrollmentServer/device/","method":"DELETE","kind":"status","status":404,"body":"<html><body>404 Not Found</body></html>"}' >/dev/null ||
    fail "fault"
  assert_rc 8 lj leave --config "$CASE/lj.conf"
  assert_contains "$OUT" "(HTTP 404 -:"
  assert_not_contains "$OUT" "already deleted"
  assert_state_kept
}

# DRS's not-found text for another device id is not an answer about ours.
case_leave_not_found_other_id_keeps_keys() {
  leave_env
  join_device
  sim_ctl POST /control/faults \
    '{"path_prefix":"/EnrollmentServer/device/","method":"DELETE","kind":"status","status":400,"body":"{\"ErrorType\":\"DirectoryError\",\"Message\":\"The device object by the given id (00000000-0000-0000-0000-000000000001) is not found.\",\"TraceId\":\"t\",\"Time\":\"12-03-2026 12:00:00Z\"}"}' >/dev/null ||
    fail "fault"
  assert_rc 8 lj leave --config "$CASE/lj.conf"
  assert_not_contains "$OUT" "already deleted"
  assert_state_kept
}

case_leave_service_busy_nothing_removed() {
  leave_env
  join_device
  sim_ctl POST /control/faults \
    '{"path_prefix":"/EnrollmentServer/device/","method":"DELETE","kind":"status","status":503}' >/dev/null ||
    fail "fault"
  assert_rc 5 lj leave --config "$CASE/lj.conf"
  assert_contains "$OUT" "enterpriseregistration.windows.net:443 is busy or unavailable (HTTP 503"
  assert_state_kept
  sim_has_device "$DEVICE_ID" || fail "device object gone"
  # The fault was for one request: the retry succeeds.
  assert_rc 0 lj leave --config "$CASE/lj.conf"
  assert_state_gone
}

# The certificate of device B presented for device A's id: 403, nothing removed.
case_leave_other_device_refused() {
  local a
  leave_env
  join_device "$CASE/b"
  cp "$CASE/b/journal.json" "$CASE/b.journal"
  join_device
  a=$DEVICE_ID
  jq --arg d "$(jq -r .device_id "$CASE/b.journal")" '.device_id = $d' "$CASE/state/journal.json" >"$CASE/j" &&
    mv "$CASE/j" "$CASE/state/journal.json"
  assert_rc 7 lj leave --config "$CASE/lj.conf"
  assert_contains "$OUT" "the cloud refused to delete device"
  assert_contains "$OUT" "HTTP 403 AuthorizationError"
  assert_state_kept
  sim_has_device "$a" || fail "device A gone"
}

# A certificate that is not for the TPM's device key never goes on the wire.
case_leave_cert_key_mismatch() {
  leave_env
  join_device "$CASE/b"
  join_device
  cp "$CASE/b/device-cert.der" "$CASE/state/device-cert.der"
  assert_rc 13 lj leave --config "$CASE/lj.conf"
  assert_contains "$OUT" "the device certificate is not for the device key in the TPM"
  assert_contains "$OUT" "--local-only"
  assert_eq "$(sim_ctl GET '/control/requests?path_prefix=/EnrollmentServer/device/' |
    jq '[.[] | select(.method == "DELETE")] | length')" 0 "DELETE requests"
  assert_state_kept
}

case_leave_keys_missing() {
  leave_env
  join_device
  rm -f "$CASE/state/keys.rec"
  assert_rc 13 lj leave --config "$CASE/lj.conf"
  assert_contains "$OUT" "the device keys are missing"
  assert_contains "$OUT" "$DEVICE_ID"
  assert_file "$CASE/state/journal.json"
}

case_leave_tpm_down() {
  leave_env
  join_device
  swtpm_stop
  assert_rc 4 lj leave --config "$CASE/lj.conf"
  assert_contains "$OUT" "the TPM is unreachable"
  assert_state_kept
  sim_has_device "$DEVICE_ID" || fail "device object gone"
}

case_leave_usage() {
  assert_rc 0 lj leave --help
  assert_contains "$OUT" "usage: linkjoin leave"
  assert_rc 2 lj leave --bogus --state-dir "$CASE/state"
  assert_contains "$OUT" "unknown option '--bogus'"
}

tcase leave_deletes_and_rejoins case_leave_deletes_and_rejoins
tcase leave_old_device_key case_leave_old_device_key
tcase leave_sim_down_network_exit case_leave_sim_down_network_exit
tcase leave_local_only_sim_down case_leave_local_only_sim_down
tcase leave_not_joined case_leave_not_joined
tcase leave_already_deleted_in_cloud case_leave_already_deleted_in_cloud
tcase leave_service_busy_nothing_removed case_leave_service_busy_nothing_removed
tcase leave_plain_404_keeps_keys case_leave_plain_404_keeps_keys
tcase leave_html_404_keeps_keys case_leave_html_404_keeps_keys
tcase leave_not_found_other_id_keeps_keys case_leave_not_found_other_id_keeps_keys
tcase leave_other_device_refused case_leave_other_device_refused
tcase leave_cert_key_mismatch case_leave_cert_key_mismatch
tcase leave_keys_missing case_leave_keys_missing
tcase leave_tpm_down case_leave_tpm_down
tcase leave_usage case_leave_usage
