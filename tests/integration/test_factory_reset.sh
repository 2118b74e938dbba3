#!/usr/bin/env bash
# linkjoin factory-reset: local wipe of a joined device (entra-sim + swtpm),
# and --clear-tpm --yes (TPM2_Clear: old key blobs stop loading).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_leave.sh"

export LJ_TEST_HOOKS=1

add_extras() {
  printf 'refresh-token-xyz' | lj tpm seal refresh_token --state-dir "$CASE/state" --tcti "$TCTI" ||
    fail "seal failed"
  echo '{"enrollment":"x"}' >"$CASE/state/mdm-state.json"
  : >"$CASE/state/mdm-pending"
  echo '{}' >"$CASE/state/journal.json.bad-1764177000"
  echo 'partial' >"$CASE/state/journal.json.tmp"
}

assert_state_gone() {
  local left
  left=$(ls -A "$CASE/state" 2>/dev/null | grep -v '^keep\.me$')
  [ -z "$left" ] || fail "files left in the state dir: $left"
}

case_reset_wipes_and_rejoins() {
  local old
  leave_env
  join_device
  old=$DEVICE_ID
  add_extras
  echo 'not ours' >"$CASE/state/keep.me"
  assert_rc 0 lj factory-reset --config "$CASE/lj.conf"
  assert_contains "$OUT" "Local join state removed from $CASE/state"
  assert_contains "$OUT" "The device object $old remains in the cloud"
  assert_contains "$OUT" "The next boot starts a fresh setup"
  assert_state_gone
  assert_file "$CASE/state/keep.me"
  assert_no_file "$CASE/state/joined"
  assert_rc 12 lj status --config "$CASE/lj.conf"
  # The cloud is not touched by a reset.
  sim_has_device "$old" || fail "reset deleted the cloud object"
  assert_rc 12 lj leave --config "$CASE/lj.conf"
  # A fresh join: new keys, new device.
  join_device
  assert_ne "$DEVICE_ID" "$old" "device id after reset and join"
  assert_no_transient_handles
}

# A TPM-cleared re-join keeps the old join in lost-*/ (journal with UPN,
# tenant and device id, certificates, key blobs): a reset removes it and
# names the old device object, still registered in Entra, for the admin.
case_reset_removes_lost_join() {
  local old new
  leave_env
  join_device
  old=$DEVICE_ID
  swtpm_stop
  rm -rf "$CASE/tpm"
  swtpm_start "$CASE/tpm"
  sed -i "s|^tcti = .*|tcti = $TCTI|" "$CASE/lj.conf"
  join_device
  new=$DEVICE_ID
  assert_ne "$new" "$old" "device id after the TPM was cleared"
  ls -d "$CASE"/state/lost-* >/dev/null 2>&1 || fail "no lost-* directory after the re-join"
  ln -s "$CASE/keep.me" "$CASE/state/$(basename "$(ls -d "$CASE"/state/lost-* | head -1)")/link"
  echo 'not ours' >"$CASE/keep.me"
  assert_rc 0 lj factory-reset --config "$CASE/lj.conf"
  assert_contains "$OUT" "The device object $new remains in the cloud"
  assert_contains "$OUT" "An earlier join of this device left device object $old in the cloud"
  assert_state_gone
  assert_eq "$(cat "$CASE/keep.me")" "not ours" "a symlink's target"
  assert_rc 12 lj status --config "$CASE/lj.conf"
}

case_reset_not_joined() {
  assert_rc 0 lj factory-reset --state-dir "$CASE/state"
  assert_contains "$OUT" "No local join state in $CASE/state"
}

case_reset_clear_tpm_needs_yes() {
  leave_env
  join_device
  assert_rc 2 lj factory-reset --clear-tpm --config "$CASE/lj.conf"
  assert_contains "$OUT" "add --yes to confirm. Nothing was done."
  assert_contains "$OUT" "usage: linkjoin factory-reset"
  assert_file "$CASE/state/journal.json"
  assert_file "$CASE/state/keys.rec"
  assert_rc 2 lj factory-reset --yes --config "$CASE/lj.conf"
  assert_contains "$OUT" "--yes only confirms --clear-tpm"
  assert_file "$CASE/state/keys.rec"
  # The keys still load: the TPM was not cleared.
  lj csr --state-dir "$CASE/state" --tcti "$TCTI" >/dev/null 2>&1 || fail "keys no longer load"
}

case_reset_clear_tpm() {
  local old
  leave_env
  join_device
  old=$DEVICE_ID
  cp -a "$CASE/state" "$CASE/old-state"
  TPM2TOOLS_TCTI=$TCTI tpm2_createprimary -Q -C o -c "$CASE/p.ctx" || fail "createprimary"
  TPM2TOOLS_TCTI=$TCTI tpm2_evictcontrol -Q -C o -c "$CASE/p.ctx" 0x81000001 >/dev/null || fail "evictcontrol"
  TPM2TOOLS_TCTI=$TCTI tpm2_flushcontext -t
  assert_rc 0 lj factory-reset --clear-tpm --yes --config "$CASE/lj.conf"
  assert_contains "$OUT" "TPM owner hierarchy cleared"
  assert_contains "$OUT" "The device object $old remains in the cloud"
  assert_state_gone
  # The owner's persistent objects are gone, and blobs made before no longer load.
  [ -z "$(TPM2TOOLS_TCTI=$TCTI tpm2_getcap handles-persistent)" ] || fail "persistent handles survived"
  assert_rc 13 lj csr --state-dir "$CASE/old-state" --tcti "$TCTI"
  assert_contains "$OUT" "belong to a different TPM (or this TPM was cleared)"
  assert_no_transient_handles
  join_device
  assert_ne "$DEVICE_ID" "$old" "device id after clear and join"
  assert_no_transient_handles
}

case_reset_clear_tpm_lockout_auth_set() {
  leave_env
  join_device
  TPM2TOOLS_TCTI=$TCTI tpm2_changeauth -c lockout lockpw || fail "changeauth"
  assert_rc 4 lj factory-reset --clear-tpm --yes --config "$CASE/lj.conf"
  assert_contains "$OUT" "its lockout authorization is set"
  assert_state_gone
}

case_reset_clear_tpm_unreachable() {
  leave_env
  join_device
  swtpm_stop
  assert_rc 4 lj factory-reset --clear-tpm --yes --config "$CASE/lj.conf"
  assert_contains "$OUT" "the TPM is unreachable"
  assert_state_gone
}

case_reset_usage() {
  assert_rc 0 lj factory-reset --help
  assert_contains "$OUT" "usage: linkjoin factory-reset"
  assert_rc 2 lj factory-reset --bogus --state-dir "$CASE/state"
  assert_contains "$OUT" "unknown option '--bogus'"
}

tcase reset_wipes_and_rejoins case_reset_wipes_and_rejoins
tcase reset_removes_lost_join case_reset_removes_lost_join
tcase reset_not_joined case_reset_not_joined
tcase reset_clear_tpm_needs_yes case_reset_clear_tpm_needs_yes
tcase reset_clear_tpm case_reset_clear_tpm
tcase reset_clear_tpm_lockout_auth_set case_reset_clear_tpm_lockout_auth_set
tcase reset_clear_tpm_unreachable case_reset_clear_tpm_unreachable
tcase reset_usage case_reset_usage
