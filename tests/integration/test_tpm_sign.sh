#!/usr/bin/env bash
# tpm_sign (the device key's RSASSA-PKCS1-v1_5 and RSASSA-PSS signatures
# with SHA-256, SHA-384 and SHA-512) on a fresh swtpm: runs the unit binary
# tests/unit/test_tpm_sign.c with LJ_TEST_TCTI (its "tpm" group: both
# schemes and three hashes, PSS salt = digest length checked with wolfSSL,
# keys reloaded, a key of the earlier RSASSA-only template refused by name,
# both templates as tpm_keys_describe_dir reads them for `linkjoin
# status`), then verifies what it signed with OpenSSL the way a TLS server
# does (rsa_pss_saltlen:digest).
. "$(dirname "$0")/lib.sh"

SIGN_TEST=$LJ_BUILD/tests/test_tpm_sign

case_tpm_provider() {
  local out rc d=$CASE/sig
  [ -x "$SIGN_TEST" ] || fail "missing $SIGN_TEST (make build-tests)"
  swtpm_start "$CASE/tpm"
  mkdir -p "$d"
  out=$(LJ_TEST_TCTI=$TCTI LJ_TEST_SIG_OUT=$d CMOCKA_MESSAGE_OUTPUT=TAP "$SIGN_TEST" 2>&1); rc=$?
  [ $rc = 0 ] || fail "test_tpm_sign exited $rc: $out"
  ! grep -q '^not ok' <<<"$out" || fail "a case failed: $out"
  assert_contains "$out" "# ok - tpm"
  for c in test_new_key_signs_both test_pss_after_reopen test_sha384_sha512 test_describe_new_key; do
    [ "$(grep -c "^ok [0-9]* - $c\$" <<<"$out")" = 2 ] || fail "$c did not pass on both providers"
  done
  assert_contains "$out" "ok 3 - test_old_key_refuses_pss"
  # OpenSSL: PSS with salt = digest length, and not the largest salt.
  OUT=$(openssl pkeyutl -verify -pubin -keyform DER -inkey "$d/device.spki.der" -in "$d/digest.bin" \
    -sigfile "$d/sig.pss" -pkeyopt digest:sha256 -pkeyopt rsa_padding_mode:pss \
    -pkeyopt rsa_pss_saltlen:digest 2>&1) || fail "openssl: PSS does not verify: $OUT"
  assert_contains "$OUT" "Signature Verified Successfully"
  OUT=$(openssl pkeyutl -verify -pubin -keyform DER -inkey "$d/device.spki.der" -in "$d/digest.bin" \
    -sigfile "$d/sig.pss" -pkeyopt digest:sha256 -pkeyopt rsa_padding_mode:pss \
    -pkeyopt rsa_pss_saltlen:max 2>&1) && fail "openssl: PSS verified with the largest salt: $OUT"
  assert_contains "$OUT" "salt length check failed"
  OUT=$(openssl pkeyutl -verify -pubin -keyform DER -inkey "$d/device.spki.der" -in "$d/digest.bin" \
    -sigfile "$d/sig.pkcs1" -pkeyopt digest:sha256 2>&1) || fail "openssl: PKCS#1 does not verify: $OUT"
  assert_contains "$OUT" "Signature Verified Successfully"
  # SHA-384 and SHA-512 (rsa_pss_rsae_sha384/512, rsa_pkcs1_sha384/512).
  for h in 384 512; do
    OUT=$(openssl pkeyutl -verify -pubin -keyform DER -inkey "$d/device-sha2.spki.der" -in "$d/digest$h.bin" \
      -sigfile "$d/sig$h.pss" -pkeyopt digest:sha$h -pkeyopt rsa_padding_mode:pss \
      -pkeyopt rsa_pss_saltlen:digest 2>&1) || fail "openssl: PSS SHA-$h does not verify: $OUT"
    assert_contains "$OUT" "Signature Verified Successfully"
    OUT=$(openssl pkeyutl -verify -pubin -keyform DER -inkey "$d/device-sha2.spki.der" -in "$d/digest$h.bin" \
      -sigfile "$d/sig$h.pkcs1" -pkeyopt digest:sha$h 2>&1) || fail "openssl: PKCS#1 SHA-$h does not verify: $OUT"
    assert_contains "$OUT" "Signature Verified Successfully"
  done
  assert_no_transient_handles
}

tcase tpm_provider case_tpm_provider
