#!/usr/bin/env bash
# tests/bench/factory_line.sh — manufacturing-line throughput of
# `linkjoin factory-test`: N simulated devices (one manufactured swtpm each,
# EK certificates from one local CA) tested in parallel, R rounds.
#
#   tests/bench/factory_line.sh [N=8] [R=3]
#
# Prints the wall time of each round (all N factory-tests started together
# until the last one exits) and devices/minute = N * 60 / wall.  Setup
# (swtpm_setup manufacturing, ~1-2 s per device) is timed separately and
# not part of the figure.  Every device must pass (exit 0) or the bench fails.
set -u
N=${1:-8}
R=${2:-3}
. "$(dirname "$0")/../integration/lib.sh"
CASE=$LJ_SCRIPT_TMP/bench
mkdir -p "$CASE"
: >"$CASE/pids"
[ -x "$LINKJOIN" ] || { echo "factory_line: build first ($LINKJOIN missing)" >&2; exit 1; }

t0=$(date +%s.%N)
ca=$CASE/localca
tctis=()
for i in $(seq 1 "$N"); do
  swtpm_manufacture "$CASE/dev$i" --ca-dir "$ca" >/dev/null
  swtpm_start "$CASE/dev$i/tpmstate"
  tctis+=("$TCTI")
done
t1=$(date +%s.%N)
printf 'factory_line: %d devices manufactured and started in %.1f s (setup, not counted)\n' \
  "$N" "$(echo "$t1 - $t0" | bc)"

rates=()
for r in $(seq 1 "$R"); do
  s=$(date +%s.%N)
  pids=()
  for i in $(seq 1 "$N"); do
    "$LINKJOIN" factory-test --json --tcti "${tctis[$((i - 1))]}" --ek-ca "$EK_CA" \
      --manufacturer Contoso --model "Link 1" --serial "SN-$r-$i" \
      >"$CASE/r$r-$i.json" 2>"$CASE/r$r-$i.err" &
    pids+=($!)
  done
  bad=0
  for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
  e=$(date +%s.%N)
  wall=$(echo "$e - $s" | bc)
  if [ "$bad" != 0 ]; then
    echo "factory_line: round $r: $bad of $N devices failed:" >&2
    cat "$CASE"/r$r-*.json "$CASE"/r$r-*.err >&2
    exit 1
  fi
  rate=$(echo "scale=1; $N * 60 / $wall" | bc)
  rates+=("$rate")
  printf 'factory_line: round %d: %d devices in %.2f s wall = %s devices/minute\n' "$r" "$N" "$wall" "$rate"
done
med=$(printf '%s\n' "${rates[@]}" | sort -n | sed -n "$(( (R + 1) / 2 ))p")
# Per-check time of one device, to show where the time goes.
python3 - "$CASE/r1-1.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("factory_line: one device's checks (round 1): " +
      ", ".join("%s %d ms" % (c["name"], c["ms"]) for c in r["checks"] if c["status"] != "not_run") +
      "; total %d ms" % r["ms"])
PY
echo "factory_line: RESULT N=$N rounds=$R median ${med} devices/minute ($(nproc) CPUs, $(uname -m))"
