#!/usr/bin/env bash
# test_signin_policy.sh — sign-in refused by tenant policy, one case per
# AADSTS family, each with its exact result: register MFA (50079) apart from
# MFA needed (50076); Conditional Access by device platform (50005: entra-sim
# refuses a User-Agent it cannot place, the agent presents Windows), by a
# compliant-device grant on Intune enrollment (53000 on the refresh grant is
# a policy block, not an expired sign-in, and the kept sign-in finishes the
# enrollment once the policy is fixed); a mistyped user code (70018).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_join.sh"

# password sign-in: USER PASSWORD
run_password() {
  printf '%s\n' "$2" >"$CASE/pw"
  lj_conf "$CASE/lj.conf" "signin = password" "username = $1" "password_file = $CASE/pw"
  lj_run_bg --ui stdio
  lj_wait
}

# oauth_body CODE ERROR TEXT — a token error body in Entra's v1 shape.
oauth_body() {
  jq -cn --arg e "$2" --argjson c "$1" --arg d "AADSTS$1: $3" \
    '{error:$e, error_description:$d, error_codes:[$c], timestamp:"2026-12-03 10:00:00Z",
      trace_id:"0b6c0a8e-1111-4222-8333-944445555666", correlation_id:"1c7d1b9f-1111-4222-8333-944445555666"}'
}

# The user has no MFA method: 50079, its own reason (register at aka.ms/mfasetup).
case_mfa_registration_required() {
  join_env
  sim_ctl PUT /control/device-settings '{"require_mfa_to_join":true}' >/dev/null || fail policy
  run_password nomfa@contoso.example 'NoMfa-Passw0rd!'
  assert_failed_result mfa_registration_required AADSTS50079 user false 6 signin
  assert_contains "$(result_event | jq -r .message)" "https://aka.ms/mfasetup"
}

# The user has one: 50076, mfa_required (the password sign-in cannot do it).
case_mfa_required_registered_user() {
  join_env
  sim_ctl PUT /control/device-settings '{"require_mfa_to_join":true}' >/dev/null || fail policy
  run_password alice@contoso.example 'Demo-Passw0rd!'
  assert_failed_result mfa_required AADSTS50076 admin false 7 signin
}

# entra-sim: a policy whose platforms leave out "any other" refuses a
# User-Agent it cannot place with 50005, on every grant, and takes Windows.
case_sim_unknown_platform_refused() {
  need_sim
  sim_start "$LJ_TENANT_DEMO"
  sim_ctl PUT /control/conditional-access '{"block_unknown_platforms":true}' >/dev/null || fail policy
  assert_eq "$(sim_ctl GET /control/conditional-access | jq -r .block_unknown_platforms)" true
  sim_req -A 'curl/8.0' -d 'grant_type=password&client_id=29d9ed98-a469-4536-ade2-f981bc1d605e&resource=urn:ms-drs:enterpriseregistration.windows.net&username=alice@contoso.example&password=Demo-Passw0rd!' \
    "https://login.microsoftonline.com/contoso.example/oauth2/token"
  assert_eq "$HTTP_STATUS" 400
  assert_eq "$(jq -r '.error_codes[0]' <<<"$BODY")" 50005 "$BODY"
  assert_contains "$(jq -r .error_description <<<"$BODY")" "platform (Unknown)"
  sim_req -A 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) linkjoin/0.1.0' -d 'grant_type=password&client_id=29d9ed98-a469-4536-ade2-f981bc1d605e&resource=urn:ms-drs:enterpriseregistration.windows.net&username=alice@contoso.example&password=Demo-Passw0rd!' \
    "https://login.microsoftonline.com/contoso.example/oauth2/token"
  assert_eq "$HTTP_STATUS" 200 "Windows UA: $BODY"
  # an unknown value of the tenant file is refused, naming the field
  assert_rc 1 sim_ctl PUT /control/conditional-access '{"intune_enrollment":"sometimes"}'
  assert_contains "$OUT" "conditional_access.intune_enrollment"
}

# The agent joins under that policy: its User-Agent is the Windows platform.
case_unknown_platform_policy_agent_joins() {
  join_env
  sim_ctl PUT /control/conditional-access '{"block_unknown_platforms":true}' >/dev/null || fail policy
  lj_conf "$CASE/lj.conf"
  run_device_code
  assert_eq "$LJ_RC" 0 "joins ($(result_event) $(tail -5 "$CASE/err.log"))"
  assert_eq "$(sim_devices)" 1
  assert_contains "$(sim_ctl GET '/control/requests?path_prefix=/contoso.example/oauth2/token' | jq -r '.[0].user_agent')" \
    "(Windows NT 10.0; Win64; x64) linkjoin/"
}

# 50005 reaching the agent (as Entra sends it for an "Unknown" platform):
# blocked_by_conditional_access with the device-platform hint.
case_ca_platform() {
  join_env
  sim_ctl POST /control/faults "$(jq -cn --arg b "$(oauth_body 50005 invalid_grant "User tried to log in to a device from a platform (Unknown) that's currently not supported through Conditional Access policy.")" \
    '{path_prefix:"/contoso.example/oauth2/token",kind:"status",status:400,body:$b}')" >/dev/null || fail fault
  run_password alice@contoso.example 'Demo-Passw0rd!'
  assert_failed_result blocked_by_conditional_access AADSTS50005 admin false 7 signin
  assert_contains "$(result_event | jq -r .admin_action)" "Device platforms"
}

# 70018: the user code was mistyped on the other device: start again.
case_signin_code_wrong() {
  local code
  join_env
  lj_conf "$CASE/lj.conf"
  lj_run_bg --ui stdio
  wait_event '"kind":"device_code"'
  sim_ctl POST /control/faults "$(jq -cn --arg b "$(oauth_body 70018 invalid_grant "Invalid verification code due to User typing in wrong user code for device code flow. Authorization is not approved.")" \
    '{path_prefix:"/contoso.example/oauth2/token",kind:"status",status:400,body:$b}')" >/dev/null || fail fault
  lj_wait
  assert_failed_result signin_code_wrong AADSTS70018 retry true 6 signin
}

# A compliant-device policy on Intune Enrollment: the join succeeds, the
# Intune token (refresh grant) gets 53000.  It is the policy, not an
# expired sign-in: the device stays pending with the kept sign-in, and once
# the admin excludes Intune Enrollment, mdm-retry enrolls without a prompt.
case_ca_compliant_on_intune_token() {
  local r
  join_env
  sim_ctl PUT /control/conditional-access '{"intune_enrollment":"require_compliant_device"}' >/dev/null || fail policy
  lj_conf "$CASE/lj.conf"
  run_device_code
  r=$(result_event)
  assert_eq "$LJ_RC" 7 "exit code ($r $(tail -5 "$CASE/err.log"))"
  assert_eq "$(jq -r .status <<<"$r")" joined_mdm_pending "status"
  assert_eq "$(jq -r .phase <<<"$r")" mdm
  assert_eq "$(jq -r .reason <<<"$r")" blocked_by_conditional_access "reason"
  assert_eq "$(jq -r .code <<<"$r")" AADSTS53000
  assert_eq "$(jq -r .fix_by <<<"$r")" admin
  assert_eq "$(jq -r .mdm.state <<<"$r")" pending
  assert_contains "$(jq -r .admin_action <<<"$r")" "Require device to be marked as compliant"
  assert_file "$CASE/state/joined"
  assert_file "$CASE/state/mdm-pending"
  assert_file "$CASE/state/mdm-refresh.sealed"
  assert_eq "$(sim_devices)" 1
  assert_eq "$(sim_ctl GET /control/enrollments | jq length)" 0
  assert_tty_golden
  # the admin's fix: the kept sign-in finishes it, no prompt
  sim_ctl PUT /control/conditional-access '{"intune_enrollment":"none"}' >/dev/null || fail policy
  assert_rc 0 lj mdm-retry --config "$CASE/lj.conf" --ui stdio
  assert_not_contains "$OUT" '"type":"prompt"' "no sign-in prompt"
  assert_eq "$(sim_ctl GET /control/enrollments | jq length)" 1
  assert_no_file "$CASE/state/mdm-pending"
}

tcase mfa_registration_required case_mfa_registration_required
tcase mfa_required_registered_user case_mfa_required_registered_user
tcase sim_unknown_platform_refused case_sim_unknown_platform_refused
tcase unknown_platform_policy_agent_joins case_unknown_platform_policy_agent_joins
tcase blocked_by_conditional_access_platform case_ca_platform
tcase signin_code_wrong case_signin_code_wrong
tcase blocked_by_conditional_access_compliant_intune_token case_ca_compliant_on_intune_token
