#!/usr/bin/env bash
# entra-sim login: ROPC, device code, auth code + PKCE, refresh, metadata,
# and every AADSTS error the issue lists, in Entra's error shape.
. "$(dirname "$0")/lib.sh"
DEMO=$LJ_TOP/hw-sim/tenants/demo.json
CID=29d9ed98-a469-4536-ade2-f981bc1d605e
DRS=urn:ms-drs:enterpriseregistration.windows.net
L=https://login.microsoftonline.com

# assert_aadsts STATUS ERROR CODE — the last response is an Entra error.
assert_aadsts() {
  assert_eq "$HTTP_STATUS" "$1" "status"
  assert_eq "$(jq -r .error <<<"$BODY")" "$2" "error"
  assert_eq "$(jq -r '.error_codes[0]' <<<"$BODY")" "$3" "error code"
  assert_contains "$(jq -r .error_description <<<"$BODY")" "AADSTS$3: "
  assert_contains "$(jq -r .error_description <<<"$BODY")" "Trace ID: "
  assert_contains "$(jq -r .error_description <<<"$BODY")" "Correlation ID: "
  assert_contains "$(jq -r .error_description <<<"$BODY")" "Timestamp: "
  [ "$(jq -r '.trace_id, .correlation_id, .timestamp' <<<"$BODY" | grep -c null)" = 0 ] || fail "missing ids: $BODY"
}

t_ropc_v1() {
  sim_start "$DEMO"
  sim_ropc alice@contoso.example 'Demo-Passw0rd!'
  assert_eq "$HTTP_STATUS" 200
  assert_eq "$(jq -r .token_type <<<"$BODY")" Bearer
  assert_eq "$(jq -r '.expires_in|type' <<<"$BODY")" string "v1 numbers are strings"
  assert_eq "$(jq -r .resource <<<"$BODY")" "$DRS"
  local at; at=$(jq -r .access_token <<<"$BODY")
  local c; c=$(jwt_claims "$at")
  assert_eq "$(jq -r .aud <<<"$c")" "$DRS"
  assert_eq "$(jq -r .tid <<<"$c")" 6b1c2a3e-0f4d-4c55-9a77-1e2f3a4b5c6d
  assert_eq "$(jq -r .oid <<<"$c")" 0a2c1b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
  assert_eq "$(jq -r .upn <<<"$c")" alice@contoso.example
  assert_eq "$(jq -c .amr <<<"$c")" '["pwd"]'
  [ "$(jq -r '.exp - .iat' <<<"$c")" = 3599 ] || fail "lifetime"
  [ "$(jq -r .refresh_token <<<"$BODY")" != null ] || fail "no refresh token"
  assert_contains "$HEADERS" "request-id: "
  assert_contains "$HEADERS" "x-ms-request-id: "
}

t_ropc_v2_appid() {
  sim_start "$DEMO"
  sim_req $L/organizations/oauth2/v2.0/token -d grant_type=password -d client_id=$CID \
    --data-urlencode 'scope=01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9/.default offline_access openid' \
    -d username=alice@contoso.example --data-urlencode 'password=Demo-Passw0rd!'
  assert_eq "$HTTP_STATUS" 200
  assert_eq "$(jq -r '.expires_in|type' <<<"$BODY")" number
  assert_eq "$(jq -r .aud <<<"$(jwt_claims "$(jq -r .access_token <<<"$BODY")")")" 01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9
  [ "$(jq -r .id_token <<<"$BODY")" != null ] || fail "no id_token"
  [ "$(jq -r .refresh_token <<<"$BODY")" != null ] || fail "no refresh_token with offline_access"
}

t_err_50126() { sim_start "$DEMO"; sim_ropc alice@contoso.example wrong; assert_aadsts 400 invalid_grant 50126; }
t_err_50034() { sim_start "$DEMO"; sim_ropc ghost@contoso.example x; assert_aadsts 400 invalid_grant 50034; }
t_err_50057() { sim_start "$DEMO"; sim_ropc disabled@contoso.example 'Disabled-1!'; assert_aadsts 400 invalid_grant 50057; }
t_err_50053() { sim_start "$DEMO"; sim_ropc locked@contoso.example 'Locked-1!'; assert_aadsts 400 invalid_grant 50053; }
t_err_50055() { sim_start "$DEMO"; sim_ropc expired@contoso.example 'Expired-1!'; assert_aadsts 400 invalid_grant 50055; }
t_err_90002() {
  sim_start "$DEMO"
  sim_req $L/nope.example/oauth2/token -d grant_type=password
  assert_aadsts 400 invalid_request 90002
  sim_req $L/common/oauth2/v2.0/devicecode -d client_id=$CID --data-urlencode "scope=$DRS/.default"
  assert_eq "$HTTP_STATUS" 200 "common is accepted"
}
t_err_50076_setting() {
  sim_start "$DEMO"
  sim_ctl PUT /control/device-settings '{"require_mfa_to_join":true}' >/dev/null
  sim_ropc alice@contoso.example 'Demo-Passw0rd!'
  assert_aadsts 400 invalid_grant 50076
  assert_eq "$(jq -r .suberror <<<"$BODY")" basic_action
  sim_ropc alice@contoso.example 'Demo-Passw0rd!' https://enrollment.manage.microsoft.com/
  assert_eq "$HTTP_STATUS" 200 "other resources are not affected"
}
t_err_50076_ca() {
  sim_start "$DEMO"
  sim_ctl PUT /control/conditional-access '{"register_or_join_devices":"require_mfa"}' >/dev/null
  sim_ropc alice@contoso.example 'Demo-Passw0rd!'
  assert_aadsts 400 invalid_grant 50076
}
t_err_50079() {
  sim_start "$DEMO"
  sim_ctl PUT /control/device-settings '{"require_mfa_to_join":true}' >/dev/null
  sim_ropc nomfa@contoso.example 'NoMfa-Passw0rd!'
  assert_aadsts 400 invalid_grant 50079
}
t_err_53003() {
  sim_start "$DEMO"
  sim_ctl PUT /control/conditional-access '{"register_or_join_devices":"block"}' >/dev/null
  sim_ropc alice@contoso.example 'Demo-Passw0rd!'
  assert_aadsts 400 invalid_grant 53003
}
t_err_missing_param() {
  sim_start "$DEMO"
  sim_req $L/contoso.example/oauth2/token -d client_id=$CID
  assert_aadsts 400 invalid_request 900144
  sim_req $L/contoso.example/oauth2/token -d grant_type=password -d resource=$DRS
  assert_aadsts 400 invalid_request 900144
  assert_contains "$BODY" "'client_id'"
}
t_err_unsupported_grant() { sim_start "$DEMO"; sim_req $L/contoso.example/oauth2/token -d grant_type=magic -d client_id=$CID; assert_aadsts 400 unsupported_grant_type 70003; }
t_err_unknown_resource() { sim_start "$DEMO"; sim_ropc alice@contoso.example 'Demo-Passw0rd!' https://evil.example/; assert_aadsts 400 invalid_resource 500011; }
t_err_token_get() { sim_start "$DEMO"; sim_req $L/contoso.example/oauth2/token; assert_aadsts 405 invalid_request 900561; }
t_client_request_id() {
  sim_start "$DEMO"
  sim_req $L/contoso.example/oauth2/token -H 'client-request-id: 11111111-2222-4333-8444-555555555555' -d grant_type=x -d client_id=$CID
  assert_eq "$(jq -r .correlation_id <<<"$BODY")" 11111111-2222-4333-8444-555555555555
  assert_contains "$HEADERS" "client-request-id: 11111111-2222-4333-8444-555555555555"
}

# devcode V2? — start a device code flow; sets DC (device code), UC (user code).
devcode() {
  if [ "$1" = v2 ]; then
    sim_req $L/contoso.example/oauth2/v2.0/devicecode -d client_id=$CID --data-urlencode "scope=$DRS/.default offline_access"
  else
    sim_req $L/contoso.example/oauth2/devicecode -d client_id=$CID -d resource=$DRS
  fi
  assert_eq "$HTTP_STATUS" 200
  DC=$(jq -r .device_code <<<"$BODY"); UC=$(jq -r .user_code <<<"$BODY")
}
poll() {
  if [ "$1" = v2 ]; then
    sim_req $L/contoso.example/oauth2/v2.0/token -d grant_type=urn:ietf:params:oauth:grant-type:device_code -d client_id=$CID --data-urlencode "device_code=$DC"
  else
    sim_req $L/contoso.example/oauth2/token -d grant_type=urn:ietf:params:oauth:grant-type:device_code -d client_id=$CID -d resource=$DRS --data-urlencode "code=$DC"
  fi
}

t_devcode_v1_shape() {
  sim_start "$DEMO"
  devcode v1
  assert_eq "$(jq -r '.expires_in|type' <<<"$BODY")" string
  assert_eq "$(jq -r .verification_url <<<"$BODY")" https://microsoft.com/devicelogin
  assert_eq "$(jq -r .interval <<<"$BODY")" 5
  assert_contains "$(jq -r .message <<<"$BODY")" "$UC"
}
t_devcode_v2_shape() {
  sim_start "$DEMO"
  devcode v2
  assert_eq "$(jq -r '.expires_in' <<<"$BODY")" 900
  assert_eq "$(jq -r .verification_uri <<<"$BODY")" https://microsoft.com/devicelogin
}
t_devcode_slow_down() {
  sim_start "$DEMO"
  devcode v2
  poll v2
  assert_aadsts 400 slow_down 70016
}
t_devcode_pending_then_mfa() {
  sim_start "$DEMO"
  sim_ctl PUT /control/login '{"device_code_interval":0,"device_code_expires_in":120}' >/dev/null
  devcode v2
  assert_eq "$(jq -r .interval <<<"$BODY")" 0
  poll v2
  assert_aadsts 400 authorization_pending 70016
  sim_ctl POST /control/devicecode/approve "{\"user_code\":\"$UC\",\"upn\":\"alice@contoso.example\",\"mfa\":true}" >/dev/null || fail approve
  poll v2
  assert_eq "$HTTP_STATUS" 200
  assert_eq "$(jq -c .amr <<<"$(jwt_claims "$(jq -r .access_token <<<"$BODY")")")" '["pwd","mfa"]'
  poll v2
  assert_aadsts 400 invalid_grant 54005
}
t_devcode_v1_no_mfa() {
  sim_start "$DEMO"
  sim_ctl PUT /control/login '{"device_code_interval":0}' >/dev/null
  devcode v1
  sim_ctl POST /control/devicecode/approve "{\"user_code\":\"$UC\",\"upn\":\"bob@contoso.example\"}" >/dev/null
  poll v1
  assert_eq "$HTTP_STATUS" 200
  assert_eq "$(jq -c .amr <<<"$(jwt_claims "$(jq -r .access_token <<<"$BODY")")")" '["pwd"]'
}
t_devcode_mfa_required() {
  sim_start "$DEMO"
  sim_ctl PUT /control/login '{"device_code_interval":0}' >/dev/null
  sim_ctl PUT /control/device-settings '{"require_mfa_to_join":true}' >/dev/null
  devcode v2
  sim_ctl POST /control/devicecode/approve "{\"user_code\":\"$UC\",\"upn\":\"alice@contoso.example\",\"mfa\":false}" >/dev/null
  poll v2
  assert_aadsts 400 invalid_grant 50076
}
t_devcode_ca_block() {
  sim_start "$DEMO"
  sim_ctl PUT /control/login '{"device_code_interval":0}' >/dev/null
  sim_ctl PUT /control/conditional-access '{"register_or_join_devices":"block"}' >/dev/null
  devcode v2
  sim_ctl POST /control/devicecode/approve "{\"user_code\":\"$UC\",\"upn\":\"alice@contoso.example\",\"mfa\":true}" >/dev/null
  poll v2
  assert_aadsts 400 invalid_grant 53003
}
t_devcode_declined() {
  sim_start "$DEMO"
  sim_ctl PUT /control/login '{"device_code_interval":0}' >/dev/null
  devcode v2
  sim_ctl POST /control/devicecode/decline "{\"user_code\":\"$UC\"}" >/dev/null
  poll v2
  assert_aadsts 400 authorization_declined 70000
}
t_devcode_expired() {
  sim_start "$DEMO"
  sim_ctl PUT /control/login '{"device_code_interval":0}' >/dev/null
  devcode v2
  sim_ctl POST /control/devicecode/expire "{\"user_code\":\"$UC\"}" >/dev/null
  poll v2
  assert_aadsts 400 expired_token 70019
}
t_devcode_unknown() {
  sim_start "$DEMO"
  DC=nonsense; poll v2
  assert_aadsts 400 invalid_grant 70000
}
t_devcode_approve_errors() {
  sim_start "$DEMO"
  devcode v2
  ! sim_ctl POST /control/devicecode/approve "{\"user_code\":\"$UC\",\"upn\":\"disabled@contoso.example\"}" >/dev/null || fail "disabled user approved"
  ! sim_ctl POST /control/devicecode/approve '{"user_code":"ZZZZZZZZZ","upn":"alice@contoso.example"}' >/dev/null || fail "unknown code approved"
  ! sim_ctl POST /control/devicecode/approve "{\"user_code\":\"$UC\",\"upn\":\"nomfa@contoso.example\",\"mfa\":true}" >/dev/null || fail "mfa without method"
}
t_devicelogin_page() {
  sim_start "$DEMO"
  sim_ctl PUT /control/login '{"device_code_interval":0}' >/dev/null
  devcode v2
  sim_req $L/devicelogin
  assert_contains "$BODY" 'name="otc"'
  sim_req $L/devicelogin --data-urlencode "otc=$UC" -d login=alice@contoso.example --data-urlencode 'passwd=wrong'
  assert_contains "$BODY" "AADSTS50126"
  sim_req $L/devicelogin --data-urlencode "otc=$(tr 'A-Z' 'a-z' <<<"$UC")" -d login=alice@contoso.example --data-urlencode 'passwd=Demo-Passw0rd!' -d mfa=1
  assert_contains "$BODY" 'id="result">You have signed in'
  poll v2
  assert_eq "$HTTP_STATUS" 200
  assert_eq "$(jq -c .amr <<<"$(jwt_claims "$(jq -r .access_token <<<"$BODY")")")" '["pwd","mfa"]'
  sim_req $L/devicelogin -d otc=BADCODE00 -d login=alice@contoso.example -d passwd=x
  assert_contains "$BODY" "AADSTS70018"
}
t_devicelogin_needs_mfa() {
  sim_start "$DEMO"
  sim_ctl PUT /control/conditional-access '{"register_or_join_devices":"require_mfa"}' >/dev/null
  devcode v2
  sim_req $L/devicelogin --data-urlencode "otc=$UC" -d login=alice@contoso.example --data-urlencode 'passwd=Demo-Passw0rd!'
  assert_contains "$BODY" "AADSTS50076"
  sim_req $L/devicelogin --data-urlencode "otc=$UC" -d action=decline
  assert_contains "$BODY" "declined"
}

pkce_pair() {
  VERIFIER=$(head -c 48 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=')
  CHALLENGE=$(printf '%s' "$VERIFIER" | openssl dgst -sha256 -binary | base64 -w0 | tr '+/' '-_' | tr -d '=')
}
REDIR=ms-aadj-redir://auth/drs
authorize() { # [extra curl args] — POST the sign-in form; sets LOCATION
  sim_req $L/contoso.example/oauth2/authorize -d client_id=$CID -d response_type=code \
    --data-urlencode "redirect_uri=$REDIR" -d resource=$DRS -d state=st123 \
    -d code_challenge="$CHALLENGE" -d code_challenge_method=S256 "$@"
  LOCATION=$(grep -i '^location:' <<<"$HEADERS" | cut -d' ' -f2- | tr -d '\r')
}
code_of() { sed -n 's/.*[?&]code=\([^&]*\).*/\1/p' <<<"$LOCATION"; }
redeem() { # CODE VERIFIER
  sim_req $L/contoso.example/oauth2/token -d grant_type=authorization_code -d client_id=$CID \
    --data-urlencode "code=$1" --data-urlencode "redirect_uri=$REDIR" --data-urlencode "code_verifier=$2"
}

t_authcode_pkce() {
  sim_start "$DEMO"
  pkce_pair
  sim_req "$L/contoso.example/oauth2/authorize?client_id=$CID&response_type=code&redirect_uri=ms-aadj-redir%3A%2F%2Fauth%2Fdrs&resource=$DRS&state=st123&code_challenge=$CHALLENGE&code_challenge_method=S256&login_hint=alice%40contoso.example"
  assert_eq "$HTTP_STATUS" 200
  assert_contains "$BODY" 'name="passwd"'
  assert_contains "$BODY" 'value="alice@contoso.example"'
  authorize -d login=alice@contoso.example --data-urlencode 'passwd=Demo-Passw0rd!' -d mfa=1
  assert_eq "$HTTP_STATUS" 302
  assert_contains "$LOCATION" "ms-aadj-redir://auth/drs?code="
  assert_contains "$LOCATION" "state=st123"
  local code; code=$(code_of)
  redeem "$code" "${VERIFIER}x"
  assert_aadsts 400 invalid_grant 501481
  redeem "$code" "$VERIFIER"
  assert_eq "$HTTP_STATUS" 200
  assert_eq "$(jq -c .amr <<<"$(jwt_claims "$(jq -r .access_token <<<"$BODY")")")" '["pwd","mfa"]'
  redeem "$code" "$VERIFIER"
  assert_aadsts 400 invalid_grant 54005
}
t_authcode_bad_password_page() {
  sim_start "$DEMO"; pkce_pair
  authorize -d login=alice@contoso.example -d passwd=nope
  assert_eq "$HTTP_STATUS" 200
  assert_contains "$BODY" "AADSTS50126"
}
t_authcode_bad_redirect() {
  sim_start "$DEMO"; pkce_pair
  REDIR=https://evil.example/cb authorize -d login=alice@contoso.example
  assert_eq "$HTTP_STATUS" 400
  assert_contains "$BODY" "AADSTS50011"
}
t_authcode_ca_block_redirect() {
  sim_start "$DEMO"; pkce_pair
  sim_ctl PUT /control/conditional-access '{"register_or_join_devices":"block"}' >/dev/null
  authorize -d login=alice@contoso.example --data-urlencode 'passwd=Demo-Passw0rd!' -d mfa=1
  assert_eq "$HTTP_STATUS" 302
  assert_contains "$LOCATION" "error=access_denied"
  assert_contains "$LOCATION" "AADSTS53003"
}
t_authcode_plain_pkce_refused() {
  sim_start "$DEMO"; pkce_pair
  sim_req "$L/contoso.example/oauth2/authorize?client_id=$CID&response_type=code&redirect_uri=ms-aadj-redir%3A%2F%2Fauth%2Fdrs&resource=$DRS&state=s&code_challenge=$CHALLENGE&code_challenge_method=plain"
  assert_eq "$HTTP_STATUS" 302
  assert_contains "$HEADERS" "error=invalid_request"
}
# The broker client 29d9ed98 has no loopback redirect registered (roadtx
# firstpartyscopes.json): AADSTS50011, on the authorize page and at the token
# endpoint (JSON, the token-error shape).  The demo tenant's own app
# registration lists http://127.0.0.1/cb, which matches any port (Microsoft
# Learn, redirect URI restrictions: localhost exceptions).
t_authcode_loopback_redirect() {
  sim_start "$DEMO"; pkce_pair
  REDIR=http://127.0.0.1:8400/cb authorize -d login=alice@contoso.example --data-urlencode 'passwd=Demo-Passw0rd!'
  assert_eq "$HTTP_STATUS" 400 "broker client with a loopback redirect"
  assert_contains "$BODY" "AADSTS50011: The redirect URI &#39;http://127.0.0.1:8400/cb&#39; specified in the request does not match the redirect URIs configured for the application &#39;$CID&#39;"
  sim_req "$L/contoso.example/oauth2/token" -d grant_type=authorization_code -d client_id=$CID \
    -d code=whatever --data-urlencode "redirect_uri=http://127.0.0.1:8400/cb" -d code_verifier=x -d resource=$DRS
  assert_eq "$HTTP_STATUS" 400 "token endpoint"
  assert_eq "$(jq -r .error <<<"$BODY")" invalid_request
  assert_eq "$(jq -c .error_codes <<<"$BODY")" "[50011]"
  assert_contains "$(jq -r .error_description <<<"$BODY")" "AADSTS50011: The redirect URI 'http://127.0.0.1:8400/cb' specified in the request does not match the redirect URIs configured for the application '$CID'."
  [ "$(jq -r .trace_id <<<"$BODY")" != null ] || fail "no trace_id"
  CID=4b8f2d1c-6a3e-4c5f-9d7b-2e1a0f3c5b7d REDIR=http://127.0.0.1:8400/cb authorize -d login=alice@contoso.example --data-urlencode 'passwd=Demo-Passw0rd!'
  assert_eq "$HTTP_STATUS" 302 "the tenant's own app"
  assert_contains "$LOCATION" "http://127.0.0.1:8400/cb?code="
  CID=4b8f2d1c-6a3e-4c5f-9d7b-2e1a0f3c5b7d REDIR=http://127.0.0.1:8400/other authorize -d login=alice@contoso.example
  assert_eq "$HTTP_STATUS" 400 "a path the app did not register"
  assert_contains "$BODY" "AADSTS50011"
}

t_refresh_enrollment() {
  sim_start "$DEMO"
  sim_ropc alice@contoso.example 'Demo-Passw0rd!'
  local rt; rt=$(jq -r .refresh_token <<<"$BODY")
  sim_req $L/contoso.example/oauth2/token -d grant_type=refresh_token -d client_id=1b730954-1685-4b74-9bfd-dac224a7b894 \
    --data-urlencode "refresh_token=$rt" --data-urlencode resource=https://enrollment.manage.microsoft.com/
  assert_eq "$HTTP_STATUS" 200
  assert_eq "$(jq -r .aud <<<"$(jwt_claims "$(jq -r .access_token <<<"$BODY")")")" https://enrollment.manage.microsoft.com/
  sim_ctl POST /control/refresh-tokens/revoke '{"upn":"alice@contoso.example"}' >/dev/null
  sim_req $L/contoso.example/oauth2/token -d grant_type=refresh_token -d client_id=1b730954-1685-4b74-9bfd-dac224a7b894 \
    --data-urlencode "refresh_token=$rt" -d resource=$DRS
  assert_aadsts 400 invalid_grant 50173
}
t_refresh_expired() {
  sim_start "$DEMO"
  sim_ropc alice@contoso.example 'Demo-Passw0rd!'
  local rt; rt=$(jq -r .refresh_token <<<"$BODY")
  sim_ctl POST /control/refresh-tokens/expire '{}' >/dev/null
  sim_req $L/contoso.example/oauth2/token -d grant_type=refresh_token -d client_id=1b730954-1685-4b74-9bfd-dac224a7b894 \
    --data-urlencode "refresh_token=$rt" -d resource=$DRS
  assert_aadsts 400 invalid_grant 700082
}
t_refresh_bogus() {
  sim_start "$DEMO"
  sim_req $L/contoso.example/oauth2/token -d grant_type=refresh_token -d client_id=$CID -d refresh_token=bogus -d resource=$DRS
  assert_aadsts 400 invalid_grant 9002313
}

t_openid_config() {
  sim_start "$DEMO"
  sim_req $L/contoso.example/v2.0/.well-known/openid-configuration
  assert_eq "$HTTP_STATUS" 200
  assert_eq "$(jq -r .token_endpoint <<<"$BODY")" "$L/6b1c2a3e-0f4d-4c55-9a77-1e2f3a4b5c6d/oauth2/v2.0/token"
  assert_eq "$(jq -r .issuer <<<"$BODY")" "$L/6b1c2a3e-0f4d-4c55-9a77-1e2f3a4b5c6d/v2.0"
  sim_req $L/common/v2.0/.well-known/openid-configuration
  assert_eq "$(jq -r .issuer <<<"$BODY")" "$L/{tenantid}/v2.0"
  sim_req $L/nope.example/v2.0/.well-known/openid-configuration
  assert_aadsts 400 invalid_request 90002
}
t_jwks_verifies_token() {
  sim_start "$DEMO"
  sim_ropc alice@contoso.example 'Demo-Passw0rd!'
  local at; at=$(jq -r .access_token <<<"$BODY")
  sim_req $L/contoso.example/discovery/v2.0/keys
  local kid; kid=$(jq -r '.keys[0].kid' <<<"$BODY")
  local hdr; hdr=$(cut -d. -f1 <<<"$at" | tr '_-' '/+'); while [ $(( ${#hdr} % 4 )) -ne 0 ]; do hdr="$hdr="; done
  assert_eq "$(base64 -d <<<"$hdr" | jq -r .kid)" "$kid"
  assert_eq "$(base64 -d <<<"$hdr" | jq -r .alg)" RS256
  # Verify the RS256 signature with the token key's public half.
  openssl rsa -in "$SIM_STATE/token.key" -pubout -out "$CASE/pub.pem" 2>/dev/null
  printf '%s' "$(cut -d. -f1,2 <<<"$at")" >"$CASE/signed"
  local s; s=$(cut -d. -f3 <<<"$at" | tr '_-' '/+'); while [ $(( ${#s} % 4 )) -ne 0 ]; do s="$s="; done
  base64 -d <<<"$s" >"$CASE/sig"
  openssl dgst -sha256 -verify "$CASE/pub.pem" -signature "$CASE/sig" "$CASE/signed" >/dev/null || fail "signature"
}
t_userrealm() {
  sim_start "$DEMO"
  sim_req "$L/common/userrealm/alice@contoso.example?api-version=2.0"
  assert_eq "$(jq -r .NameSpaceType <<<"$BODY")" Managed
  sim_req "$L/common/userrealm/x@other.example?api-version=2.0"
  assert_eq "$(jq -r .NameSpaceType <<<"$BODY")" Unknown
}
t_users_control() {
  sim_start "$DEMO"
  sim_ctl POST /control/users '{"upn":"carol@contoso.example","password":"Carol-1!"}' >/dev/null || fail add
  sim_ropc carol@contoso.example 'Carol-1!'
  assert_eq "$HTTP_STATUS" 200
  sim_ctl PATCH /control/users/carol@contoso.example '{"locked":true}' >/dev/null
  sim_ropc carol@contoso.example 'Carol-1!'
  assert_aadsts 400 invalid_grant 50053
  sim_ctl PATCH /control/users/carol@contoso.example '{"locked":false,"enabled":false}' >/dev/null
  sim_ropc carol@contoso.example 'Carol-1!'
  assert_aadsts 400 invalid_grant 50057
  ! sim_ctl POST /control/users '{"upn":"carol@contoso.example","password":"x"}' >/dev/null || fail "duplicate accepted"
  ! sim_ctl PATCH /control/users/carol@contoso.example '{"enabled":"no"}' >/dev/null || fail "bad type accepted"
  assert_not_contains "$(sim_ctl GET /control/users)" "Carol-1!"
  sim_ctl POST /control/reset >/dev/null
  sim_ropc carol@contoso.example 'Carol-1!'
  assert_aadsts 400 invalid_grant 50034
}
t_no_secrets_logged() {
  sim_start "$DEMO"
  sim_ropc alice@contoso.example 'Demo-Passw0rd!'
  local at; at=$(jq -r .access_token <<<"$BODY")
  assert_not_contains "$(cat "$SIM_LOG")" "Demo-Passw0rd!"
  assert_not_contains "$(cat "$SIM_LOG")" "${at:0:60}"
  assert_contains "$(cat "$SIM_LOG")" "path=/contoso.example/oauth2/token status=200 request_id="
}

for t in t_ropc_v1 t_ropc_v2_appid t_err_50126 t_err_50034 t_err_50057 t_err_50053 t_err_50055 \
  t_err_90002 t_err_50076_setting t_err_50076_ca t_err_50079 t_err_53003 t_err_missing_param \
  t_err_unsupported_grant t_err_unknown_resource t_err_token_get t_client_request_id \
  t_devcode_v1_shape t_devcode_v2_shape t_devcode_slow_down t_devcode_pending_then_mfa \
  t_devcode_v1_no_mfa t_devcode_mfa_required t_devcode_ca_block t_devcode_declined \
  t_devcode_expired t_devcode_unknown t_devcode_approve_errors t_devicelogin_page \
  t_devicelogin_needs_mfa t_authcode_pkce t_authcode_bad_password_page t_authcode_bad_redirect \
  t_authcode_ca_block_redirect t_authcode_plain_pkce_refused t_authcode_loopback_redirect \
  t_refresh_enrollment t_refresh_expired t_refresh_bogus t_openid_config t_jwks_verifies_token \
  t_userrealm t_users_control t_no_secrets_logged; do
  tcase "sim_login_${t#t_}" "$t"
done
