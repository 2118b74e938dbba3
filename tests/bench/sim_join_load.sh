#!/usr/bin/env bash
# Bench: DRS joins per second against entra-sim over keep-alive TLS on
# loopback (bounded: COUNT joins or SECONDS, whichever first).
#   tests/bench/sim_join_load.sh [COUNT] [CONNS] [SECONDS]
# Prints sim-load's JSON line.  Not a test: it never fails on a slow machine.
set -u
cd "$(dirname "$0")/../.."
LJ_TOP=$PWD
export LJ_BUILD=${LJ_BUILD:-build}
. tests/integration/lib.sh
COUNT=${1:-3000} CONNS=${2:-8} SECS=${3:-60}
CASE=$LJ_SCRIPT_TMP/bench; mkdir -p "$CASE"; : >"$CASE/pids"
trap '_lj_kill_all "$CASE"; rm -rf "$LJ_SCRIPT_TMP"' EXIT
sim_start "$LJ_TOP/hw-sim/tenants/demo.json" "$CASE/st" --log-level warn
sim_ctl PUT /control/device-settings '{"max_devices_per_user":"unlimited"}' >/dev/null
sim_keygen "$CASE/k.pem"
sim_join_body "$CASE/k.pem" | jq -c '.Attributes.ReuseDevice="false"' >"$CASE/body.json"
sim_token alice@contoso.example >"$CASE/token"
"$LJ_BUILD/sim-load" --port "$SIM_PORT" --ca "$SIM_CA" --body "$CASE/body.json" \
  --token "$CASE/token" --conns "$CONNS" --count "$COUNT" --seconds "$SECS"
echo "devices registered: $(sim_ctl GET /control/state | jq .devices)" >&2
