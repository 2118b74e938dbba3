#!/usr/bin/env bash
# entra-sim DRS: discovery, join (strict request checks, policies, reuse,
# quota, certificate contents), delete by device certificate.
. "$(dirname "$0")/lib.sh"
DEMO=$LJ_TOP/hw-sim/tenants/demo.json
E=https://enterpriseregistration.windows.net
K1=$LJ_SCRIPT_TMP/k1.pem K2=$LJ_SCRIPT_TMP/k2.pem
sim_keygen "$K1"; sim_keygen "$K2"
sim_join_body "$K1" "$K2" >"$LJ_SCRIPT_TMP/body1.json"
BODY1=$LJ_SCRIPT_TMP/body1.json

# assert_drs STATUS ERRORTYPE [MESSAGE-PART] — the last answer is a DRS error.
assert_drs() {
  assert_eq "$HTTP_STATUS" "$1" "status ($BODY)"
  assert_eq "$(jq -r .ErrorType <<<"$BODY")" "$2" "ErrorType"
  [ -n "${3:-}" ] && assert_contains "$(jq -r .Message <<<"$BODY")" "$3"
  [ "$(jq -r .TraceId <<<"$BODY")" != null ] || fail "no TraceId"
  [[ "$(jq -r .Time <<<"$BODY")" =~ ^[0-9]{2}-[0-9]{2}-[0-9]{4}\ [0-9]+:[0-9]{2}:[0-9]{2}Z$ ]] || fail "Time format: $BODY"
}
tok() { sim_token "${1:-alice@contoso.example}" "${2:-false}"; }
# mutate JQ-FILTER — body1 changed by a jq filter, into $CASE/b.json.
mutate() { jq "$1" "$BODY1" >"$CASE/b.json"; }

# 1.9 with managed=True and a DRS bearer, as libhimmelblau
# (src/discovery.rs Services::new).
t_discover_19() {
  sim_start "$DEMO"
  sim_req -H "Authorization: Bearer $(tok)" -H 'Accept: application/json' "$E/contoso.example/Discover?api-version=1.9&managed=True"
  assert_eq "$HTTP_STATUS" 200
  assert_eq "$(jq -r .DeviceJoinService.JoinEndpoint <<<"$BODY")" "$E/EnrollmentServer/device/"
  assert_eq "$(jq -r .DeviceJoinService.ServiceVersion <<<"$BODY")" 2.0
  assert_eq "$(jq -r .DeviceJoinService.JoinResourceId <<<"$BODY")" urn:ms-drs:enterpriseregistration.windows.net
  assert_eq "$(jq -r .TenantInfo.TenantId <<<"$BODY")" 6b1c2a3e-0f4d-4c55-9a77-1e2f3a4b5c6d
  assert_eq "$(jq -r .TenantInfo.TenantName <<<"$BODY")" contoso.example
  assert_eq "$(jq -r .AuthenticationService.OAuth2.TokenEndpoint <<<"$BODY")" https://login.microsoftonline.com/6b1c2a3e-0f4d-4c55-9a77-1e2f3a4b5c6d/oauth2/token
  [ "$(jq -r .DeviceManagementService.DeviceManagementEndpoint <<<"$BODY")" != null ] || fail "no DeviceManagementService"
  # Same member set as the reference sample.
  assert_eq "$(jq -c 'keys' <<<"$BODY")" '["AuthenticationService","AzureRbacService","DeviceJoinResourceService","DeviceJoinService","DeviceManagementService","DeviceRegistrationService","IdentityProviderService","KeyProvisioningService","MsaProviderData","NonceService","PrecreateService","TenantInfo","WebAuthNService"]'
}
# 1.7 anonymous, as Windows' dsreg (Azure-Samples/DSRegTool DSRegTool.ps1);
# the request log keeps the query and the headers the agent tests check.
t_discover_17_lowercase() {
  sim_start "$DEMO"
  sim_req -H 'Accept: application/json' -H 'ocp-adrs-client-name: dsreg' -H 'ocp-adrs-client-version: 10' \
    "$E/CONTOSO.example/discover?api-version=1.7"
  assert_eq "$HTTP_STATUS" 200
  assert_eq "$(sim_ctl GET '/control/requests?path_prefix=/CONTOSO.example/discover' |
    jq -c '[.[] | [.status, .query, .accept, .authorization, .ocp_adrs_client_name, .ocp_adrs_client_version]]')" \
    '[[200,"api-version=1.7","application/json","","dsreg","10"]]' "request log"
}
# 1.9 without a bearer, or with one that does not verify: 401 with the DRS
# error body (AuthenticationError "Invalid JWT token.", as the join answers).
t_discover_19_no_bearer() {
  sim_start "$DEMO"
  sim_req "$E/contoso.example/Discover?api-version=1.9&managed=True"
  assert_drs 401 AuthenticationError "Invalid JWT token."
  sim_req -H 'Authorization: Bearer not.a.jwt' "$E/contoso.example/Discover?api-version=1.9&managed=True"
  assert_drs 401 AuthenticationError "Invalid JWT token."
  assert_eq "$(sim_ctl GET '/control/requests?path_prefix=/contoso.example/Discover' | jq -c '[.[] | [.status, .authorization]]')" \
    '[[401,""],[401,"Bearer"]]' "request log (the scheme, never the token)"
}
# 1.9 without managed=True: refused (strict; no public source shows DRS's answer).
t_discover_19_not_managed() {
  sim_start "$DEMO"
  sim_req -H "Authorization: Bearer $(tok)" "$E/contoso.example/Discover?api-version=1.9"
  assert_drs 400 InvalidParameter "managed=True"
}
# Two User-Agent lines: refused (400) before any route, as a strict front end
# would (RFC 9110 5.3, 10.1.5); the request log keeps the first and the count.
t_repeated_user_agent() {
  sim_start "$DEMO"
  sim_req -H 'User-Agent: linkjoin/0.1.0' -H 'User-Agent: ENROLLClient' "$E/contoso.example/Discover?api-version=1.7"
  assert_eq "$HTTP_STATUS" 400 "two User-Agent headers"
  assert_eq "$BODY" "Bad Request: repeated User-Agent header"
  sim_req -H 'User-Agent: ENROLLClient' "$E/contoso.example/Discover?api-version=1.7"
  assert_eq "$HTTP_STATUS" 200 "one User-Agent header"
  assert_eq "$(sim_ctl GET '/control/requests?path_prefix=/contoso.example/Discover' | jq -c '[.[] | [.status, .user_agents, .user_agent]]')" \
    '[[400,2,"linkjoin/0.1.0"],[200,1,"ENROLLClient"]]' "request log"
}
t_discover_unknown_tenant() { sim_start "$DEMO"; sim_req "$E/nope.example/discover?api-version=1.7"; assert_drs 404 DirectoryError "AADSTS90002"; }
# Only 1.7 and 1.9 (the versions public clients use); anything else is 400.
t_discover_bad_version() {
  sim_start "$DEMO"
  local v
  for v in 3.0 1.6 1.8 ""; do
    sim_req -H "Authorization: Bearer $(tok)" "$E/contoso.example/Discover?api-version=$v&managed=True"
    assert_drs 400 InvalidParameter "api-version"
  done
  sim_req "$E/contoso.example/Discover"; assert_drs 400 InvalidParameter "api-version"
}
t_discover_wrong_host() {
  sim_start "$DEMO"
  sim_req "https://login.microsoftonline.com/contoso.example/discover?api-version=1.7"
  assert_eq "$HTTP_STATUS" 404 "DRS paths are not served on the login host"
}

t_join_ok() {
  sim_start "$DEMO"
  sim_join "$(tok)" "$BODY1"
  assert_eq "$HTTP_STATUS" 200 "$BODY"
  assert_eq "$(jq -r .User.Upn <<<"$BODY")" alice@contoso.example
  assert_eq "$(jq -r '.MembershipChanges[0].LocalSID' <<<"$BODY")" S-1-5-32-544
  jq -r .Certificate.RawBody <<<"$BODY" | base64 -d >"$CASE/c.der"
  openssl x509 -inform der -in "$CASE/c.der" -out "$CASE/c.pem"
  local id txt
  id=$(openssl x509 -in "$CASE/c.pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=CN=//')
  [[ $id =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]] || fail "device id $id"
  txt=$(openssl x509 -in "$CASE/c.pem" -noout -text)
  assert_contains "$txt" "Issuer: DC = net, DC = windows, CN = MS-Organization-Access, OU = 82dbaca4-3e81-46ca-9c73-0950c1eaca97"
  assert_contains "$txt" "TLS Web Client Authentication"
  for o in 2 3 5 7 8; do assert_contains "$txt" "1.2.840.113556.1.5.284.$o:"; done
  openssl verify -CAfile "$SIM_STATE/drs-ca.pem" "$CASE/c.pem" >/dev/null || fail "does not chain to MS-Organization-Access"
  assert_eq "$(openssl x509 -in "$CASE/c.pem" -noout -pubkey)" "$(openssl rsa -in "$K1" -pubout 2>/dev/null)" "cert carries the CSR key"
  local thumb; thumb=$(openssl x509 -in "$CASE/c.pem" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
  assert_eq "$(jq -r .Certificate.Thumbprint <<<"$BODY")" "$thumb"
  # .284.2 = device id in Windows GUID byte order, wrapped in an OCTET STRING.
  local want; want=$(echo "$id" | sed -E 's/^(..)(..)(..)(..)-(..)(..)-(..)(..)-(.*)$/\4\3\2\1\6\5\8\7\9/; s/-//')
  local der_hex; der_hex=$(xxd -p "$CASE/c.der" | tr -d '\n')
  assert_contains "$der_hex" "060b2a864886f7140105821c0204120410$want"
  assert_contains "$der_hex" "060b2a864886f7140105821c070403040131"
  assert_contains "$der_hex" "060b2a864886f7140105821c0804040402$(printf NA | xxd -p)"
  # .284.3 = the user's object id, .284.5 = the tenant id (Windows byte order).
  assert_contains "$der_hex" "060b2a864886f7140105821c03041204103d1b2c0a5f4e6b4a8c7d9e0f1a2b3c4d"
  assert_contains "$der_hex" "060b2a864886f7140105821c05041204103e2a1c6b4d0f554c9a771e2f3a4b5c6d"
  assert_eq "$(sim_ctl GET /control/devices | jq -r '.[0].device_id')" "$id"
}
t_join_api_v1() { sim_start "$DEMO"; sim_join "$(tok)" "$BODY1" 1.0; assert_eq "$HTTP_STATUS" 200; }
t_join_bad_api_version() { sim_start "$DEMO"; sim_join "$(tok)" "$BODY1" 9.9; assert_drs 400 InvalidParameter "api-version"; }
t_join_reuse_same_device() {
  sim_start "$DEMO"
  local t; t=$(tok)
  sim_join "$t" "$BODY1"; local a; a=$(jq -r .Certificate.Thumbprint <<<"$BODY")
  sim_join "$t" "$BODY1"; assert_eq "$HTTP_STATUS" 200
  assert_eq "$(jq -r .Certificate.Thumbprint <<<"$BODY")" "$a" "same device object"
  assert_eq "$(sim_ctl GET /control/devices | jq length)" 1
  assert_eq "$(sim_ctl GET /control/users/alice@contoso.example | jq .devices)" 1
}
t_join_no_reuse_new_device() {
  sim_start "$DEMO"
  mutate '.Attributes.ReuseDevice="false"'
  local t; t=$(tok)
  sim_join "$t" "$CASE/b.json"; sim_join "$t" "$CASE/b.json"
  assert_eq "$(sim_ctl GET /control/devices | jq length)" 2
}
t_join_reuse_other_user() {
  sim_start "$DEMO"
  sim_join "$(tok)" "$BODY1"
  sim_join "$(tok bob@contoso.example)" "$BODY1"
  assert_eq "$HTTP_STATUS" 200
  assert_eq "$(sim_ctl GET /control/devices | jq length)" 2 "another user's key is a new device"
}
t_join_quota() {
  sim_start "$DEMO"
  sim_ctl PUT /control/device-settings '{"max_devices_per_user":1}' >/dev/null
  mutate '.Attributes.ReuseDevice="false"'
  sim_join "$(tok)" "$CASE/b.json"; assert_eq "$HTTP_STATUS" 200
  sim_join "$(tok)" "$CASE/b.json"
  assert_drs 400 DeviceRegistrationQuotaExceeded "maximum number of devices (1)"
  sim_join "$(tok)" "$BODY1"
  assert_eq "$HTTP_STATUS" 200 "reuse of the registered key does not count against the quota"
}
t_join_not_permitted_none() {
  sim_start "$DEMO"
  sim_ctl PUT /control/device-settings '{"users_may_join":"none"}' >/dev/null
  sim_join "$(tok)" "$BODY1"
  assert_drs 400 AuthorizationError "Administrator policy does not allow user alice@contoso.example to device join"
}
t_join_selected_groups() {
  sim_start "$DEMO"
  sim_ctl PUT /control/device-settings '{"users_may_join":"selected","users_may_join_groups":["Device Joiners"]}' >/dev/null
  sim_join "$(tok bob@contoso.example)" "$BODY1"
  assert_drs 400 AuthorizationError "does not allow user bob@contoso.example to device join"
  sim_join "$(tok)" "$BODY1"
  assert_eq "$HTTP_STATUS" 200
  ! sim_ctl PUT /control/device-settings '{"users_may_join":"selected","users_may_join_groups":["Nope"]}' >/dev/null || fail "unknown group accepted"
}
t_join_mfa_required() {
  sim_start "$DEMO"
  sim_ctl PUT /control/device-settings '{"require_mfa_to_join":true}' >/dev/null
  sim_join "$(tok alice@contoso.example false)" "$BODY1"
  assert_drs 400 AuthorizationError "multi-factor"
  sim_join "$(tok alice@contoso.example true)" "$BODY1"
  assert_eq "$HTTP_STATUS" 200
}
t_join_register_type4() {
  sim_start "$DEMO"
  mutate '.JoinType=4'
  sim_join "$(tok)" "$CASE/b.json"
  assert_eq "$HTTP_STATUS" 200
  jq -r .Certificate.RawBody <<<"$BODY" | base64 -d | xxd -p | tr -d '\n' >"$CASE/hex"
  assert_contains "$(cat "$CASE/hex")" "060b2a864886f7140105821c070403040130"
}

# Token checks: each gives 401 AuthenticationError "Invalid JWT token.".
bad_token() { sim_join "$1" "$BODY1"; assert_drs 401 AuthenticationError "Invalid JWT token."; assert_contains "$HEADERS" "WWW-Authenticate: Bearer"; }
t_token_missing() {
  sim_start "$DEMO"
  sim_req "$E/EnrollmentServer/device/?api-version=2.0" -H 'Content-Type: application/json' --data-binary "@$BODY1"
  assert_drs 401 AuthenticationError "Invalid JWT token."
}
t_token_garbage() { sim_start "$DEMO"; bad_token "not.a.jwt"; }
forged() { sim_ctl POST /control/tokens "{\"upn\":\"alice@contoso.example\",$1}" | jq -r .access_token; }
t_token_bad_signature() { sim_start "$DEMO"; bad_token "$(forged '"forge":"bad_signature"')"; }
t_token_other_key() { sim_start "$DEMO"; bad_token "$(forged '"forge":"other_key"')"; }
t_token_alg_none() { sim_start "$DEMO"; bad_token "$(forged '"forge":"alg_none"')"; }
t_token_expired() { sim_start "$DEMO"; bad_token "$(forged '"expires_in":-10')"; }
t_token_wrong_aud() { sim_start "$DEMO"; bad_token "$(forged '"aud":"https://enrollment.manage.microsoft.com/"')"; }
t_token_wrong_tenant() { sim_start "$DEMO"; bad_token "$(forged '"tid":"11111111-2222-4333-8444-555555555555"')"; }
t_token_appid_aud_ok() {
  sim_start "$DEMO"
  sim_join "$(forged '"aud":"01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9"')" "$BODY1"
  assert_eq "$HTTP_STATUS" 200
}
t_token_from_ropc() {
  sim_start "$DEMO"
  sim_ropc alice@contoso.example 'Demo-Passw0rd!'
  sim_join "$(jq -r .access_token <<<"$BODY")" "$BODY1"
  assert_eq "$HTTP_STATUS" 200
}

# Request body checks: each gives 400 InvalidParameter.
bad_body() { sim_start "$DEMO"; mutate "$1"; sim_join "$(tok)" "$CASE/b.json"; assert_drs 400 InvalidParameter "${2:-}"; }
t_body_type_not_pkcs10() { bad_body '.CertificateRequest.Type="PKCS10"' "pkcs10"; }
t_body_missing_csr() { bad_body 'del(.CertificateRequest)' "CertificateRequest"; }
t_body_csr_not_base64() { bad_body '.CertificateRequest.Data="!!!"' "base64"; }
t_body_csr_garbage_der() { bad_body '.CertificateRequest.Data="AAAA"' "certificate request is invalid"; }
t_body_wrong_case_member() { bad_body '.certificateRequest=.CertificateRequest | del(.CertificateRequest)' "unknown member 'certificateRequest'"; }
t_body_unknown_member() { bad_body '.Extra=1' "unknown member 'Extra'"; }
t_body_jointype_string() { bad_body '.JoinType="0"' "JoinType"; }
t_body_jointype_6() { bad_body '.JoinType=6' "JoinType 6"; }
t_body_os_number() { bad_body '.OSVersion=10' "OSVersion"; }
# Windows sends a dotted quad; os-release's "12" is refused naming the value
t_body_os_not_quad() { bad_body '.OSVersion="12"' "OSVersion '12' is not a valid version (major.minor.build.revision)"; }
t_body_empty_display() { bad_body '.DeviceDisplayName=""' "DeviceDisplayName"; }
t_body_attr_513() { bad_body ".Attributes.Note=\"$(printf 'x%.0s' $(seq 513))\"" "exceeds length limits (512)"; }
t_body_attr_not_string() { bad_body '.Attributes.ReuseDevice=true' "length limits (512)"; }
t_body_target_domain() { bad_body '.TargetDomain="fabrikam.example"' "TargetDomain"; }
t_body_tkey_magic() { sim_start "$DEMO"; mutate ".TransportKey=\"$(base64 -d <<<"$(jq -r .TransportKey "$BODY1")" | sed '1s/^RSA1/RSA2/' | base64 -w0)\""; sim_join "$(tok)" "$CASE/b.json"; assert_drs 400 InvalidParameter "magic"; }
t_body_tkey_primes() {
  sim_start "$DEMO"
  local b; b=$( { printf 'RSA1\x00\x08\x00\x00\x03\x00\x00\x00\x00\x01\x00\x00\x80\x00\x00\x00\x00\x00\x00\x00\x01\x00\x01'; head -c 256 /dev/urandom | sed '1s/^./\xff/'; } | base64 -w0)
  mutate ".TransportKey=\"$b\""; sim_join "$(tok)" "$CASE/b.json"; assert_drs 400 InvalidParameter "cbPrime"
}
t_body_tkey_short() { sim_start "$DEMO"; mutate '.TransportKey="UlNBMQAIAAADAAAAAAEAAAAAAAAAAAAAAQAB"'; sim_join "$(tok)" "$CASE/b.json"; assert_drs 400 InvalidParameter "blob length"; }
t_body_tkey_bitlen() {
  sim_start "$DEMO"
  local b; b=$(base64 -d <<<"$(jq -r .TransportKey "$BODY1")" | { printf 'RSA1\x00\x04\x00\x00'; tail -c +9; } | base64 -w0)
  mutate ".TransportKey=\"$b\""; sim_join "$(tok)" "$CASE/b.json"; assert_drs 400 InvalidParameter "BitLength"
}
t_body_csr_wrong_cn() {
  sim_start "$DEMO"
  mutate ".CertificateRequest.Data=\"$(sim_csr_b64 "$K1" my-device)\""
  sim_join "$(tok)" "$CASE/b.json"; assert_drs 400 InvalidParameter "CN"
}
t_body_csr_signed_by_other_key() {
  sim_start "$DEMO"
  # Take K1's request and swap in K2's public key: the signature no longer verifies.
  openssl req -new -key "$K1" -subj /CN=7E980AD9-B86D-4306-9425-9AC066FB014A -sha256 -outform DER -out "$CASE/r1.der" 2>/dev/null
  openssl rsa -in "$K1" -pubout -outform DER -out "$CASE/p1.der" 2>/dev/null
  openssl rsa -in "$K2" -pubout -outform DER -out "$CASE/p2.der" 2>/dev/null
  local h1 h2; h1=$(xxd -p "$CASE/p1.der" | tr -d '\n'); h2=$(xxd -p "$CASE/p2.der" | tr -d '\n')
  xxd -p "$CASE/r1.der" | tr -d '\n' | sed "s/$h1/$h2/" | xxd -r -p >"$CASE/r2.der"
  mutate ".CertificateRequest.Data=\"$(base64 -w0 "$CASE/r2.der")\""
  sim_join "$(tok)" "$CASE/b.json"; assert_drs 400 InvalidParameter "signature does not verify"
}
t_body_csr_sha1() {
  sim_start "$DEMO"
  mutate ".CertificateRequest.Data=\"$(openssl req -new -key "$K1" -subj /CN=7E980AD9-B86D-4306-9425-9AC066FB014A -sha1 -outform DER 2>/dev/null | base64 -w0)\""
  sim_join "$(tok)" "$CASE/b.json"; assert_drs 400 InvalidParameter "sha256WithRSAEncryption"
}
t_body_csr_ec_key() {
  sim_start "$DEMO"
  openssl ecparam -name prime256v1 -genkey -noout -out "$CASE/ec.pem" 2>/dev/null
  mutate ".CertificateRequest.Data=\"$(sim_csr_b64 "$CASE/ec.pem")\""
  sim_join "$(tok)" "$CASE/b.json"; assert_drs 400 InvalidParameter "RSA"
}
t_body_malformed_json() {
  sim_start "$DEMO"
  head -c 100 "$BODY1" >"$CASE/b.json"
  sim_join "$(tok)" "$CASE/b.json"; assert_drs 400 InvalidParameter "not a valid JSON"
}
t_body_deep_nesting() {
  sim_start "$DEMO"
  { printf '{"a":'; for _ in $(seq 5000); do printf '['; done; for _ in $(seq 5000); do printf ']'; done; printf '}'; } >"$CASE/b.json"
  sim_join "$(tok)" "$CASE/b.json"; assert_drs 400 InvalidParameter "not a valid JSON"
}
t_body_array() { sim_start "$DEMO"; echo '[1,2]' >"$CASE/b.json"; sim_join "$(tok)" "$CASE/b.json"; assert_drs 400 InvalidParameter "JSON object"; }
t_body_wrong_content_type() {
  sim_start "$DEMO"
  sim_req "$E/EnrollmentServer/device/?api-version=2.0" -H "Authorization: Bearer $(tok)" -H 'Content-Type: text/plain' --data-binary "@$BODY1"
  assert_drs 400 InvalidParameter "Content-Type"
}
t_body_too_big() {
  sim_start "$DEMO"
  head -c 70000 /dev/zero | tr '\0' ' ' >"$CASE/big.json"
  sim_join "$(tok)" "$CASE/big.json"; assert_drs 413 InvalidParameter "too large"
  # Chunked upload without a length: refused too, and the server stays up.
  sim_req "$E/EnrollmentServer/device/?api-version=2.0" -H "Authorization: Bearer $(tok)" -H 'Content-Type: application/json' \
    -H 'Transfer-Encoding: chunked' --data-binary "@$CASE/big.json"
  assert_drs 413 InvalidParameter "too large"
  sim_req "$E/contoso.example/discover?api-version=1.7"; assert_eq "$HTTP_STATUS" 200
}
t_body_huge_declared() {
  sim_start "$DEMO"
  # A 4 GiB Content-Length is answered at once, without the body being sent.
  local out; out=$(printf 'POST /EnrollmentServer/device/?api-version=2.0 HTTP/1.1\r\nHost: enterpriseregistration.windows.net\r\nContent-Type: application/json\r\nContent-Length: 4294967296\r\n\r\n' |
    timeout 10 openssl s_client -quiet -connect 127.0.0.1:$SIM_PORT -servername enterpriseregistration.windows.net -CAfile "$SIM_CA" 2>/dev/null | head -1)
  assert_contains "$out" "413"
}
t_method_not_allowed() { sim_start "$DEMO"; sim_req "$E/EnrollmentServer/device/?api-version=2.0"; assert_drs 405 InvalidParameter; }

t_delete_by_cert() {
  sim_start "$DEMO"
  sim_join "$(tok)" "$BODY1"
  jq -r .Certificate.RawBody <<<"$BODY" | base64 -d | openssl x509 -inform der -out "$CASE/c.pem"
  local id; id=$(openssl x509 -in "$CASE/c.pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=CN=//')
  sim_req -X DELETE "$E/EnrollmentServer/device/$id?api-version=1.0"
  assert_drs 401 AuthenticationError "certificate"
  sim_req -X DELETE --cert "$CASE/c.pem" --key "$K1" "$E/EnrollmentServer/device/$id?api-version=1.0"
  assert_eq "$HTTP_STATUS" 200
  assert_eq "$(sim_ctl GET /control/devices | jq length)" 0
  assert_eq "$(sim_ctl GET /control/users/alice@contoso.example | jq .devices)" 0
  sim_req -X DELETE --cert "$CASE/c.pem" --key "$K1" "$E/EnrollmentServer/device/$id?api-version=1.0"
  assert_drs 400 DirectoryError "is not found"
}
t_delete_other_device() {
  sim_start "$DEMO"
  mutate '.Attributes.ReuseDevice="false"'
  sim_join "$(tok)" "$CASE/b.json"
  jq -r .Certificate.RawBody <<<"$BODY" | base64 -d | openssl x509 -inform der -out "$CASE/c1.pem"
  sim_join "$(tok)" "$CASE/b.json"
  jq -r .Certificate.RawBody <<<"$BODY" | base64 -d | openssl x509 -inform der -out "$CASE/c2.pem"
  local id2; id2=$(openssl x509 -in "$CASE/c2.pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=CN=//')
  sim_req -X DELETE --cert "$CASE/c1.pem" --key "$K1" "$E/EnrollmentServer/device/$id2?api-version=1.0"
  assert_drs 403 AuthorizationError "does not belong"
}
t_delete_untrusted_cert() {
  sim_start "$DEMO"
  sim_join "$(tok)" "$BODY1"
  local id; id=$(sim_ctl GET /control/devices | jq -r '.[0].device_id')
  openssl req -x509 -new -key "$K1" -subj "/CN=$id" -days 1 -out "$CASE/self.pem" 2>/dev/null
  sim_req -X DELETE --cert "$CASE/self.pem" --key "$K1" "$E/EnrollmentServer/device/$id?api-version=1.0"
  assert_drs 401 AuthenticationError "not valid"
}
t_control_delete_device() {
  sim_start "$DEMO"
  sim_join "$(tok)" "$BODY1"
  local id; id=$(sim_ctl GET /control/devices | jq -r '.[0].device_id')
  sim_ctl GET "/control/devices/$id" | jq -e .thumbprint >/dev/null || fail "get device"
  sim_ctl DELETE "/control/devices/$id" >/dev/null || fail "delete"
  ! sim_ctl GET "/control/devices/$id" >/dev/null || fail "still there"
}

for t in t_discover_19 t_repeated_user_agent t_discover_17_lowercase t_discover_19_no_bearer t_discover_19_not_managed \
  t_discover_unknown_tenant t_discover_bad_version \
  t_discover_wrong_host t_join_ok t_join_api_v1 t_join_bad_api_version t_join_reuse_same_device \
  t_join_no_reuse_new_device t_join_reuse_other_user t_join_quota t_join_not_permitted_none \
  t_join_selected_groups t_join_mfa_required t_join_register_type4 t_token_missing t_token_garbage \
  t_token_bad_signature t_token_other_key t_token_alg_none t_token_expired t_token_wrong_aud \
  t_token_wrong_tenant t_token_appid_aud_ok t_token_from_ropc t_body_type_not_pkcs10 \
  t_body_missing_csr t_body_csr_not_base64 t_body_csr_garbage_der t_body_wrong_case_member \
  t_body_unknown_member t_body_jointype_string t_body_jointype_6 t_body_os_number t_body_os_not_quad \
  t_body_empty_display t_body_attr_513 t_body_attr_not_string t_body_target_domain \
  t_body_tkey_magic t_body_tkey_primes t_body_tkey_short t_body_tkey_bitlen t_body_csr_wrong_cn \
  t_body_csr_signed_by_other_key t_body_csr_sha1 t_body_csr_ec_key t_body_malformed_json \
  t_body_deep_nesting t_body_array t_body_wrong_content_type t_body_too_big t_body_huge_declared \
  t_method_not_allowed t_delete_by_cert t_delete_other_device t_delete_untrusted_cert \
  t_control_delete_device; do
  tcase "sim_drs_${t#t_}" "$t"
done
