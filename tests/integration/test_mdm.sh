#!/usr/bin/env bash
# test_mdm.sh — Intune auto-enrollment after the join (`linkjoin run`,
# `linkjoin mdm-retry`) against entra-sim's enrollment.manage.microsoft.com
# and a fresh swtpm: enrolled; every policy refusal with its exact result;
# Intune 503 -> joined_mdm_pending, then a later run / mdm-retry enrolls
# without a new sign-in prompt; a revoked kept sign-in asks for a new one;
# no token in clear in the state directory; malformed SOAP and XML bombs.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_join.sh"

MFR="Microsoft Corporation"
MODEL="Windows 365 Link"
SERIAL="LJ-SIM-0042"
MGMT_URL=https://r.manage.microsoft.com/devicegatewayproxy/cimhandler.ashx

# mdm_env [INTUNE-JSON] — simulator + swtpm, the tenant's Intune settings
# reset to "everyone may enroll" and then patched with INTUNE-JSON, agent
# config with a Link's identity (manufacturer, model, serial).
mdm_env() {
  join_env
  sim_ctl PUT /control/intune "{\"mdm_user_scope\":\"all\",\"windows\":\"allowed\",
    \"block_personally_owned\":false,\"corporate_identifiers\":[],\"device_limit\":5,
    \"policy_service\":true,\"management_url\":\"$MGMT_URL\"}" >/dev/null ||
    fail "cannot set Intune settings (entra-sim without Intune?)"
  [ -z "${1:-}" ] || sim_ctl PUT /control/intune "$1" >/dev/null || fail "intune settings $1"
  mdm_conf "$CASE/lj.conf" "$CASE/state"
}

# mdm_conf FILE STATE_DIR — agent config (lj_conf) with the device identity.
mdm_conf() {
  lj_conf "$1.tmp" "manufacturer = $MFR" "model = $MODEL" "os_version = 10.0.26100.1"
  sed -e "s|^serial = .*|serial = $SERIAL|" -e "s|^state_dir = .*|state_dir = $2|" \
    -e "s|^tcti = .*|tcti = $TCTI|" "$1.tmp" >"$1"
}

sim_enrollments() { sim_ctl GET /control/enrollments; }
mdm_soap_requests() {
  { sim_ctl GET '/control/requests?path_prefix=/EnrollmentServer/Discovery.svc'
    sim_ctl GET '/control/requests?path_prefix=/StatelessEnrollmentService'; } | jq -s 'add | length'
}

# No token of any kind in clear anywhere in the state directory.
assert_no_token_in_clear() {
  local dir=${1:-$CASE/state}
  # entra-sim's refresh tokens start "0.AS"; JWTs (access, id) start "eyJ".
  ! grep -rqa -e '0\.AS' -e 'eyJ[A-Za-z0-9_-]\{10,\}' "$dir" ||
    fail "token-like text in $dir: $(grep -rla -e '0\.AS' -e 'eyJ' "$dir")"
}

# assert_enrolled [UPN] — result event, exit, status, journal, files and the
# simulator's enrollment record of a device that joined and enrolled.
assert_enrolled() {
  local r did thumb e
  r=$(result_event)
  assert_eq "$LJ_RC" 0 "exit code ($r $(tail -5 "$CASE/err.log"))"
  assert_eq "$(jq -r .status <<<"$r")" joined "status"
  assert_eq "$(jq -r .mdm.state <<<"$r")" enrolled "mdm.state"
  assert_eq "$(jq -r .mdm.server_url <<<"$r")" "$MGMT_URL" "mdm.server_url"
  assert_eq "$(jq -r .reason <<<"$r")" null "no reason on success"
  assert_eq "$(grep -c '"type":"result"' "$CASE/out.jsonl")" 1 "exactly one result"
  did=$(jq -r .device_id <<<"$r")
  thumb=$(openssl x509 -inform DER -in "$CASE/state/mdm-cert.der" -noout -fingerprint -sha1 |
    cut -d= -f2 | tr -d :)
  assert_eq "$(jq -r .mdm.cert_thumbprint <<<"$r")" "$thumb" "mdm.cert_thumbprint"
  assert_mode "$CASE/state/mdm-cert.der" 600
  assert_mode "$CASE/state/mdm-chain.pem" 600
  assert_mode "$CASE/state/journal.json" 600
  assert_file "$CASE/state/joined"
  assert_no_file "$CASE/state/mdm-pending"
  assert_no_file "$CASE/state/$SEALED"
  # the chain verifies the client certificate, whose key is the device key
  openssl x509 -inform DER -in "$CASE/state/mdm-cert.der" -out "$CASE/mdm.pem" || fail "mdm cert"
  openssl verify -partial_chain -CAfile "$CASE/state/mdm-chain.pem" "$CASE/mdm.pem" >/dev/null ||
    fail "mdm chain does not verify"
  openssl x509 -inform DER -in "$CASE/state/device-cert.der" -pubkey -noout >"$CASE/dev.pub"
  assert_eq "$(openssl x509 -in "$CASE/mdm.pem" -pubkey -noout)" "$(cat "$CASE/dev.pub")" \
    "MDM certificate key = device key"
  # status
  assert_rc 0 lj status --json --state-dir "$CASE/state"
  assert_eq "$(jq -r .state <<<"$OUT")" mdm_enrolled "journal state"
  assert_eq "$(jq -r .mdm_state <<<"$OUT")" enrolled
  assert_eq "$(jq -r .mdm_server_url <<<"$OUT")" "$MGMT_URL"
  assert_eq "$(jq -r .mdm_cert_thumbprint <<<"$OUT")" "$thumb"
  assert_eq "$(jq -r .last_error <<<"$OUT")" null
  local st=$OUT
  assert_rc 0 lj status --state-dir "$CASE/state"
  assert_contains "$OUT" "MdmState : enrolled"
  assert_contains "$OUT" "MdmUrl : $MGMT_URL"
  assert_contains "$OUT" "MdmCertThumbprint : $thumb"
  # the simulator's record
  e=$(sim_ctl GET "/control/enrollments/$did") || fail "no enrollment for $did"
  assert_eq "$(jq -r .thumbprint <<<"$e")" "$thumb" "sim thumbprint"
  assert_eq "$(jq -r .upn <<<"$e")" "${1:-alice@contoso.example}"
  assert_eq "$(jq -r .manufacturer <<<"$e")" "$MFR"
  assert_eq "$(jq -r .model <<<"$e")" "$MODEL"
  assert_eq "$(jq -r .serial <<<"$e")" "$SERIAL"
  assert_eq "$(jq -r .os_version <<<"$e")" 10.0.26100.1
  assert_eq "$(jq -r .id <<<"$e")" "$(jq -r .mdm_enrollment_id <<<"$st")" "Intune device id"
  assert_eq "$(sim_devices)" 1 "device objects"
  assert_no_token_in_clear
}

# assert_mdm_refused REASON CODE FIX_BY EXIT — joined, but Intune refused:
# status joined with the reason fields, nothing MDM stored, journal joined.
assert_mdm_refused() {
  local r
  r=$(result_event)
  [ -n "$r" ] || fail "no result event: $(cat "$CASE/out.jsonl") $(tail -20 "$CASE/err.log")"
  assert_eq "$LJ_RC" "$4" "exit code ($r)"
  assert_eq "$(jq -r .status <<<"$r")" joined "status: the device IS joined"
  assert_eq "$(jq -r .phase <<<"$r")" mdm "phase"
  assert_eq "$(jq -r .reason <<<"$r")" "$1" "reason ($r)"
  assert_eq "$(jq -r .code <<<"$r")" "$2" "code"
  assert_eq "$(jq -r .fix_by <<<"$r")" "$3" "fix_by"
  assert_eq "$(jq -r .retryable <<<"$r")" false "retryable"
  assert_eq "$(jq -r .mdm.state <<<"$r")" failed "mdm.state"
  assert_ne "$(jq -r .message <<<"$r")" null "message"
  assert_ne "$(jq -r .admin_action <<<"$r")" null "admin_action"
  assert_eq "$(grep -c '"type":"result"' "$CASE/out.jsonl")" 1 "exactly one result"
  # mdm = required (the default): joined but not managed is not "Done"
  assert_eq "$(jq -r .setup_complete <<<"$r")" false "result setup_complete"
  assert_eq "$(grep '"type":"progress"' "$CASE/out.jsonl" | tail -1 | jq -r .percent)" 95 \
    "the bar stops short of 100"
  assert_rc "$4" lj status --json --state-dir "$CASE/state"
  assert_eq "$(jq -r .setup_complete <<<"$OUT")" false "status setup_complete"
  assert_eq "$(jq -r .joined <<<"$OUT")" true
  assert_eq "$(jq -r .state <<<"$OUT")" joined "journal state"
  assert_eq "$(jq -r .mdm_state <<<"$OUT")" failed
  assert_eq "$(jq -r .last_error.reason <<<"$OUT")" "$1" "status last_error.reason"
  assert_eq "$(jq -r .last_error.phase <<<"$OUT")" mdm
  assert_file "$CASE/state/joined"
  assert_file "$CASE/state/device-cert.der"
  assert_no_file "$CASE/state/mdm-pending"
  assert_no_file "$CASE/state/mdm-cert.der"
  assert_no_file "$CASE/state/mdm-chain.pem"
  assert_no_file "$CASE/state/$SEALED"
  assert_eq "$(sim_devices)" 1 "device objects"
  assert_no_token_in_clear
}
SEALED=mdm-refresh.sealed

case_enrolled() {
  mdm_env
  run_device_code
  assert_enrolled
  # the policy service was used (discovery names it in this tenant)
  assert_eq "$(sim_ctl GET '/control/requests?path_prefix=/StatelessEnrollmentService/EnrollmentPolicy.svc' | jq length)" 1 "GetPolicies"
  # one sign-in prompt only
  assert_eq "$(grep -c '"kind":"device_code"' "$CASE/out.jsonl")" 1 "prompts"
  # a second run: already joined, nothing sent
  local before; before=$(sim_requests)
  lj_run_bg --ui stdio
  lj_wait
  assert_eq "$LJ_RC" 10 "second run exit"
  assert_eq "$(sim_requests)" "$before"
  # mdm-retry: nothing pending
  assert_rc 0 lj mdm-retry --config "$CASE/lj.conf"
  assert_contains "$OUT" "no Intune enrollment is pending"
}

# Exactly one User-Agent on every request (RFC 9110 5.3, 10.1.5: not a list):
# the Windows-platform linkjoin/VERSION (core/version.h) to login and DRS; ENROLLClient, the one Windows sends
# (fleetdm's captured Windows enrollment; AADInternals MDM_utils.ps1), to Intune.
case_one_user_agent() {
  local log ua
  mdm_env
  run_device_code
  assert_enrolled
  ua="Mozilla/5.0 (Windows NT 10.0; Win64; x64) linkjoin/$(sed -n 's/^#define LJ_VERSION "\(.*\)"$/\1/p' "$LJ_TOP/agent/core/version.h")"
  log=$(sim_ctl GET /control/requests)
  assert_eq "$(jq '[.[] | select(.user_agents != 1)] | length' <<<"$log")" 0 "requests without exactly one User-Agent: $(jq -c '[.[] | select(.user_agents != 1)]' <<<"$log")"
  for p in /contoso.example/discover /contoso.example/oauth2/devicecode /contoso.example/oauth2/token /EnrollmentServer/device/; do
    assert_eq "$(jq -r --arg p "$p" '[.[] | select(.path == $p) | .user_agent] | unique | join(",")' <<<"$log")" "$ua" "User-Agent on $p"
  done
  for p in /EnrollmentServer/Discovery.svc /StatelessEnrollmentService/EnrollmentPolicy.svc /StatelessEnrollmentService/DeviceEnrollment.svc; do
    assert_eq "$(jq -r --arg p "$p" '[.[] | select(.path == $p) | .user_agent] | unique | join(",")' <<<"$log")" ENROLLClient "User-Agent on $p"
    assert_eq "$(jq --arg p "$p" '[.[] | select(.path == $p)] | length' <<<"$log")" 1 "one request to $p"
  done
}

# The RST goes to EnrollmentServiceUrl with client-request-id in its query,
# as Windows' and AADInternals' (MDM_utils.ps1) do.  rst_query_is_activity_id:
# the one RST's query is exactly client-request-id=<the DiscoverResponse
# ActivityId> (entra-sim's ActivityId is the discovery's request_id).
rst_query_is_activity_id() {
  local q d
  d=$(sim_ctl GET '/control/requests?path_prefix=/EnrollmentServer/Discovery.svc' | jq -r '[.[] | select(.method == "POST")][0].request_id')
  q=$(sim_ctl GET '/control/requests?path_prefix=/StatelessEnrollmentService/DeviceEnrollment.svc' | jq -r '[.[].query] | join(" ")')
  [[ "$d" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] || fail "discovery request id '$d'"
  assert_eq "$q" "client-request-id=$d" "RST query"
}
# Intune's URL carries one: kept as it is, nothing added.
case_enroll_url_request_id_kept() {
  mdm_env
  run_device_code
  assert_enrolled
  rst_query_is_activity_id
}
# The URL has none: the agent appends the ActivityId (as AADInternals).
case_enroll_url_request_id_added() {
  mdm_env '{"enrollment_url_request_id":false}'
  run_device_code
  assert_enrolled
  rst_query_is_activity_id
}

case_enrolled_without_policy_service() {
  mdm_env '{"policy_service":false}'
  run_device_code
  assert_enrolled
  assert_eq "$(sim_ctl GET '/control/requests?path_prefix=/StatelessEnrollmentService/EnrollmentPolicy.svc' | jq length)" 0 "no GetPolicies"
}

# GetPolicies (MS-XCEP) is best effort: the policy service is optional (MS-MDE2
# 3.1.4.1.3.2) and AADInternals (MDM_utils.ps1 Enroll-DeviceToMDM) and pytune
# (device/windows.py) enroll with Intune without it, RSA-2048 / SHA-256.  A
# fault or an unreadable answer is logged and the RST goes on.
policy_best_effort() {
  mdm_env
  sim_ctl POST /control/faults "{\"path_prefix\":\"/StatelessEnrollmentService/EnrollmentPolicy.svc\",$1,\"count\":10}" >/dev/null ||
    fail "fault refused"
  run_device_code
  assert_enrolled
  assert_eq "$(sim_ctl GET '/control/requests?path_prefix=/StatelessEnrollmentService/EnrollmentPolicy.svc' | jq -c '[.[] | .status]')" "[$2]" "one GetPolicies, answered $2"
  assert_eq "$(sim_ctl GET '/control/requests?path_prefix=/StatelessEnrollmentService/DeviceEnrollment.svc' | jq -c '[.[] | .status]')" "[200]" "one RST"
  assert_contains "$(cat "$CASE/err.log")" "$3"
}
case_policy_fault_enrolls() {
  policy_best_effort '"kind":"status","status":400' 400 \
    "event=mdm_policy_unavailable reason=fault http=400 subcode=s:MessageFormat error_type=MessageFormat hresult=0x80180001 "
  assert_contains "$(cat "$CASE/err.log")" " then=rsa2048_sha256"
}
case_policy_unreadable_enrolls() {
  policy_best_effort '"kind":"malformed"' 200 \
    "event=mdm_policy_unavailable reason=unreadable http=200 why=bad_xml then=rsa2048_sha256"
}

case_not_in_scope() {
  mdm_env '{"mdm_user_scope":"none"}'
  run_device_code
  assert_mdm_refused mdm_not_in_scope 0x8018002b admin 7
  # no MDM claim in the id_token decides nothing by itself: Intune's fault does
  assert_contains "$(cat "$CASE/err.log")" "event=mdm_scope_claim present=no"
  [ "$(mdm_soap_requests)" -ge 1 ] || fail "Intune was not asked"
  assert_eq "$(sim_enrollments | jq length)" 0 "sim enrollments"
}

# mdm = optional: a joined device is complete even when Intune refuses.
case_platform_blocked_optional() {
  local r
  mdm_env '{"windows":"blocked"}'
  printf 'mdm = optional\n' >>"$CASE/lj.conf"
  run_device_code
  r=$(result_event)
  assert_eq "$LJ_RC" 0 "exit code ($r)"
  assert_eq "$(jq -r .status <<<"$r")" joined "status"
  assert_eq "$(jq -r .reason <<<"$r")" mdm_platform_blocked "reason"
  assert_eq "$(jq -r .setup_complete <<<"$r")" true "setup_complete"
  # status reads the same configuration to know the mode
  assert_rc 0 lj status --json --config "$CASE/lj.conf"
  assert_eq "$(jq -r .setup_complete <<<"$OUT")" true "status setup_complete"
  assert_eq "$(jq -r .mdm_mode <<<"$OUT")" optional "status mdm_mode"
  assert_eq "$(jq -r .mdm_state <<<"$OUT")" failed "status mdm_state"
}

case_platform_blocked() {
  mdm_env '{"windows":"blocked"}'
  run_device_code
  assert_mdm_refused mdm_platform_blocked 0x80180014 admin 7
  assert_contains "$(result_event | jq -r .server.error_type)" DeviceNotSupported
  assert_eq "$(sim_enrollments | jq length)" 0 "sim enrollments"
}

# The fault's s:Detail element under either name: Intune's
# DeviceEnrollmentServiceError (pytune's author's captures, windows-itpro-docs
# mobile-device-enrollment.md) or MS-DVRE 3.1.4.1.2.1 / MS-WSTEP's
# WindowsDeviceEnrollmentServiceError.  Only the detail carries ErrorType
# DeviceNotSupported (the Subcode is s:Authorization, 0x80180003), so the
# exact result proves the detail was read.
platform_blocked_detail() {
  mdm_env "{\"windows\":\"blocked\",\"fault_detail\":\"$1\"}"
  assert_eq "$(sim_ctl GET /control/intune | jq -r .fault_detail)" "$1" "sim fault_detail"
  run_device_code
  assert_mdm_refused mdm_platform_blocked 0x80180014 admin 7
  assert_eq "$(result_event | jq -r .server.error_type)" DeviceNotSupported "server.error_type"
  assert_contains "$(cat "$CASE/err.log")" "subcode=s:Authorization error_type=DeviceNotSupported hresult=0x80180014"
  assert_eq "$(sim_enrollments | jq length)" 0 "sim enrollments"
}
case_fault_detail_intune() { platform_blocked_detail DeviceEnrollmentServiceError; }
case_fault_detail_windows() { platform_blocked_detail WindowsDeviceEnrollmentServiceError; }

case_ownership_blocked() {
  local r
  mdm_env '{"block_personally_owned":true,"corporate_identifiers":["Microsoft Corporation,Windows 365 Link,OTHER-SERIAL"]}'
  run_device_code
  assert_mdm_refused mdm_ownership_blocked 0x80180014 admin 7
  r=$(result_event)
  # the exact CSV line for the upload (Windows 365 Link page "Configure enrollment
  # restrictions"); the person at the device is not shown the raw identifiers
  assert_contains "$(jq -r .admin_action <<<"$r")" "with the line $MFR,$MODEL,$SERIAL in Intune" \
    "admin action has the CSV line"
  assert_contains "$(jq -r .admin_action <<<"$r")" "Upload CSV file"
  assert_not_contains "$(jq -r .message <<<"$r")" "$SERIAL" "message has no serial"
  assert_eq "$(sim_enrollments | jq length)" 0 "sim enrollments"
}

case_ownership_corporate_enrolls() {
  mdm_env "{\"block_personally_owned\":true,\"corporate_identifiers\":[\"$MFR,$MODEL,$SERIAL\"]}"
  run_device_code
  assert_enrolled
  assert_eq "$(sim_enrollments | jq -r '.[0].corporate_identifier')" true "matched a corporate identifier"
}

case_device_cap() {
  mdm_env '{"device_limit":1}'
  # a first device of alice's enrolls...
  run_device_code
  assert_enrolled
  # ...a second one (its own TPM and state directory) joins but hits the cap
  mv "$CASE/state" "$CASE/state1"
  swtpm_start "$CASE/tpm2"
  mdm_conf "$CASE/lj.conf" "$CASE/state"
  run_device_code
  assert_eq "$(sim_devices)" 2 "device objects"
  sim_ctl DELETE "/control/devices/$(jq -r .device_id "$CASE/state1/journal.json")" >/dev/null
  assert_mdm_refused mdm_device_cap 0x80180013 user 7
  assert_eq "$(sim_enrollments | jq length)" 1 "sim enrollments: only the first device"
}

case_no_licence() {
  mdm_env
  sim_ctl PATCH /control/users/alice@contoso.example '{"licenses":["entra_p1"]}' >/dev/null
  run_device_code
  assert_mdm_refused mdm_license_missing 0x80180018 admin 7
  assert_eq "$(sim_enrollments | jq length)" 0 "sim enrollments"
}

# Intune answers 503 to every enrollment request: joined, MDM pending.
pending_run() {
  mdm_env
  sim_ctl POST /control/faults '{"path_prefix":"/StatelessEnrollmentService/DeviceEnrollment.svc","kind":"status","status":503,"count":1000}' >/dev/null
  run_device_code
  local r; r=$(result_event)
  assert_eq "$LJ_RC" 11 "exit code ($r $(tail -5 "$CASE/err.log"))"
  assert_eq "$(jq -r .status <<<"$r")" joined_mdm_pending "status"
  assert_eq "$(jq -r .reason <<<"$r")" joined_mdm_pending "reason"
  assert_eq "$(jq -r .phase <<<"$r")" mdm
  assert_eq "$(jq -r .fix_by <<<"$r")" retry
  assert_eq "$(jq -r .retryable <<<"$r")" true
  assert_eq "$(jq -r .mdm.state <<<"$r")" pending
  assert_eq "$(jq -r .server.http_status <<<"$r")" 503
  assert_contains "$(jq -r .message <<<"$r")" "joined"
  assert_eq "$(sim_ctl GET '/control/requests?path_prefix=/StatelessEnrollmentService/DeviceEnrollment.svc' | jq length)" 3 "bounded: 3 attempts"
  assert_rc 11 lj status --json --state-dir "$CASE/state"
  assert_eq "$(jq -r .state <<<"$OUT")" mdm_pending "journal state"
  assert_eq "$(jq -r .mdm_state <<<"$OUT")" pending
  assert_eq "$(jq -r .joined <<<"$OUT")" true
  assert_file "$CASE/state/joined"
  assert_file "$CASE/state/mdm-pending"
  assert_file "$CASE/state/$SEALED"
  assert_mode "$CASE/state/$SEALED" 600
  assert_no_file "$CASE/state/mdm-cert.der"
  assert_no_token_in_clear
  assert_eq "$(sim_enrollments | jq length)" 0 "sim enrollments"
  sim_ctl DELETE /control/faults >/dev/null
}

case_pending_then_mdm_retry() {
  local codes
  pending_run
  codes=$(sim_ctl GET /control/devicecodes | jq length)
  : >"$CASE/out.jsonl"
  assert_rc 0 lj mdm-retry --config "$CASE/lj.conf" --ui stdio
  grep '"type"' <<<"$OUT" >"$CASE/out.jsonl"
  LJ_RC=0
  assert_not_contains "$OUT" '"type":"prompt"' "no sign-in prompt"
  assert_eq "$(sim_ctl GET /control/devicecodes | jq length)" "$codes" "no new device code"
  assert_enrolled
  # the timer again: nothing pending
  assert_rc 0 lj mdm-retry --config "$CASE/lj.conf"
}

case_pending_then_run() {
  pending_run
  lj_run_bg --ui stdio
  lj_wait
  assert_not_contains "$(cat "$CASE/out.jsonl")" '"type":"prompt"' "no sign-in prompt"
  assert_enrolled
}

# run and mdm-retry on one state directory at once: run holds the state
# directory's lock (its enrollment slowed by 3 s), mdm-retry ends at once
# with exit 17 and says why; status still reads; one enrollment request,
# one MDM certificate.
case_pending_run_and_mdm_retry_at_once() {
  local enr
  pending_run
  sim_ctl POST /control/faults '{"path_prefix":"/StatelessEnrollmentService/DeviceEnrollment.svc","kind":"delay","delay_ms":3000,"count":1}' >/dev/null
  lj_run_bg --ui stdio
  for _ in $(seq 200); do grep -q 'mod=mdm' "$CASE/err.log" && break; sleep 0.05; done
  kill -0 "$LJ_PID" 2>/dev/null || fail "run ended before mdm-retry started"
  assert_rc 17 lj mdm-retry --config "$CASE/lj.conf"
  assert_contains "$OUT" "linkjoin mdm-retry: another linkjoin command is using the state directory $CASE/state"
  assert_rc 11 lj status --json --state-dir "$CASE/state"
  lj_wait
  assert_enrolled
  enr=$(sim_ctl GET '/control/requests?path_prefix=/StatelessEnrollmentService/DeviceEnrollment.svc' | jq length)
  assert_eq "$enr" 4 "enrollment requests (3 while pending, then one)"
  assert_eq "$(sim_enrollments | jq length)" 1 "sim enrollments"
  # and the other way round: mdm-retry holds it, run waits for nobody
  assert_rc 0 lj mdm-retry --config "$CASE/lj.conf"
}

case_pending_mdm_retry_text() {
  pending_run
  sim_ctl POST /control/faults '{"path_prefix":"/StatelessEnrollmentService/DeviceEnrollment.svc","kind":"status","status":503,"count":1000}' >/dev/null
  assert_rc 11 lj mdm-retry --config "$CASE/lj.conf"
  assert_contains "$OUT" "Device management (Intune) enrollment is not finished yet"
  assert_file "$CASE/state/$SEALED"
  assert_file "$CASE/state/mdm-pending"
  assert_no_token_in_clear
}

case_pending_revoked_signin() {
  local r code
  pending_run
  sim_ctl POST /control/refresh-tokens/revoke '{"upn":"alice@contoso.example"}' >/dev/null
  # the timer cannot prompt: exit 6, still pending, the useless sealed token gone
  assert_rc 6 lj mdm-retry --config "$CASE/lj.conf" --ui stdio
  r=$(grep '"type":"result"' <<<"$OUT")
  assert_eq "$(jq -r .status <<<"$r")" joined_mdm_pending
  assert_eq "$(jq -r .reason <<<"$r")" signin_session_expired
  assert_eq "$(jq -r .server.error_code <<<"$r")" AADSTS50173
  assert_rc 11 lj status --json --state-dir "$CASE/state"
  assert_eq "$(jq -r .state <<<"$OUT")" mdm_pending
  assert_eq "$(jq -r .last_error.reason <<<"$OUT")" signin_session_expired
  assert_no_file "$CASE/state/$SEALED"
  assert_file "$CASE/state/mdm-pending"
  assert_rc 6 lj mdm-retry --config "$CASE/lj.conf"
  # `run` asks for a new sign-in and enrolls without re-joining
  run_device_code
  assert_eq "$(grep -c '"kind":"device_code"' "$CASE/out.jsonl")" 1 "a new sign-in prompt"
  assert_enrolled
}

# The kept sign-in is sealed to PCR 7 (the boot state) where the platform
# measures it: after the boot state changed, mdm-retry cannot unseal it,
# treats it as no kept sign-in (the timer cannot prompt: exit 6, still
# pending), and `run` asks for a new sign-in.
case_pending_boot_state_changed() {
  mdm_env
  TPM2TOOLS_TCTI=$TCTI tpm2_pcrextend "7:sha256=$(printf 'secure boot on' | sha256sum | cut -c1-64)" || fail "pcrextend"
  sim_ctl POST /control/faults '{"path_prefix":"/StatelessEnrollmentService/DeviceEnrollment.svc","kind":"status","status":503,"count":1000}' >/dev/null
  run_device_code
  assert_eq "$LJ_RC" 11 "pending"
  grep -q "event=seal_policy policy=pcr7" "$CASE/err.log" || fail "not sealed to PCR 7"
  sim_ctl DELETE /control/faults >/dev/null
  TPM2TOOLS_TCTI=$TCTI tpm2_pcrextend "7:sha256=$(printf 'secure boot off' | sha256sum | cut -c1-64)" || fail "pcrextend"
  assert_rc 6 lj mdm-retry --config "$CASE/lj.conf" --ui stdio
  assert_contains "$OUT" "event=unseal_refused reason=\"boot state changed: PCR 7 is not what it was when sealed\""
  assert_eq "$(jq -r .status <<<"$(grep '"type":"result"' <<<"$OUT")")" joined_mdm_pending
  assert_file "$CASE/state/mdm-pending"
  run_device_code
  assert_eq "$(grep -c '"kind":"device_code"' "$CASE/out.jsonl")" 1 "a new sign-in prompt"
  assert_enrolled
}

# A discovery answer naming an enrollment service outside Microsoft's Intune
# hosts (*.manage.microsoft.com, or the configured mdm_url's host) never gets
# the Intune token: bad_service_response before any RST is sent.
case_discovery_foreign_host() {
  mdm_env '{"enrollment_host":"enroll.contoso-evil.example"}'
  run_device_code
  assert_mdm_refused bad_service_response 0x80180001 support 8
  assert_contains "$(cat "$CASE/err.log")" "event=mdm_discovery_refused reason=not_an_intune_host"
  assert_eq "$(sim_ctl GET '/control/requests?path_prefix=/StatelessEnrollmentService' | jq length)" 0 \
    "no policy or enrollment request went anywhere"
}

# Bad answers from Intune: bad_service_response with the enrollment client's
# code for an unusable message (0x80180001 MENROLL_E_DEVICE_MESSAGE_FORMAT_ERROR,
# not DRS's 0x801c0001), nothing stored, no crash.
bad_answer() {
  mdm_env
  sim_ctl POST /control/faults "$1" >/dev/null
  run_device_code
  assert_mdm_refused bad_service_response "$2" support 8
  assert_contains "$(cat "$CASE/err.log")" "event=mdm_outcome"
}
case_malformed_soap() {
  bad_answer '{"path_prefix":"/StatelessEnrollmentService/DeviceEnrollment.svc","kind":"malformed"}' 0x80180001
}
case_xml_bomb() {
  bad_answer '{"path_prefix":"/StatelessEnrollmentService/DeviceEnrollment.svc","kind":"xml_bomb"}' 0x80180001
}
case_deep_discovery() {
  bad_answer '{"path_prefix":"/EnrollmentServer/Discovery.svc","method":"POST","kind":"deep","depth":5000}' 0x80180001
}

tcase mdm_enrolled case_enrolled
tcase mdm_discovery_foreign_host_refused case_discovery_foreign_host
tcase mdm_one_user_agent_per_request case_one_user_agent
tcase mdm_enrolled_without_policy_service case_enrolled_without_policy_service
tcase mdm_enroll_url_client_request_id_kept case_enroll_url_request_id_kept
tcase mdm_enroll_url_client_request_id_added case_enroll_url_request_id_added
tcase mdm_policy_fault_enrolls case_policy_fault_enrolls
tcase mdm_policy_unreadable_enrolls case_policy_unreadable_enrolls
tcase mdm_not_in_scope case_not_in_scope
tcase mdm_platform_blocked case_platform_blocked
tcase mdm_platform_blocked_optional_is_complete case_platform_blocked_optional
tcase mdm_fault_detail_DeviceEnrollmentServiceError case_fault_detail_intune
tcase mdm_fault_detail_WindowsDeviceEnrollmentServiceError case_fault_detail_windows
tcase mdm_ownership_blocked_names_identity case_ownership_blocked
tcase mdm_ownership_corporate_identifier_enrolls case_ownership_corporate_enrolls
tcase mdm_device_cap case_device_cap
tcase mdm_license_missing case_no_licence
tcase mdm_503_pending_then_mdm_retry_no_prompt case_pending_then_mdm_retry
tcase mdm_503_pending_then_run_no_prompt case_pending_then_run
tcase mdm_pending_run_and_mdm_retry_at_once case_pending_run_and_mdm_retry_at_once
tcase mdm_retry_still_pending_text case_pending_mdm_retry_text
tcase mdm_pending_revoked_signin_asks_again case_pending_revoked_signin
tcase mdm_pending_boot_state_changed_asks_again case_pending_boot_state_changed
tcase mdm_malformed_soap case_malformed_soap
tcase mdm_xml_bomb case_xml_bomb
tcase mdm_deep_xml_discovery case_deep_discovery
