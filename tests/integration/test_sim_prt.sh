#!/usr/bin/env bash
# entra-sim Primary Refresh Token grants on login.microsoftonline.com:
# srv_challenge nonces, the device-key (RS256) PRT request, the session-key
# (HS256) requests for an Intune token, other resources and PRT renewal,
# and every refusal (bad signature, foreign certificate, stale/unknown
# nonce, missing windows_api_version, unknown PRT, bad HS256 signature,
# AADSTS50155 / 135011 / 700003).  The client is tests/integration/
# prt_client.py (python3-cryptography, written from ROADtools roadlib
# deviceauth.py and [MS-OAPXBC]); the device is joined by a real DRS join
# made with openssl.  No agent code.
. "$(dirname "$0")/lib.sh"
DEMO=$LJ_TOP/hw-sim/tenants/demo.json
TOK=https://login.microsoftonline.com/contoso.example/oauth2/token
BEARER=urn:ietf:params:oauth:grant-type:jwt-bearer
INTUNE=https://enrollment.manage.microsoft.com/
pc() { python3 "$LJ_TOP/tests/integration/prt_client.py" "$@"; }

# Device key K1 (CSR), transport key K2; a tenant with the real service's behaviour.
K1=$LJ_SCRIPT_TMP/k1.pem K2=$LJ_SCRIPT_TMP/k2.pem KX=$LJ_SCRIPT_TMP/kx.pem
sim_keygen "$K1"; sim_keygen "$K2"; sim_keygen "$KX"
sim_join_body "$K1" "$K2" >"$LJ_SCRIPT_TMP/jb.json"
REAL=$LJ_SCRIPT_TMP/real.json
jq '.intune.require_device_claim=true | .intune.mdm_claims_in_access_token=false' "$DEMO" >"$REAL"

# setup [TENANT] — simulator, joined device (DEV, CERT = base64 DER) and alice's refresh token (LJ_RT).
setup() {
  sim_start "${1:-$REAL}"
  sim_join "$(sim_token alice@contoso.example)" "$LJ_SCRIPT_TMP/jb.json"
  assert_eq "$HTTP_STATUS" 200 "join ($BODY)"
  CERT=$(jq -r .Certificate.RawBody <<<"$BODY")
  DEV=$(sim_join_device_id)
  sim_ropc alice@contoso.example 'Demo-Passw0rd!'
  assert_eq "$HTTP_STATUS" 200 "sign-in"
  LJ_RT=$(jq -r .refresh_token <<<"$BODY"); export LJ_RT
}
# nonce [PATH] — a fresh nonce from srv_challenge (sets NONCE).
nonce() {
  sim_req "https://login.microsoftonline.com/${1:-contoso.example}/oauth2/token" -d grant_type=srv_challenge
  assert_eq "$HTTP_STATUS" 200 "srv_challenge ($BODY)"
  NONCE=$(jq -r .Nonce <<<"$BODY")
  [ -n "$NONCE" ] && [ "$NONCE" != null ] || fail "no Nonce: $BODY"
}
# bearer JWT [WINDOWS_API_VERSION|-] — the jwt-bearer grant (- leaves windows_api_version out).
bearer() {
  local wav=()
  [ "${2:-2.0}" = - ] || wav=(--data-urlencode "windows_api_version=${2:-2.0}")
  sim_req "$TOK" "${wav[@]}" --data-urlencode "grant_type=$BEARER" --data-urlencode "request=$1" -d client_info=1
}
# get_prt [rs256 OPTIONS] — a PRT (LJ_PRT) and its session key (LJ_SKEY) for the joined device.
get_prt() {
  nonce
  bearer "$(pc rs256 "$K1" "$CERT" "$NONCE" "$@")"
  assert_eq "$HTTP_STATUS" 200 "PRT request ($BODY)"
  PRT_BODY=$BODY
  LJ_PRT=$(jq -r .refresh_token <<<"$BODY"); export LJ_PRT
  LJ_SKEY=$(jq -r .session_key_jwe <<<"$BODY" | pc unwrap "$K2") || fail "session_key_jwe does not open with the transport key"
  export LJ_SKEY
}
# prt_call MODE [hs256 OPTIONS] — a session-key request; on 200 PLAIN gets the decrypted answer.
prt_call() {
  nonce
  bearer "$(pc hs256 "$NONCE" "$@")"
  PLAIN=
  if [ "$HTTP_STATUS" = 200 ]; then
    PLAIN=$(pc decrypt <<<"$BODY") || fail "answer does not decrypt: $(head -c 300 <<<"$BODY")"
  fi
}
# assert_aadsts CODE [ERROR] — Entra's token error shape with AADSTS CODE, HTTP 400.
assert_aadsts() {
  assert_eq "$HTTP_STATUS" 400 "status ($BODY)"
  assert_eq "$(jq -r .error <<<"$BODY")" "${2:-invalid_grant}" "error ($BODY)"
  assert_eq "$(jq -c .error_codes <<<"$BODY")" "[$1]" "error_codes"
  [[ "$(jq -r .error_description <<<"$BODY")" == "AADSTS$1: "* ]] || fail "error_description: $BODY"
  for k in timestamp trace_id correlation_id; do
    [ "$(jq -r ".$k" <<<"$BODY")" != null ] || fail "no $k: $BODY"
  done
}

# ---- success paths ----

t_nonce() {
  sim_start "$REAL"
  nonce; local a=$NONCE
  nonce common; local b=$NONCE
  assert_ne "$a" "$b" "nonces are fresh"
  nonce Common # AADInternals Get-AADIntUserPRTToken spells it so
  assert_contains "$HEADERS" "application/json"
}
t_prt_and_intune_token() {
  setup; get_prt
  # The answer's shape (ROADtools get_prt_with_refresh_token, AADInternals Get-AADIntUserPRTToken).
  assert_eq "$(jq -r '[.token_type,.expires_in,.ext_expires_in,(.refresh_token_expires_in|type)]|join(",")' <<<"$PRT_BODY")" "pop,1209599,1209599,number"
  [[ "$(jq -r .expires_on <<<"$PRT_BODY")" =~ ^[0-9]+$ ]] || fail "expires_on: $PRT_BODY"
  assert_eq "$(jq -r .session_key_jwe <<<"$PRT_BODY" | tr -cd . | wc -c)" 4 "JWE segments"
  assert_eq "$(jwt_claims "$(jq -r .id_token <<<"$PRT_BODY")" | jq -r '[.aud,.upn]|join(",")')" "29d9ed98-a469-4536-ade2-f981bc1d605e,alice@contoso.example"
  assert_contains "$(jq -r .client_info <<<"$PRT_BODY" | tr '_-' '/+' | base64 -d 2>/dev/null)" '"utid":"'
  # The Intune token through the PRT carries the device.
  prt_call intune
  assert_eq "$HTTP_STATUS" 200 "HS256 request ($BODY)"
  assert_contains "$HEADERS" "application/jose"
  local c; c=$(jwt_claims "$(jq -r .access_token <<<"$PLAIN")")
  assert_eq "$(jq -r .deviceid <<<"$c")" "$DEV" "deviceid"
  assert_eq "$(jq -r .aud <<<"$c")" "$INTUNE"
  assert_eq "$(jq -r .upn <<<"$c")" alice@contoso.example
  assert_eq "$(jq -r .tid <<<"$c")" "$(jq -r .tenant_id "$DEMO")"
  [[ "$(jq -r .oid <<<"$c")" =~ ^[0-9a-f-]{36}$ ]] || fail "oid: $c"
  assert_eq "$(jq -r '[.token_type,.expires_in]|join(",")' <<<"$PLAIN")" "Bearer,3599"
  [ "$(jq -r .refresh_token <<<"$PLAIN")" != null ] || fail "no refresh_token: $PLAIN"
  # The device's object says where it stands.
  assert_eq "$(sim_ctl GET "/control/devices/$DEV" | jq -c '[.enabled,.auth_not_ready,.transport_key]')" '[true,0,true]'
}
t_prt_x5c_string() {
  setup; get_prt x5c_string
  prt_call intune; assert_eq "$HTTP_STATUS" 200 "$BODY"
}
t_prt_password() {
  setup
  LJ_UPN=alice@contoso.example LJ_PW='Demo-Passw0rd!' get_prt password
  prt_call intune; assert_eq "$HTTP_STATUS" 200 "$BODY"
  nonce
  LJ_UPN=alice@contoso.example LJ_PW=wrong bearer "$(LJ_UPN=alice@contoso.example LJ_PW=wrong pc rs256 "$K1" "$CERT" "$NONCE" password)"
  assert_aadsts 50126
}
t_prt_graph_kdf1() {
  setup; get_prt
  prt_call graph kdf1
  assert_eq "$HTTP_STATUS" 200 "$BODY"
  local c; c=$(jwt_claims "$(jq -r .access_token <<<"$PLAIN")")
  assert_eq "$(jq -r '[.aud,.deviceid]|join(",")' <<<"$c")" "https://graph.microsoft.com,$DEV"
}
t_prt_renew() {
  setup; get_prt
  local old=$LJ_PRT
  prt_call renew
  assert_eq "$HTTP_STATUS" 200 "$BODY"
  LJ_PRT=$(jq -r .refresh_token <<<"$PLAIN")
  assert_ne "$LJ_PRT" "$old" "a new PRT"
  [[ "$(jq -r .refresh_token_expires_in <<<"$PLAIN")" =~ ^[0-9]+$ ]] || fail "refresh_token_expires_in: $PLAIN"
  # The same session key signs with the new PRT.
  prt_call intune
  assert_eq "$HTTP_STATUS" 200 "$BODY"
  assert_eq "$(jwt_claims "$(jq -r .access_token <<<"$PLAIN")" | jq -r .deviceid)" "$DEV"
}
t_prt_broker_aza() {
  # resource + scope "openid aza": an access token and a new PRT (ROADtools aad_brokerplugin_prt_auth).
  setup; get_prt
  local old=$LJ_PRT
  prt_call graph_aza
  assert_eq "$HTTP_STATUS" 200 "$BODY"
  assert_eq "$(jwt_claims "$(jq -r .access_token <<<"$PLAIN")" | jq -r .deviceid)" "$DEV"
  LJ_PRT=$(jq -r .refresh_token <<<"$PLAIN")
  assert_ne "$LJ_PRT" "$old" "a new PRT"
  prt_call intune
  assert_eq "$HTTP_STATUS" 200 "the new PRT works ($BODY)"
}
t_api_version_22() {
  setup; nonce
  bearer "$(pc rs256 "$K1" "$CERT" "$NONCE")" 2.2
  assert_eq "$HTTP_STATUS" 200 "$BODY"
}

# ---- refusals ----

t_bad_signature() {
  setup; nonce
  bearer "$(pc rs256 "$K1" "$CERT" "$NONCE" bad_sig)"
  assert_aadsts 50155
}
t_foreign_certificate() {
  # Same subject, same key, but self-signed instead of issued by the DRS device CA.
  setup; nonce
  local c; c=$(openssl req -new -x509 -key "$K1" -subj "/CN=$DEV" -days 1 -outform DER 2>/dev/null | base64 -w0)
  bearer "$(pc rs256 "$K1" "$c" "$NONCE")"
  assert_aadsts 50155
  # A real device certificate presented with another key's signature.
  nonce
  bearer "$(pc rs256 "$KX" "$CERT" "$NONCE")"
  assert_aadsts 50155
}
t_stale_nonce() {
  setup; nonce
  sim_ctl PUT /control/prt '{"nonce_lifetime_s":0}' >/dev/null
  bearer "$(pc rs256 "$K1" "$CERT" "$NONCE")"
  assert_aadsts 140000
}
t_unknown_nonce() {
  setup
  bearer "$(pc rs256 "$K1" "$CERT" "AwABAAAAnot-a-nonce-of-this-server")"
  assert_aadsts 140000
  nonce
  bearer "$(pc rs256 "$K1" "$CERT" "$NONCE" no_nonce)"
  assert_aadsts 140000 invalid_request
}
t_missing_api_version() {
  setup; nonce
  bearer "$(pc rs256 "$K1" "$CERT" "$NONCE")" -
  assert_aadsts 900144 invalid_request
  assert_contains "$(jq -r .error_description <<<"$BODY")" "'windows_api_version'"
  bearer "$(pc rs256 "$K1" "$CERT" "$NONCE")" 1.0
  assert_aadsts 9002313 invalid_request
  bearer "not.a-jws"
  assert_aadsts 9002313 invalid_request
}
t_unknown_prt() {
  setup; get_prt
  LJ_PRT=0.AS.PRTnot-a-prt-of-this-server prt_call intune
  assert_aadsts 9002313
}
t_bad_hs256_signature() {
  setup; get_prt
  prt_call intune bad_sig
  assert_aadsts 140001
  # The right signature with another session key.
  LJ_SKEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n') prt_call intune
  assert_aadsts 140001
}
t_stale_nonce_hs256() {
  setup; get_prt
  sim_ctl PUT /control/prt '{"nonce_lifetime_s":0}' >/dev/null
  prt_call intune
  assert_aadsts 140000
}
t_not_ready_after_join() {
  # "The first N device-authenticated requests after a join" (tenant prt.auth_not_ready_after_join).
  sim_start "$REAL"
  sim_ctl PUT /control/prt '{"auth_not_ready_after_join":2}' >/dev/null
  sim_join "$(sim_token alice@contoso.example)" "$LJ_SCRIPT_TMP/jb.json"; assert_eq "$HTTP_STATUS" 200
  CERT=$(jq -r .Certificate.RawBody <<<"$BODY"); DEV=$(sim_join_device_id)
  sim_ropc alice@contoso.example 'Demo-Passw0rd!'; LJ_RT=$(jq -r .refresh_token <<<"$BODY"); export LJ_RT
  for _ in 1 2; do
    nonce; bearer "$(pc rs256 "$K1" "$CERT" "$NONCE")"; assert_aadsts 50155
  done
  get_prt
}
t_not_ready_per_device() {
  setup; get_prt
  assert_eq "$(sim_ctl PATCH "/control/devices/$DEV" '{"auth_not_ready":1}' | jq -r .auth_not_ready)" 1
  prt_call intune; assert_aadsts 50155
  prt_call intune; assert_eq "$HTTP_STATUS" 200 "$BODY"
}
t_device_disabled() {
  setup; get_prt
  assert_eq "$(sim_ctl PATCH "/control/devices/$DEV" '{"enabled":false}' | jq -r .enabled)" false
  prt_call intune; assert_aadsts 135011
  assert_eq "$(jq -r .error_description <<<"$BODY" | head -1 | tr -d '\r')" "AADSTS135011: Device used during the authentication is disabled."
  nonce; bearer "$(pc rs256 "$K1" "$CERT" "$NONCE")"; assert_aadsts 135011
  sim_ctl PATCH "/control/devices/$DEV" '{"enabled":true}' >/dev/null
  prt_call intune; assert_eq "$HTTP_STATUS" 200 "$BODY"
}
t_device_deleted() {
  setup; get_prt
  sim_ctl DELETE "/control/devices/$DEV" >/dev/null
  prt_call intune; assert_aadsts 700003
  assert_contains "$(jq -r .error_description <<<"$BODY")" "Device object was not found in the tenant"
  nonce; bearer "$(pc rs256 "$K1" "$CERT" "$NONCE")"; assert_aadsts 700003
}
t_device_deleted_by_drs() {
  setup; get_prt
  openssl x509 -inform der -in <(base64 -d <<<"$CERT") -out "$CASE/dev.pem"
  sim_req "https://enterpriseregistration.windows.net/EnrollmentServer/device/$DEV?api-version=1.0" \
    -X DELETE --cert "$CASE/dev.pem" --key "$K1"
  assert_eq "$HTTP_STATUS" 200 "DRS delete ($BODY)"
  prt_call intune; assert_aadsts 700003
}
t_reset_drops_prt() {
  setup; get_prt
  assert_eq "$(sim_ctl GET /control/state | jq -r .prts)" 1
  sim_ctl POST /control/reset >/dev/null
  assert_eq "$(sim_ctl GET /control/state | jq -r .prts)" 0
  prt_call intune; assert_aadsts 9002313
}
t_clean_exit_after_prt_traffic() {
  # Every PRT path once, then a clean exit (SIM_VALGRIND=1: no leak or memory error).
  setup; get_prt; prt_call intune; prt_call renew; prt_call graph kdf1 bad_sig
  nonce; bearer "$(pc rs256 "$K1" "$CERT" "$NONCE" bad_sig)"
  bearer "not.a-jws"
  sim_ctl PATCH "/control/devices/$DEV" '{"enabled":false}' >/dev/null; prt_call intune
  sim_ctl DELETE "/control/devices/$DEV" >/dev/null; prt_call intune
  sim_stop; local rc=$?
  assert_eq "$rc" 0 "exit status after traffic"
  assert_not_contains "$(cat "$SIM_LOG")" "ERROR: AddressSanitizer"
  assert_not_contains "$(cat "$SIM_LOG")" "runtime error"
}
t_control_prt_settings() {
  sim_start "$REAL"
  assert_eq "$(sim_ctl GET /control/prt | jq -c .)" '{"nonce_lifetime_s":300,"lifetime_s":1209600,"auth_not_ready_after_join":0}'
  sim_ctl PUT /control/prt '{"lifetime_s":0}' >/dev/null 2>&1 && fail "lifetime_s 0 accepted"
  sim_ctl PATCH /control/devices/nope '{"enabled":false}' >/dev/null 2>&1 && fail "unknown device patched"
  jq '.prt={"lifetime_s":120}' "$REAL" >"$CASE/t.json"
  sim_stop; sim_start "$CASE/t.json"
  assert_eq "$(sim_ctl GET /control/prt | jq -r .lifetime_s)" 120
}

tcase prt_nonce t_nonce
tcase prt_and_intune_token t_prt_and_intune_token
tcase prt_x5c_string t_prt_x5c_string
tcase prt_password t_prt_password
tcase prt_graph_kdf1 t_prt_graph_kdf1
tcase prt_renew t_prt_renew
tcase prt_broker_aza t_prt_broker_aza
tcase prt_api_version_22 t_api_version_22
tcase prt_bad_signature t_bad_signature
tcase prt_foreign_certificate t_foreign_certificate
tcase prt_stale_nonce t_stale_nonce
tcase prt_unknown_nonce t_unknown_nonce
tcase prt_missing_api_version t_missing_api_version
tcase prt_unknown_prt t_unknown_prt
tcase prt_bad_hs256_signature t_bad_hs256_signature
tcase prt_stale_nonce_hs256 t_stale_nonce_hs256
tcase prt_not_ready_after_join t_not_ready_after_join
tcase prt_not_ready_per_device t_not_ready_per_device
tcase prt_device_disabled t_device_disabled
tcase prt_device_deleted t_device_deleted
tcase prt_device_deleted_by_drs t_device_deleted_by_drs
tcase prt_reset_drops_prt t_reset_drops_prt
tcase prt_control_settings t_control_prt_settings
tcase prt_clean_exit_after_traffic t_clean_exit_after_prt_traffic
