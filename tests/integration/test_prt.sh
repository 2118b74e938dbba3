#!/usr/bin/env bash
# test_prt.sh — the device's Primary Refresh Token against entra-sim (which
# refuses an Intune RST whose token has no deviceid, and puts the MDM URL
# claims only in the id_token) and a fresh swtpm: the PRT taken right after
# the join and used for the Intune token; its session key kept in the TPM;
# every device-authentication failure with its exact result (50155 pending
# then finished by mdm-retry, 135011 disabled, 700003 deleted, a refused
# PRT request); `linkjoin token`, `linkjoin prt-renew` and status's SSO part.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_join.sh"

MGMT_URL=https://r.manage.microsoft.com/devicegatewayproxy/cimhandler.ashx
PRT_RE='0\.AS\.PRT[A-Za-z0-9_-]{20,}'

# prt_env — simulator + swtpm, Intune open to everyone, agent config.
prt_env() {
  join_env
  sim_ctl PUT /control/intune "{\"mdm_user_scope\":\"all\",\"windows\":\"allowed\",
    \"block_personally_owned\":false,\"corporate_identifiers\":[],\"device_limit\":5,
    \"policy_service\":true,\"management_url\":\"$MGMT_URL\"}" >/dev/null ||
    fail "cannot set Intune settings"
  assert_eq "$(sim_ctl GET /control/intune | jq -r .require_device_claim)" true \
    "the simulator refuses an RST without deviceid (the real behaviour)"
  lj_conf "$CASE/lj.conf.tmp" "os_version = 10.0.26100.1"
  sed -e "s|^state_dir = .*|state_dir = $CASE/state|" -e "s|^tcti = .*|tcti = $TCTI|" \
    "$CASE/lj.conf.tmp" >"$CASE/lj.conf"
}

device_id() { jq -r .device_id "$CASE/state/journal.json"; }

# token_json ARGS... — `linkjoin token ARGS`, its stdout (the JSON) in OUT, its
# stderr in $CASE/token.err; fails unless it exits 0.
token_json() {
  OUT=$(lj token "$@" 2>"$CASE/token.err") || fail "token $*: exit $?: $(cat "$CASE/token.err")"
}

# No PRT, refresh token or JWT in clear in the state directory.
assert_no_prt_in_clear() {
  ! grep -rqaE -e "$PRT_RE" -e '0\.AS[A-Za-z0-9_-]{20,}' -e 'eyJ[A-Za-z0-9_-]{10,}' "$CASE/state" ||
    fail "token-like text in $CASE/state: $(grep -rlaE -e "$PRT_RE" -e 'eyJ' "$CASE/state")"
}

# assert_prt_kept — the PRT sealed, its session key in the TPM, times journaled.
assert_prt_kept() {
  assert_file "$CASE/state/prt.sealed"
  assert_file "$CASE/state/prt-session.hkey"
  assert_mode "$CASE/state/prt.sealed" 600
  assert_mode "$CASE/state/prt-session.hkey" 600
  [ "$(jq -r '.prt_expires - .prt_updated' "$CASE/state/journal.json")" -gt 1200000 ] ||
    fail "PRT lifetime in the journal: $(jq -c '{prt_updated,prt_expires}' "$CASE/state/journal.json")"
  assert_no_prt_in_clear
  assert_no_transient_handles
}

case_enrolled_with_prt() {
  local r did
  prt_env
  run_device_code
  r=$(result_event)
  assert_eq "$LJ_RC" 0 "exit ($r $(tail -5 "$CASE/err.log"))"
  assert_eq "$(jq -r .status <<<"$r")" joined
  assert_eq "$(jq -r .mdm.state <<<"$r")" enrolled
  did=$(device_id)
  # the Intune token came from a PRT-signed request and names the device
  assert_contains "$(cat "$CASE/err.log")" "event=prt_acquired"
  assert_contains "$(cat "$CASE/err.log")" "event=mdm_token resource=https://enrollment.manage.microsoft.com/ deviceid=$did"
  assert_eq "$(sim_ctl GET /control/enrollments | jq -r '.[0].device_id')" "$did" "enrolled device"
  # the scope claim was in the sign-in's id_token, and used
  assert_contains "$(cat "$CASE/err.log")" "event=mdm_scope_claim present=yes"
  # the order on the wire: nonce, PRT request, nonce, PRT-signed Intune token, then SOAP
  assert_eq "$(sim_ctl GET '/control/requests?path_prefix=/EnrollmentServer/Discovery.svc' | jq length)" 1
  assert_prt_kept
  # status: SSO part
  assert_rc 0 lj status --json --state-dir "$CASE/state"
  assert_eq "$(jq -r .sso.azure_ad_prt <<<"$OUT")" true "sso.azure_ad_prt"
  assert_ne "$(jq -r .sso.prt_update_time <<<"$OUT")" "" "prt_update_time"
  assert_ne "$(jq -r .sso.prt_expiry_time <<<"$OUT")" "" "prt_expiry_time"
  assert_rc 0 lj status --state-dir "$CASE/state"
  assert_contains "$OUT" "AzureAdPrt : YES"
  assert_contains "$OUT" "AzureAdPrtExpiryTime : 20"
}

# A user outside the MDM user scope: no claim in the id_token, which decides
# nothing by itself; Intune's answer does (its fault names the scope).
case_no_scope_claim_intune_decides() {
  local r
  prt_env
  sim_ctl PUT /control/intune '{"mdm_user_scope":"none"}' >/dev/null
  run_device_code
  r=$(result_event)
  assert_eq "$LJ_RC" 7 "exit ($r)"
  assert_eq "$(jq -r .reason <<<"$r")" mdm_not_in_scope
  assert_contains "$(cat "$CASE/err.log")" "event=mdm_scope_claim present=no source=id_token"
  assert_eq "$(sim_ctl GET '/control/requests?path_prefix=/EnrollmentServer/Discovery.svc' | jq length)" 1 \
    "Intune discovery was asked"
}

# AADSTS50155 right after the join: pending (not a failure), then mdm-retry
# (the timer) gets the PRT with the kept sign-in and enrolls, no prompt.
case_device_auth_pending_then_retry() {
  local r
  prt_env
  sim_ctl PUT /control/prt '{"auth_not_ready_after_join":1}' >/dev/null
  run_device_code
  r=$(result_event)
  assert_eq "$LJ_RC" 11 "exit ($r $(tail -5 "$CASE/err.log"))"
  assert_eq "$(jq -r .status <<<"$r")" joined_mdm_pending
  assert_eq "$(jq -r .reason <<<"$r")" device_auth_pending
  assert_eq "$(jq -r .code <<<"$r")" AADSTS50155
  assert_eq "$(jq -r .phase <<<"$r")" mdm
  assert_eq "$(jq -r .fix_by <<<"$r")" retry
  assert_eq "$(jq -r .retryable <<<"$r")" true
  assert_eq "$(jq -r .mdm.state <<<"$r")" pending
  assert_file "$CASE/state/mdm-pending"
  assert_file "$CASE/state/mdm-refresh.sealed"
  assert_no_file "$CASE/state/prt.sealed"
  assert_rc 11 lj status --json --state-dir "$CASE/state"
  assert_eq "$(jq -r .sso.azure_ad_prt <<<"$OUT")" false
  assert_rc 0 lj mdm-retry --config "$CASE/lj.conf" --ui stdio
  assert_not_contains "$OUT" '"type":"prompt"' "no sign-in prompt"
  r=$(grep '"type":"result"' <<<"$OUT")
  assert_eq "$(jq -r .mdm.state <<<"$r")" enrolled
  assert_prt_kept
  assert_no_file "$CASE/state/mdm-refresh.sealed"
}

# pending_with_prt — joined with a PRT, Intune enrollment pending (503).
pending_with_prt() {
  prt_env
  sim_ctl POST /control/faults '{"path_prefix":"/StatelessEnrollmentService/DeviceEnrollment.svc","kind":"status","status":503,"count":1000}' >/dev/null
  run_device_code
  assert_eq "$LJ_RC" 11 "pending ($(result_event))"
  assert_file "$CASE/state/prt.sealed"
  sim_ctl DELETE /control/faults >/dev/null
}

case_device_disabled() {
  local r
  pending_with_prt
  sim_ctl PATCH "/control/devices/$(device_id)" '{"enabled":false}' >/dev/null ||
    fail "cannot disable the device"
  assert_rc 7 lj mdm-retry --config "$CASE/lj.conf" --ui stdio
  r=$(grep '"type":"result"' <<<"$OUT")
  assert_eq "$(jq -r .status <<<"$r")" joined_mdm_pending
  assert_eq "$(jq -r .reason <<<"$r")" device_disabled
  assert_eq "$(jq -r .code <<<"$r")" AADSTS135011
  assert_eq "$(jq -r .fix_by <<<"$r")" admin
  assert_contains "$(jq -r .admin_action <<<"$r")" "> Enable"
  assert_file "$CASE/state/mdm-pending"
  # enabled again: the timer finishes the enrollment by itself
  sim_ctl PATCH "/control/devices/$(device_id)" '{"enabled":true}' >/dev/null
  assert_rc 0 lj mdm-retry --config "$CASE/lj.conf" --ui stdio
  assert_eq "$(grep '"type":"result"' <<<"$OUT" | jq -r .mdm.state)" enrolled
}

case_device_deleted() {
  local r
  pending_with_prt
  sim_ctl DELETE "/control/devices/$(device_id)" >/dev/null || fail "cannot delete the device"
  assert_rc 7 lj mdm-retry --config "$CASE/lj.conf" --ui stdio
  r=$(grep '"type":"result"' <<<"$OUT")
  assert_eq "$(jq -r .status <<<"$r")" joined
  assert_eq "$(jq -r .reason <<<"$r")" device_not_found
  assert_eq "$(jq -r .code <<<"$r")" AADSTS700003
  assert_eq "$(jq -r .mdm.state <<<"$r")" failed
  assert_no_file "$CASE/state/prt.sealed"
  assert_no_file "$CASE/state/prt-session.hkey"
  # joined, setup not complete (mdm = required): status exits with the reason's code
  assert_rc 7 lj status --json --state-dir "$CASE/state"
  assert_eq "$(jq -r .last_error.reason <<<"$OUT")" device_not_found
  assert_eq "$(jq -r .sso.azure_ad_prt <<<"$OUT")" false
}

# The PRT request refused for a reason of its own (every nonce stale): the
# device stays joined, prt_refused names it.
case_prt_refused() {
  local r
  prt_env
  sim_ctl PUT /control/prt '{"nonce_lifetime_s":0}' >/dev/null
  run_device_code
  r=$(result_event)
  assert_eq "$LJ_RC" 8 "exit ($r $(tail -5 "$CASE/err.log"))"
  assert_eq "$(jq -r .status <<<"$r")" joined
  assert_eq "$(jq -r .reason <<<"$r")" prt_refused
  assert_eq "$(jq -r .code <<<"$r")" AADSTS140000
  assert_eq "$(jq -r .fix_by <<<"$r")" support
  assert_eq "$(jq -r .mdm.state <<<"$r")" failed
  assert_file "$CASE/state/joined"
  assert_no_file "$CASE/state/prt.sealed"
  assert_eq "$(sim_ctl GET '/control/requests?path_prefix=/StatelessEnrollmentService' | jq length)" 0 \
    "no RST without a device token"
}

case_token_command() {
  local tok did
  prt_env
  run_device_code
  assert_eq "$LJ_RC" 0 "enrolled ($(result_event))"
  did=$(device_id)
  token_json --resource https://graph.microsoft.com --config "$CASE/lj.conf"
  tok=$(jq -r .access_token <<<"$OUT")
  assert_eq "$(jq -r .token_type <<<"$OUT")" Bearer
  assert_eq "$(jq -r .resource <<<"$OUT")" https://graph.microsoft.com
  assert_eq "$(jq -r .client_id <<<"$OUT")" 29d9ed98-a469-4536-ade2-f981bc1d605e
  [ "$(jq -r .expires_in <<<"$OUT")" -gt 0 ] || fail "expires_in: $OUT"
  assert_eq "$(jwt_claims "$tok" | jq -r .deviceid)" "$did" "token names the device"
  assert_eq "$(jwt_claims "$tok" | jq -r .aud)" https://graph.microsoft.com "audience"
  assert_not_contains "$(cat "$CASE/err.log" "$CASE/token.err")" "$tok" "token in a log"
  assert_contains "$(cat "$CASE/token.err")" "event=token_issued"
  # a scope instead of a resource
  token_json --scope "https://graph.microsoft.com/.default" --config "$CASE/lj.conf"
  assert_eq "$(jq -r .scope <<<"$OUT")" "https://graph.microsoft.com/.default"
  # usage
  assert_rc 2 lj token --config "$CASE/lj.conf"
  assert_contains "$OUT" "exactly one of --resource and --scope"
  assert_rc 2 lj token --resource a --scope b --config "$CASE/lj.conf"
  assert_rc 2 lj token --resource
  # not root and not in group linkjoin
  assert_rc 1 setpriv --reuid=65534 --regid=65534 --clear-groups "$LINKJOIN" token \
    --resource https://graph.microsoft.com --config "$CASE/lj.conf"
  assert_contains "$OUT" "only root and members of the group 'linkjoin'"
  # no PRT kept
  rm -f "$CASE/state/prt.sealed" "$CASE/state/prt-session.hkey"
  assert_rc 6 lj token --resource https://graph.microsoft.com --config "$CASE/lj.conf"
  assert_contains "$OUT" "holds no Primary Refresh Token"
}

case_token_not_joined() {
  prt_env
  assert_rc 12 lj token --resource https://graph.microsoft.com --config "$CASE/lj.conf"
  assert_contains "$OUT" "this device is not joined"
}

case_prt_renew() {
  local before now
  prt_env
  run_device_code
  assert_eq "$LJ_RC" 0 "enrolled ($(result_event))"
  before=$(sha256sum <"$CASE/state/prt.sealed")
  assert_rc 0 lj prt-renew --config "$CASE/lj.conf"
  assert_contains "$OUT" "not due"
  assert_eq "$(sha256sum <"$CASE/state/prt.sealed")" "$before" "not renewed"
  # forced
  assert_rc 0 lj prt-renew --force --config "$CASE/lj.conf"
  assert_contains "$OUT" "renewed; expires in"
  assert_ne "$(sha256sum <"$CASE/state/prt.sealed")" "$before" "a new PRT sealed"
  # 5 hours later: due (Windows renews every 4 h)
  now=$(date +%s)
  before=$(sha256sum <"$CASE/state/prt.sealed")
  LJ_TEST_NOW=$((now + 5 * 3600)) assert_rc 0 lj prt-renew --config "$CASE/lj.conf"
  assert_contains "$OUT" "renewed; expires in"
  assert_ne "$(sha256sum <"$CASE/state/prt.sealed")" "$before" "renewed when due"
  # the renewed PRT still works
  assert_rc 0 lj token --resource https://graph.microsoft.com --config "$CASE/lj.conf"
  assert_prt_kept
  # nothing to renew with: no PRT, no kept sign-in
  rm -f "$CASE/state/prt.sealed" "$CASE/state/prt-session.hkey"
  assert_rc 6 lj prt-renew --config "$CASE/lj.conf"
  assert_contains "$OUT" "no kept sign-in"
}

# A device key of the earlier template (scheme fixed to RSASSA, made through
# the test hook) signs the PRT request (RS256) as before: enrolled, renewed,
# a token.
case_prt_old_device_key() {
  prt_env
  LJ_TEST_HOOKS=1 LJ_TEST_DEVICE_KEY=rsassa run_device_code
  assert_eq "$LJ_RC" 0 "enrolled ($(result_event))"
  assert_contains "$(cat "$CASE/err.log")" "event=test_device_key_rsassa"
  assert_rc 0 lj prt-renew --force --config "$CASE/lj.conf"
  assert_contains "$OUT" "renewed; expires in"
  assert_rc 0 lj token --resource https://graph.microsoft.com --config "$CASE/lj.conf"
  assert_prt_kept
}

# Leaving removes the PRT and its session key with the join.
case_leave_removes_prt() {
  prt_env
  run_device_code
  assert_eq "$LJ_RC" 0 "enrolled ($(result_event))"
  assert_rc 0 lj leave --config "$CASE/lj.conf"
  assert_no_file "$CASE/state/prt.sealed"
  assert_no_file "$CASE/state/prt-session.hkey"
}

tcase prt_enrolled_with_device_token case_enrolled_with_prt
tcase prt_no_scope_claim_intune_decides case_no_scope_claim_intune_decides
tcase prt_device_auth_pending_then_mdm_retry case_device_auth_pending_then_retry
tcase prt_device_disabled_pending_until_enabled case_device_disabled
tcase prt_device_deleted case_device_deleted
tcase prt_refused case_prt_refused
tcase prt_token_command case_token_command
tcase prt_token_not_joined case_token_not_joined
tcase prt_renew case_prt_renew
tcase prt_old_device_key case_prt_old_device_key
tcase prt_leave_removes_prt case_leave_removes_prt
