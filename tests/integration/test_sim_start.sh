#!/usr/bin/env bash
# entra-sim start-up, state directory, tenant-file errors, stop, isolation.
. "$(dirname "$0")/lib.sh"
DEMO=$LJ_TOP/hw-sim/tenants/demo.json

t_ready_line() {
  sim_start "$DEMO" "$CASE/st"
  local line; line=$(grep ready "$CASE"/sim.*.out)
  assert_eq "$(jq -r .event <<<"$line")" ready
  assert_eq "$(jq -r .ca <<<"$line")" "$CASE/st/ca.pem"
  assert_eq "$(jq -r .tenant_id <<<"$line")" 6b1c2a3e-0f4d-4c55-9a77-1e2f3a4b5c6d
  [ "$SIM_PORT" -gt 0 ] && [ "$SIM_CTL" -gt 0 ] || fail "ports not set"
  assert_file "$CASE/st/ca.pem"
  assert_mode "$CASE/st/ca.key" 600
  assert_mode "$CASE/st" 700
  sim_ctl GET /control/health >/dev/null || fail "control not healthy"
}

t_server_cert_names() {
  sim_start "$DEMO" "$CASE/st"
  local txt; txt=$(openssl x509 -in "$CASE/st/server.pem" -noout -text)
  for n in DNS:login.microsoftonline.com DNS:enterpriseregistration.windows.net \
           DNS:enrollment.manage.microsoft.com DNS:localhost "IP Address:127.0.0.1"; do
    assert_contains "$txt" "$n"
  done
  openssl verify -CAfile "$SIM_CA" "$CASE/st/server.pem" >/dev/null || fail "server cert does not chain"
  for h in login.microsoftonline.com enterpriseregistration.windows.net enrollment.manage.microsoft.com; do
    sim_req "https://$h/contoso.example/v2.0/.well-known/openid-configuration"
    [ "$HTTP_STATUS" != 000 ] || fail "TLS to $h failed"
  done
  curl -sS --cacert "$SIM_CA" "https://localhost:$SIM_PORT/contoso.example/v2.0/.well-known/openid-configuration" >/dev/null || fail "localhost name"
  curl -sS --cacert "$SIM_CA" "https://127.0.0.1:$SIM_PORT/contoso.example/v2.0/.well-known/openid-configuration" >/dev/null || fail "127.0.0.1 name"
}

t_state_reused() {
  sim_start "$DEMO" "$CASE/st"
  local before; before=$(sha256sum "$CASE/st/ca.pem" "$CASE/st/server.pem" "$CASE/st/token.key")
  sim_stop || fail "stop status $?"
  sim_start "$DEMO" "$CASE/st"
  assert_eq "$(sha256sum "$CASE/st/ca.pem" "$CASE/st/server.pem" "$CASE/st/token.key")" "$before" "state not reused"
}

t_sigterm_exit0() {
  sim_start "$DEMO" "$CASE/st"
  sim_stop; local rc=$?
  assert_eq "$rc" 0 "exit status after SIGTERM"
}

t_other_ca_untrusted() {
  sim_start "$DEMO" "$CASE/a"
  local ca_a=$SIM_CA
  sim_start "$DEMO" "$CASE/b"
  ! cmp -s "$ca_a" "$SIM_CA" || fail "two state dirs share a CA"
  SIM_CA=$ca_a sim_req "https://login.microsoftonline.com/contoso.example/v2.0/.well-known/openid-configuration"
  assert_eq "$HTTP_STATUS" 000 "a foreign CA must not verify"
}

t_control_not_on_public() {
  sim_start "$DEMO" "$CASE/st"
  sim_req https://login.microsoftonline.com/control/health
  assert_eq "$HTTP_STATUS" 404
  sim_req https://enterpriseregistration.windows.net/control/state
  assert_eq "$HTTP_STATUS" 404
}

t_control_must_be_loopback() {
  assert_rc 2 "$ENTRASIM" --tenant "$DEMO" --state-dir "$CASE/st" --control 0.0.0.0:0
  assert_contains "$OUT" control_not_loopback
}

t_usage_errors() {
  assert_rc 2 "$ENTRASIM"
  assert_rc 2 "$ENTRASIM" --tenant "$DEMO"
  assert_rc 2 "$ENTRASIM" --tenant "$DEMO" --state-dir "$CASE/st" --bogus x
  assert_rc 2 "$ENTRASIM" --tenant "$DEMO" --state-dir "$CASE/st" --listen nonsense
  assert_rc 2 "$ENTRASIM" --tenant "$DEMO" --state-dir "$CASE/st" --tls-sigalgs windows
  assert_eq "$OUT" "entra-sim: bad --tls-sigalgs 'windows'"
  assert_rc 0 "$ENTRASIM" --help
  assert_contains "$OUT" "--state-dir"
  assert_contains "$OUT" "--tls-sigalgs default|tls12|no-pss|pkcs1-sha384|pss-sha384"
}

# bad_tenant JQ-FILTER EXPECTED-TEXT — the demo tenant changed by a jq filter
# must be refused with exit 3 and a message naming the field.
bad_tenant() {
  jq "$1" "$DEMO" >"$CASE/t.json"
  assert_rc 3 "$ENTRASIM" --tenant "$CASE/t.json" --state-dir "$CASE/st"
  assert_contains "$OUT" "$2"
}

t_bad_tenant_missing_file() { assert_rc 3 "$ENTRASIM" --tenant "$CASE/none.json" --state-dir "$CASE/st"; assert_contains "$OUT" "cannot read tenant file"; }
t_bad_tenant_not_json() { echo '{"tenant_id":' >"$CASE/t.json"; assert_rc 3 "$ENTRASIM" --tenant "$CASE/t.json" --state-dir "$CASE/st"; assert_contains "$OUT" "not valid JSON"; }
t_bad_tenant_id() { bad_tenant '.tenant_id="nope"' "field 'tenant_id': must be a GUID"; }
t_bad_tenant_no_domains() { bad_tenant 'del(.domains)' "field 'domains'"; }
t_bad_tenant_user_upn() { bad_tenant '.users[1].upn=5' "field 'users[1].upn': must be a non-empty string"; }
t_bad_tenant_user_domain() { bad_tenant '.users[0].upn="a@other.example"' "field 'users[0].upn': domain 'other.example'"; }
t_bad_tenant_user_bool() { bad_tenant '.users[2].enabled="yes"' "field 'users[2].enabled': must be true or false"; }
t_bad_tenant_user_group() { bad_tenant '.users[0].groups=["Nope"]' "field 'users[0].groups[0]': unknown group 'Nope'"; }
t_bad_tenant_user_unknown() { bad_tenant '.users[0].pasword="x"' "field 'users[0].pasword': unknown member"; }
t_bad_tenant_dup_user() { bad_tenant '.users[1].upn="alice@contoso.example"' "duplicate user"; }
t_bad_tenant_join_policy() { bad_tenant '.device_settings.users_may_join="some"' "field 'device_settings.users_may_join'"; }
t_bad_tenant_selected_no_groups() { bad_tenant '.device_settings.users_may_join="selected"' "field 'device_settings.users_may_join_groups'"; }
t_bad_tenant_quota() { bad_tenant '.device_settings.max_devices_per_user=0' "field 'device_settings.max_devices_per_user'"; }
t_bad_tenant_ca() { bad_tenant '.conditional_access.register_or_join_devices="mfa"' "field 'conditional_access.register_or_join_devices'"; }
t_bad_tenant_unknown_top() { bad_tenant '.colour="blue"' "field 'colour': unknown member"; }
t_bad_tenant_licence() { bad_tenant '.users[0].licenses=["e5"]' "field 'users[0].licenses[0]': unknown licence"; }

t_tenant_intune_ok() {
  jq '.intune={"mdm_user_scope":"all"} | .device_settings.max_devices_per_user="unlimited"' "$DEMO" >"$CASE/t.json"
  sim_start "$CASE/t.json" "$CASE/st"
  assert_eq "$(sim_ctl GET /control/device-settings | jq -r .max_devices_per_user)" unlimited
}
t_bad_tenant_intune_unknown() { bad_tenant '.intune.anything=[1,2]' "field 'intune.anything': unknown member"; }
t_bad_tenant_intune_scope() { bad_tenant '.intune.mdm_user_scope="selected"' "field 'intune.mdm_user_scope'"; }
t_bad_tenant_intune_corp_id() { bad_tenant '.intune.corporate_identifiers=["serial-only"]' "field 'intune.corporate_identifiers[0]'"; }

# Traffic through every module, then SIGTERM: exit 0 (under ASan/LSan a
# leak or error makes the exit status non-zero).
t_clean_exit_after_traffic() {
  sim_start "$DEMO" "$CASE/st"
  sim_keygen "$CASE/k.pem"; sim_join_body "$CASE/k.pem" >"$CASE/b.json"
  sim_ropc alice@contoso.example 'Demo-Passw0rd!'; assert_eq "$HTTP_STATUS" 200
  local rt; rt=$(jq -r .refresh_token <<<"$BODY")
  sim_req https://login.microsoftonline.com/contoso.example/oauth2/token -d grant_type=refresh_token \
    -d client_id=1b730954-1685-4b74-9bfd-dac224a7b894 --data-urlencode "refresh_token=$rt" -d resource=urn:ms-drs:enterpriseregistration.windows.net
  sim_join "$(jq -r .access_token <<<"$BODY")" "$CASE/b.json"; assert_eq "$HTTP_STATUS" 200
  sim_req https://login.microsoftonline.com/contoso.example/oauth2/v2.0/devicecode -d client_id=29d9ed98-a469-4536-ade2-f981bc1d605e -d scope=openid
  sim_req "https://login.microsoftonline.com/contoso.example/oauth2/authorize?client_id=29d9ed98-a469-4536-ade2-f981bc1d605e&response_type=code&redirect_uri=urn:ietf:wg:oauth:2.0:oob&resource=urn:ms-drs:enterpriseregistration.windows.net"
  sim_req https://login.microsoftonline.com/devicelogin -d otc=X -d login=a -d passwd=b
  sim_ctl POST /control/faults '{"path_prefix":"/contoso.example/Discover","kind":"drop"}' >/dev/null
  sim_curl -o /dev/null "https://enterpriseregistration.windows.net/contoso.example/Discover?api-version=1.7"
  sim_ctl POST /control/faults '{"path_prefix":"/contoso.example/Discover","kind":"oversized","size":100000}' >/dev/null
  sim_curl -o /dev/null "https://enterpriseregistration.windows.net/contoso.example/Discover?api-version=1.7"
  sim_ctl POST /control/users '{"upn":"z@contoso.example","password":"z"}' >/dev/null
  sim_ctl POST /control/reset >/dev/null
  sim_stop; local rc=$?
  assert_eq "$rc" 0 "exit status after traffic"
  assert_not_contains "$(cat "$SIM_LOG")" "ERROR: AddressSanitizer"
  assert_not_contains "$(cat "$SIM_LOG")" "runtime error"
}

tcase sim_ready_line t_ready_line
tcase sim_clean_exit_after_traffic t_clean_exit_after_traffic
tcase sim_server_cert_names t_server_cert_names
tcase sim_state_reused t_state_reused
tcase sim_sigterm_exit0 t_sigterm_exit0
tcase sim_other_ca_untrusted t_other_ca_untrusted
tcase sim_control_not_on_public t_control_not_on_public
tcase sim_control_must_be_loopback t_control_must_be_loopback
tcase sim_usage_errors t_usage_errors
tcase sim_bad_tenant_missing_file t_bad_tenant_missing_file
tcase sim_bad_tenant_not_json t_bad_tenant_not_json
tcase sim_bad_tenant_id t_bad_tenant_id
tcase sim_bad_tenant_no_domains t_bad_tenant_no_domains
tcase sim_bad_tenant_user_upn t_bad_tenant_user_upn
tcase sim_bad_tenant_user_domain t_bad_tenant_user_domain
tcase sim_bad_tenant_user_bool t_bad_tenant_user_bool
tcase sim_bad_tenant_user_group t_bad_tenant_user_group
tcase sim_bad_tenant_user_unknown t_bad_tenant_user_unknown
tcase sim_bad_tenant_dup_user t_bad_tenant_dup_user
tcase sim_bad_tenant_join_policy t_bad_tenant_join_policy
tcase sim_bad_tenant_selected_no_groups t_bad_tenant_selected_no_groups
tcase sim_bad_tenant_quota t_bad_tenant_quota
tcase sim_bad_tenant_ca t_bad_tenant_ca
tcase sim_bad_tenant_unknown_top t_bad_tenant_unknown_top
tcase sim_bad_tenant_licence t_bad_tenant_licence
tcase sim_tenant_intune_ok t_tenant_intune_ok
tcase sim_bad_tenant_intune_unknown t_bad_tenant_intune_unknown
tcase sim_bad_tenant_intune_scope t_bad_tenant_intune_scope
tcase sim_bad_tenant_intune_corp_id t_bad_tenant_intune_corp_id
