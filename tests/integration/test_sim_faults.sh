#!/usr/bin/env bash
# entra-sim fault injection, request log, reset and concurrency.
. "$(dirname "$0")/lib.sh"
DEMO=$LJ_TOP/hw-sim/tenants/demo.json
E=https://enterpriseregistration.windows.net
DISC="$E/contoso.example/Discover?api-version=1.7"
K1=$LJ_SCRIPT_TMP/k1.pem
sim_keygen "$K1"
sim_join_body "$K1" >"$LJ_SCRIPT_TMP/body1.json"
BODY1=$LJ_SCRIPT_TMP/body1.json

fault() { sim_ctl POST /control/faults "$1" >/dev/null || fail "fault refused: $1"; }

t_status_429_retry_after() {
  sim_start "$DEMO"
  fault '{"path_prefix":"/EnrollmentServer/device","kind":"status","status":429,"retry_after":300}'
  sim_join "$(sim_token alice@contoso.example)" "$BODY1"
  assert_eq "$HTTP_STATUS" 429
  assert_contains "$HEADERS" "Retry-After: 300"
  assert_eq "$(jq -r .ErrorType <<<"$BODY")" DirectoryError
  assert_contains "$(jq -r .Message <<<"$BODY")" "throttled temporarily. Please try after 300 seconds"
  sim_join "$(sim_token alice@contoso.example)" "$BODY1"
  assert_eq "$HTTP_STATUS" 200 "fault used up after one request"
}
t_status_429_no_header() {
  sim_start "$DEMO"
  fault '{"path_prefix":"/contoso.example/Discover","kind":"status","status":429}'
  sim_req "$DISC"
  assert_eq "$HTTP_STATUS" 429
  assert_not_contains "$HEADERS" "Retry-After"
}
t_status_500_503() {
  sim_start "$DEMO"
  fault '{"path_prefix":"/contoso.example/Discover","kind":"status","status":500}'
  fault '{"path_prefix":"/contoso.example/oauth2/","kind":"status","status":503,"retry_after":5}'
  sim_req "$DISC"; assert_eq "$HTTP_STATUS" 500; assert_eq "$(jq -r .ErrorType <<<"$BODY")" UnknownError
  sim_ropc alice@contoso.example 'Demo-Passw0rd!'
  assert_eq "$HTTP_STATUS" 503
  assert_eq "$(jq -r .error <<<"$BODY")" temporarily_unavailable
  assert_contains "$HEADERS" "Retry-After: 5"
}
t_count_n() {
  sim_start "$DEMO"
  fault '{"path_prefix":"/contoso.example/Discover","kind":"status","status":503,"count":3}'
  for i in 1 2 3; do sim_req "$DISC"; assert_eq "$HTTP_STATUS" 503 "request $i"; done
  sim_req "$DISC"; assert_eq "$HTTP_STATUS" 200
}
t_method_filter() {
  sim_start "$DEMO"
  fault '{"path_prefix":"/contoso.example/Discover","method":"POST","kind":"status","status":500}'
  sim_req "$DISC"; assert_eq "$HTTP_STATUS" 200
  assert_eq "$(sim_ctl GET /control/faults | jq length)" 1
  sim_ctl DELETE /control/faults >/dev/null
  assert_eq "$(sim_ctl GET /control/faults | jq length)" 0
}
t_drop_mid_body() {
  sim_start "$DEMO"
  fault '{"path_prefix":"/contoso.example/Discover","kind":"drop"}'
  sim_curl -o "$CASE/out" "$DISC"; local rc=$?
  assert_eq "$rc" 18 "curl: transfer closed with data remaining"
  [ -s "$CASE/out" ] || fail "no partial body"
  sim_req "$DISC"; assert_eq "$HTTP_STATUS" 200
}
t_close_no_answer() {
  sim_start "$DEMO"
  fault '{"path_prefix":"/contoso.example/Discover","kind":"close"}'
  sim_curl -o /dev/null "$DISC"; local rc=$?
  assert_eq "$rc" 52 "curl: empty reply"
}
t_malformed() {
  sim_start "$DEMO"
  fault '{"path_prefix":"/EnrollmentServer/device","kind":"malformed"}'
  sim_join "$(sim_token alice@contoso.example)" "$BODY1"
  assert_eq "$HTTP_STATUS" 200
  ! jq . <<<"$BODY" >/dev/null 2>&1 || fail "body parsed"
  assert_contains "$BODY" '{"Certificate":'
}
t_oversized() {
  sim_start "$DEMO"
  fault '{"path_prefix":"/contoso.example/Discover","kind":"oversized","size":4194304}'
  sim_curl -o "$CASE/big" "$DISC" || fail "transfer"
  assert_eq "$(stat -c %s "$CASE/big")" 4194304
  jq -e '.pad|length > 4000000' "$CASE/big" >/dev/null || fail "not the padded document"
}
t_content_type() {
  sim_start "$DEMO"
  fault '{"path_prefix":"/contoso.example/Discover","kind":"content_type"}'
  sim_req "$DISC"
  assert_contains "$HEADERS" "Content-Type: text/html"
  jq -e .TenantInfo <<<"$BODY" >/dev/null || fail "body should be the real one"
}
t_html_portal() {
  sim_start "$DEMO"
  fault '{"path_prefix":"/contoso.example/oauth2/token","kind":"html"}'
  sim_ropc alice@contoso.example 'Demo-Passw0rd!'
  assert_eq "$HTTP_STATUS" 200
  assert_contains "$BODY" "<html>"
}
t_wrong_cert() {
  sim_start "$DEMO"
  fault '{"path_prefix":"/EnrollmentServer/device","kind":"wrong_cert"}'
  sim_join "$(sim_token alice@contoso.example)" "$BODY1"
  assert_eq "$HTTP_STATUS" 200
  jq -r .Certificate.RawBody <<<"$BODY" | base64 -d | openssl x509 -inform der -noout -pubkey >"$CASE/got.pem"
  assert_ne "$(cat "$CASE/got.pem")" "$(openssl rsa -in "$K1" -pubout 2>/dev/null)" "certificate must carry another key"
}
t_delay_does_not_block_others() {
  sim_start "$DEMO"
  fault '{"path_prefix":"/contoso.example/Discover","kind":"delay","delay_ms":8000}'
  sim_curl -o /dev/null "$DISC" &
  local slow=$!
  sleep 0.3
  sim_req "https://login.microsoftonline.com/contoso.example/v2.0/.well-known/openid-configuration"
  assert_eq "$HTTP_STATUS" 200
  kill -0 $slow 2>/dev/null || fail "the delayed request finished first"
  kill $slow 2>/dev/null; wait $slow 2>/dev/null
  [ "$(sim_ctl GET /control/requests | jq '[.[]|select(.fault=="delay")]|length')" -le 1 ] || fail log
}
t_fault_validation() {
  sim_start "$DEMO"
  ! sim_ctl POST /control/faults '{"path_prefix":"x","kind":"status"}' >/dev/null || fail "bad prefix"
  ! sim_ctl POST /control/faults '{"path_prefix":"/x","kind":"explode"}' >/dev/null || fail "bad kind"
  ! sim_ctl POST /control/faults '{"path_prefix":"/x","kind":"delay"}' >/dev/null || fail "delay without ms"
  ! sim_ctl POST /control/faults '{"path_prefix":"/x","kind":"status","status":200}' >/dev/null || fail "status 200"
  ! sim_ctl POST /control/faults '{"path_prefix":"/x","kind":"status","colour":1}' >/dev/null || fail "unknown member"
  ! sim_ctl POST /control/faults 'not json' >/dev/null || fail "not json"
}
t_request_log() {
  sim_start "$DEMO"
  sim_req "$DISC"
  local rid; rid=$(grep -i '^request-id:' <<<"$HEADERS" | cut -d' ' -f2 | tr -d '\r')
  local log; log=$(sim_ctl GET '/control/requests?path_prefix=/contoso.example/Discover')
  assert_eq "$(jq -r '.[-1].request_id' <<<"$log")" "$rid"
  assert_eq "$(jq -r '.[-1].status' <<<"$log")" 200
  assert_eq "$(jq -r '.[-1].method' <<<"$log")" GET
  assert_contains "$(cat "$SIM_LOG")" "request_id=$rid"
  sim_ctl DELETE /control/requests >/dev/null
  assert_eq "$(sim_ctl GET /control/requests | jq length)" 0
}
t_reset() {
  sim_start "$DEMO"
  sim_join "$(sim_token alice@contoso.example)" "$BODY1"
  sim_ctl PUT /control/device-settings '{"users_may_join":"none"}' >/dev/null
  fault '{"path_prefix":"/x","kind":"close"}'
  sim_ctl POST /control/reset >/dev/null
  assert_eq "$(sim_ctl GET /control/devices | jq length)" 0
  assert_eq "$(sim_ctl GET /control/device-settings | jq -r .users_may_join)" all
  assert_eq "$(sim_ctl GET /control/faults | jq length)" 0
  assert_eq "$(sim_ctl GET /control/users/alice@contoso.example | jq .devices)" 0
}
t_control_errors() {
  sim_start "$DEMO"
  ! sim_ctl GET /control/nothing >/dev/null || fail "unknown route"
  ! sim_ctl PUT /control/device-settings '{"users_may_join":"maybe"}' >/dev/null || fail "bad value"
  ! sim_ctl PUT /control/device-settings '[1]' >/dev/null || fail "array"
  ! sim_ctl PUT /control/login '{"device_code_expires_in":0}' >/dev/null || fail "zero expiry"
  local st; st=$(sim_ctl GET /control/state)
  assert_eq "$(jq -r .tenant_id <<<"$st")" 6b1c2a3e-0f4d-4c55-9a77-1e2f3a4b5c6d
}
t_garbage_connections() {
  sim_start "$DEMO"
  # Plain text on the TLS port, a TLS hello cut short, and junk HTTP: no crash.
  printf 'GET / HTTP/1.1\r\n\r\n' | timeout 5 bash -c "cat >/dev/tcp/127.0.0.1/$SIM_PORT" 2>/dev/null
  head -c 100 /dev/urandom | timeout 5 bash -c "cat >/dev/tcp/127.0.0.1/$SIM_PORT" 2>/dev/null
  printf 'BREW /coffee HTCPCP/1.0\r\nHost: x\r\n\r\n' | timeout 5 openssl s_client -quiet -connect 127.0.0.1:$SIM_PORT -CAfile "$SIM_CA" >/dev/null 2>&1
  printf 'GET /%s HTTP/1.1\r\nHost: login.microsoftonline.com\r\n\r\n' "$(head -c 20000 /dev/zero | tr '\0' a)" | timeout 5 openssl s_client -quiet -connect 127.0.0.1:$SIM_PORT -CAfile "$SIM_CA" >/dev/null 2>&1
  sim_req "$DISC"; assert_eq "$HTTP_STATUS" 200 "still serving"
  kill -0 "$SIM_PID" || fail "simulator died"
}

for t in t_status_429_retry_after t_status_429_no_header t_status_500_503 t_count_n t_method_filter \
  t_drop_mid_body t_close_no_answer t_malformed t_oversized t_content_type t_html_portal \
  t_wrong_cert t_delay_does_not_block_others t_fault_validation t_request_log t_reset \
  t_control_errors t_garbage_connections; do
  tcase "sim_fault_${t#t_}" "$t"
done
