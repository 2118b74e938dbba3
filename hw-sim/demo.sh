#!/usr/bin/env bash
# hw-sim/demo.sh — `make demo`: a simulated Link device joins a simulated
# Entra tenant, start to finish, on this machine only (loopback).
#
# Starts entra-sim (the demo tenant hw-sim/tenants/demo.json) and a swtpm on
# free loopback ports in a temp directory, runs `linkjoin run --ui tty` with
# device-code sign-in, approves the code as the demo user the way a person
# would on their phone (here through the simulator's control API), shows
# `linkjoin status`, runs the agent once more to show it is idempotent, and
# stops everything it started (also on Ctrl-C).
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${LJ_BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
LINKJOIN=$BUILD/linkjoin
ENTRASIM=$BUILD/entra-sim
TENANT=$TOP/hw-sim/tenants/demo.json
DEMO_USER=alice@contoso.example

TMP=$(mktemp -d /tmp/linkjoin-demo.XXXXXX)
SIM_PID= AGENT_PID=

cleanup() {
  [ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null
  [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null
  [ -s "$TMP/swtpm.pid" ] && kill "$(cat "$TMP/swtpm.pid")" 2>/dev/null
  wait 2>/dev/null
  [ -n "${LJ_KEEP:-}" ] && echo "(kept $TMP)" || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted"; exit 130' INT TERM

bold=$(tput bold 2>/dev/null || true)
norm=$(tput sgr0 2>/dev/null || true)
say() { printf '\n%s==> %s%s\n' "$bold" "$*" "$norm"; }
die() {
  printf '\ndemo: %s\n' "$*" >&2
  for f in "$TMP"/sim.err "$TMP"/agent.log; do
    [ -s "$f" ] && { echo "--- last lines of $f:" >&2; tail -n 15 "$f" >&2; }
  done
  exit 1
}

for b in "$LINKJOIN" "$ENTRASIM"; do [ -x "$b" ] || die "$b is missing (run make first)"; done
[ -f "$TENANT" ] || die "$TENANT is missing"
command -v swtpm >/dev/null || die "swtpm is not installed (make deps)"

port_busy() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }
free_port() {
  local p
  for _ in $(seq 200); do
    p=$(((RANDOM % 12000) + 20000)) # below the ephemeral port range
    port_busy "$p" || port_busy $((p + 1)) || { echo "$p"; return 0; }
  done
  return 1
}
# A JSON number or string member from a one-line JSON text (our own output).
json_get() { sed -n "s/.*\"$2\":\"\{0,1\}\([^\",}]*\).*/\1/p" <<<"$1" | head -n 1; }
ctl() { curl -sS -X "$1" -H 'Content-Type: application/json' ${3:+--data-binary "$3"} "http://127.0.0.1:$CTL$2"; }

say "Starting the simulated cloud: entra-sim plays login.microsoftonline.com and"
echo "    enterpriseregistration.windows.net for the tenant 'Contoso' (contoso.example)"
"$ENTRASIM" --tenant "$TENANT" --state-dir "$TMP/sim" >"$TMP/sim.out" 2>"$TMP/sim.err" &
SIM_PID=$!
for _ in $(seq 600); do
  grep -q '"event":"ready"' "$TMP/sim.out" 2>/dev/null && break
  kill -0 "$SIM_PID" 2>/dev/null || die "entra-sim did not start"
  sleep 0.05
done
READY=$(grep '"event":"ready"' "$TMP/sim.out") || die "entra-sim did not become ready"
PORT=$(json_get "$READY" port)
CTL=$(json_get "$READY" control_port)
CA=$(json_get "$READY" ca)
echo "    listening on 127.0.0.1:$PORT (HTTPS, its own test CA), control API on :$CTL"

say "Starting a simulated TPM 2.0 (swtpm) for the device"
mkdir -p "$TMP/tpm"
TPM_PORT=$(free_port) || die "no free port"
swtpm socket --tpm2 --tpmstate dir="$TMP/tpm" \
  --server type=tcp,port="$TPM_PORT",bindaddr=127.0.0.1 \
  --ctrl type=tcp,port=$((TPM_PORT + 1)),bindaddr=127.0.0.1 \
  --flags not-need-init,startup-clear --pid file="$TMP/swtpm.pid" \
  --log file="$TMP/swtpm.log" --daemon 2>"$TMP/swtpm.err" || die "swtpm did not start"
for _ in $(seq 100); do [ -s "$TMP/swtpm.pid" ] && break; sleep 0.02; done
echo "    TPM at 127.0.0.1:$TPM_PORT"

# The agent uses the production URLs; only connect_to and ca_file point it
# at the simulator.
cat >"$TMP/linkjoin.conf" <<EOF
tenant = contoso.example
connect_to = login.microsoftonline.com:443:127.0.0.1:$PORT
connect_to = enterpriseregistration.windows.net:443:127.0.0.1:$PORT
connect_to = enrollment.manage.microsoft.com:443:127.0.0.1:$PORT
ca_file = $CA
tcti = swtpm:host=127.0.0.1,port=$TPM_PORT
state_dir = $TMP/state
serial = DEMO-0001
log_level = info
EOF
ctl PATCH /control/login '{"device_code_interval":2}' >/dev/null || die "control API not answering"

say "Powering on the device: linkjoin run --ui tty (the OOBE screen, as text)"
echo
"$LINKJOIN" run --config "$TMP/linkjoin.conf" --ui tty 2>"$TMP/agent.log" &
AGENT_PID=$!

# Wait for the code to appear, then play the person with the phone.
CODE=
for _ in $(seq 600); do
  CODE=$(ctl GET /control/devicecodes | sed -n 's/.*"user_code":"\([^"]*\)".*"state":"pending".*/\1/p')
  [ -n "$CODE" ] && break
  kill -0 "$AGENT_PID" 2>/dev/null || break
  sleep 0.1
done
[ -n "$CODE" ] || die "the agent showed no sign-in code"
sleep 2
printf '\n%s    [on the phone] %s opens https://microsoft.com/devicelogin, types %s\n' "$bold" "$DEMO_USER" "$CODE"
printf '    and approves the sign-in. (Simulated: entra-sim'"'"'s control API approves the\n'
printf '    code for that user, exactly as the real page would.)%s\n\n' "$norm"
ctl POST /control/devicecode/approve "{\"user_code\":\"$CODE\",\"upn\":\"$DEMO_USER\"}" >/dev/null ||
  die "approving the code failed"

wait "$AGENT_PID"
RC=$?
AGENT_PID=
[ "$RC" = 0 ] || die "linkjoin run ended with exit code $RC"

say "linkjoin status (like dsregcmd /status)"
echo
"$LINKJOIN" status --config "$TMP/linkjoin.conf"

say "The device object the simulated tenant now holds"
ctl GET /control/devices | sed 's/,"/,\n    "/g; s/^\[{/    {/; s/}\]$/}/'
echo

say "Running the agent again on the joined device: it changes nothing and says so (exit 10)"
echo
"$LINKJOIN" run --config "$TMP/linkjoin.conf" --ui tty 2>>"$TMP/agent.log"
RC=$?
[ "$RC" = 10 ] || die "second run: exit code $RC, expected 10"

say "Done: the device joined Contoso with keys that never left its TPM. Stopping the simulators."
