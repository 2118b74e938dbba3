#!/usr/bin/env bash
# test_join_keygen_order.sh — when `linkjoin run` creates the TPM keys,
# signs the join CSR and asks DRS discovery: by default keys and CSR while
# the person signs in (before the device code is approved) and discovery
# before the prompt (tenant given as a domain); with --no-early-keygen all
# of it only after sign-in (the baseline make bench compares against).  The
# TPM is reached through tpm-latency-proxy --verbose, whose log names every
# RSA key creation; the agent's info log names every CSR it signs; order is
# checked, never speed.
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
  assert_eq "$(csr_signs)" 0 "CSRs signed before sign-in finished"
  assert_eq "$(event_line '"phase":"discover"')" "" "discovery before sign-in"
  approve "$(user_code)"
  lj_wait
  assert_eq "$LJ_RC" 0 "exit code ($(tail -5 "$CASE/err.log"))"
  assert_eq "$(result_event | jq -r .status)" joined "status"
  assert_eq "$(rsa_creates)" 2 "RSA keys created after sign-in"
  assert_eq "$(grep -c '"type":"result"' "$CASE/out.jsonl")" 1 "exactly one result"
  assert_eq "$(grep -c 'event=csr_presigned_used' "$CASE/err.log")" 0 "presigned CSR"
  grep -q 'event=discovered .*before_signin=0' "$CASE/err.log" || fail "discovery not after sign-in"
}

csr_signs() { grep -c 'event=csr_signed' "$CASE/err.log"; }
# line number of the first out.jsonl line matching $1 (0: none)
event_line() { grep -n -m1 -- "$1" "$CASE/out.jsonl" | cut -d: -f1 || true; }
# the paths the simulator was asked, in order, one a line
sim_paths() { sim_ctl GET /control/requests | jq -r '.[].path'; }

# The join CSR is signed in the TPM while the device code is still
# unapproved, and the join sends that one (the only other CSR is Intune's,
# signed after the join); discovery of the configured domain comes before
# the prompt, the token after it.
case_csr_presigned_before_signin() {
  local i d p
  setup
  lj_run_bg --ui stdio
  wait_event '"kind":"device_code"'
  for i in $(seq 1200); do
    [ "$(csr_signs)" -ge 1 ] && break
    kill -0 "$LJ_PID" 2>/dev/null || break
    sleep 0.1
  done
  assert_eq "$(csr_signs)" 1 "join CSR signed before sign-in finished"
  grep -q 'event=signed_in' "$CASE/err.log" && fail "signed in before the code was approved"
  d=$(event_line '"phase":"discover"')
  p=$(event_line '"kind":"device_code"')
  [ -n "$d" ] && [ "$d" -lt "$p" ] || fail "discover progress (line ${d:-none}) not before the prompt (line $p)"
  grep -q 'event=discovered domain=contoso.example .*before_signin=1' "$CASE/err.log" ||
    fail "no discovery before sign-in in the log"
  assert_eq "$(sim_paths | grep -n -m1 -i '/discover' | cut -d: -f1)" \
    "$(sim_paths | grep -n -i -m1 -E '/discover|/oauth2/' | cut -d: -f1)" "discovery asked before any sign-in request"
  approve "$(user_code)"
  lj_wait
  assert_eq "$LJ_RC" 0 "exit code ($(tail -5 "$CASE/err.log"))"
  assert_eq "$(result_event | jq -r .status)" joined "status"
  assert_eq "$(grep -c 'event=csr_presigned_used' "$CASE/err.log")" 1 "the join used the presigned CSR"
  # one more CSR in all: Intune's (subject = device id), after the join
  assert_eq "$(csr_signs)" 2 "CSRs signed in all"
  assert_eq "$(grep -c '"phase":"discover"' "$CASE/out.jsonl")" 1 "one discovery"
}

# tenant = organizations: the DRS domain is the UPN's, so discovery waits
# for sign-in; the CSR is still presigned.
case_organizations_discovers_after_signin() {
  local d p
  setup
  sed -i 's/^tenant = .*/tenant = organizations/' "$CASE/lj.conf"
  lj_run_bg --ui stdio
  wait_event '"kind":"device_code"'
  approve "$(user_code)"
  lj_wait
  assert_eq "$LJ_RC" 0 "exit code ($(tail -5 "$CASE/err.log"))"
  d=$(event_line '"phase":"discover"')
  p=$(event_line '"kind":"device_code"')
  [ -n "$d" ] && [ "$d" -gt "$p" ] || fail "discover progress (line ${d:-none}) not after the prompt (line $p)"
  grep -q 'event=discovered domain=contoso.example .*before_signin=0' "$CASE/err.log" ||
    fail "no discovery after sign-in in the log"
  assert_eq "$(grep -c 'event=csr_presigned_used' "$CASE/err.log")" 1 "the join used the presigned CSR"
}

case_run_rejects_unknown_option() {
  setup
  assert_rc 2 lj run --config "$CASE/lj.conf" --no-early-keygen --early-keygen-later
  assert_contains "$OUT" "unknown option '--early-keygen-later'"
}

tcase early_keygen_during_signin case_early_keygen_during_signin
tcase no_early_keygen_waits_for_signin case_no_early_keygen_waits_for_signin
tcase csr_presigned_before_signin case_csr_presigned_before_signin
tcase organizations_discovers_after_signin case_organizations_discovers_after_signin
tcase run_rejects_unknown_option case_run_rejects_unknown_option
