#!/usr/bin/env bash
# tpm_seal / tpm_unseal / tpm_sealed_remove on swtpm through the test-build
# hook `LJ_TEST_HOOKS=1 linkjoin tpm seal|unseal|sealed-remove NAME`.
. "$(dirname "$0")/lib.sh"

export LJ_TEST_HOOKS=1
TOKEN="0.AXoA-refresh-token-$(head -c 600 /dev/urandom | base64 -w0 | tr '+/' '-_')"
seal() { printf '%s' "$2" | lj tpm seal "$1" --state-dir "$CASE/state" --tcti "$TCTI"; }
unseal() { lj tpm unseal "$1" --state-dir "$CASE/state" --tcti "$TCTI"; }

case_round_trip() {
  local out
  swtpm_start "$CASE/tpm"
  seal refresh_token "$TOKEN" || fail "seal failed"
  assert_file "$CASE/state/refresh_token.sealed"
  assert_mode "$CASE/state/refresh_token.sealed" 600
  assert_mode "$CASE/state" 700
  out=$(unseal refresh_token) || fail "unseal failed"
  assert_eq "$out" "$TOKEN" "unsealed data"
  # Across a TPM restart (state kept) it still unseals.
  swtpm_stop
  swtpm_start "$CASE/tpm"
  out=$(unseal refresh_token) || fail "unseal after restart failed"
  assert_eq "$out" "$TOKEN" "unsealed data after restart"
  assert_no_transient_handles
}

case_no_plaintext_on_disk() {
  swtpm_start "$CASE/tpm"
  seal refresh_token "$TOKEN" || fail "seal failed"
  # Neither the token nor any 16-byte piece of it, nor its base64.
  ! grep -rqF -- "${TOKEN:20:16}" "$CASE/state" || fail "token text found in the state dir"
  ! grep -rqF -- "$(printf '%s' "$TOKEN" | base64 -w0 | cut -c 1-16)" "$CASE/state" || fail "base64 token found"
  ! grep -rqF -- "refresh-token" "$CASE/state" || fail "token prefix found"
  ls "$CASE/state" | grep -qv '^refresh_token.sealed$' && fail "extra files: $(ls "$CASE/state")"
  return 0
}

case_other_tpm_cannot_unseal() {
  local s1
  swtpm_start "$CASE/tpm-a"
  seal refresh_token "$TOKEN" || fail "seal failed"
  s1=$(sha256sum "$CASE/state/refresh_token.sealed")
  swtpm_stop
  swtpm_start "$CASE/tpm-b"
  assert_rc 13 unseal refresh_token
  assert_contains "$OUT" "rc=tpm_wrong_tpm"
  assert_contains "$OUT" "belong to a different TPM"
  assert_not_contains "$OUT" "$TOKEN"
  assert_eq "$(sha256sum "$CASE/state/refresh_token.sealed")" "$s1" "sealed file changed"
  assert_no_transient_handles
}

case_corrupt_file() {
  swtpm_start "$CASE/tpm"
  seal refresh_token "$TOKEN" || fail "seal failed"
  # flip every bit of byte 300 (writing a fixed value changes nothing when the byte already has it)
  python3 -c 'import sys; p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[300] ^= 0xff; open(p, "wb").write(b)' \
    "$CASE/state/refresh_token.sealed"
  assert_rc 13 unseal refresh_token
  assert_contains "$OUT" "rc=keys_corrupt"
  assert_contains "$OUT" "event=sealed_corrupt"
  assert_contains "$OUT" "checksum mismatch"
  assert_file "$CASE/state/refresh_token.sealed"
}

case_truncated_file() {
  swtpm_start "$CASE/tpm"
  seal refresh_token "$TOKEN" || fail "seal failed"
  truncate -s 20 "$CASE/state/refresh_token.sealed"
  assert_rc 13 unseal refresh_token
  assert_contains "$OUT" "event=sealed_corrupt"
}

case_renamed_file_refused() {
  swtpm_start "$CASE/tpm"
  seal refresh_token "$TOKEN" || fail "seal failed"
  cp "$CASE/state/refresh_token.sealed" "$CASE/state/other.sealed"
  assert_rc 13 unseal other
  assert_contains "$OUT" "authentication tag mismatch"
  assert_no_transient_handles
}

case_missing() {
  swtpm_start "$CASE/tpm"
  assert_rc 1 unseal refresh_token
  assert_contains "$OUT" "rc=not_found"
  assert_contains "$OUT" "no sealed data"
}

case_reseal_replaces() {
  local out
  swtpm_start "$CASE/tpm"
  seal refresh_token "first-$TOKEN" || fail "seal 1 failed"
  seal refresh_token "second-$TOKEN" || fail "seal 2 failed"
  out=$(unseal refresh_token) || fail "unseal failed"
  assert_eq "$out" "second-$TOKEN" "unsealed data"
  assert_no_file "$CASE/state/refresh_token.sealed.tmp"
  ! ls "$CASE/state/refresh_token.sealed.tmp-"* >/dev/null 2>&1 || fail "a temporary file was left"
}

case_remove() {
  swtpm_start "$CASE/tpm"
  seal refresh_token "$TOKEN" || fail "seal failed"
  assert_rc 0 lj tpm sealed-remove refresh_token --state-dir "$CASE/state"
  assert_no_file "$CASE/state/refresh_token.sealed"
  assert_rc 0 lj tpm sealed-remove refresh_token --state-dir "$CASE/state"
}

case_coexists_with_keys() {
  local out
  swtpm_start "$CASE/tpm"
  lj csr --state-dir "$CASE/state" --tcti "$TCTI" >/dev/null 2>&1 || fail "csr"
  seal refresh_token "$TOKEN" || fail "seal failed"
  assert_rc 0 lj csr --state-dir "$CASE/state" --tcti "$TCTI"
  assert_contains "$OUT" "keys reused"
  out=$(unseal refresh_token) || fail "unseal failed"
  assert_eq "$out" "$TOKEN" "unsealed data"
  assert_no_transient_handles
}

case_unseal_in_lockout() {
  local out
  swtpm_start "$CASE/tpm"
  seal refresh_token "$TOKEN" || fail "seal failed"
  tpm_force_lockout
  # noDA sealed object under a noDA SRK: a lockout caused elsewhere does not
  # make the token unreadable.
  out=$(unseal refresh_token) || fail "unseal in lockout failed"
  assert_eq "$out" "$TOKEN" "unsealed data"
}

case_bad_names_and_sizes() {
  swtpm_start "$CASE/tpm"
  assert_rc 1 seal "../x" "$TOKEN"
  assert_contains "$OUT" "reason=bad_name"
  assert_rc 1 seal "UPPER" "$TOKEN"
  assert_rc 1 seal refresh_token ""
  assert_contains "$OUT" "reason=bad_length"
  head -c 16385 /dev/zero | tr '\0' a >"$CASE/big"
  OUT=$(lj tpm seal big --state-dir "$CASE/state" --tcti "$TCTI" <"$CASE/big" 2>&1) && fail "oversized data sealed"
  assert_contains "$OUT" "reason=bad_length"
}

case_soft_provider() {
  local out
  printf '%s' "$TOKEN" | lj tpm seal refresh_token --state-dir "$CASE/state" --key-provider soft || fail "soft seal"
  assert_file "$CASE/state/soft-seal.key"
  assert_mode "$CASE/state/soft-seal.key" 600
  ! grep -rqF -- "${TOKEN:20:16}" "$CASE/state" || fail "token text found in the state dir"
  out=$(lj tpm unseal refresh_token --state-dir "$CASE/state" --key-provider soft) || fail "soft unseal"
  assert_eq "$out" "$TOKEN" "soft unsealed data"
  # A soft-sealed file is refused by the TPM provider.
  swtpm_start "$CASE/tpm"
  assert_rc 13 unseal refresh_token
  assert_contains "$OUT" "sealed by the 'soft' provider"
}

# The data key crosses the TPM bus encrypted: two Unseals of the same
# object return different outData bytes (salted session, fresh nonces),
# where a password session would return the key itself both times.
case_unseal_output_encrypted_on_bus() {
  SWTPM_LOG_LEVEL=20 swtpm_start "$CASE/tpm"
  seal refresh_token "$TOKEN" || fail "seal failed"
  unseal refresh_token >/dev/null || fail "unseal 1 failed"
  unseal refresh_token >/dev/null || fail "unseal 2 failed"
  python3 - "$CASE/tpm/swtpm.log" <<'PY' || fail "Unseal responses not encrypted"
import sys
blocks, cur = [], None
for line in open(sys.argv[1]):
    if line.startswith(" SWTPM_IO_"):
        cur = [line.split(":")[0].strip(), []]
        blocks.append(cur)
    elif cur is not None and all(len(t) == 2 for t in line.split()) and line.strip():
        cur[1] += [int(t, 16) for t in line.split()]
outs = []
for i, (kind, b) in enumerate(blocks):
    if kind == "SWTPM_IO_Read" and len(b) > 10 and b[6:10] == [0, 0, 1, 0x5E]:
        rsp = blocks[i + 1][1]
        assert rsp[6:10] == [0, 0, 0, 0], "unseal failed"
        # tag, size, rc, parameterSize(4), outData(2 + 32)
        assert rsp[14:16] == [0, 32], rsp[14:16]
        outs.append(bytes(rsp[16:48]))
assert len(outs) == 2, len(outs)
assert outs[0] != outs[1], "same outData twice: key in clear on the bus"
PY
}

case_needs_hook_env() {
  assert_rc 2 env -u LJ_TEST_HOOKS "$LINKJOIN" tpm unseal refresh_token --state-dir "$CASE/state"
}

tcase round_trip case_round_trip
tcase no_plaintext_on_disk case_no_plaintext_on_disk
tcase other_tpm_cannot_unseal case_other_tpm_cannot_unseal
tcase corrupt_file case_corrupt_file
tcase truncated_file case_truncated_file
tcase renamed_file_refused case_renamed_file_refused
tcase missing case_missing
tcase reseal_replaces case_reseal_replaces
tcase remove case_remove
tcase coexists_with_keys case_coexists_with_keys
tcase unseal_in_lockout case_unseal_in_lockout
tcase bad_names_and_sizes case_bad_names_and_sizes
tcase soft_provider case_soft_provider
tcase unseal_output_encrypted_on_bus case_unseal_output_encrypted_on_bus
tcase needs_hook_env case_needs_hook_env
