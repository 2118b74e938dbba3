#!/usr/bin/env bash
# test_demo.sh — `make demo` (hw-sim/demo.sh) keeps working and reads right:
# it joins, `status` shows the keys checked in the demo's TPM, the second run
# says "already joined", and it leaves no process behind.
source "$(dirname "$0")/lib.sh"

case_demo() {
  local out rc=0 dir left
  # LJ_KEEP=1: the demo names its temp dir ("(kept DIR)"), so that only
  # this demo's processes are looked for (others may run a demo meanwhile
  # on the same machine); the dir is removed here.
  timeout -k 5 300 env LJ_BUILD="$LJ_BUILD" LJ_KEEP=1 bash "$LJ_TOP/hw-sim/demo.sh" \
    >"$CASE/demo.log" 2>&1 || rc=$?
  out=$(sed 's/\x1b\[[0-9;]*m//g; s/\x1b(B//g' "$CASE/demo.log")
  dir=$(sed -n 's|^(kept \(/tmp/linkjoin-demo\.[A-Za-z0-9]*\))$|\1|p' <<<"$out" | tail -1)
  left=0
  if [ -n "$dir" ]; then
    left=$(pgrep -f -- "$dir" | wc -l)
    rm -rf "$dir"
  fi
  [ "$rc" = 0 ] || fail "demo failed: $(tail -20 "$CASE/demo.log")"
  [ -n "$dir" ] || fail "the demo did not name its temp dir: $(tail -5 "$CASE/demo.log")"
  assert_contains "$out" "EntraJoined : YES"
  assert_contains "$out" "KeyState : ok"
  assert_contains "$out" "MdmState : enrolled"
  assert_contains "$out" "This device is already joined; nothing to do."
  assert_not_contains "$out" "KeyProblem"
  assert_not_contains "$out" "Something went wrong"
  assert_eq "$left" 0 "demo processes left"
}

tcase demo_joins_and_reads_right case_demo
