#!/usr/bin/env bash
# tests/run.sh — runs every test and prints "N passed, N failed[, N skipped]".
#
# Unit tests are cmocka binaries in $LJ_BUILD/tests (TAP output); integration
# tests are tests/integration/test_*.sh scripts using tests/integration/lib.sh
# (TAP lines "ok - name" / "not ok - name" / "ok - name # SKIP reason").
# Usage: tests/run.sh [--unit|--integration] [PATTERN]
# After the integration scripts, every agent UI event they captured
# (LJ_UI_EVENTS_DIR) is checked against platform/oobe/ui-protocol.schema.json.
# Each integration script is stopped after LJ_SCRIPT_TIMEOUT seconds (default
# 1800; `make valgrind` gives 5400: test_faults.sh alone runs ~40 min there).
set -u
cd "$(dirname "$0")/.."
export LJ_BUILD=${LJ_BUILD:-build}
export LJ_TOP=$PWD
mode=all
pattern=
for a in "$@"; do
  case $a in
    --unit) mode=unit ;;
    --integration) mode=integration ;;
    *) pattern=$a ;;
  esac
done
jobs=${LJ_JOBS:-2}
out=$(mktemp -d /tmp/lj-run.XXXXXX)
trap 'rm -rf "$out"' EXIT

list=()
if [ "$mode" != integration ]; then
  # One binary per tests/unit source: a stale binary left in the build dir by
  # a renamed or removed test is not run.
  for src in tests/unit/test_*.c tests/unit/simtest_*.c; do
    b="$LJ_BUILD/tests/$(basename "$src" .c)"
    [ -x "$b" ] && list+=("unit:$b")
  done
fi
if [ "$mode" != unit ]; then
  for s in tests/integration/test_*.sh; do
    [ -f "$s" ] && list+=("int:$s")
  done
fi
if [ -n "$pattern" ]; then
  f=(); for i in "${list[@]}"; do [[ $i == *$pattern* ]] && f+=("$i"); done; list=("${f[@]}")
fi

run_one() {
  local item=$1 kind=${1%%:*} path=${1#*:} log rc start end
  log="$out/$(echo "$path" | tr '/' '_').log"
  start=$(date +%s.%N)
  if [ "$kind" = unit ]; then
    CMOCKA_MESSAGE_OUTPUT=TAP timeout 600 "$path" >"$log" 2>&1; rc=$?
  else
    timeout "${LJ_SCRIPT_TIMEOUT:-1800}" bash "$path" >"$log" 2>&1; rc=$?
  fi
  end=$(date +%s.%N)
  echo "$rc $(echo "$end - $start" | bc 2>/dev/null || echo 0)" >"$log.rc"
}
export -f run_one
export out

# Every UI transcript the integration scripts capture lands here
# (tests/integration/lib.sh); checked against the protocol's schema last.
export LJ_UI_EVENTS_DIR=$out/ui-events

printf '%s\n' "${list[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ {}

if [ "$mode" != unit ]; then
  # ui-events: one TAP line, after every script has run
  log="$out/ui-events.log"
  start=$(date +%s.%N)
  {
    if [ -z "$(ls -A "$LJ_UI_EVENTS_DIR" 2>/dev/null)" ]; then
      echo "ok - every_ui_event_matches_schema # SKIP no transcript was captured"
    elif /usr/bin/python3 tests/integration/ui_schema_check.py "$LJ_UI_EVENTS_DIR"/* >"$out/ui-events.out" 2>&1; then
      echo "ok - every_ui_event_matches_schema ($(tail -1 "$out/ui-events.out"))"
    else
      echo "not ok - every_ui_event_matches_schema"
      grep -v '^# ' "$out/ui-events.out" | head -60 | sed 's/^/#   /'
    fi
  } >"$log"
  echo "0 $(echo "$(date +%s.%N) - $start" | bc 2>/dev/null || echo 0)" >"$log.rc"
  list+=("check:ui-events")
fi

pass=0 fail=0 skip=0
for i in "${list[@]}"; do
  path=${i#*:}
  log="$out/$(echo "$path" | tr '/' '_').log"
  read -r rc secs <"$log.rc"
  p=$(grep -cE '^ok ' "$log" | head -1); p=${p:-0}
  s=$(grep -cE '^ok .*# (SKIP|skip)' "$log"); s=${s:-0}
  f=$(grep -cE '^not ok ' "$log"); f=${f:-0}
  p=$((p - s))
  if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
    f=1
    echo "not ok - $path exited with status $rc" >>"$log"
  fi
  if [ "$p" = 0 ] && [ "$f" = 0 ] && [ "$s" = 0 ]; then
    f=1
    echo "not ok - $path ran no test" >>"$log"
  fi
  pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
  printf '== %s: %d passed, %d failed, %d skipped (%.1fs)\n' "$path" "$p" "$f" "$s" "${secs:-0}"
  if [ "$f" != 0 ] || [ -n "${LJ_VERBOSE:-}" ]; then
    sed 's/^/   | /' "$log"
  else
    grep -E '# (SKIP|skip)' "$log" | sed 's/^/   | /'
  fi
done
echo
if [ "$skip" != 0 ]; then
  echo "$pass passed, $fail failed, $skip skipped"
else
  echo "$pass passed, $fail failed"
fi
[ "$fail" = 0 ]
