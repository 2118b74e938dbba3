#!/usr/bin/env bash
# tests/bench/leave_latency.sh — how long `linkjoin leave` takes on a joined
# simulated device (entra-sim + swtpm on loopback): N rounds of join (`linkjoin
# run`, not timed) then leave (timed: process start to exit, and the DELETE
# round trip as the agent logs it: TLS handshake with the TPM signing the
# client authentication + request).
#
#   tests/bench/leave_latency.sh [N=20]
#
# Prints min / median / p90 / max in ms for both.  Every leave must exit 0.
set -u
N=${1:-20}
. "$(dirname "$0")/../integration/lib.sh"
CASE=$LJ_SCRIPT_TMP/bench
mkdir -p "$CASE"
: >"$CASE/pids"
. "$(dirname "$0")/../integration/lib_leave.sh"
[ -x "$LINKJOIN" ] || { echo "leave_latency: build first ($LINKJOIN missing)" >&2; exit 1; }
fail() { echo "leave_latency: $*" >&2; _lj_kill_all "$CASE"; exit 1; }

leave_env
: >"$CASE/total.ms"
: >"$CASE/delete.ms"
for i in $(seq 1 "$N"); do
  join_device
  t0=$(date +%s%N)
  "$LINKJOIN" leave --config "$CASE/lj.conf" >/dev/null 2>"$CASE/leave.err" || fail "leave $i failed: $(tail -3 "$CASE/leave.err")"
  t1=$(date +%s%N)
  echo $(( (t1 - t0) / 1000000 )) >>"$CASE/total.ms"
  sed -n 's/.*event=response method=DELETE .* ms=\([0-9]*\) .*/\1/p' "$CASE/leave.err" >>"$CASE/delete.ms"
done
stats() {
  sort -n "$1" | awk -v name="$2" '{ v[NR] = $1 } END {
    printf "leave_latency: %-28s n=%d min=%d median=%d p90=%d max=%d ms\n", name, NR, v[1],
      v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.5)], v[NR] }'
}
stats "$CASE/total.ms" "leave (process, wall)"
stats "$CASE/delete.ms" "DELETE incl. TLS+TPM sign"
_lj_kill_all "$CASE"
