#!/usr/bin/env bash
# tools/check-layers.sh — fails on an include that points up the layer order.
#
# Usage: tools/check-layers.sh [ROOT]   (ROOT defaults to the repository top)
#
# Reads every `#include "..."` in ROOT/agent, ROOT/tpm and ROOT/platform and
# checks it against the layer rules (README.md "Code layout"):
#   agent/ layers, lowest first: core -> {proto, net, ui} -> state -> flow
#   -> cli -> main.c.  A file may include its own layer and lower ones, plus
#   tpm/ and platform/.  proto, net and ui are siblings: none includes
#   another (so proto never includes net).  core includes no other agent
#   folder.
#   tpm/ includes only tpm/ and platform/; platform/ includes only platform/
#   (never agent/ or tpm/); platform/common/ includes only platform/common/
#   (it is what the simulator links); platform/oobe/ (the setup screen's
#   bridge, its own program) includes only platform/oobe/ and
#   platform/common/.
# An include without a folder ("x.h") means the including file's folder.
# Prints one line per violation: FILE:LINE: FROM -> TO: "HEADER": RULE, and
# exits 1 when there is any; 0 and one summary line otherwise.
set -u
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" || { echo "check-layers: no such directory: $root" >&2; exit 2; }

files=$(find agent tpm platform -type f \( -name '*.c' -o -name '*.h' \) 2>/dev/null | LC_ALL=C sort)
if [ -z "$files" ]; then
  echo "check-layers: no sources under $root/agent, tpm, platform" >&2
  exit 2
fi

# shellcheck disable=SC2086
awk '
function layer(p) {
  if (p == "agent/main.c") return "main"
  if (p ~ /^agent\/(core|proto|net|ui|state|flow|cli)\//) { split(p, a, "/"); return a[2] }
  if (p ~ /^agent\//) return "agent-other"
  if (p ~ /^tpm\//) return "tpm"
  if (p ~ /^platform\/common\//) return "platform/common"
  if (p ~ /^platform\/oobe\//) return "platform/oobe"
  if (p ~ /^platform\//) return "platform"
  split(p, a, "/"); return a[1] "/"
}
BEGIN {
  rank["core"] = 0; rank["proto"] = 1; rank["net"] = 1; rank["ui"] = 1
  rank["state"] = 2; rank["flow"] = 3; rank["cli"] = 4; rank["main"] = 5
  bad = 0; n = 0
}
# returns "" when allowed, else the rule broken
function verdict(from, to) {
  if (from == to) return ""
  if (from in rank) {
    if (to == "tpm" || to == "platform" || to == "platform/common") return ""
    if (to in rank) {
      if (from == "core") return "core includes no other agent folder"
      if (rank[to] < rank[from]) return ""
      if (rank[to] == rank[from]) return "proto, net and ui are siblings and never include each other"
      return "an agent layer includes only its own layer and lower ones (core -> {proto, net, ui} -> state -> flow -> cli -> main.c)"
    }
    return "agent/ includes only agent layers, tpm/ and platform/"
  }
  if (from == "tpm") {
    if (to == "platform" || to == "platform/common") return ""
    return "tpm/ includes only tpm/ and platform/ (no agent/ header)"
  }
  if (from == "platform") {
    if (to == "platform/common") return ""
    return "platform/ includes only platform/ (no agent/ or tpm/ header)"
  }
  if (from == "platform/common")
    return "platform/common/ includes only platform/common/ (the simulator links it)"
  if (from == "platform/oobe") {
    if (to == "platform/common") return ""
    return "platform/oobe/ includes only platform/oobe/ and platform/common/ (the bridge links nothing else)"
  }
  return "file outside the known layers (agent/{core,proto,net,ui,state,flow,cli}, agent/main.c, tpm/, platform/)"
}
FNR == 1 { from = layer(FILENAME); dir = FILENAME; sub(/\/[^\/]*$/, "", dir) }
/^[ \t]*#[ \t]*include[ \t]*"/ {
  n++
  hdr = $0; sub(/^[^"]*"/, "", hdr); sub(/".*$/, "", hdr)
  path = (index(hdr, "/") ? hdr : dir "/" hdr)
  to = layer(path)
  why = verdict(from, to)
  if (why != "") {
    printf "%s:%d: %s -> %s: \"%s\": %s\n", FILENAME, FNR, from, to, hdr, why
    bad++
  }
}
END {
  if (bad) { printf "check-layers: %d upward or forbidden include(s)\n", bad; exit 1 }
  printf "check-layers: %d includes, all follow the layer order\n", n
}
' $files
