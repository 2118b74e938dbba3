#!/usr/bin/env bash
# tpm_hmac_key_import / tpm_hmac_sha256 (the PRT session key kept by the
# TPM) on fresh swtpms: runs the unit binary tests/unit/test_tpm_hkey.c with
# LJ_TEST_TCTI (its "tpm" group: KDF vectors, key never in the file,
# corrupt/missing/bad lengths, the other provider, no transient object
# left) and LJ_TEST_TCTI_OTHER (its "two_tpms" group: a key imported by
# one TPM does not load in another).
. "$(dirname "$0")/lib.sh"

HKEY_TEST=$LJ_BUILD/tests/test_tpm_hkey

# run_unit — run the unit binary against the swtpm(s) set up; every case must pass.
run_unit() {
  local out rc
  out=$(CMOCKA_MESSAGE_OUTPUT=TAP "$HKEY_TEST" 2>&1); rc=$?
  echo "$out"
  [ $rc = 0 ] || fail "test_tpm_hkey exited $rc"
  ! grep -q '^not ok' <<<"$out" || fail "a case failed"
  OUT=$out
}

case_tpm_provider() {
  [ -x "$HKEY_TEST" ] || fail "missing $HKEY_TEST (make build-tests)"
  swtpm_start "$CASE/tpm"
  LJ_TEST_TCTI=$TCTI run_unit
  assert_contains "$OUT" "# ok - tpm"
  # Each case ran on both providers (soft group, then tpm group).
  for c in test_kdf_vectors test_file_holds_no_key test_reimport_replaces test_corrupt \
    test_missing test_bad_lengths; do
    [ "$(grep -c "^ok [0-9]* - $c\$" <<<"$OUT")" = 2 ] || fail "$c did not pass on both providers"
  done
  assert_contains "$OUT" "- test_other_provider"
  assert_no_transient_handles
}

case_wrong_tpm() {
  local a
  [ -x "$HKEY_TEST" ] || fail "missing $HKEY_TEST (make build-tests)"
  swtpm_start "$CASE/tpm-a"
  a=$TCTI
  swtpm_start "$CASE/tpm-b"
  LJ_TEST_TCTI=$a LJ_TEST_TCTI_OTHER=$TCTI run_unit
  assert_contains "$OUT" "# ok - two_tpms"
  assert_contains "$OUT" "rc=tpm_wrong_tpm event=load_hkey_failed"
  assert_contains "$OUT" "integrity check failed"
  assert_no_transient_handles
}

# Neither an imported key, nor an HMAC result, nor a session key taken
# from the transport key, nor an unsealed data key crosses the TPM bus in
# clear (salted sessions with parameter encryption): no command or
# response that swtpm logged holds any 8-byte piece of the KDF vectors'
# session keys or derived keys (the tpm group imports those keys, computes
# those HMACs, and test_session_key_taken has vectors[2]'s key
# RSA-OAEP-SHA1 encrypted to the transport key and decrypted by
# TPM2_RSA_Decrypt, parent held and not).  The unsealed data key
# (test_held_parent seals and unseals) is random, unknown here: every
# TPM2_RSA_Decrypt and TPM2_Unseal command must ask for response
# encryption (TPMA_SESSION_ENCRYPT, 0x40, in its session's attributes;
# TPM 2.0 Library Part 1, 21 "Session-based encryption").
case_nothing_secret_on_bus() {
  SWTPM_LOG_LEVEL=20 swtpm_start "$CASE/tpm"
  LJ_TEST_TCTI=$TCTI run_unit
  PYTHONPATH="$LJ_TOP/tests/integration" python3 - "$CASE/tpm/swtpm.log" <<'PY' || fail "a key or derived key in clear on the TPM bus"
import struct, sys
from swtpm_log import blocks as read_blocks
blocks = [data for _, data in read_blocks(sys.argv[1])]
secrets = [bytes.fromhex(h) for h in (
    "1be0fa6104749c7d66cc377be931d5d003f7b0b0e05bdb390915629518fcf4bf",
    "ae1462319c0d77eb34b730e380bdf29c292a8233ac6a87275c045a4616da3359",
    "b7f6e7d384f69ea0267f8992d5f0152fb4cddd5fbff158b5758c65a40e389ea2",
    "87ed6cf2f221e8eab8a97dde4d869bea7e6a117747e9718693f34367890d15c4",
    "3cc01d7280308a119b861996f98b99a9b6475fc56f19258c5727db1a128c6e23",
    "f5b027906feaee680f3f2a7fbdf8f5222f11583bf3a3b620a6ad6d437af59086",
    "39ecbdb1baa4c70aca25d8bb503f2e8e416d8213145fbf0db70901867b933ff1",
    "e8240752b26d0ea344a7b989eb339941147425448e6dc4cb952f7d742c0be77e",
    "d4cdb317420b17c5b3c9d05b73fcf01b1ff4c0859fc55f842dae0dfc2da3ae72")]
def cc(b):
    return struct.unpack(">I", b[6:10])[0] if len(b) >= 10 else None
creates = sum(1 for b in blocks if cc(b) == 0x153)
hmacs = sum(1 for b in blocks if cc(b) == 0x155)
# RSA_Decrypt and Unseal: one handle; the first session's attributes follow
# the handle, authorizationSize, session handle and nonce (a TPM2B).
checked = {0x159: 0, 0x15E: 0}
for b in blocks:
    if cc(b) in checked and b[0:2] == b"\x80\x02":
        nonce = struct.unpack(">H", b[22:24])[0]
        attrs = b[24 + nonce]
        assert attrs & 0x40, "command 0x%x without response encryption (attributes 0x%02x)" % (cc(b), attrs)
        checked[cc(b)] += 1
assert creates >= 3 and hmacs >= 6, (creates, hmacs)
# test_session_key_taken: 2 good and 1 refused per round, 2 rounds; test_held_parent: 1 unseal
assert checked[0x159] >= 6 and checked[0x15E] >= 1, checked
for s in secrets:
    for i in range(0, len(s) - 7):
        for b in blocks:
            assert s[i:i + 8] not in b, s.hex()
print("commands checked: %d TPM2_Create, %d TPM2_HMAC, %d TPM2_RSA_Decrypt, %d TPM2_Unseal, "
      "%d blocks" % (creates, hmacs, checked[0x159], checked[0x15E], len(blocks)))
PY
}

# The key is noDA (like the sealed token): a dictionary-attack lockout
# caused elsewhere stops neither import nor HMAC.
case_in_lockout() {
  swtpm_start "$CASE/tpm"
  tpm_force_lockout
  LJ_TEST_TCTI=$TCTI run_unit
  assert_contains "$OUT" "# ok - tpm"
  TPM2TOOLS_TCTI=$TCTI tpm2_getcap properties-variable | grep -q "inLockout:                 1" ||
    fail "TPM no longer in lockout"
  assert_no_transient_handles
}

tcase tpm_provider case_tpm_provider
tcase in_lockout case_in_lockout
tcase nothing_secret_on_bus case_nothing_secret_on_bus
tcase wrong_tpm case_wrong_tpm
