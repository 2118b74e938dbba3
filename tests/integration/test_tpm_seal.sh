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
  PYTHONPATH="$LJ_TOP/tests/integration" python3 - "$CASE/tpm/swtpm.log" <<'PY' || fail "Unseal responses not encrypted"
import sys
from swtpm_log import blocks as read_blocks
blocks = read_blocks(sys.argv[1])
outs = []
for i, (kind, b) in enumerate(blocks):
    if kind == "SWTPM_IO_Read" and len(b) > 10 and b[6:10] == bytes([0, 0, 1, 0x5E]):
        rsp = blocks[i + 1][1]
        assert rsp[6:10] == bytes(4), "unseal failed"
        # tag, size, rc, parameterSize(4), outData(2 + 32)
        assert rsp[14:16] == bytes([0, 32]), rsp[14:16]
        outs.append(rsp[16:48])
assert len(outs) == 2, len(outs)
assert outs[0] != outs[1], "same outData twice: key in clear on the bus"
PY
}

# Extend PCR 7 (the Secure Boot state, TCG PC Client PFP) as firmware would.
pcr7_extend() {
  TPM2TOOLS_TCTI=$TCTI tpm2_pcrextend "7:sha256=$(printf '%s' "$1" | sha256sum | cut -c1-64)" ||
    fail "pcrextend"
}

# Unseal the sealed object of STATE_DIR/NAME.sealed with stock tpm2-tools
# (the storage key recreated from its template, tpm2_load, tpm2_unseal with
# the empty password): prints the 32-byte data key on success.
stock_unseal() {
  python3 - "$CASE/state/$1.sealed" "$CASE" <<'PY' || fail "cannot split the sealed file"
import sys
b = open(sys.argv[1], "rb").read()
magic, off = b[:8], 8
off += 1                      # provider
plen = b[off]; off += 1 + plen
if magic == b"LJSEAL2\n":
    off += 8 + 8              # sealed_at, max age
blen = int.from_bytes(b[off:off + 2], "big"); off += 2
blob = b[off:off + blen]
pl = int.from_bytes(blob[:2], "big")
open(sys.argv[2] + "/s.pub", "wb").write(blob[:2 + pl])
rest = blob[2 + pl:]
rl = int.from_bytes(rest[:2], "big")
open(sys.argv[2] + "/s.priv", "wb").write(rest[:2 + rl])
PY
  export TPM2TOOLS_TCTI=$TCTI
  tpm2_createprimary -Q -C o -G ecc256:aes128cfb \
    -a 'restricted|decrypt|fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda' \
    -c "$CASE/srk.ctx" || fail "createprimary"
  tpm2_load -Q -C "$CASE/srk.ctx" -u "$CASE/s.pub" -r "$CASE/s.priv" -c "$CASE/s.ctx" || fail "load"
  tpm2_flushcontext -t
  tpm2_unseal -c "$CASE/s.ctx" 2>"$CASE/stock.err" | xxd -p
  local rc=${PIPESTATUS[0]}
  tpm2_flushcontext -t
  return "$rc"
}

# Where the platform measures (PCR 7 extended), the data key is sealed to
# PCR 7 (PolicyPCR): a changed boot state (PCR 7 extended again) cannot
# unseal it, with a clear error, and the file is left for a new sign-in to
# replace.
case_bound_to_pcr7() {
  local out
  swtpm_start "$CASE/tpm"
  pcr7_extend "secure boot on"
  OUT=$(lj tpm seal refresh_token --state-dir "$CASE/state" --tcti "$TCTI" --log-level info \
    <<<"$TOKEN" 2>&1) || fail "seal: $OUT"
  assert_contains "$OUT" "event=seal_policy policy=pcr7"
  seal refresh_token "$TOKEN" || fail "seal failed"
  out=$(unseal refresh_token) || fail "unseal failed"
  assert_eq "$out" "$TOKEN" "unsealed data"
  pcr7_extend "secure boot off"
  assert_rc 1 unseal refresh_token
  assert_contains "$OUT" "event=unseal_refused reason=\"boot state changed: PCR 7 is not what it was when sealed\""
  assert_not_contains "$OUT" "$TOKEN"
  assert_file "$CASE/state/refresh_token.sealed"
  assert_no_transient_handles
}

# Stock tpm2_unseal (no policy session) cannot unseal the data key, PCR 7
# bound or not (the review's reproduction recovered it before).
case_stock_unseal_refused() {
  swtpm_start "$CASE/tpm"
  pcr7_extend "secure boot on"
  seal refresh_token "$TOKEN" || fail "seal failed"
  stock_unseal refresh_token >"$CASE/key.hex" && fail "stock tpm2_unseal unsealed the PCR 7 bound key"
  assert_eq "$(cat "$CASE/key.hex")" "" "key printed"
}

# PCR 7 never extended (no measured boot): the documented fallback, a
# policy with a random auth value kept in the file (PolicyAuthValue), logged;
# stock tpm2_unseal with the empty password still fails.
case_fallback_without_pcr7() {
  local out
  swtpm_start "$CASE/tpm"
  OUT=$(lj tpm seal refresh_token --state-dir "$CASE/state" --tcti "$TCTI" <<<"$TOKEN" 2>&1) || fail "seal: $OUT"
  assert_contains "$OUT" "event=seal_policy policy=authvalue reason=pcr7_unextended"
  seal refresh_token "$TOKEN" || fail "seal failed"
  out=$(unseal refresh_token) || fail "unseal failed"
  assert_eq "$out" "$TOKEN" "unsealed data"
  stock_unseal refresh_token >"$CASE/key.hex" && fail "stock tpm2_unseal unsealed the key"
  assert_eq "$(cat "$CASE/key.hex")" "" "key printed"
  assert_no_transient_handles
}

# A kept token lives at most sealed_max_age_days (default 14) from its seal
# time in the file: older is treated as absent (logged) and removed.
case_older_than_cap_absent() {
  local now
  swtpm_start "$CASE/tpm"
  now=$(date +%s)
  LJ_TEST_NOW=$now seal refresh_token "$TOKEN" || fail "seal failed"
  LJ_TEST_NOW=$((now + 13 * 86400)) unseal refresh_token >/dev/null || fail "unseal at 13 days failed"
  LJ_TEST_NOW=$((now + 15 * 86400)) assert_rc 1 unseal refresh_token
  assert_contains "$OUT" "rc=not_found"
  assert_contains "$OUT" "event=sealed_expired"
  assert_no_file "$CASE/state/refresh_token.sealed"
  # a shorter cap from the configuration
  printf 'sealed_max_age_days = 1\n' >"$CASE/lj.conf"
  LJ_TEST_NOW=$now seal refresh_token "$TOKEN" || fail "seal failed"
  LJ_TEST_NOW=$((now + 2 * 86400)) assert_rc 1 lj tpm unseal refresh_token --config "$CASE/lj.conf" \
    --state-dir "$CASE/state" --tcti "$TCTI"
  assert_contains "$OUT" "event=sealed_expired"
}

# A file of the previous format (LJSEAL1: no policy, no seal time) is
# treated as absent, logged, and removed.
case_old_format_absent() {
  swtpm_start "$CASE/tpm"
  seal refresh_token "$TOKEN" || fail "seal failed"
  python3 - "$CASE/state/refresh_token.sealed" <<'PY'
import hashlib, sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read()[:-32])
b[0:8] = b"LJSEAL1\n"
open(p, "wb").write(bytes(b) + hashlib.sha256(bytes(b)).digest())
PY
  assert_rc 1 unseal refresh_token
  assert_contains "$OUT" "rc=not_found"
  assert_contains "$OUT" "event=sealed_old_format"
  assert_no_file "$CASE/state/refresh_token.sealed"
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
tcase bound_to_pcr7 case_bound_to_pcr7
tcase stock_unseal_refused case_stock_unseal_refused
tcase fallback_without_pcr7 case_fallback_without_pcr7
tcase older_than_cap_absent case_older_than_cap_absent
tcase old_format_absent case_old_format_absent
