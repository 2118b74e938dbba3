#!/usr/bin/env bash
# `linkjoin factory-test` against manufactured swtpms (hw-sim/swtpm-manufacture.sh).
. "$(dirname "$0")/lib.sh"

ID=(--manufacturer Contoso --model "Link 1" --serial SN-0001234)
factory() { lj factory-test --tcti "$TCTI" "${ID[@]}" "$@"; }

# Start a manufactured TPM: EK certificates from a local CA in $CASE/$1/localca.
good_tpm() {
  swtpm_manufacture "$CASE/${1:-dev}" >/dev/null
  swtpm_start "$CASE/${1:-dev}/tpmstate"
}

# Field of the JSON report on stdin: json_get 'checks.4.status'
json_get() {
  python3 -c '
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print(v if not isinstance(v, bool) else str(v).lower())' "$1"
}

case_good_device_text() {
  good_tpm
  assert_rc 0 factory --ek-ca "$EK_CA"
  assert_contains "$OUT" "linkjoin factory-test: PASS (exit 0"
  for c in tpm_present tpm_info self_test lockout ek_certificate random ephemeral_key identity clock; do
    grep -qE "^  PASS +$c " <<<"$OUT" || fail "check $c did not pass: $OUT"
  done
  assert_contains "$OUT" "family 2.0, manufacturer IBM"
  assert_contains "$OUT" "rsa2048 0x01c00002: subject"
  assert_contains "$OUT" "chains to $EK_CA"
  assert_contains "$OUT" "serial 'SN-0001234'"
  grep -qE "^  NOT RUN +network " <<<"$OUT" || fail "network not reported as not run"
  assert_no_transient_handles
}

case_good_device_json() {
  good_tpm
  lj factory-test --json --tcti "$TCTI" "${ID[@]}" --ek-ca "$EK_CA" >"$CASE/r.json" 2>"$CASE/err" ||
    fail "exit $?: $(cat "$CASE/err")"
  python3 -m json.tool "$CASE/r.json" >/dev/null || fail "not JSON: $(cat "$CASE/r.json")"
  assert_eq "$(json_get result <"$CASE/r.json")" pass
  assert_eq "$(json_get exit_code <"$CASE/r.json")" 0
  assert_eq "$(json_get tpm.family <"$CASE/r.json")" "2.0"
  assert_eq "$(json_get tpm.manufacturer <"$CASE/r.json")" IBM
  assert_eq "$(json_get tpm.in_lockout <"$CASE/r.json")" false
  assert_eq "$(json_get device.serial <"$CASE/r.json")" SN-0001234
  python3 - "$CASE/r.json" <<'PY' || fail "check list wrong: $(cat "$CASE/r.json")"
import json, sys
r = json.load(open(sys.argv[1]))
names = [c["name"] for c in r["checks"]]
assert names == ["tpm_present", "tpm_info", "self_test", "lockout", "ek_certificate", "random",
                 "ephemeral_key", "identity", "clock", "network"], names
for c in r["checks"]:
    assert isinstance(c["ms"], int) and c["ms"] >= 0 and c["detail"], c
    if c["required"]:
        assert c["status"] == "pass", c
assert r["checks"][-1]["status"] == "not_run" and r["checks"][-1]["required"] is False
PY
  assert_no_transient_handles
}

case_no_ek_ca_parses_only() {
  good_tpm
  assert_rc 0 factory
  assert_contains "$OUT" "chain not checked (no --ek-ca)"
}

case_no_ek_certificate() {
  swtpm_manufacture "$CASE/dev" --no-ek-cert
  swtpm_start "$CASE/dev/tpmstate"
  assert_rc 15 factory --ek-ca /dev/null
  grep -qE "^  FAIL +ek_certificate .*no EK certificate in NV" <<<"$OUT" || fail "$OUT"
  assert_contains "$OUT" "exit 15: EK certificate check failed"
  grep -qE "^  PASS +ephemeral_key " <<<"$OUT" || fail "other checks should pass: $OUT"
}

case_fresh_swtpm_has_no_ek_certificate() {
  swtpm_start "$CASE/tpm"
  assert_rc 15 factory
  assert_contains "$OUT" "no EK certificate in NV"
}

case_ek_from_other_ca() {
  good_tpm a
  local ca_a=$EK_CA
  swtpm_stop
  swtpm_manufacture "$CASE/b" >/dev/null
  local ca_b=$EK_CA
  swtpm_start "$CASE/a/tpmstate"
  assert_rc 0 factory --ek-ca "$ca_a"
  assert_rc 15 factory --ek-ca "$ca_b"
  grep -qE "^  FAIL +ek_certificate .*does not chain to $ca_b" <<<"$OUT" || fail "$OUT"
  lj factory-test --json --tcti "$TCTI" "${ID[@]}" --ek-ca "$ca_b" >"$CASE/r.json" 2>/dev/null
  assert_eq "$(json_get checks.4.status <"$CASE/r.json")" fail
  assert_eq "$(json_get exit_code <"$CASE/r.json")" 15
}

case_ek_ca_unreadable() {
  good_tpm
  assert_rc 15 factory --ek-ca "$CASE/no-such.pem"
  assert_contains "$OUT" "unreadable"
  printf 'not a pem\n' >"$CASE/junk.pem"
  assert_rc 15 factory --ek-ca "$CASE/junk.pem"
  assert_contains "$OUT" "no usable PEM certificate"
}

case_lockout() {
  good_tpm
  tpm_force_lockout
  assert_rc 14 factory --ek-ca "$EK_CA"
  grep -qE "^  FAIL +lockout .*in dictionary-attack lockout; failed tries 1 of 1" <<<"$OUT" || fail "$OUT"
  assert_contains "$OUT" "exit 14: TPM check failed"
  # The rest still reports (EK NV indices are noDA, the ephemeral key too).
  grep -qE "^  PASS +ek_certificate " <<<"$OUT" || fail "$OUT"
  lj factory-test --json --tcti "$TCTI" "${ID[@]}" --ek-ca "$EK_CA" >"$CASE/r.json" 2>/dev/null
  assert_eq "$(json_get tpm.in_lockout <"$CASE/r.json")" true
  assert_eq "$(json_get tpm.lockout_counter <"$CASE/r.json")" 1
  assert_no_transient_handles
}

case_no_tpm() {
  local p ms
  p=$(free_port pair) || fail "no port"
  TCTI="swtpm:host=127.0.0.1,port=$p"
  # timeout only guards against a hang; speed is measured by the bench.
  assert_rc 14 timeout 20 "$LINKJOIN" factory-test --tcti "$TCTI" "${ID[@]}"
  grep -qE "^  FAIL +tpm_present .*no TPM at $TCTI" <<<"$OUT" || fail "$OUT"
  for c in tpm_info self_test lockout ek_certificate random ephemeral_key; do
    grep -qE "^  NOT RUN +$c " <<<"$OUT" || fail "$c should be not run: $OUT"
  done
  grep -qE "^  PASS +identity " <<<"$OUT" || fail "$OUT"
  ms=$(sed -n 's/.* in \([0-9]*\) ms$/\1/p' <<<"$OUT" | head -1)
  echo "# no-TPM report took ${ms} ms"
  lj factory-test --json --tcti "$TCTI" "${ID[@]}" >"$CASE/r.json" 2>/dev/null
  assert_eq "$(json_get checks.1.status <"$CASE/r.json")" not_run
}

# A TPM that answers but cannot work (here never started: swtpm without
# startup-clear, TPM_RC_INITIALIZE; failure mode, TPM_RC_FAILURE, is told the
# same way): the checks that need a working TPM are "not run" with the cause,
# each failed check has an action, the summary names every failed group.
case_tpm_unusable() {
  local p
  mkdir -p "$CASE/tpm"
  p=$(free_port pair) || fail "no port"
  swtpm socket --tpm2 --tpmstate dir="$CASE/tpm" --server type=tcp,port="$p",bindaddr=127.0.0.1 \
    --ctrl type=tcp,port=$((p + 1)),bindaddr=127.0.0.1 --flags not-need-init \
    --pid file="$CASE/tpm/swtpm.pid" --daemon 2>"$CASE/swtpm.err" || fail "swtpm: $(cat "$CASE/swtpm.err")"
  for _ in $(seq 50); do [ -s "$CASE/tpm/swtpm.pid" ] && break; sleep 0.02; done
  track_pid "$(cat "$CASE/tpm/swtpm.pid")"
  TCTI="swtpm:host=127.0.0.1,port=$p"
  assert_rc 14 lj factory-test --tcti "$TCTI" --manufacturer Contoso --model "Link 1" --serial SN1
  grep -qE "^  FAIL +self_test " <<<"$OUT" || fail "$OUT"
  for c in lockout ek_certificate random ephemeral_key; do
    grep -qE "^  NOT RUN +$c +[0-9]+ ms  not run \(TPM never started: TPM_RC_INITIALIZE" <<<"$OUT" ||
      fail "$c should be not run: $OUT"
  done
  assert_not_contains "$OUT" "failed tries 0 of 0"
  assert_contains "$OUT" "  failed: TPM, device identity or clock"
  assert_contains "$OUT" "action: power-cycle the unit and test again; if the self-test still fails, replace the TPM"
  assert_not_contains "$OUT" "level=error" "log lines interleaved with the report"
  lj factory-test --json --tcti "$TCTI" --manufacturer Contoso --model "Link 1" --serial SN1 \
    >"$CASE/r.json" 2>/dev/null
  assert_eq "$(json_get failed_groups <"$CASE/r.json")" "TPM, device identity or clock"
  assert_eq "$(json_get checks.3.status <"$CASE/r.json")" not_run "lockout"
  assert_contains "$(json_get checks.2.action <"$CASE/r.json")" "replace the TPM"
}

case_no_tpm_device() {
  assert_rc 14 timeout 20 "$LINKJOIN" factory-test --tcti "device:$CASE/no-such-tpm" "${ID[@]}"
  assert_contains "$OUT" "no TPM at device:$CASE/no-such-tpm"
}

case_bad_identity() {
  good_tpm
  assert_rc 16 lj factory-test --tcti "$TCTI" --ek-ca "$EK_CA" --manufacturer Contoso --model "Link 1" \
    --serial "To Be Filled By O.E.M."
  grep -qE "^  FAIL +identity .*serial 'To Be Filled By O.E.M.' \(a placeholder value: not a firmware default" <<<"$OUT" || fail "$OUT"
  # every failed check says what the line does about it
  assert_contains "$OUT" "action: set the SMBIOS system manufacturer, product name and serial number"
  assert_contains "$OUT" "exit 16: device identity or clock check failed"
  assert_rc 16 lj factory-test --tcti "$TCTI" --ek-ca "$EK_CA" --manufacturer Contoso --model "Link 1" --serial $'SN\x01234'
  assert_contains "$OUT" "has non-printable characters"
  assert_rc 16 lj factory-test --tcti "$TCTI" --ek-ca "$EK_CA" --manufacturer Contoso --serial SN-1234 --model ""
  assert_contains "$OUT" "model '' (missing: must be set)"
  # the serial's rule is stated
  assert_rc 16 lj factory-test --tcti "$TCTI" --ek-ca "$EK_CA" --manufacturer Contoso --model "Link 1" --serial SN1
  assert_contains "$OUT" "serial 'SN1' (too short: at least 4 characters)"
}

case_clock_implausible() {
  good_tpm
  LJ_TEST_NOW=2001-01-01T00:00:00Z assert_rc 16 factory --ek-ca "$EK_CA"
  grep -qE "^  FAIL +clock .*2001-01-01T00:00:00Z \(LJ_TEST_NOW\)" <<<"$OUT" || fail "$OUT"
}

case_exit_code_order() {
  swtpm_manufacture "$CASE/dev" --no-ek-cert
  swtpm_start "$CASE/dev/tpmstate"
  # EK (15) and identity (16) both fail: 15 wins.
  assert_rc 15 lj factory-test --tcti "$TCTI" --serial "" --manufacturer x --model y
  # And with the TPM in lockout too: 14 wins.
  tpm_force_lockout
  assert_rc 14 lj factory-test --tcti "$TCTI" --serial "" --manufacturer x --model y
}

case_state_untouched() {
  local s1 before
  good_tpm
  # A joined device's keys on the same TPM.
  lj csr --state-dir "$CASE/state" --tcti "$TCTI" >/dev/null 2>&1 || fail "csr"
  s1=$(cd "$CASE/state" && ls -la --time-style=full-iso && sha256sum *)
  before=$(ls -d /var/lib/linkjoin 2>/dev/null)
  assert_rc 0 factory --ek-ca "$EK_CA"
  assert_eq "$(cd "$CASE/state" && ls -la --time-style=full-iso && sha256sum *)" "$s1" "state dir changed"
  assert_eq "$(ls -d /var/lib/linkjoin 2>/dev/null)" "$before" "default state dir created"
  # Nothing persistent added, nothing transient left; the keys still load.
  TPM2TOOLS_TCTI=$TCTI tpm2_getcap handles-persistent >"$CASE/persist"
  assert_eq "$(cat "$CASE/persist")" "$(printf -- '- 0x81010001\n- 0x81010016')" "persistent handles"
  assert_no_transient_handles
  assert_rc 0 lj csr --state-dir "$CASE/state" --tcti "$TCTI"
  assert_contains "$OUT" "keys reused"
  # No files appeared in the working directory either.
  assert_eq "$(ls "$CASE" | grep -v -e '^dev$' -e '^state$' -e '^pids$' -e '^case.log$' -e '^persist$')" "" "stray files"
}

# --network: DNS/TCP/TLS to the three hosts, mapped to entra-sim by a config.
net_conf() {
  local port=$1 h
  {
    for h in login.microsoftonline.com enterpriseregistration.windows.net enrollment.manage.microsoft.com; do
      echo "connect_to = $h:443:127.0.0.1:$port"
    done
    echo "ca_file = $SIM_CA"
    echo "connect_timeout = 5"
  } >"$CASE/net.conf"
}

case_network_pass() {
  good_tpm
  sim_start "$LJ_TOP/hw-sim/tenants/demo.json"
  net_conf "$SIM_PORT"
  assert_rc 0 factory --ek-ca "$EK_CA" --network --config "$CASE/net.conf"
  grep -qE "^  PASS +network " <<<"$OUT" || fail "network check did not pass: $OUT"
  assert_contains "$OUT" "DNS, TCP and TLS ok: login.microsoftonline.com, enterpriseregistration.windows.net, enrollment.manage.microsoft.com"
}

case_network_refused() {
  good_tpm
  sim_start "$LJ_TOP/hw-sim/tenants/demo.json"
  net_conf "$(free_port)"
  assert_rc 5 factory --ek-ca "$EK_CA" --network --config "$CASE/net.conf"
  grep -qE "^  FAIL +network " <<<"$OUT" || fail "network check did not fail: $OUT"
  assert_contains "$OUT" "login.microsoftonline.com"
  assert_contains "$OUT" "(exit 5: network check failed)"
  # the required checks still passed
  grep -qE "^  PASS +ek_certificate " <<<"$OUT" || fail "ek check: $OUT"
}

case_network_untrusted() {
  good_tpm
  sim_start "$LJ_TOP/hw-sim/tenants/demo.json"
  net_conf "$SIM_PORT"
  sed -i "s|^ca_file = .*|ca_file = $EK_CA|" "$CASE/net.conf"
  assert_rc 5 factory --ek-ca "$EK_CA" --network --config "$CASE/net.conf"
  grep -qE "^  FAIL +network .*login.microsoftonline.com" <<<"$OUT" || fail "untrusted not named: $OUT"
}

case_usage() {
  assert_rc 2 "$LINKJOIN" factory-test --bogus
  assert_contains "$OUT" "unknown option '--bogus'"
  assert_rc 2 "$LINKJOIN" factory-test --tcti
  assert_contains "$OUT" "needs a value"
  assert_rc 2 "$LINKJOIN" factory-test extra
  assert_rc 0 "$LINKJOIN" factory-test --help
  assert_contains "$OUT" "14 a TPM check failed"
  assert_contains "$OUT" "15 the EK certificate check failed"
  assert_contains "$OUT" "16 the device identity or clock check failed"
  assert_rc 0 "$LINKJOIN" --help
  assert_contains "$OUT" "factory-test"
  assert_contains "$OUT" "14 factory: TPM check failed"
}

tcase good_device_text case_good_device_text
tcase good_device_json case_good_device_json
tcase no_ek_ca_parses_only case_no_ek_ca_parses_only
tcase no_ek_certificate case_no_ek_certificate
tcase fresh_swtpm_has_no_ek_certificate case_fresh_swtpm_has_no_ek_certificate
tcase ek_from_other_ca case_ek_from_other_ca
tcase ek_ca_unreadable case_ek_ca_unreadable
tcase lockout case_lockout
tcase no_tpm case_no_tpm
tcase tpm_unusable_dependents_not_run case_tpm_unusable
tcase no_tpm_device case_no_tpm_device
tcase bad_identity case_bad_identity
tcase clock_implausible case_clock_implausible
tcase exit_code_order case_exit_code_order
tcase state_untouched case_state_untouched
tcase network_pass case_network_pass
tcase network_refused case_network_refused
tcase network_untrusted case_network_untrusted
tcase usage case_usage
