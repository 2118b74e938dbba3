#!/usr/bin/env bash
# Integration tests for hw-sim/tools/tpm-latency-proxy (the discrete-TPM
# latency profile used by make bench) in front of a fresh swtpm per case.
# Timing is only ever checked as a lower bound (the hold the profile adds);
# a slow machine can never fail these.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_proxy.sh"

ms() { echo $(( $(date +%s%N) / 1000000 )); }
csr_via() { lj csr --state-dir "$CASE/state" --tcti "$1"; }
stop_line() { grep 'stop connections=' "$PROXY_LOG"; }

case_swtpm_profile_same_csr() {
  swtpm_start "$CASE/tpm"
  tpm_proxy_start swtpm
  csr_via "$PROXY_TCTI" >"$CASE/a.pem" 2>"$CASE/a.err" || fail "csr through the proxy: $(cat "$CASE/a.err")"
  assert_contains "$(cat "$CASE/a.err")" "keys created"
  # Same keys read straight from swtpm: RSASSA-PKCS1-v1_5 is deterministic,
  # so the same key gives the same CSR byte for byte.
  csr_via "$TCTI" >"$CASE/b.pem" 2>/dev/null || fail "csr direct"
  cmp -s "$CASE/a.pem" "$CASE/b.pem" || fail "CSR through the proxy differs from the direct one"
  csr_via "$PROXY_TCTI" >"$CASE/c.pem" 2>/dev/null || fail "second csr through the proxy"
  cmp -s "$CASE/a.pem" "$CASE/c.pem" || fail "CSR with reused keys through the proxy differs"
  openssl req -in "$CASE/a.pem" -verify -noout 2>&1 | grep -q "verify OK" || fail "CSR does not verify"
  assert_eq "$(tpm_transient_handles)" "" "transient handles left"
  local n
  tpm_proxy_stop
  assert_eq "$PROXY_RC" 0 "proxy exit status"
  # The commands really went through the proxy (not around it).
  n=$(stop_line | sed -n 's/.* commands=\([0-9]*\).*/\1/p')
  [ "${n:-0}" -ge 10 ] || fail "proxy saw ${n:-0} commands: $(cat "$PROXY_LOG")"
  assert_contains "$(stop_line)" "refused=0"
}

case_discrete_profile_keygen_lower_bound() {
  local t0 t1 want
  swtpm_start "$CASE/tpm"
  tpm_proxy_start discrete --verbose
  assert_contains "$(cat "$CASE/proxy.out")" "rsa-keygen=3000"
  t0=$(ms)
  csr_via "$PROXY_TCTI" >"$CASE/a.pem" 2>"$CASE/a.err" || fail "csr: $(cat "$CASE/a.err")"
  t1=$(ms)
  # Two RSA-2048 Creates (device + transport key), an ECC CreatePrimary
  # for the parent and at least one Sign: lower bound only.
  want=$((2 * 3000 + 250 + 200))
  [ $((t1 - t0)) -ge $want ] || fail "cold csr took $((t1 - t0)) ms, less than the profile's $want ms"
  assert_eq "$(grep -c 'kind=rsa-keygen hold_ms=3000' "$PROXY_LOG")" 2 "RSA keygens seen"
  assert_contains "$(cat "$PROXY_LOG")" "cc=0x131 kind=ecc-keygen hold_ms=250"
  assert_contains "$(cat "$PROXY_LOG")" "cc=0x15d kind=sign hold_ms=200"
  openssl req -in "$CASE/a.pem" -verify -noout 2>&1 | grep -q "verify OK" || fail "CSR does not verify"
}

case_delay_override() {
  local t0 t1
  swtpm_start "$CASE/tpm"
  tpm_proxy_start discrete --delay rsa-keygen=1000 --delay sign=0
  assert_contains "$(cat "$CASE/proxy.out")" "rsa-keygen=1000 ecc-keygen=250 sign=0"
  t0=$(ms)
  csr_via "$PROXY_TCTI" >/dev/null 2>&1 || fail "csr"
  t1=$(ms)
  [ $((t1 - t0)) -ge 2000 ] || fail "cold csr took $((t1 - t0)) ms, less than 2 x 1000 ms"
}

case_many_connections_no_fd_leak() {
  local before after i n
  swtpm_start "$CASE/tpm"
  tpm_proxy_start swtpm
  before=$(proxy_fd_count)
  csr_via "$PROXY_TCTI" >/dev/null 2>&1 || fail "first csr"
  for i in $(seq 10); do
    csr_via "$PROXY_TCTI" >/dev/null 2>&1 || fail "csr $i"
    TPM2TOOLS_TCTI=$PROXY_TCTI tpm2_getrandom 8 --hex >/dev/null 2>&1 || fail "tpm2_getrandom $i"
  done
  # The proxy closes its side when it reads the client's EOF, which may come
  # just after the last client exits: give it up to 10 s to settle.
  for i in $(seq 100); do
    after=$(proxy_fd_count)
    [ "$after" = "$before" ] && break
    sleep 0.1
  done
  assert_eq "$after" "$before" "open fds of the proxy after many connections"
  tpm_proxy_stop
  assert_eq "$PROXY_RC" 0 "proxy exit status"
  n=$(stop_line | sed -n 's/.*connections=\([0-9]*\).*/\1/p')
  [ "${n:-0}" -ge 100 ] || fail "expected >= 100 connections, saw ${n:-0}"
}

case_sigterm_stops_and_frees_ports() {
  swtpm_start "$CASE/tpm"
  tpm_proxy_start discrete
  # A connection held open by a client must not keep the proxy alive.
  exec 3<>"/dev/tcp/127.0.0.1/$PROXY_PORT"
  local port=$PROXY_PORT
  tpm_proxy_stop
  exec 3>&-
  assert_eq "$PROXY_RC" 0 "exit status after SIGTERM"
  assert_contains "$(stop_line)" "stop connections="
  _port_busy "$port" && fail "port $port still listening"
  _port_busy $((port + 1)) && fail "port $((port + 1)) still listening"
  return 0
}

case_refuses_non_tpm_frame() {
  swtpm_start "$CASE/tpm"
  tpm_proxy_start swtpm
  # An mssim-framed TPM_SEND_COMMAND (0x00000008) is not what the swtpm TCTI
  # sends: the proxy closes that connection and keeps serving.
  exec 3<>"/dev/tcp/127.0.0.1/$PROXY_PORT"
  printf '\x00\x00\x00\x08\x00\x00\x00\x00\x0c\x80\x01' >&3
  timeout 10 cat <&3 >/dev/null
  exec 3>&-
  csr_via "$PROXY_TCTI" >/dev/null 2>&1 || fail "csr after a refused frame"
  tpm_proxy_stop
  assert_contains "$(cat "$PROXY_LOG")" "event=refused dir=command tag=0x0000"
  assert_contains "$(stop_line)" "refused=1"
}

case_upstream_down_keeps_serving() {
  swtpm_start "$CASE/tpm"
  tpm_proxy_start swtpm
  swtpm_stop
  # The proxy accepts, cannot reach swtpm and closes: the client sees an
  # I/O failure.  (tpm2-tools here, not the agent: which agent message this
  # gives depends on the command that meets the closed connection.)
  TPM2TOOLS_TCTI=$PROXY_TCTI timeout 60 tpm2_getrandom 8 --hex >/dev/null 2>&1 &&
    fail "tpm2_getrandom succeeded with swtpm stopped"
  kill -0 "$PROXY_PID" 2>/dev/null || fail "proxy died when swtpm went away"
  assert_contains "$(cat "$PROXY_LOG")" "event=upstream_unreachable"
  tpm_proxy_stop
  assert_eq "$PROXY_RC" 0 "proxy exit status"
}

case_usage_errors() {
  assert_rc 2 "$TPM_PROXY"
  assert_contains "$OUT" "usage: tpm-latency-proxy"
  assert_rc 2 "$TPM_PROXY" --listen 30000 --upstream 30002 --profile fast
  assert_contains "$OUT" "unknown profile 'fast'"
  assert_rc 2 "$TPM_PROXY" --listen 30000 --upstream 30002 --delay keygen=5
  assert_rc 2 "$TPM_PROXY" --listen 30000 --upstream 30002 --delay sign=-1
  assert_rc 2 "$TPM_PROXY" --listen 65535 --upstream 30002
  assert_rc 0 "$TPM_PROXY" --help
}

tcase swtpm_profile_same_csr case_swtpm_profile_same_csr
tcase discrete_profile_keygen_lower_bound case_discrete_profile_keygen_lower_bound
tcase delay_override case_delay_override
tcase many_connections_no_fd_leak case_many_connections_no_fd_leak
tcase sigterm_stops_and_frees_ports case_sigterm_stops_and_frees_ports
tcase refuses_non_tpm_frame case_refuses_non_tpm_frame
tcase upstream_down_keeps_serving case_upstream_down_keeps_serving
tcase usage_errors case_usage_errors
