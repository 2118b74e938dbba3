#!/usr/bin/env bash
# tests/bench/leave_latency.sh — how long `linkjoin leave` takes on a joined
# simulated device (entra-sim + swtpm on loopback): N rounds of join (`linkjoin
# run`, not timed) then leave (timed: process start to exit, and the DELETE
# round trip as the agent logs it: TLS handshake with the TPM signing the
# client authentication + request).
#
#   tests/bench/leave_latency.sh [N=20]
#
# LEAVE_BIN=PATH measures that binary (join and leave), e.g. the OpenSSL
# agent tests/bench/tls_stack.sh builds into build/bench-base-REF;
# LEAVE_SIM_ARGS="--tls-sigalgs tls12" starts entra-sim with those options
# (its default negotiates TLS 1.3 where the binary allows it).
# Prints min / median / p90 / max in ms for both, and the TLS version of
# the client-authenticated connection.  Every leave must exit 0.
set -u
N=${1:-20}
. "$(dirname "$0")/../integration/lib.sh"
CASE=$LJ_SCRIPT_TMP/bench
mkdir -p "$CASE"
: >"$CASE/pids"
. "$(dirname "$0")/../integration/lib_leave.sh"
LINKJOIN=${LEAVE_BIN:-$LINKJOIN}
[ -x "$LINKJOIN" ] || { echo "leave_latency: build first ($LINKJOIN missing)" >&2; exit 1; }
fail() { echo "leave_latency: $*" >&2; _lj_kill_all "$CASE"; exit 1; }

if [ -n "${LEAVE_SIM_ARGS:-}" ]; then
  need_sim
  # shellcheck disable=SC2086 # options, split on purpose
  sim_start "$LJ_TENANT_DEMO" "$CASE/sim" $LEAVE_SIM_ARGS
  swtpm_start "$CASE/tpm"
  sim_ctl PATCH /control/login '{"device_code_interval":1}' >/dev/null || fail "cannot set login settings"
  printf 'Demo-Passw0rd!\n' >"$CASE/pw"
  chmod 600 "$CASE/pw"
  lj_conf "$CASE/lj.conf" "signin = password" "username = alice@contoso.example" \
    "password_file = $CASE/pw"
else
  leave_env
fi
: >"$CASE/total.ms"
: >"$CASE/delete.ms"
: >"$CASE/tls"
for i in $(seq 1 "$N"); do
  # leave deletes the device, not its Intune enrollment: keep under the tenant's device cap
  sim_ctl DELETE /control/enrollments >/dev/null || fail "cannot clear enrollments"
  join_device
  t0=$(date +%s%N)
  "$LINKJOIN" leave --config "$CASE/lj.conf" >/dev/null 2>"$CASE/leave.err" || fail "leave $i failed: $(tail -3 "$CASE/leave.err")"
  t1=$(date +%s%N)
  echo $(( (t1 - t0) / 1000000 )) >>"$CASE/total.ms"
  sed -n 's/.*event=response method=DELETE .* ms=\([0-9]*\) .*/\1/p' "$CASE/leave.err" >>"$CASE/delete.ms"
  sed -n 's/.*event=client_auth_connection tls=\([^ ]*\) .*/\1/p' "$CASE/leave.err" >>"$CASE/tls"
done
echo "leave_latency: $LINKJOIN, client-auth TLS: $(sort "$CASE/tls" | uniq -c | tr -s ' \n' ' ')"

stats() {
  sort -n "$1" | awk -v name="$2" '{ v[NR] = $1 } END {
    printf "leave_latency: %-28s n=%d min=%d median=%d p90=%d max=%d ms\n", name, NR, v[1],
      v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.5)], v[NR] }'
}
stats "$CASE/total.ms" "leave (process, wall)"
stats "$CASE/delete.ms" "DELETE incl. TLS+TPM sign"
_lj_kill_all "$CASE"
