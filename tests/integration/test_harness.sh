#!/usr/bin/env bash
# The harness itself (lib.sh's tcase and exit status, tests/run.sh's
# counting), on throwaway scripts written into each case's temp dir: a
# script with a case that fails on purpose prints `not ok` and exits 1
# (also when it ends with `exit 0`), one whose cases pass or skip exits 0,
# and tests/run.sh, run on a copy of the tree holding only such a script,
# counts one failure for it (not two) and exits 1.  The failing cases live
# only in those temp dirs, never in the suite.
. "$(dirname "$0")/lib.sh"

# throwaway PATH [LINE..] — a test script at PATH that sources lib.sh (of
# LIB, default this tree's) and runs the given lines after its cases.
throwaway() {
  local path=$1
  shift
  {
    echo '#!/usr/bin/env bash'
    echo ". \"${LIB:-$LJ_TOP/tests/integration/lib.sh}\""
    echo 'case_passes() { [ 1 = 1 ] || fail "arithmetic"; }'
    echo 'case_fails_on_purpose() { fail "this case fails on purpose"; }'
    echo 'case_skips() { skip "nothing to do here"; }'
    printf '%s\n' "$@"
  } >"$path"
}

# run_throwaway PATH — run it as tests/run.sh would, without this script's
# case filter or UI transcript directory; exit status in RC, output in OUT.
run_throwaway() {
  OUT=$(env -u LJ_TCASE -u LJ_UI_EVENTS_DIR -u LJ_KEEP bash "$1" 2>&1)
  RC=$?
}

case_failed_case_exits_nonzero() {
  throwaway "$CASE/t.sh" 'tcase passes case_passes' 'tcase fails_on_purpose case_fails_on_purpose' \
    'tcase passes_after case_passes'
  run_throwaway "$CASE/t.sh"
  assert_eq "$RC" 1 "exit status of a script with a failed case"
  assert_eq "$(grep -E '^(not )?ok ' <<<"$OUT")" "ok - passes
not ok - fails_on_purpose
ok - passes_after" "TAP lines"
  assert_contains "$OUT" "#   # FAIL: this case fails on purpose"
  assert_contains "$OUT" "# 1 case(s) failed"
}

# The qemu scripts end with `exit 0`: a failed case still makes it 1.
case_failed_case_then_exit_0() {
  throwaway "$CASE/t.sh" 'tcase fails_on_purpose case_fails_on_purpose' 'exit 0'
  run_throwaway "$CASE/t.sh"
  assert_eq "$RC" 1 "exit status after exit 0"
}

case_passing_and_skipped_exit_0() {
  throwaway "$CASE/t.sh" 'tcase passes case_passes' 'tcase skips case_skips'
  run_throwaway "$CASE/t.sh"
  assert_eq "$RC" 0 "exit status of a script whose cases pass or skip"
  assert_eq "$(grep -E '^(not )?ok ' <<<"$OUT")" "ok - passes
ok - skips # SKIP nothing to do here" "TAP lines"
}

# A script's own non-zero exit with every case passing is kept (run.sh
# reports it as one failure), and lj_script_cleanup runs at exit.
case_own_exit_status_and_cleanup_kept() {
  throwaway "$CASE/t.sh" "lj_script_cleanup() { echo cleaned >\"$CASE/cleanup\"; }" \
    'tcase passes case_passes' 'exit 3'
  run_throwaway "$CASE/t.sh"
  assert_eq "$RC" 3 "the script's own exit status"
  assert_eq "$(cat "$CASE/cleanup")" cleaned "lj_script_cleanup ran"
}

# tests/run.sh on a tree whose only integration script has one passing, one
# skipped and one failed case: 1 passed, 1 failed, 1 skipped (the non-zero
# exit is not counted again), and run.sh exits 1.
case_run_sh_counts_once() {
  local tree=$CASE/tree
  mkdir -p "$tree/tests/integration"
  cp "$LJ_TOP/tests/run.sh" "$tree/tests/run.sh"
  cp "$LJ_TOP/tests/integration/lib.sh" "$tree/tests/integration/lib.sh"
  LIB=$tree/tests/integration/lib.sh throwaway "$tree/tests/integration/test_throwaway.sh" \
    'tcase passes case_passes' 'tcase skips case_skips' 'tcase fails_on_purpose case_fails_on_purpose'
  OUT=$(env -u LJ_TCASE -u LJ_UI_EVENTS_DIR -u LJ_KEEP -u LJ_TOP -u LJ_BUILD \
    bash "$tree/tests/run.sh" --integration 2>&1)
  RC=$?
  assert_eq "$RC" 1 "run.sh exit status"
  assert_contains "$OUT" "== tests/integration/test_throwaway.sh: 1 passed, 1 failed, 1 skipped"
  assert_not_contains "$OUT" "exited with status"
  assert_eq "$(tail -n 1 <<<"$OUT")" "1 passed, 1 failed, 2 skipped" "run.sh's last line"
}

tcase failed_case_exits_nonzero case_failed_case_exits_nonzero
tcase failed_case_then_exit_0 case_failed_case_then_exit_0
tcase passing_and_skipped_exit_0 case_passing_and_skipped_exit_0
tcase own_exit_status_and_cleanup_kept case_own_exit_status_and_cleanup_kept
tcase run_sh_counts_once case_run_sh_counts_once
