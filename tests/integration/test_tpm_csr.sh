#!/usr/bin/env bash
# Integration tests for tpm/ and `linkjoin csr` against a fresh swtpm per case.
. "$(dirname "$0")/lib.sh"

CN=7E980AD9-B86D-4306-9425-9AC066FB014A
RSA1TOOL=$LJ_BUILD/rsa1-tool
SRK_ATTRS='restricted|decrypt|fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda'

sums() { (cd "$1" && sha256sum keys.rec device.pub device.priv transport.pub transport.priv); }

csr() { lj csr --state-dir "$CASE/state" --tcti "$TCTI" "$@"; }

# Load a key blob with tpm2-tools under the same ECC SRK template and print
# its modulus as tpm2_readpublic sees it (flushing as it goes: swtpm has 3 slots).
tools_modulus() {
  local base=$1
  export TPM2TOOLS_TCTI=$TCTI
  tpm2_createprimary -Q -C o -G ecc256:aes128cfb -a "$SRK_ATTRS" -c "$CASE/srk.ctx" || return 1
  tpm2_flushcontext -t
  tpm2_load -Q -C "$CASE/srk.ctx" -u "$base.pub" -r "$base.priv" -c "$CASE/key.ctx" || return 1
  tpm2_flushcontext -t
  tpm2_readpublic -c "$CASE/key.ctx" | sed -n 's/^rsa: //p'
  tpm2_flushcontext -t
}

assert_no_transient() {
  local h
  h=$(tpm_transient_handles)
  [ -z "$h" ] || fail "transient handles left in the TPM: $h"
}

case_keys_created() {
  swtpm_start "$CASE/tpm"
  assert_rc 0 csr
  assert_contains "$OUT" "-----BEGIN CERTIFICATE REQUEST-----"
  assert_contains "$OUT" "keys created provider=tpm TpmProtected=yes parent=ecc-srk-template"
  for f in keys.rec device.pub device.priv transport.pub transport.priv; do
    assert_file "$CASE/state/$f"
    assert_mode "$CASE/state/$f" 600
  done
  assert_mode "$CASE/state" 700
  assert_contains "$(cat "$CASE/state/keys.rec")" "provider=tpm"
  assert_contains "$(cat "$CASE/state/keys.rec")" "parent=ecc-srk-template"
  assert_no_transient
}

case_restart_reuses_keys() {
  local m1 m2 s1 s2
  swtpm_start "$CASE/tpm"
  csr >"$CASE/a.pem" 2>"$CASE/a.err" || fail "first csr: $(cat "$CASE/a.err")"
  s1=$(sums "$CASE/state")
  m1=$(openssl req -in "$CASE/a.pem" -noout -modulus)
  swtpm_stop
  swtpm_start "$CASE/tpm"
  assert_rc 0 csr
  assert_contains "$OUT" "keys reused provider=tpm"
  csr >"$CASE/b.pem" 2>/dev/null || fail "second csr"
  m2=$(openssl req -in "$CASE/b.pem" -noout -modulus)
  assert_eq "$m2" "$m1" "public key after swtpm restart"
  s2=$(sums "$CASE/state")
  assert_eq "$s2" "$s1" "key files rewritten on reuse"
  # RSASSA-PKCS1-v1_5 is deterministic: same key, same body, same CSR.
  cmp -s "$CASE/a.pem" "$CASE/b.pem" || fail "CSR differs after reload"
  assert_no_transient
}

case_csr_verifies() {
  local txt
  swtpm_start "$CASE/tpm"
  csr >"$CASE/csr.pem" 2>/dev/null || fail "csr failed"
  txt=$(openssl req -in "$CASE/csr.pem" -verify -noout -text 2>&1) || fail "openssl: $txt"
  assert_contains "$txt" "self-signature verify OK"
  assert_contains "$txt" "Version: 1 (0x0)"
  assert_contains "$txt" "Subject: CN = $CN"
  assert_contains "$txt" "Public-Key: (2048 bit)"
  assert_contains "$txt" "Exponent: 65537 (0x10001)"
  assert_contains "$txt" "Signature Algorithm: sha256WithRSAEncryption"
}

case_csr_key_is_tpm_key() {
  local csr_n tpm_n
  swtpm_start "$CASE/tpm"
  csr >"$CASE/csr.pem" 2>/dev/null || fail "csr failed"
  csr_n=$(openssl req -in "$CASE/csr.pem" -noout -modulus | sed 's/^Modulus=//' | tr A-F a-f)
  tpm_n=$(tools_modulus "$CASE/state/device") || fail "tpm2-tools could not load the device key"
  [ -n "$tpm_n" ] || fail "no modulus from tpm2_readpublic"
  assert_eq "$csr_n" "$tpm_n" "CSR key vs key loaded in the TPM"
  assert_no_transient
}

# oaep_ct MD TEXT — base64 of RSA-OAEP(MD, MGF1-MD, empty label) of TEXT to
# $CASE/tk.pem, made by OpenSSL.
oaep_ct() {
  printf '%s' "$2" | openssl pkeyutl -encrypt -pubin -inkey "$CASE/tk.pem" \
    -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:"$1" -pkeyopt rsa_mgf1_md:"$1" | base64 -w0
}

case_oaep_decrypts_in_tpm() {
  local b64 ct out
  swtpm_start "$CASE/tpm"
  b64=$(csr --transport-key-blob 2>/dev/null) || fail "blob failed"
  # wolfSSL encrypts to the published RSA1 blob; the TPM decrypts.
  ct=$("$RSA1TOOL" encrypt "$b64" 6c696e6b6a6f696e2d7365637265742d31) || fail "encrypt failed"
  out=$(LJ_TEST_HOOKS=1 csr --test-decrypt <<<"$ct" 2>"$CASE/err") || fail "decrypt: $(cat "$CASE/err")"
  assert_eq "$out" "6c696e6b6a6f696e2d7365637265742d31" "wolfSSL OAEP round trip"
  # OpenSSL too, with OAEP SHA-256 / MGF1 SHA-256, the hash named per call.
  "$RSA1TOOL" pem "$b64" >"$CASE/tk.pem" || fail "pem failed"
  ct=$(oaep_ct sha256 hello-tpm)
  out=$(LJ_TEST_HOOKS=1 csr --test-decrypt=sha256 <<<"$ct" 2>/dev/null) || fail "decrypt (openssl ct) failed"
  assert_eq "$out" "68656c6c6f2d74706d" "OpenSSL OAEP-SHA256 round trip"
  assert_no_transient
}

# The PRT session key is RSA-OAEP with SHA-1 and MGF1-SHA1 ([MS-OAPXBC]
# 3.1.5.1.2.3): the same TPM key decrypts it when the call asks for SHA-1.
case_oaep_sha1_decrypts_in_tpm() {
  local b64 ct out
  swtpm_start "$CASE/tpm"
  b64=$(csr --transport-key-blob 2>/dev/null) || fail "blob failed"
  "$RSA1TOOL" pem "$b64" >"$CASE/tk.pem" || fail "pem failed"
  ct=$(oaep_ct sha1 0123456789abcdef0123456789ABCDEF)
  out=$(LJ_TEST_HOOKS=1 csr --test-decrypt=sha1 <<<"$ct" 2>"$CASE/err") || fail "decrypt: $(cat "$CASE/err")"
  assert_eq "$out" "3031323334353637383961626364656630313233343536373839414243444546" "OpenSSL OAEP-SHA1 round trip"
  assert_no_transient
}

# A SHA-1 ciphertext asked for as SHA-256 (and the reverse) is refused by
# the TPM's padding check: a clean failure, no handle left, key still good.
case_oaep_wrong_hash_refused() {
  local b64 ct out
  swtpm_start "$CASE/tpm"
  b64=$(csr --transport-key-blob 2>/dev/null) || fail "blob failed"
  "$RSA1TOOL" pem "$b64" >"$CASE/tk.pem" || fail "pem failed"
  ct=$(oaep_ct sha1 hello-tpm)
  LJ_TEST_HOOKS=1 assert_rc 1 csr --test-decrypt=sha256 <<<"$ct"
  assert_contains "$OUT" "event=decrypt_failed"
  assert_contains "$OUT" "oaep=sha256 reason=does not decrypt under this key and hash"
  assert_contains "$OUT" "rc=crypto"
  ct=$(oaep_ct sha256 hello-tpm)
  LJ_TEST_HOOKS=1 assert_rc 1 csr --test-decrypt=sha1 <<<"$ct"
  assert_contains "$OUT" "oaep=sha1 reason=does not decrypt under this key and hash"
  assert_no_transient
  out=$(LJ_TEST_HOOKS=1 csr --test-decrypt=sha256 <<<"$ct" 2>/dev/null) || fail "decrypt after refusals failed"
  assert_eq "$out" "68656c6c6f2d74706d" "the key still decrypts"
  assert_rc 2 csr --test-decrypt=md5
  assert_contains "$OUT" "bad value 'md5' for option '--test-decrypt'"
}

# The key templates: both keys noDA with an empty auth; the transport key
# decrypt-only with scheme NULL, the device key sign-only with scheme NULL
# (RSASSA or RSA-PSS chosen per TPM2_Sign; never decrypt, so no raw RSA).
case_key_templates() {
  local dev tk
  swtpm_start "$CASE/tpm"
  csr >/dev/null 2>&1 || fail "csr failed"
  assert_contains "$(cat "$CASE/state/keys.rec")" "format=linkjoin-keys-2"
  # tpm2_print's YAML on one line: "attributes: value: ... scheme: value: ..."
  dev=$(tpm2_print -t TPM2B_PUBLIC "$CASE/state/device.pub" | tr -s ' \n' ' ') || fail "tpm2_print device.pub"
  tk=$(tpm2_print -t TPM2B_PUBLIC "$CASE/state/transport.pub" | tr -s ' \n' ' ') || fail "tpm2_print transport.pub"
  assert_contains "$dev" "attributes: value: fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda|sign raw: 0x40472"
  assert_contains "$dev" "scheme: value: null raw: 0x10 scheme-halg: value: (null) raw: 0x0 sym-alg"
  assert_contains "$tk" "attributes: value: fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda|decrypt raw: 0x20472"
  assert_contains "$tk" "scheme: value: null raw: 0x10 scheme-halg: value: (null) raw: 0x0 sym-alg"
  assert_contains "$tk" "bits: 2048"
}

# A device key of the earlier template (scheme fixed to RSASSA-SHA256, made
# through the test hook) still loads and signs the CSR; nothing else changes.
case_old_key_template_still_signs() {
  local dev
  swtpm_start "$CASE/tpm"
  LJ_TEST_HOOKS=1 LJ_TEST_DEVICE_KEY=rsassa csr >/dev/null 2>"$CASE/csr1.err" || fail "csr failed: $(cat "$CASE/csr1.err")"
  assert_contains "$(cat "$CASE/csr1.err")" "event=test_device_key_rsassa"
  dev=$(tpm2_print -t TPM2B_PUBLIC "$CASE/state/device.pub" | tr -s ' \n' ' ') || fail "tpm2_print device.pub"
  assert_contains "$dev" "scheme: value: rsassa raw: 0x14 scheme-halg: value: sha256"
  csr >"$CASE/csr.pem" 2>"$CASE/csr2.err" || fail "csr with the old key failed: $(cat "$CASE/csr2.err")"
  assert_contains "$(cat "$CASE/csr2.err")" "keys reused provider=tpm"
  OUT=$(openssl req -in "$CASE/csr.pem" -verify -noout 2>&1) || fail "openssl: $OUT"
  assert_contains "$OUT" "verify OK"
}

case_test_decrypt_needs_hook_env() {
  swtpm_start "$CASE/tpm"
  assert_rc 2 env -u LJ_TEST_HOOKS "$LINKJOIN" csr --state-dir "$CASE/state" --tcti "$TCTI" --test-decrypt </dev/null
  assert_contains "$OUT" "unknown option '--test-decrypt'"
}

case_no_transient_handles_left() {
  swtpm_start "$CASE/tpm"
  csr >/dev/null 2>&1 || fail "csr failed"
  csr >/dev/null 2>&1 || fail "csr (reuse) failed"
  csr --transport-key-blob >/dev/null 2>&1 || fail "blob failed"
  assert_no_transient
}

# Objects another process left in a TPM without resource manager are not
# ours: start-up leaves them alone (a raw TPM is shared).
case_foreign_handles_left_alone() {
  local before
  swtpm_start "$CASE/tpm"
  TPM2TOOLS_TCTI=$TCTI tpm2_createprimary -Q -C o -G ecc256 -c "$CASE/p1.ctx" || fail "createprimary"
  before=$(tpm_transient_handles)
  [ -n "$before" ] || fail "setup: no foreign handles"
  assert_rc 0 csr
  assert_not_contains "$OUT" "stale_objects_flushed"
  assert_eq "$(tpm_transient_handles)" "$before" "the other process's objects"
  TPM2TOOLS_TCTI=$TCTI tpm2_flushcontext -t
}

# A crashed run's own objects (recorded in STATE_DIR/tpm-objects with their
# names) are flushed at the next start; a foreign one loaded meanwhile stays.
case_own_stale_handles_flushed() {
  local foreign
  swtpm_start "$CASE/tpm"
  LJ_TEST_HOOKS=1 LJ_TEST_CRASH_AT=tpm_object_loaded csr >/dev/null 2>&1
  [ -n "$(tpm_transient_handles)" ] || fail "setup: the crash left nothing loaded"
  assert_file "$CASE/state/tpm-objects"
  TPM2TOOLS_TCTI=$TCTI tpm2_createprimary -Q -C o -G ecc256 -c "$CASE/p1.ctx" || fail "createprimary"
  foreign=$(tpm_transient_handles | tail -1)
  assert_rc 0 csr
  assert_contains "$OUT" "event=stale_objects_flushed count=1"
  assert_eq "$(tpm_transient_handles)" "$foreign" "left in the TPM"
  assert_no_file "$CASE/state/tpm-objects"
  TPM2TOOLS_TCTI=$TCTI tpm2_flushcontext -t
}

case_persistent_srk_used() {
  swtpm_start "$CASE/tpm"
  export TPM2TOOLS_TCTI=$TCTI
  tpm2_createprimary -Q -C o -G ecc256:aes128cfb -a "$SRK_ATTRS" -c "$CASE/srk.ctx" || fail "createprimary"
  tpm2_evictcontrol -Q -C o -c "$CASE/srk.ctx" 0x81000001 || fail "evictcontrol"
  tpm2_flushcontext -t
  assert_rc 0 csr
  assert_contains "$OUT" "parent=0x81000001"
  assert_contains "$(cat "$CASE/state/keys.rec")" "parent=0x81000001"
  swtpm_stop
  swtpm_start "$CASE/tpm"
  assert_rc 0 csr
  assert_contains "$OUT" "keys reused provider=tpm TpmProtected=yes parent=0x81000001"
  assert_no_transient
}

case_different_tpm() {
  local s1
  swtpm_start "$CASE/tpm-a"
  csr >/dev/null 2>&1 || fail "csr failed"
  s1=$(sums "$CASE/state")
  swtpm_stop
  swtpm_start "$CASE/tpm-b"
  assert_rc 13 csr
  assert_contains "$OUT" "belong to a different TPM"
  assert_contains "$OUT" "rc=tpm_wrong_tpm"
  assert_eq "$(sums "$CASE/state")" "$s1" "key files changed"
  assert_no_file "$CASE/state/device.pub.bad-"*
  assert_no_transient
}

# Dictionary-attack lockout (another TPM user failed its own auth with
# max-tries 1) does not touch the noDA keys: csr still signs with the
# existing keys, and keys are still created in a fresh state dir.
case_lockout() {
  local txt
  swtpm_start "$CASE/tpm"
  csr >/dev/null 2>&1 || fail "csr failed"
  tpm_force_lockout
  csr >"$CASE/csr.pem" 2>"$CASE/err" || fail "csr in lockout: $(cat "$CASE/err")"
  assert_contains "$(cat "$CASE/err")" "keys reused provider=tpm"
  txt=$(openssl req -in "$CASE/csr.pem" -verify -noout 2>&1) || fail "openssl: $txt"
  assert_contains "$txt" "verify OK"
  assert_rc 0 lj csr --state-dir "$CASE/state2" --tcti "$TCTI"
  assert_contains "$OUT" "keys created provider=tpm"
  assert_contains "$(TPM2TOOLS_TCTI=$TCTI tpm2_getcap properties-variable)" "inLockout:                 1"
  assert_no_transient
}

# The security review's reproduction: csr, then swtpm stopped without
# TPM2_Shutdown, three times (MAX_AUTH_FAIL 3).  With DA-protected keys the
# third restart put the TPM in lockout and csr failed; noDA keys are not
# counted, so the counter stays 0 and csr signs.
case_unclean_restarts_no_lockout() {
  local i
  swtpm_start "$CASE/tpm"
  for i in 1 2 3; do
    csr >/dev/null 2>"$CASE/err" || fail "csr $i: $(cat "$CASE/err")"
    swtpm_stop
    swtpm_start "$CASE/tpm"
  done
  assert_contains "$(TPM2TOOLS_TCTI=$TCTI tpm2_getcap properties-variable)" "TPM2_PT_LOCKOUT_COUNTER: 0x0"
  assert_rc 0 csr
  assert_contains "$OUT" "-----BEGIN CERTIFICATE REQUEST-----"
  assert_no_transient
}

case_unreachable() {
  local p
  p=$(free_port pair) || fail "no port"
  TCTI="swtpm:host=127.0.0.1,port=$p"
  # timeout only guards against a hang; the test does not measure speed.
  assert_rc 4 timeout 20 "$LINKJOIN" csr --state-dir "$CASE/state" --tcti "$TCTI"
  assert_contains "$OUT" "TPM unreachable at 'swtpm:host=127.0.0.1,port=$p'"
  assert_contains "$OUT" "rc=tpm_unreachable"
}

case_unreachable_device() {
  assert_rc 4 timeout 20 "$LINKJOIN" csr --state-dir "$CASE/state" --tcti "device:$CASE/no-such-tpm"
  assert_contains "$OUT" "TPM unreachable"
}

case_truncated_blob() {
  local s1
  swtpm_start "$CASE/tpm"
  csr >/dev/null 2>&1 || fail "csr failed"
  truncate -s 100 "$CASE/state/device.priv"
  s1=$(sums "$CASE/state")
  assert_rc 13 csr
  assert_contains "$OUT" "key files in $CASE/state are corrupt"
  assert_contains "$OUT" "file=device.priv reason=checksum mismatch"
  assert_eq "$(sums "$CASE/state")" "$s1" "key files changed"
  assert_no_transient
}

case_corrupted_blob() {
  local s1
  swtpm_start "$CASE/tpm"
  csr >/dev/null 2>&1 || fail "csr failed"
  printf '\xff' | dd of="$CASE/state/transport.pub" bs=1 seek=150 conv=notrunc 2>/dev/null
  s1=$(sums "$CASE/state")
  assert_rc 13 csr
  assert_contains "$OUT" "key files in $CASE/state are corrupt"
  assert_contains "$OUT" "file=transport.pub"
  assert_eq "$(sums "$CASE/state")" "$s1" "key files changed"
}

case_corrupted_record() {
  local s1
  swtpm_start "$CASE/tpm"
  csr >/dev/null 2>&1 || fail "csr failed"
  printf 'garbage\n' >>"$CASE/state/keys.rec"
  s1=$(sums "$CASE/state")
  assert_rc 13 csr
  assert_contains "$OUT" "file=keys.rec"
  assert_eq "$(sums "$CASE/state")" "$s1" "key files changed"
}

case_missing_blob() {
  swtpm_start "$CASE/tpm"
  csr >/dev/null 2>&1 || fail "csr failed"
  rm "$CASE/state/transport.priv"
  assert_rc 13 csr
  assert_contains "$OUT" "file=transport.priv reason=missing"
  assert_no_file "$CASE/state/transport.priv"
}

case_orphan_blobs_moved_aside() {
  swtpm_start "$CASE/tpm"
  mkdir -p "$CASE/state"
  echo junk >"$CASE/state/device.pub"
  assert_rc 0 csr
  assert_contains "$OUT" "keys created"
  ls "$CASE/state"/device.pub.bad-* >/dev/null 2>&1 || fail "orphan not kept aside"
}

case_transport_blob() {
  local b64 hexblob info tpm_n
  swtpm_start "$CASE/tpm"
  b64=$(csr --transport-key-blob 2>/dev/null) || fail "blob failed"
  [ "$(base64 -d <<<"$b64" | wc -c)" = 283 ] || fail "blob is not 283 bytes"
  hexblob=$(base64 -d <<<"$b64" | od -An -tx1 -v | tr -d ' \n')
  assert_eq "${hexblob:0:48}" "525341310008000003000000000100000000000000000000" "RSA1 header"
  assert_eq "${hexblob:48:6}" "010001" "exponent"
  info=$("$RSA1TOOL" info "$b64") || fail "rsa1-tool rejected the blob"
  tpm_n=$(tools_modulus "$CASE/state/transport") || fail "tpm2-tools could not load the transport key"
  assert_eq "${hexblob:54}" "$tpm_n" "blob modulus vs transport key in the TPM"
  assert_contains "$info" "bits=2048 e=010001 n=$tpm_n"
  assert_no_transient
}

case_soft_provider_named() {
  local txt
  assert_rc 0 "$LINKJOIN" csr --state-dir "$CASE/state" --key-provider soft
  assert_contains "$OUT" "keys created provider=soft TpmProtected=NO parent=none"
  assert_contains "$OUT" "soft_provider_in_use TpmProtected=no"
  "$LINKJOIN" csr --state-dir "$CASE/state" --key-provider soft >"$CASE/csr.pem" 2>/dev/null || fail "soft csr"
  txt=$(openssl req -in "$CASE/csr.pem" -verify -noout -text 2>&1) || fail "openssl: $txt"
  assert_contains "$txt" "self-signature verify OK"
  assert_contains "$(cat "$CASE/state/keys.rec")" "provider=soft"
}

case_soft_keys_refused_unless_named() {
  local s1
  "$LINKJOIN" csr --state-dir "$CASE/state" --key-provider soft >/dev/null 2>&1 || fail "soft csr"
  s1=$(cd "$CASE/state" && sha256sum keys.rec soft-device.der soft-transport.der)
  swtpm_start "$CASE/tpm"
  assert_rc 13 csr
  assert_contains "$OUT" "belong to another key provider"
  assert_contains "$OUT" "keys_provider=soft requested=tpm"
  assert_eq "$(cd "$CASE/state" && sha256sum keys.rec soft-device.der soft-transport.der)" "$s1" "soft keys changed"
  assert_no_file "$CASE/state/device.pub"
}

case_tpm_keys_not_used_by_soft() {
  swtpm_start "$CASE/tpm"
  csr >/dev/null 2>&1 || fail "csr failed"
  assert_rc 13 "$LINKJOIN" csr --state-dir "$CASE/state" --key-provider soft
  assert_contains "$OUT" "keys_provider=tpm requested=soft"
}

case_usage_errors() {
  assert_rc 2 "$LINKJOIN" csr --bogus
  assert_contains "$OUT" "unknown option '--bogus'"
  assert_rc 2 "$LINKJOIN" csr --state-dir
  assert_contains "$OUT" "option '--state-dir' needs a value"
  assert_rc 2 "$LINKJOIN" csr --key-provider hsm
  assert_contains "$OUT" "bad value 'hsm' for option '--key-provider'"
  assert_rc 2 "$LINKJOIN" csr extra-arg
  assert_rc 0 "$LINKJOIN" csr --help
  assert_contains "$OUT" "--transport-key-blob"
  assert_contains "$OUT" "--key-provider"
}

tcase keys_created case_keys_created
tcase restart_reuses_keys case_restart_reuses_keys
tcase csr_verifies case_csr_verifies
tcase csr_key_is_tpm_key case_csr_key_is_tpm_key
tcase oaep_decrypts_in_tpm case_oaep_decrypts_in_tpm
tcase oaep_sha1_decrypts_in_tpm case_oaep_sha1_decrypts_in_tpm
tcase oaep_wrong_hash_refused case_oaep_wrong_hash_refused
tcase key_templates case_key_templates
tcase old_key_template_still_signs case_old_key_template_still_signs
tcase test_decrypt_needs_hook_env case_test_decrypt_needs_hook_env
tcase no_transient_handles_left case_no_transient_handles_left
tcase foreign_handles_left_alone case_foreign_handles_left_alone
tcase own_stale_handles_flushed case_own_stale_handles_flushed
tcase persistent_srk_used case_persistent_srk_used
tcase different_tpm case_different_tpm
tcase lockout case_lockout
tcase unclean_restarts_no_lockout case_unclean_restarts_no_lockout
tcase unreachable case_unreachable
tcase unreachable_device case_unreachable_device
tcase truncated_blob case_truncated_blob
tcase corrupted_blob case_corrupted_blob
tcase corrupted_record case_corrupted_record
tcase missing_blob case_missing_blob
tcase orphan_blobs_moved_aside case_orphan_blobs_moved_aside
tcase transport_blob case_transport_blob
tcase soft_provider_named case_soft_provider_named
tcase soft_keys_refused_unless_named case_soft_keys_refused_unless_named
tcase tpm_keys_not_used_by_soft case_tpm_keys_not_used_by_soft
tcase usage_errors case_usage_errors
