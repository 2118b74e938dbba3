#!/usr/bin/env bash
# test_proxy.sh — joins through a real HTTP proxy (Debian's tinyproxy on a
# free loopback port, started and stopped by each case): HTTPS goes through
# CONNECT tunnels, TLS end to end; with and without proxy authentication
# (credentials from a file, never on argv or in a log); no_proxy; proxy =
# env; one join over IPv6 loopback.  Failures, each naming the proxy:
# proxy_auth_required (no or wrong credentials, an unusable credentials
# file), proxy_unreachable, and a proxy that intercepts TLS:
# network_intercepted.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_join.sh"
source "$(dirname "$0")/lib_httpproxy.sh"

PX_USER=linkjoin-dev
PX_PASS='Prx-S3cret-7f2e'

# proxy_conf [LINE..] — the agent's config through $HPROXY_URL.
proxy_conf() { lj_conf "$CASE/lj.conf" "proxy = $HPROXY_URL" "$@"; }

# creds_file [MODE] — $CASE/proxy.cred with USER:PASSWORD (mode 0600).
creds_file() {
  printf '%s:%s\n' "$PX_USER" "$PX_PASS" >"$CASE/proxy.cred"
  chmod "${1:-600}" "$CASE/proxy.cred"
}

# Every host the agent talked to went through the proxy: the simulator's
# port in tunnels, never a direct connection (the simulator logs the peer).
assert_joined_through_proxy() {
  assert_eq "$LJ_RC" 0 "joins ($(result_event) $(tail -5 "$CASE/err.log"))"
  assert_eq "$(result_event | jq -r .mdm.state)" enrolled
  assert_eq "$(sim_devices)" 1
  [ "$(httpproxy_tunnels)" -ge 3 ] || fail "fewer tunnels than hosts: $(cat "$HPROXY_LOG")"
  assert_contains "$(cat "$HPROXY_LOG")" "CONNECT ${1:-127.0.0.1}:$SIM_PORT"
  assert_contains "$(cat "$CASE/err.log")" "event=probe_ok host=login.microsoftonline.com port=443 proxy=$HPROXY_URL"
}

case_join_through_proxy() {
  join_env
  httpproxy_start
  proxy_conf
  run_device_code
  assert_joined_through_proxy
  httpproxy_stop
}

case_join_through_proxy_with_auth() {
  join_env
  httpproxy_start --auth "$PX_USER" "$PX_PASS"
  creds_file
  proxy_conf "proxy_credentials_file = $CASE/proxy.cred"
  sed -i 's/^log_level = .*/log_level = debug/' "$CASE/lj.conf"
  run_device_code
  assert_joined_through_proxy
  # the password is in no log, output or state file, nor on argv
  ! grep -rqaF -- "$PX_PASS" "$CASE/err.log" "$CASE/out.jsonl" "$CASE/state" ||
    fail "proxy password in clear"
  ! grep -rqaF -- "$(printf '%s:%s' "$PX_USER" "$PX_PASS" | base64 -w0)" "$CASE/err.log" \
    "$CASE/out.jsonl" "$CASE/state" || fail "proxy Basic credentials in a log or file"
  assert_contains "$(cat "$CASE/err.log")" "event=proxy url=$HPROXY_URL no_proxy=\"\" credentials=***"
  httpproxy_stop
}

case_proxy_auth_required_no_credentials() {
  local r
  join_env
  httpproxy_start --auth "$PX_USER" "$PX_PASS"
  proxy_conf
  lj_run_bg --ui stdio
  lj_wait
  assert_failed_result proxy_auth_required 0x80190197 admin false 3 preflight
  r=$(result_event)
  assert_contains "$(jq -r .admin_action <<<"$r")" "$HPROXY_URL"
  assert_contains "$(jq -r .admin_action <<<"$r")" "proxy_credentials_file"
  assert_eq "$(sim_requests)" 0 "requests"
  httpproxy_stop
}

case_proxy_auth_required_wrong_password() {
  join_env
  httpproxy_start --auth "$PX_USER" "$PX_PASS"
  printf '%s:%s\n' "$PX_USER" "not-the-password" >"$CASE/proxy.cred"
  chmod 600 "$CASE/proxy.cred"
  proxy_conf "proxy_credentials_file = $CASE/proxy.cred"
  lj_run_bg --ui stdio
  lj_wait
  assert_failed_result proxy_auth_required 0x80190197 admin false 3 preflight
  httpproxy_stop
}

# A credentials file others can read is refused before any request.
case_proxy_credentials_file_world_readable() {
  join_env
  httpproxy_start --auth "$PX_USER" "$PX_PASS"
  creds_file 644
  proxy_conf "proxy_credentials_file = $CASE/proxy.cred"
  lj_run_bg --ui stdio
  lj_wait
  assert_failed_result proxy_auth_required 0x80190197 admin false 3 preflight
  assert_contains "$(cat "$CASE/err.log")" "is readable by other users"
  assert_eq "$(httpproxy_tunnels)" 0 "tunnels"
  httpproxy_stop
}

case_proxy_unreachable() {
  local port r
  join_env
  port=$(free_port)
  lj_conf "$CASE/lj.conf" "proxy = http://127.0.0.1:$port"
  lj_run_bg --ui stdio
  lj_wait
  assert_failed_result proxy_unreachable 0x80072f85 admin true 5 preflight
  r=$(result_event)
  assert_contains "$(jq -r .admin_action <<<"$r")" "proxy http://127.0.0.1:$port"
  assert_eq "$(sim_requests)" 0 "requests"
}

# The proxy inspects TLS: the certificate the device gets through it is not
# from the CA it trusts (here: a second simulator's).  network_intercepted,
# with the code Windows shows for an untrusted root, naming the proxy.
case_proxy_intercepts_tls() {
  local other_ca r
  join_env
  other_ca=$(
    sim_start "$LJ_TENANT_DEMO" "$CASE/sim-other"
    echo "$SIM_CA"
    sim_stop
  )
  [ -f "$other_ca" ] || fail "second simulator CA: $other_ca"
  httpproxy_start
  proxy_conf
  sed -i "s|^ca_file = .*|ca_file = $other_ca|" "$CASE/lj.conf"
  lj_run_bg --ui stdio
  lj_wait
  assert_failed_result network_intercepted 0x800b0109 admin false 5 preflight
  r=$(result_event)
  assert_contains "$(jq -r .admin_action <<<"$r")" "TLS inspection on the proxy $HPROXY_URL"
  assert_eq "$(sim_requests)" 0 "requests over an untrusted connection"
  httpproxy_stop
}

# The proxy refuses the tunnel (its ConnectPort rule: 403): the hosts are
# not reachable through it, and the message says the proxy refused.
case_proxy_refuses_tunnel() {
  local r
  join_env
  httpproxy_start --connect-port 443
  proxy_conf
  lj_run_bg --ui stdio
  lj_wait
  assert_failed_result network_unreachable 0x80072efd user true 5 preflight
  r=$(result_event)
  assert_contains "$(jq -r .admin_action <<<"$r")" "the proxy refused to open a connection to it (HTTP 403)"
  assert_eq "$(sim_requests)" 0 "requests"
  httpproxy_stop
}

# no_proxy names every host: the (dead) proxy is never used.
case_no_proxy_goes_direct() {
  local port
  join_env
  port=$(free_port)
  lj_conf "$CASE/lj.conf" "proxy = http://127.0.0.1:$port" \
    "no_proxy = login.microsoftonline.com, .windows.net,manage.microsoft.com"
  run_device_code
  assert_eq "$LJ_RC" 0 "joins directly ($(result_event) $(tail -5 "$CASE/err.log"))"
  assert_contains "$(cat "$CASE/err.log")" "event=probe_ok host=enterpriseregistration.windows.net port=443 proxy=none"
}

# proxy = env: https_proxy from the environment (as a systemd drop-in sets it).
case_proxy_from_environment() {
  join_env
  httpproxy_start
  lj_conf "$CASE/lj.conf" "proxy = env"
  https_proxy=$HPROXY_URL no_proxy= run_device_code
  assert_joined_through_proxy
  httpproxy_stop
}

# proxy = env, the environment names no no_proxy: the file's no_proxy
# applies (here every host, so the dead proxy is never used); an environment
# proxy URL holding credentials is refused (proxy_unreachable), never echoed.
case_proxy_env_uses_file_no_proxy() {
  local port r
  join_env
  port=$(free_port)
  lj_conf "$CASE/lj.conf" "proxy = env" "no_proxy = login.microsoftonline.com,windows.net,microsoft.com"
  https_proxy=http://127.0.0.1:$port no_proxy= NO_PROXY= run_device_code
  assert_eq "$LJ_RC" 0 "joins directly ($(result_event) $(tail -5 "$CASE/err.log"))"
  mv "$CASE/out.jsonl" "$CASE/out-joined.jsonl"
  lj_conf "$CASE/lj.conf" "proxy = env"
  sed -i "s|^state_dir = .*|state_dir = $CASE/state2|" "$CASE/lj.conf"
  HTTPS_PROXY= https_proxy="http://u:Env-Secr3t@127.0.0.1:$port" lj_run_bg --ui stdio
  lj_wait
  r=$(result_event)
  assert_eq "$(jq -r .reason <<<"$r")" proxy_unreachable "reason ($r)"
  assert_eq "$LJ_RC" 5 "exit"
  ! grep -qF "Env-Secr3t" "$CASE/err.log" "$CASE/out.jsonl" || fail "the environment's proxy password echoed"
}

# The whole join over IPv6 loopback: simulator, proxy and tunnels on ::1.
case_join_over_ipv6_through_proxy() {
  need_sim
  sim_start "$LJ_TENANT_DEMO" "" --listen "[::1]:0"
  swtpm_start "$CASE/tpm"
  sim_ctl PATCH /control/login '{"device_code_interval":1}' >/dev/null || fail "login settings"
  httpproxy_start --listen ::1
  proxy_conf
  sed -i "s|:127.0.0.1:$SIM_PORT$|:[::1]:$SIM_PORT|" "$CASE/lj.conf"
  assert_contains "$(cat "$CASE/lj.conf")" "connect_to = login.microsoftonline.com:443:[::1]:$SIM_PORT"
  run_device_code
  assert_joined_through_proxy "[::1]"
  httpproxy_stop
}

# config --check: what a proxy setting may be.
case_config_check_proxy() {
  : >"$CASE/empty.conf"
  assert_rc 3 lj config --config "$CASE/empty.conf" --check --proxy https://proxy.example:3128
  assert_contains "$OUT" "bad value for 'proxy': must be an http:// proxy"
  assert_rc 3 lj config --config "$CASE/empty.conf" --check --proxy http://user:secret@proxy.example:3128
  assert_contains "$OUT" "must not hold a user name or password (put them in proxy_credentials_file)"
  assert_not_contains "$OUT" "secret@" "the refused value is not echoed with its password"
  assert_rc 3 lj config --config "$CASE/empty.conf" --check --proxy http://proxy.example
  assert_contains "$OUT" "must name the port"
  assert_rc 3 lj config --config "$CASE/empty.conf" --check --no-proxy 'a b'
  assert_contains "$OUT" "bad value for 'no_proxy'"
  assert_rc 3 lj config --config "$CASE/empty.conf" --check --proxy-credentials-file /etc/x
  assert_contains "$OUT" "'proxy_credentials_file' is used only with a proxy"
  assert_rc 0 lj config --config "$CASE/empty.conf" --check --proxy http://[::1]:3128 \
    --no-proxy '.contoso.example,10.0.0.1' --proxy-credentials-file /etc/x
  assert_rc 0 lj config --config "$CASE/empty.conf" --check --proxy env
  assert_rc 0 lj config --config "$CASE/empty.conf"
  assert_contains "$OUT" "proxy = none"
}

tcase proxy_join_through_proxy case_join_through_proxy
tcase proxy_join_with_auth case_join_through_proxy_with_auth
tcase proxy_auth_required_no_credentials case_proxy_auth_required_no_credentials
tcase proxy_auth_required_wrong_password case_proxy_auth_required_wrong_password
tcase proxy_credentials_file_world_readable case_proxy_credentials_file_world_readable
tcase proxy_unreachable case_proxy_unreachable
tcase proxy_intercepts_tls case_proxy_intercepts_tls
tcase proxy_refuses_tunnel case_proxy_refuses_tunnel
tcase proxy_no_proxy_goes_direct case_no_proxy_goes_direct
tcase proxy_from_environment case_proxy_from_environment
tcase proxy_env_uses_file_no_proxy case_proxy_env_uses_file_no_proxy
tcase proxy_join_over_ipv6 case_join_over_ipv6_through_proxy
tcase proxy_config_check case_config_check_proxy
