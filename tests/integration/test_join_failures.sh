#!/usr/bin/env bash
# test_join_failures.sh — join failures, one case each, with their exact
# result (reason, code, fix_by, retryable, phase), exit code, status's last
# error, and nothing half-done (no device object, no certificate).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_join.sh"

case_not_permitted() {
  local r
  join_env
  sim_ctl PUT /control/device-settings '{"users_may_join":"none"}' >/dev/null || fail "policy"
  lj_conf "$CASE/lj.conf"
  run_device_code
  assert_failed_result join_not_permitted 0x801c0003 admin false 7 join
  r=$(result_event)
  assert_contains "$(jq -r .admin_action <<<"$r")" "Users may join devices"
  [[ $(jq -r .server.http_status <<<"$r") =~ ^4[0-9][0-9]$ ]] || fail "server.http_status in $r"
  assert_ne "$(jq -r .server.request_id <<<"$r")" null "server request id"
  assert_ne "$(jq -r .server.error_type <<<"$r")" null "server error type"
  assert_rc 12 lj status ${TCTI:+--tcti "$TCTI"} --json --state-dir "$CASE/state"
  assert_eq "$(jq -r .last_error.http_status <<<"$OUT")" "$(jq -r .server.http_status <<<"$r")"
  assert_ne "$(jq -r .last_error.request_id <<<"$OUT")" "" "status request id"
  # keys are kept for the retry
  assert_file "$CASE/state/keys.rec"
}

case_quota() {
  join_env
  sim_ctl PUT /control/device-settings '{"max_devices_per_user":1}' >/dev/null || fail "policy"
  lj_conf "$CASE/lj.conf"
  run_device_code
  assert_eq "$LJ_RC" 0 "first device joins"
  # a second device (own TPM, own state) for the same user
  swtpm_start "$CASE/tpm2"
  CASE_STATE2=$CASE/state2
  lj_conf "$CASE/lj.conf" "" && sed -i "s|^state_dir = .*|state_dir = $CASE_STATE2|; s|^tcti = .*|tcti = $TCTI|" "$CASE/lj.conf"
  run_device_code
  local r
  r=$(result_event)
  assert_eq "$(jq -r .reason <<<"$r")" device_quota_reached "reason ($r)"
  assert_eq "$(jq -r .code <<<"$r")" 0x801c000e
  assert_eq "$(jq -r .retryable <<<"$r")" false
  assert_eq "$LJ_RC" 7
  assert_contains "$(jq -r .admin_action <<<"$r")" "aximum number of devices"
  assert_eq "$(sim_devices)" 1 "still one device object"
  assert_no_file "$CASE_STATE2/device-cert.der"
  assert_rc 12 lj status ${TCTI:+--tcti "$TCTI"} --json --state-dir "$CASE_STATE2"
  assert_eq "$(jq -r .last_error.reason <<<"$OUT")" device_quota_reached
}

case_wrong_password() {
  join_env
  printf 'not-the-password\n' >"$CASE/pw"
  lj_conf "$CASE/lj.conf" "signin = password" "username = alice@contoso.example" "password_file = $CASE/pw"
  lj_run_bg --ui stdio
  lj_wait
  assert_failed_result wrong_password AADSTS50126 user false 6 signin
  assert_not_contains "$(cat "$CASE/err.log" "$CASE/out.jsonl")" "not-the-password"
}

case_declined() {
  local code
  join_env
  lj_conf "$CASE/lj.conf"
  lj_run_bg --ui stdio
  wait_event '"kind":"device_code"'
  code=$(grep '"kind":"device_code"' "$CASE/out.jsonl" | jq -r .user_code)
  sim_ctl POST /control/devicecode/decline "{\"user_code\":\"$code\"}" >/dev/null || fail decline
  lj_wait
  assert_failed_result signin_declined "$(result_event | jq -r .code)" retry true 6 signin
  [[ $(result_event | jq -r .code) =~ ^AADSTS ]] || fail "code $(result_event)"
}

case_unreachable() {
  local port r
  join_env
  port=$(free_port)
  lj_conf "$CASE/lj.conf"
  sed -i "s|^connect_to = login.microsoftonline.com:443:.*|connect_to = login.microsoftonline.com:443:127.0.0.1:$port|" "$CASE/lj.conf"
  lj_run_bg --ui stdio
  lj_wait
  assert_failed_result network_unreachable 0x80072efd user true 5 preflight
  r=$(result_event)
  assert_contains "$(jq -r .message <<<"$r")" "login.microsoftonline.com"
  assert_contains "$(jq -r .message <<<"$r")" "refused"
  assert_not_contains "$(cat "$CASE/out.jsonl")" '"kind":"device_code"'
}

case_untrusted_ca() {
  local r
  join_env
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$CASE/other.key" -out "$CASE/other-ca.pem" \
    -subj "/CN=Some Other Root" -days 2 2>/dev/null || fail "openssl"
  lj_conf "$CASE/lj.conf"
  sed -i "s|^ca_file = .*|ca_file = $CASE/other-ca.pem|" "$CASE/lj.conf"
  lj_run_bg --ui stdio
  lj_wait
  assert_failed_result tls_untrusted 0x800b0109 admin false 5 preflight
  r=$(result_event)
  assert_contains "$(jq -r .message <<<"$r")" "login.microsoftonline.com"
  assert_contains "$(jq -r .message <<<"$r")" "proxy"
}

case_clock_wrong() {
  join_env
  lj_conf "$CASE/lj.conf"
  LJ_TEST_NOW=2001-01-01T00:00:00Z lj_run_bg --ui stdio
  lj_wait
  assert_failed_result clock_wrong 0x80072f8f admin false 5 preflight
  assert_eq "$(sim_requests)" 0 "requests before the clock check"
}

case_no_tpm() {
  join_env
  lj_conf "$CASE/lj.conf"
  sed -i "s|^tcti = .*|tcti = swtpm:host=127.0.0.1,port=$(free_port)|" "$CASE/lj.conf"
  lj_run_bg --ui stdio
  lj_wait
  assert_failed_result tpm_unavailable 0x8028400f hardware false 4 preflight
  assert_eq "$(sim_requests)" 0 "requests with no TPM"
}

case_tpm_locked() {
  join_env
  tpm_force_lockout
  lj_conf "$CASE/lj.conf"
  lj_run_bg --ui stdio
  lj_wait
  assert_failed_result tpm_locked 0x80090031 hardware false 4 preflight
  assert_eq "$(sim_requests)" 0 "requests with a locked-out TPM"
  assert_not_contains "$(cat "$CASE/out.jsonl")" '"prompt"' "a prompt was shown before the TPM check"
}

case_503_persists() {
  join_env
  sim_ctl POST /control/faults '{"path_prefix":"/EnrollmentServer/device","method":"POST","kind":"status","status":503,"retry_after":1,"count":10}' >/dev/null || fail fault
  lj_conf "$CASE/lj.conf"
  run_device_code
  assert_failed_result service_unavailable 0x801c0025 retry true 5 join
  assert_eq "$(sim_ctl GET /control/requests | jq '[.[] | select(.method == "POST" and (.path | startswith("/EnrollmentServer/device")))] | length')" 3 "join attempts"
}

case_429_clears() {
  join_env
  sim_ctl POST /control/faults '{"path_prefix":"/EnrollmentServer/device","method":"POST","kind":"status","status":429,"retry_after":1,"count":1}' >/dev/null || fail fault
  lj_conf "$CASE/lj.conf"
  run_device_code
  assert_eq "$LJ_RC" 0 "joins after one 429 ($(tail -5 "$CASE/err.log"))"
  assert_eq "$(result_event | jq -r .status)" joined
  assert_eq "$(sim_devices)" 1
}

# password sign-in helper for the sign-in failure cases: USER PASSWORD
run_password() {
  printf '%s\n' "$2" >"$CASE/pw"
  lj_conf "$CASE/lj.conf" "signin = password" "username = $1" "password_file = $CASE/pw"
  lj_run_bg --ui stdio
  lj_wait
}

case_expired() {
  local code
  join_env
  lj_conf "$CASE/lj.conf"
  lj_run_bg --ui stdio
  wait_event '"kind":"device_code"'
  code=$(grep '"kind":"device_code"' "$CASE/out.jsonl" | jq -r .user_code)
  sim_ctl POST /control/devicecode/expire "{\"user_code\":\"$code\"}" >/dev/null || fail expire
  lj_wait
  assert_failed_result signin_expired "$(result_event | jq -r .code)" retry true 6 signin
  [[ $(result_event | jq -r .code) =~ ^AADSTS ]] || fail "code $(result_event)"
}

case_mfa_required_password() {
  join_env
  sim_ctl PUT /control/device-settings '{"require_mfa_to_join":true}' >/dev/null || fail policy
  run_password alice@contoso.example 'Demo-Passw0rd!'
  assert_failed_result mfa_required "$(result_event | jq -r .code)" admin false 7 signin
  [[ $(result_event | jq -r .code) =~ ^AADSTS500(76|79)$ ]] || fail "code $(result_event)"
}

case_mfa_device_code_succeeds() {
  local code
  join_env
  sim_ctl PUT /control/device-settings '{"require_mfa_to_join":true}' >/dev/null || fail policy
  lj_conf "$CASE/lj.conf"
  lj_run_bg --ui stdio
  wait_event '"kind":"device_code"'
  code=$(grep '"kind":"device_code"' "$CASE/out.jsonl" | jq -r .user_code)
  sim_ctl POST /control/devicecode/approve "{\"user_code\":\"$code\",\"upn\":\"alice@contoso.example\",\"mfa\":true}" >/dev/null || fail approve
  lj_wait
  assert_eq "$LJ_RC" 0 "exit ($(result_event))"
  assert_eq "$(sim_devices)" 1
}

case_ca_blocked() {
  join_env
  sim_ctl PUT /control/conditional-access '{"register_or_join_devices":"block"}' >/dev/null || fail policy
  run_password alice@contoso.example 'Demo-Passw0rd!'
  assert_failed_result blocked_by_conditional_access AADSTS53003 admin false 7 signin
}

case_unknown_user() {
  join_env
  run_password nobody@contoso.example 'x'
  assert_failed_result unknown_user AADSTS50034 user false 6 signin
}
case_disabled_user() {
  join_env
  run_password disabled@contoso.example 'Disabled-1!'
  assert_failed_result user_disabled AADSTS50057 admin false 6 signin
}
case_locked_user() {
  join_env
  run_password locked@contoso.example 'Locked-1!'
  assert_failed_result account_locked AADSTS50053 user false 6 signin
}
case_password_expired() {
  join_env
  run_password expired@contoso.example 'Expired-1!'
  assert_failed_result password_expired AADSTS50055 user false 6 signin
}

tcase join_not_permitted case_not_permitted
tcase device_quota_reached case_quota
tcase wrong_password case_wrong_password
tcase signin_declined case_declined
tcase signin_expired case_expired
tcase mfa_required_with_password case_mfa_required_password
tcase mfa_required_device_code_with_mfa_joins case_mfa_device_code_succeeds
tcase blocked_by_conditional_access case_ca_blocked
tcase unknown_user case_unknown_user
tcase user_disabled case_disabled_user
tcase account_locked case_locked_user
tcase password_expired case_password_expired
tcase network_unreachable_names_host case_unreachable
tcase tls_untrusted_names_proxy case_untrusted_ca
tcase clock_wrong_before_signin case_clock_wrong
tcase tpm_unavailable case_no_tpm
tcase tpm_locked_before_signin case_tpm_locked
tcase drs_503_retried_then_service_unavailable case_503_persists
tcase drs_429_retry_after_then_joins case_429_clears
