#!/usr/bin/env bash
# `linkjoin errors --markdown` prints exactly README.md's "Failure reasons" table,
# `--exit-codes` exactly its "Exit codes" table, stays out of --help, and rejects
# other arguments with the usage exit code.
. "$(dirname "$0")/lib.sh"

readme_table_matches() {
  lj errors --markdown >table.md || fail "errors --markdown failed"
  # The README section: from the table header to the first blank line after it.
  awk '/^## Failure reasons$/{s=1} s&&/^\| reason \|/{t=1} t&&/^$/{exit} t{print}' \
    "$LJ_TOP/README.md" >readme.md
  [ -s readme.md ] || fail "README.md has no Failure reasons table"
  diff -u readme.md table.md || fail "README.md table differs from 'linkjoin errors --markdown'"
  assert_eq "$(grep -c '^| `' table.md)" "$(grep -c '^| `' readme.md)"
}

# README "Exit codes" = agent/core/exitcodes.c, and every code of exitcodes.h is in it.
exit_codes_table_matches() {
  local h t
  lj errors --exit-codes >table.md || fail "errors --exit-codes failed"
  awk '/^## /{on = ($0 == "## Exit codes"); next} on&&/^\| code \|/{t=1} t&&/^$/{exit} t{print}' \
    "$LJ_TOP/README.md" >readme.md
  [ -s readme.md ] || fail "README.md has no Exit codes table"
  diff -u readme.md table.md || fail "README.md 'Exit codes' differs from 'linkjoin errors --exit-codes'"
  h=$(grep -oE 'LJ_EXIT_[A-Z_]+ *= *[0-9]+' "$LJ_TOP/agent/core/exitcodes.h" | grep -oE '[0-9]+$' | sort -n | tr '\n' ' ')
  t=$(grep -oE '^\| [0-9]+ \|' table.md | tr -dc '0-9\n' | sort -n | tr '\n' ' ')
  assert_eq "$t" "$h" "exit codes in the table vs agent/core/exitcodes.h"
  # --help prints the same rows: each code once, in order.
  assert_rc 0 lj --help
  t=$(sed -n '/^exit codes:/,$p' <<<"$OUT" | grep -oE '(^| )[0-9]+ [a-zA-Z]' | grep -oE '[0-9]+' | tr '\n' ' ')
  assert_eq "$t" "$h" "linkjoin --help exit codes vs agent/core/exitcodes.h"
}

hidden_from_help() {
  assert_rc 0 lj --help
  # No command line for it (the word may appear in other commands' summaries).
  ! grep -qE '^  errors ' <<<"$OUT" || fail "'errors' listed in --help"
}

bad_arguments() {
  assert_rc 2 lj errors
  assert_contains "$OUT" "usage: linkjoin errors --markdown"
  assert_contains "$OUT" "linkjoin errors --exit-codes"
  assert_rc 2 lj errors --json
  assert_rc 2 lj errors --exit-codes extra
  assert_rc 2 lj errors --render-tty extra
}

# --render-tty is the tty UI's renderer: the unit goldens come out the same.
render_tty() {
  local f
  for f in "$LJ_TOP"/tests/data/ui/tty-*.jsonl; do
    TZ=CET-1 lj errors --render-tty <"$f" >got.txt || fail "render $f" # as the unit goldens
    diff -u "${f%.jsonl}.txt" got.txt || fail "render of $f differs"
  done
  printf '%s\n' '{"type":"result"' | lj errors --render-tty >got.txt 2>err.txt
  assert_eq "$?" 1 "a line that is not an event"
  assert_contains "$(cat err.txt)" "line 1: not an agent event"
}

tcase readme_table_matches readme_table_matches
tcase errors_render_tty render_tty
tcase exit_codes_table_matches exit_codes_table_matches
tcase errors_hidden_from_help hidden_from_help
tcase errors_bad_arguments bad_arguments
