#!/usr/bin/env bash
# ESAPI's crypto backend on wolfCrypt (tpm/esys_crypto.c) against swtpm:
# sessions salted by each kind of storage parent the agent takes (the ECC
# P-256 template, a persistent RSA-2048 SRK with SHA-256 or SHA-384 as its
# nameAlg, a persistent ECC P-384 SRK), each with AES-128-CFB parameter
# encryption, through the test-build hook `linkjoin tpm seal|unseal`.  The
# salt's size in TPM2_StartAuthSession shows which salting ran (an OAEP
# block the size of the RSA modulus, a marshalled ECC point); the TPM
# accepting the salt and then the session's HMACs, and the sealed data
# coming back, show both ends derived the same keys.
. "$(dirname "$0")/lib.sh"

export LJ_TEST_HOOKS=1
SRK_ATTRS='restricted|decrypt|fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda'
DATA="esys-crypto-$(head -c 48 /dev/urandom | base64 -w0 | tr '+/' '-_')"
seal() { printf '%s' "$DATA" | lj tpm seal tok --state-dir "$CASE/state" --tcti "$TCTI" --log-level info; }
unseal() { lj tpm unseal tok --state-dir "$CASE/state" --tcti "$TCTI"; }

# persistent_srk ALG NAMEALG: a storage primary made by tpm2-tools at 0x81000001.
persistent_srk() {
  TPM2TOOLS_TCTI=$TCTI tpm2_createprimary -Q -C o -G "$1" -g "$2" -a "$SRK_ATTRS" \
    -c "$CASE/srk.ctx" || fail "createprimary $1"
  TPM2TOOLS_TCTI=$TCTI tpm2_evictcontrol -Q -C o -c "$CASE/srk.ctx" 0x81000001 >/dev/null ||
    fail "evictcontrol"
  TPM2TOOLS_TCTI=$TCTI tpm2_flushcontext -t
}

# salt_sizes: the encryptedSalt size of every salted TPM2_StartAuthSession
# (tpmKey not TPM_RH_NULL) in the swtpm log whose response was success, one
# a line.
salt_sizes() {
  PYTHONPATH="$LJ_TOP/tests/integration" python3 - "$CASE/tpm/swtpm.log" <<'PY'
import sys
from swtpm_log import blocks as read_blocks
blocks = read_blocks(sys.argv[1])
for i, (kind, b) in enumerate(blocks):
    # tag(2) size(4) cc(4) tpmKey(4) bind(4) nonceCaller(2+n) encryptedSalt(2+m)
    if kind == "SWTPM_IO_Read" and len(b) > 20 and b[6:10] == bytes([0, 0, 1, 0x76]):
        rsp = blocks[i + 1][1]
        if rsp[6:10] != bytes(4) or b[10:14] == bytes([0x40, 0, 0, 7]):
            continue
        n = b[18] << 8 | b[19]
        off = 20 + n
        print(b[off] << 8 | b[off + 1])
PY
}

# round_trip PARENT SALT_SIZE: seal under PARENT and unseal twice; every
# session salted with a salt of SALT_SIZE bytes, the unsealed data as sealed.
round_trip() {
  local out sizes
  assert_rc 0 seal
  assert_contains "$OUT" "event=sealed name=tok provider=tpm parent=$1 "
  out=$(unseal) || fail "unseal failed"
  assert_eq "$out" "$DATA" "unsealed data"
  out=$(unseal) || fail "unseal 2 failed"
  assert_eq "$out" "$DATA" "unsealed data (2)"
  sizes=$(salt_sizes | sort -u)
  assert_eq "$sizes" "$2" "salt sizes"
  assert_no_transient_handles
}

case_ecc_p256_template() {
  SWTPM_LOG_LEVEL=20 swtpm_start "$CASE/tpm"
  # a marshalled P-256 point: 2 + 32 + 2 + 32
  round_trip ecc-srk-template 68
}

case_rsa2048_sha256_srk() {
  SWTPM_LOG_LEVEL=20 swtpm_start "$CASE/tpm"
  persistent_srk rsa2048:aes128cfb sha256
  round_trip 0x81000001 256
}

case_rsa2048_sha384_srk() {
  SWTPM_LOG_LEVEL=20 swtpm_start "$CASE/tpm"
  # OAEP with SHA-384 (the key's nameAlg) and the label "SECRET\0"
  persistent_srk rsa2048:aes128cfb sha384
  round_trip 0x81000001 256
}

case_ecc_p384_srk() {
  SWTPM_LOG_LEVEL=20 swtpm_start "$CASE/tpm"
  # the ephemeral key on the SRK's curve: 2 + 48 + 2 + 48
  persistent_srk ecc384:aes256cfb sha384
  round_trip 0x81000001 100
}

tcase ecc_p256_template case_ecc_p256_template
tcase rsa2048_sha256_srk case_rsa2048_sha256_srk
tcase rsa2048_sha384_srk case_rsa2048_sha384_srk
tcase ecc_p384_srk case_ecc_p384_srk
