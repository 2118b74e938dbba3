#!/usr/bin/env bash
# test_join_failures.sh — join failures, one case each, with their exact
# result (reason, code, fix_by, retryable, phase), exit code, status's last
# error, the server's ids when it answered, nothing half-done (no device
# object, no certificate, no joined marker, journal not joined, keys whole)
# and the tty rendering against tests/data/tty/CASE.txt (LJ_UPDATE_GOLDEN=1
# rewrites those; see assert_tty_golden in lib_join.sh).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_join.sh"

# lj_conf_set FILE KEY VALUE — replace the line "KEY = ..." (keys may be given once).
lj_conf_set() {
  grep -q "^$2 = " "$1" || fail "no $2 in $1"
  sed -i "s|^$2 = .*|$2 = $3|" "$1"
}

# A name glibc refuses to look up without sending a query (a label longer
# than DNS allows), so the DNS failure needs no resolver and no traffic.
LJ_UNRESOLVABLE=$(printf 'a%.0s' $(seq 70)).invalid

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
  # words a person understands, and what to do
  assert_eq "$(jq -r .state_text <<<"$OUT")" \
    "not joined: the last attempt was refused (join_not_permitted)" "state_text"
  assert_eq "$(jq -r .last_error.fix_by <<<"$OUT")" admin "last_error.fix_by"
  assert_contains "$(jq -r .last_error.admin_action <<<"$OUT")" "Users may join devices"
  assert_contains "$(jq -r .last_error.user_message <<<"$OUT")" "not allowed to join devices"
  assert_ne "$(jq -r .last_error.request_id <<<"$OUT")" "" "status request id"
  assert_server_ids request_id trace_id time
  # the admin changes the setting; the retry joins with the kept keys
  sim_ctl PUT /control/device-settings '{"users_may_join":"all"}' >/dev/null || fail "policy"
  assert_retry_joins_with_same_keys
}

# users may join = Selected and alice is in none of the selected groups.  The
# service answers exactly as for None (same ErrorType and message), so the
# admin action names both fixes.
case_not_permitted_selected() {
  local r
  join_env
  sim_ctl PUT /control/device-settings \
    '{"users_may_join":"selected","users_may_join_groups":["Frontline"]}' >/dev/null || fail "policy"
  lj_conf "$CASE/lj.conf"
  run_device_code
  assert_failed_result join_not_permitted 0x801c0003 admin false 7 join
  r=$(result_event)
  assert_contains "$(jq -r .admin_action <<<"$r")" "Users may join devices"
  assert_contains "$(jq -r .admin_action <<<"$r")" "add alice@contoso.example to one of the selected groups"
  assert_eq "$(jq -r .server.error_type <<<"$r")" AuthorizationError
  assert_server_ids request_id trace_id time
  sim_ctl PATCH /control/users/alice@contoso.example '{"groups":["Device Joiners","Frontline"]}' \
    >/dev/null || fail "group"
  assert_retry_joins_with_same_keys
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
  assert_ne "$(jq -r .last_error.request_id <<<"$OUT")" "" "status request id"
  assert_eq "$(jq -r .state "$CASE_STATE2/journal.json")" join_sent
  assert_tty_golden
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

case_refused() {
  local port r
  join_env
  port=$(free_port)
  lj_conf "$CASE/lj.conf"
  sed -i "s|^connect_to = login.microsoftonline.com:443:.*|connect_to = login.microsoftonline.com:443:127.0.0.1:$port|" "$CASE/lj.conf"
  lj_run_bg --ui stdio
  lj_wait
  assert_failed_result network_unreachable 0x80072efd user true 5 preflight
  r=$(result_event)
  assert_contains "$(jq -r .admin_action <<<"$r")" "login.microsoftonline.com"
  assert_contains "$(jq -r .admin_action <<<"$r")" "refused"
  assert_not_contains "$(cat "$CASE/out.jsonl")" '"kind":"device_code"'
}

case_dns() {
  local r
  join_env
  lj_conf "$CASE/lj.conf"
  sed -i "s|^connect_to = login.microsoftonline.com:443:.*|connect_to = login.microsoftonline.com:443:$LJ_UNRESOLVABLE:443|" "$CASE/lj.conf"
  lj_run_bg --ui stdio
  lj_wait
  # Windows' ERROR_INTERNET_NAME_NOT_RESOLVED
  assert_failed_result network_unreachable 0x80072ee7 user true 5 preflight
  r=$(result_event)
  assert_contains "$(jq -r .admin_action <<<"$r")" "login.microsoftonline.com"
  assert_contains "$(jq -r .admin_action <<<"$r")" "name did not resolve"
  assert_eq "$(sim_requests)" 0 "requests"
}

# A loopback port that accepts TCP and never says a word: the TLS handshake
# times out (connect_timeout, 2 s here, bounds the preflight probe).
case_timeout() {
  local r port
  join_env
  python3 -c '
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True)
held = []
while True:
    held.append(s.accept()[0])
' >"$CASE/silent.port" &
  track_pid $!
  for _ in $(seq 100); do [ -s "$CASE/silent.port" ] && break; sleep 0.05; done
  port=$(cat "$CASE/silent.port")
  [ -n "$port" ] || fail "silent listener did not start"
  lj_conf "$CASE/lj.conf"
  lj_conf_set "$CASE/lj.conf" connect_timeout 2
  # the first host probed, so no other handshake runs under the short timeout
  sed -i "s|^connect_to = login.microsoftonline.com:443:.*|connect_to = login.microsoftonline.com:443:127.0.0.1:$port|" "$CASE/lj.conf"
  lj_run_bg --ui stdio
  lj_wait
  # Windows' ERROR_INTERNET_TIMEOUT
  assert_failed_result network_unreachable 0x80072ee2 user true 5 preflight
  r=$(result_event)
  assert_contains "$(jq -r .admin_action <<<"$r")" "login.microsoftonline.com"
  assert_contains "$(jq -r .admin_action <<<"$r")" "timed out"
  assert_not_contains "$(cat "$CASE/out.jsonl")" '"kind":"device_code"'
}

# A proxy answers the first request with its own web page (HTTP 200, HTML).
case_html() {
  local r
  join_env
  sim_ctl POST /control/faults '{"path_prefix":"/contoso.example/oauth2/devicecode","kind":"html"}' \
    >/dev/null || fail fault
  lj_conf "$CASE/lj.conf"
  lj_run_bg --ui stdio
  lj_wait
  assert_failed_result network_intercepted 0x8007000d admin false 5 signin
  r=$(result_event)
  assert_contains "$(jq -r .admin_action <<<"$r")" "login.microsoftonline.com"
  assert_contains "$(jq -r .admin_action <<<"$r")" "web page"
  assert_eq "$(jq -r .server.http_status <<<"$r")" 200
  assert_server_ids request_id time
}

# tenant = a domain Entra does not know: DRS discovery, which runs before
# sign-in for a configured domain, answers 404 DirectoryError AADSTS90002
# before any prompt: tenant_not_found (the directory's verdict, the same the
# sign-in service would give), phase discover, not drs_tenant_not_found.
# The person typed no tenant: the device configuration is wrong, the admin
# fixes it.
case_unknown_tenant() {
  local r
  join_env
  lj_conf "$CASE/lj.conf"
  lj_conf_set "$CASE/lj.conf" tenant fabrikam.example
  lj_run_bg --ui stdio
  lj_wait
  assert_failed_result tenant_not_found AADSTS90002 admin false 6 discover
  r=$(result_event)
  assert_contains "$(jq -r .message <<<"$r")" "fabrikam.example"
  assert_contains "$(jq -r .admin_action <<<"$r")" "tenant ="
  assert_not_contains "$(cat "$CASE/out.jsonl")" '"kind":"device_code"'
  assert_server_ids request_id trace_id time
}

# DRS refuses the bearer token (401 AuthenticationError): access tokens live
# one second and the join is held two before entra-sim checks it, so the
# token has expired when the join is checked, on any machine speed.  tenant =
# organizations: discovery runs after sign-in with the same token (api-version
# 1.9), which is still fresh then.
case_auth_rejected() {
  local r
  join_env
  sim_ctl PATCH /control/login '{"access_token_lifetime":1}' >/dev/null || fail login
  sim_ctl POST /control/faults \
    '{"path_prefix":"/EnrollmentServer/device","method":"POST","kind":"delay","delay_ms":2000,"count":1}' >/dev/null || fail fault
  # A domain tenant: discovery runs before sign-in without a token (api 1.7),
  # so only the join, held 2 s, meets the 1-second token: it has expired
  # however fast or slow the machine is.
  lj_conf "$CASE/lj.conf"
  run_device_code
  assert_failed_result auth_rejected 0x801c0002 retry true 6 join
  r=$(result_event)
  assert_eq "$(jq -r .server.http_status <<<"$r")" 401
  assert_eq "$(jq -r .server.error_type <<<"$r")" AuthenticationError
  assert_server_ids request_id trace_id time
  grep -q 'event=token_rejected.*expired' "$SIM_LOG" || fail "the simulator did not reject an expired token"
  sim_ctl PATCH /control/login '{"access_token_lifetime":3599}' >/dev/null || fail login
  assert_retry_joins_with_same_keys
}

# DRS classification: the HTTP status first, then ErrorType ([MS-DVRE]
# 3.1.4.1.4.1; Windows maps ErrorType, not the text: MicrosoftDocs/entra-docs
# troubleshoot-hybrid-join-windows-current.md), then the Message text as a
# hint.  entra-sim answers the join with the given status and body.
drs_join_answer() {
  local fault
  join_env
  fault=$(jq -nc --argjson st "$1" --arg b "$2" \
    '{path_prefix:"/EnrollmentServer/device",method:"POST",kind:"status",status:$st,body:$b}')
  sim_ctl POST /control/faults "$fault" >/dev/null || fail fault
  lj_conf "$CASE/lj.conf"
  run_device_code
}
# 401 with an empty body (a front end that refused the bearer token): the
# status decides (RFC 6750 3.1), not bad_service_response.
case_drs_401_empty() {
  local r
  drs_join_answer 401 ""
  assert_failed_result auth_rejected 0x801c0002 retry true 6 join
  r=$(result_event)
  assert_eq "$(jq -r .server.http_status <<<"$r")" 401
  assert_eq "$(jq -r '.server.message // ""' <<<"$r")" "" "no server text"
}
# 401 with a body of no known shape: auth_rejected, the body shown verbatim
# (printable ASCII, white space folded) to the admin.
case_drs_401_unknown_body() {
  local r
  drs_join_answer 401 $'Unauthorized:\r\n  the token was not accepted (front end 7)\n'
  assert_failed_result auth_rejected 0x801c0002 retry true 6 join
  r=$(result_event)
  assert_eq "$(jq -r .server.message <<<"$r")" "Unauthorized: the token was not accepted (front end 7)" "server.message"
}
# 403 with a known ErrorType: AuthorizationError -> join_not_permitted.
case_drs_403_authorization_error() {
  local r
  drs_join_answer 403 '{"ErrorType":"AuthorizationError","Message":"User is not authorized to join devices to this tenant.","TraceId":"5a9e2b3c-1d4f-4e6a-8b7c-9d0e1f2a3b4c","Time":"12-03-2026 10:00:00Z"}'
  assert_failed_result join_not_permitted 0x801c0003 admin false 7 join
  r=$(result_event)
  assert_eq "$(jq -r .server.http_status <<<"$r")" 403
  assert_eq "$(jq -r .server.error_type <<<"$r")" AuthorizationError
  assert_eq "$(jq -r .server.trace_id <<<"$r")" 5a9e2b3c-1d4f-4e6a-8b7c-9d0e1f2a3b4c
}
# An ErrorType nobody has published, with a quota text: the text is the hint.
case_drs_unknown_type_quota_text() {
  local r
  drs_join_answer 400 '{"ErrorType":"DeviceQuotaPolicyError","Message":"User alice@contoso.example has reached the maximum number of devices allowed.","TraceId":"6b0f3c4d-2e5a-4f7b-9c8d-0e1f2a3b4c5d","Time":"12-03-2026 10:00:00Z"}'
  assert_failed_result device_quota_reached 0x801c000e user false 7 join
  r=$(result_event)
  assert_eq "$(jq -r .server.error_type <<<"$r")" DeviceQuotaPolicyError
  assert_eq "$(jq -r .server.message <<<"$r")" "User alice@contoso.example has reached the maximum number of devices allowed."
}
# An unknown ErrorType whose text matches nothing: join_rejected, the text shown.
case_drs_unknown_type_unknown_text() {
  local r
  drs_join_answer 400 '{"ErrorType":"SomethingNew","Message":"The request was refused by rule 42.","TraceId":"7c1a4d5e-3f6b-4a8c-8d9e-1f2a3b4c5d6e","Time":"12-03-2026 10:00:00Z"}'
  assert_failed_result join_rejected 0x801c0006 support false 8 join
  r=$(result_event)
  assert_eq "$(jq -r .server.error_type <<<"$r")" SomethingNew
  assert_eq "$(jq -r .server.message <<<"$r")" "The request was refused by rule 42."
}

# The join answer is cut in half (broken JSON).  The simulator stored the
# device object before answering; the agent stores nothing, and the retry
# (same keys, ReuseDevice) gets that same object.
case_malformed_join() {
  local r
  join_env
  sim_ctl POST /control/faults '{"path_prefix":"/EnrollmentServer/device","method":"POST","kind":"malformed"}' \
    >/dev/null || fail fault
  lj_conf "$CASE/lj.conf"
  run_device_code
  LJ_EXPECT_SIM_DEVICES=1 assert_failed_result bad_service_response 0x801c0001 support false 8 join
  r=$(result_event)
  assert_contains "$(jq -r .admin_action <<<"$r")" "enterpriseregistration.windows.net"
  assert_contains "$(jq -r .admin_action <<<"$r")" "not valid JSON"
  assert_eq "$(jq -r .server.http_status <<<"$r")" 200
  assert_server_ids request_id time
  assert_retry_joins_with_same_keys
  assert_eq "$(sim_devices)" 1 "the retry reused the device object"
}

# The certificate in the join answer is for another public key.
case_wrong_cert() {
  local r
  join_env
  sim_ctl POST /control/faults '{"path_prefix":"/EnrollmentServer/device","method":"POST","kind":"wrong_cert"}' \
    >/dev/null || fail fault
  lj_conf "$CASE/lj.conf"
  run_device_code
  LJ_EXPECT_SIM_DEVICES=1 assert_failed_result bad_service_response 0x801c0001 support false 8 join
  r=$(result_event)
  assert_contains "$(jq -r .admin_action <<<"$r")" "enterpriseregistration.windows.net"
  assert_contains "$(jq -r .admin_action <<<"$r")" "not this device's"
  assert_server_ids request_id time
  grep -q 'event=join_answer_rejected why=key_mismatch' "$CASE/err.log" || fail "log: $(grep join_answer "$CASE/err.log")"
}

# The agent trusts the root of a second simulator (own state directory, own
# CA), the servers it reaches present the first one's certificates.
case_untrusted_ca() {
  local r other_ca
  join_env
  other_ca=$(
    sim_start "$LJ_TENANT_DEMO" "$CASE/sim-other"
    echo "$SIM_CA"
    sim_stop
  )
  [ -f "$other_ca" ] || fail "second simulator CA: $other_ca"
  cmp -s "$other_ca" "$SIM_CA" && fail "the two simulators share a CA"
  lj_conf "$CASE/lj.conf"
  sed -i "s|^ca_file = .*|ca_file = $other_ca|" "$CASE/lj.conf"
  lj_run_bg --ui stdio
  lj_wait
  assert_failed_result tls_untrusted 0x800b0109 admin false 5 preflight
  r=$(result_event)
  assert_contains "$(jq -r .admin_action <<<"$r")" "login.microsoftonline.com"
  assert_contains "$(jq -r .admin_action <<<"$r")" "proxy"
  assert_eq "$(sim_requests)" 0 "requests over an untrusted connection"
}

case_clock_wrong() {
  join_env
  lj_conf "$CASE/lj.conf"
  LJ_TEST_NOW=2001-01-01T00:00:00Z lj_run_bg --ui stdio
  lj_wait
  assert_failed_result clock_wrong 0x80072f8f admin false 5 preflight
  # the device's own time, so the admin sees how far off it is
  assert_contains "$(result_event | jq -r .admin_action)" "the clock says 2001-01-01T00:00:00Z"
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
  # a transient state: wait for the cooldown (Entra join troubleshooting, 0x80090031),
  # for as long as the TPM's own counters say
  assert_failed_result tpm_locked 0x80090031 retry true 4 preflight
  assert_contains "$(result_event | jq -r .message)" "try again in about"
  assert_not_contains "$(result_event | jq -r .message)" "reset"
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
  assert_tty_golden
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
  assert_eq "$(sim_ctl GET /control/devices | jq -r '.[0].owner_upn')" alice@contoso.example
  assert_tty_golden
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
tcase join_not_permitted_selected_groups case_not_permitted_selected
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
tcase unknown_tenant case_unknown_tenant
tcase auth_rejected_expired_token case_auth_rejected
tcase drs_401_empty_body_auth_rejected case_drs_401_empty
tcase drs_401_unknown_body_auth_rejected case_drs_401_unknown_body
tcase drs_403_authorization_error_not_permitted case_drs_403_authorization_error
tcase drs_unknown_error_type_quota_text case_drs_unknown_type_quota_text
tcase drs_unknown_error_type_unknown_text case_drs_unknown_type_unknown_text
tcase bad_service_response_malformed_join case_malformed_join
tcase bad_service_response_wrong_cert case_wrong_cert
tcase network_unreachable_refused case_refused
tcase network_unreachable_dns case_dns
tcase network_unreachable_timeout case_timeout
tcase network_intercepted_html case_html
tcase tls_untrusted_names_proxy case_untrusted_ca
tcase clock_wrong_before_signin case_clock_wrong
tcase tpm_unavailable case_no_tpm
tcase tpm_locked_before_signin case_tpm_locked
tcase drs_503_retried_then_service_unavailable case_503_persists
tcase drs_429_retry_after_then_joins case_429_clears
