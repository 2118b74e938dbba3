#!/usr/bin/env bash
# tpm_health / tpm_preflight through the hidden `linkjoin tpm health`.
. "$(dirname "$0")/lib.sh"

health() { lj tpm health --tcti "$TCTI" "$@"; }
sums() { (cd "$1" && sha256sum keys.rec device.pub device.priv transport.pub transport.priv); }

case_health_fields() {
  swtpm_start "$CASE/tpm"
  assert_rc 0 health
  assert_contains "$OUT" "tpm_protected=yes"
  assert_contains "$OUT" "family=2.0"
  assert_contains "$OUT" "manufacturer=IBM"
  assert_contains "$OUT" "manufacturer_id=0x49424d00"
  assert_contains "$OUT" "firmware_raw=0x"
  assert_contains "$OUT" "self_test_ok=yes"
  assert_contains "$OUT" "in_lockout=no"
  assert_contains "$OUT" "lockout_counter=0"
  assert_contains "$OUT" "preflight=ok"
  # Same numbers as tpm2-tools reports.
  export TPM2TOOLS_TCTI=$TCTI
  max=$(tpm2_getcap properties-variable | sed -n 's/^TPM2_PT_MAX_AUTH_FAIL: *0x\([0-9A-Fa-f]*\)/\1/p')
  [ -n "$max" ] && assert_contains "$OUT" "max_tries=$((16#$max))"
  assert_no_transient_handles
}

case_health_lockout() {
  swtpm_start "$CASE/tpm"
  tpm_force_lockout
  assert_rc 4 health
  assert_contains "$OUT" "in_lockout=yes"
  assert_contains "$OUT" "lockout_counter=1"
  assert_contains "$OUT" "max_tries=1"
  assert_contains "$OUT" "recovery_s=600"
  assert_contains "$OUT" "preflight=tpm_lockout"
  assert_contains "$OUT" "rc=tpm_lockout"
  assert_no_transient_handles
}

case_health_does_not_touch_keys() {
  local s1
  swtpm_start "$CASE/tpm"
  lj csr --state-dir "$CASE/state" --tcti "$TCTI" >/dev/null 2>&1 || fail "csr"
  s1=$(sums "$CASE/state")
  assert_rc 0 health
  assert_eq "$(sums "$CASE/state")" "$s1" "key files changed"
  assert_rc 0 lj csr --state-dir "$CASE/state" --tcti "$TCTI"
  assert_contains "$OUT" "keys reused"
  assert_no_transient_handles
}

case_health_unreachable() {
  local p
  p=$(free_port pair) || fail "no port"
  assert_rc 4 timeout 20 "$LINKJOIN" tpm health --tcti "swtpm:host=127.0.0.1,port=$p"
  assert_contains "$OUT" "rc=tpm_unreachable"
}

case_health_soft() {
  assert_rc 0 lj tpm health --key-provider soft
  assert_contains "$OUT" "tpm_protected=no"
  assert_contains "$OUT" "family=soft"
}

tcase health_fields case_health_fields
tcase health_lockout case_health_lockout
tcase health_does_not_touch_keys case_health_does_not_touch_keys
tcase health_unreachable case_health_unreachable
tcase health_soft case_health_soft
