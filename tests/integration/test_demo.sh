#!/usr/bin/env bash
# test_demo.sh — `make demo` (hw-sim/demo.sh) keeps working and reads right:
# it joins, `status` shows the keys checked in the demo's TPM, the second run
# says "already joined", and it leaves no process behind.
source "$(dirname "$0")/lib.sh"

case_demo() {
  local out
  timeout -k 5 300 env LJ_BUILD="$LJ_BUILD" bash "$LJ_TOP/hw-sim/demo.sh" >"$CASE/demo.log" 2>&1 ||
    fail "demo failed: $(tail -20 "$CASE/demo.log")"
  out=$(sed 's/\x1b\[[0-9;]*m//g; s/\x1b(B//g' "$CASE/demo.log")
  assert_contains "$out" "EntraJoined : YES"
  assert_contains "$out" "KeyState : ok"
  assert_contains "$out" "MdmState : enrolled"
  assert_contains "$out" "This device is already joined; nothing to do."
  assert_not_contains "$out" "KeyProblem"
  assert_not_contains "$out" "Something went wrong"
  assert_eq "$(pgrep -f "linkjoin-demo\." | wc -l)" 0 "demo processes left"
}

tcase demo_joins_and_reads_right case_demo
