#!/usr/bin/env bash
# tools/check-layers.sh: the tree passes, and a copy of the tree with one
# upward or forbidden include fails with the file, line, edge and rule.
. "$(dirname "$0")/lib.sh"

CHECK=$LJ_TOP/tools/check-layers.sh

# A copy of agent/, tpm/ and platform/ in $CASE/tree.
copy_tree() {
  mkdir -p "$CASE/tree"
  (cd "$LJ_TOP" && cp -r agent tpm platform "$CASE/tree/") || fail "copy failed"
}

# add_include FILE HEADER — append an include line to FILE in the copy; prints its line number.
add_include() {
  printf '#include "%s"\n' "$2" >>"$CASE/tree/$1"
  wc -l <"$CASE/tree/$1"
}

tree_passes() {
  assert_rc 0 "$CHECK" "$LJ_TOP"
  assert_contains "$OUT" "all follow the layer order"
  copy_tree
  assert_rc 0 "$CHECK" "$CASE/tree"
}

# expect_refused FILE HEADER EDGE RULE
expect_refused() {
  local n
  copy_tree
  n=$(add_include "$1" "$2")
  assert_rc 1 "$CHECK" "$CASE/tree"
  assert_contains "$OUT" "$1:$n: $3: \"$2\": $4"
  assert_contains "$OUT" "check-layers: 1 upward or forbidden include(s)"
}

core_to_proto() {
  expect_refused agent/core/config.h agent/proto/drs.h "core -> proto" \
    "core includes no other agent folder"
}

state_to_flow() {
  expect_refused agent/state/recover.c agent/flow/flow.h "state -> flow" \
    "an agent layer includes only its own layer and lower ones"
}

cli_to_main_upward() {
  expect_refused agent/flow/flow.h agent/cli/cmd.h "flow -> cli" \
    "an agent layer includes only its own layer and lower ones"
}

proto_to_net() {
  expect_refused agent/proto/drs.c agent/net/http.h "proto -> net" \
    "proto, net and ui are siblings and never include each other"
}

tpm_to_agent() {
  expect_refused tpm/csr.c agent/core/errors.h "tpm -> core" \
    "tpm/ includes only tpm/ and platform/ (no agent/ header)"
}

platform_to_agent() {
  expect_refused platform/clock.c agent/core/config.h "platform -> core" \
    "platform/ includes only platform/ (no agent/ or tpm/ header)"
}

common_to_platform() {
  expect_refused platform/common/log.c platform/clock.h "platform/common -> platform" \
    "platform/common/ includes only platform/common/"
}

# The bridge (its own program) links platform/common only: not the agent's
# UI channel, not agent/.
oobe_to_platform() {
  expect_refused platform/oobe/bridge/link.c platform/ui_chan.h "platform/oobe -> platform" \
    "platform/oobe/ includes only platform/oobe/ and platform/common/"
}

oobe_to_agent() {
  expect_refused platform/oobe/bridge/msg.c agent/ui/ui_proto.h "platform/oobe -> ui" \
    "platform/oobe/ includes only platform/oobe/ and platform/common/"
}

# "x.h" without a folder is the including file's folder: allowed there.
bare_include_same_folder() {
  copy_tree
  add_include agent/state/wipe.c marker.h >/dev/null
  add_include platform/common/text.c log.h >/dev/null
  assert_rc 0 "$CHECK" "$CASE/tree"
}

# An upward include wins over a passing rest: make check-layers fails too.
make_target_fails() {
  copy_tree
  cp "$LJ_TOP/Makefile" "$CASE/tree/" && mkdir -p "$CASE/tree/tools" &&
    cp "$CHECK" "$CASE/tree/tools/" || fail "copy failed"
  add_include agent/ui/ui_proto.h agent/state/journal.h >/dev/null
  OUT=$(make -s -C "$CASE/tree" check-layers 2>&1) && fail "make check-layers passed: $OUT"
  assert_contains "$OUT" "ui -> state"
}

tcase check_layers_tree_passes tree_passes
tcase check_layers_core_to_proto core_to_proto
tcase check_layers_state_to_flow state_to_flow
tcase check_layers_flow_to_cli cli_to_main_upward
tcase check_layers_proto_to_net proto_to_net
tcase check_layers_tpm_to_agent tpm_to_agent
tcase check_layers_platform_to_agent platform_to_agent
tcase check_layers_common_to_platform common_to_platform
tcase check_layers_oobe_to_platform oobe_to_platform
tcase check_layers_oobe_to_agent oobe_to_agent
tcase check_layers_bare_include bare_include_same_folder
tcase check_layers_make_target_fails make_target_fails
