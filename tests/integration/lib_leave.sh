# tests/integration/lib_leave.sh — helpers for leave/factory-reset tests
# (source after lib.sh; sources lib_join.sh).
#
#   leave_env            entra-sim (demo tenant) + swtpm for this case, and
#                        $CASE/lj.conf: password sign-in as alice (no prompt)
#   join_device [DIR]    `linkjoin run` for the state directory DIR (default
#                        $CASE/state); fails the case unless it joined.
#                        Sets DEVICE_ID.
#   sim_has_device ID    the simulator holds device object ID
. "$(dirname "${BASH_SOURCE[0]}")/lib_join.sh"

leave_env() {
  join_env
  printf 'Demo-Passw0rd!\n' >"$CASE/pw"
  chmod 600 "$CASE/pw"
  lj_conf "$CASE/lj.conf" "signin = password" "username = alice@contoso.example" \
    "password_file = $CASE/pw"
}

join_device() {
  local dir=${1:-$CASE/state} rc r
  "$LINKJOIN" run --config "$CASE/lj.conf" --state-dir "$dir" --ui stdio \
    </dev/null >"$CASE/run.out" 2>"$CASE/run.err"
  rc=$?
  r=$(result_event "$CASE/run.out")
  [ "$rc" = 0 ] && [ "$(jq -r .status <<<"$r")" = joined ] ||
    fail "run did not join (exit $rc): $r $(tail -5 "$CASE/run.err")"
  DEVICE_ID=$(jq -r .device_id <<<"$r")
  [[ $DEVICE_ID =~ ^[0-9a-f-]{36}$ ]] || fail "device id '$DEVICE_ID'"
  export DEVICE_ID
}

sim_has_device() {
  sim_ctl GET "/control/devices/$1" >/dev/null 2>&1
}
