#!/usr/bin/env bash
# `linkjoin errors --markdown` prints exactly README.md's "Failure reasons" table,
# stays out of --help, and rejects other arguments with the usage exit code.
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

hidden_from_help() {
  assert_rc 0 lj --help
  # No command line for it (the word may appear in other commands' summaries).
  ! grep -qE '^  errors ' <<<"$OUT" || fail "'errors' listed in --help"
}

bad_arguments() {
  assert_rc 2 lj errors
  assert_contains "$OUT" "usage: linkjoin errors --markdown"
  assert_rc 2 lj errors --json
}

tcase readme_table_matches readme_table_matches
tcase errors_hidden_from_help hidden_from_help
tcase errors_bad_arguments bad_arguments
