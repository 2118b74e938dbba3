#!/usr/bin/env bash
# tools/check-sources.sh: the tree passes, and a copy of the tree with one
# broken house rule (a file over 1,000 lines, a .c without its opening job
# comment, a comment citing a team note or an issue number) fails naming the
# file and the problem.
. "$(dirname "$0")/lib.sh"

CHECK=$LJ_TOP/tools/check-sources.sh

copy_tree() {
  mkdir -p "$CASE/tree"
  (cd "$LJ_TOP" && cp -r agent tpm platform "$CASE/tree/") || fail "copy failed"
}

# expect_refused PROBLEM — the copy fails with exactly one problem, PROBLEM.
expect_refused() {
  assert_rc 1 "$CHECK" "$CASE/tree"
  assert_contains "$OUT" "$1"
  assert_contains "$OUT" "check-sources: 1 problem(s) in"
}

tree_passes() {
  assert_rc 0 "$CHECK" "$LJ_TOP"
  assert_contains "$OUT" "none over 1000 lines"
}

file_too_long() {
  copy_tree
  # platform/common/b64.c padded to 1,001 lines with empty lines.
  local n
  n=$(wc -l <"$CASE/tree/platform/common/b64.c")
  for _ in $(seq "$n" 1000); do echo >>"$CASE/tree/platform/common/b64.c"; done
  expect_refused "platform/common/b64.c: 1001 lines (at most 1000: cut it along its jobs)"
}

file_at_limit_passes() {
  copy_tree
  local n
  n=$(wc -l <"$CASE/tree/platform/common/b64.c")
  for _ in $(seq "$n" 999); do echo >>"$CASE/tree/platform/common/b64.c"; done
  assert_rc 0 "$CHECK" "$CASE/tree"
}

no_job_comment() {
  copy_tree
  sed -i '2s/.*/ * something else/' "$CASE/tree/agent/state/marker.c"
  expect_refused "agent/state/marker.c:1: does not open with '/*' and ' * marker.c — its job'"
}

team_note_cited() {
  copy_tree
  echo "/* see drs-protocol.md §3 */" >>"$CASE/tree/agent/proto/drs.h"
  expect_refused "agent/proto/drs.h:$(wc -l <"$CASE/tree/agent/proto/drs.h"): cites a note outside the repository"
}

issue_number_cited() {
  copy_tree
  echo "/* added for issue 12 */" >>"$CASE/tree/tpm/owner.c"
  expect_refused "tpm/owner.c:$(wc -l <"$CASE/tree/tpm/owner.c"): cites a note outside the repository or an issue number"
}

public_tracker_allowed() {
  copy_tree
  echo "/* Intune's fault as pytune issue #2 shows it */" >>"$CASE/tree/tpm/owner.c"
  assert_rc 0 "$CHECK" "$CASE/tree"
}

tcase check_sources_tree_passes tree_passes
tcase check_sources_file_too_long file_too_long
tcase check_sources_file_at_limit file_at_limit_passes
tcase check_sources_no_job_comment no_job_comment
tcase check_sources_team_note team_note_cited
tcase check_sources_issue_number issue_number_cited
tcase check_sources_public_tracker public_tracker_allowed
