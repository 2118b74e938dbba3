#!/usr/bin/env bash
# test_join_keygen_order.sh — when `linkjoin run` creates the TPM keys: by
# default while the person signs in (keygen before the device code is
# approved), with --no-early-keygen only after sign-in (the baseline make
# bench compares against).  The TPM is reached through tpm-latency-proxy
# --verbose, whose log names every RSA key creation; order is checked, never
# speed.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_join.sh"
source "$(dirname "$0")/lib_proxy.sh"

rsa_creates() { grep -c 'kind=rsa-keygen' "$PROXY_LOG"; }
token_polls() { sim_ctl GET /control/requests | jq '[.[] | select(.path | test("token"))] | length'; }

setup() {
  join_env
  tpm_proxy_start swtpm --verbose
  TCTI=$PROXY_TCTI lj_conf "$CASE/lj.conf"
}

user_code() { grep '"kind":"device_code"' "$CASE/out.jsonl" | jq -r .user_code; }

case_early_keygen_during_signin() {
  local i
  setup
  lj_run_bg --ui stdio
  wait_event '"kind":"device_code"'
  # Both keys are made while the code is still unapproved (bounded wait).
  for i in $(seq 1200); do
    [ "$(rsa_creates)" -ge 2 ] && break
    kill -0 "$LJ_PID" 2>/dev/null || break
    sleep 0.1
  done
  assert_eq "$(rsa_creates)" 2 "RSA keys created before sign-in finished"
  approve "$(user_code)"
  lj_wait
  assert_eq "$LJ_RC" 0 "exit code ($(tail -5 "$CASE/err.log"))"
  assert_eq "$(result_event | jq -r .status)" joined "status"
  assert_eq "$(rsa_creates)" 2 "RSA keys created in all"
}

case_no_early_keygen_waits_for_signin() {
  local i
  setup
  lj_run_bg --ui stdio --no-early-keygen
  wait_event '"kind":"device_code"'
  # The agent is waiting for the person: it has polled the token endpoint
  # twice (bounded wait), and no key has been made.
  for i in $(seq 600); do
    [ "$(token_polls)" -ge 2 ] && break
    sleep 0.1
  done
  [ "$(token_polls)" -ge 2 ] || fail "agent did not poll for the token"
  assert_eq "$(rsa_creates)" 0 "RSA keys created before sign-in finished"
  approve "$(user_code)"
  lj_wait
  assert_eq "$LJ_RC" 0 "exit code ($(tail -5 "$CASE/err.log"))"
  assert_eq "$(result_event | jq -r .status)" joined "status"
  assert_eq "$(rsa_creates)" 2 "RSA keys created after sign-in"
  assert_eq "$(grep -c '"type":"result"' "$CASE/out.jsonl")" 1 "exactly one result"
}

case_run_rejects_unknown_option() {
  setup
  assert_rc 2 lj run --config "$CASE/lj.conf" --no-early-keygen --early-keygen-later
  assert_contains "$OUT" "unknown option '--early-keygen-later'"
}

tcase early_keygen_during_signin case_early_keygen_during_signin
tcase no_early_keygen_waits_for_signin case_no_early_keygen_waits_for_signin
tcase run_rejects_unknown_option case_run_rejects_unknown_option
