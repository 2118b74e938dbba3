# tests/integration/lib.sh — harness for integration tests (source it).
#
# A script defines case functions and calls `tcase NAME FUNC` for each; every
# case runs in its own subshell with its own temp dir ($CASE), prints one TAP
# line, and kills whatever it started (swtpm, entra-sim, agents) even when it
# fails.  `fail MSG` ends a case as failed; `skip MSG` as skipped.  The
# script exits non-zero when any case failed (_lj_script_exit).
#
# Helpers: free_port, swtpm_start/swtpm_stop, sim_start/sim_stop (entra-sim),
# lj (runs the agent, under valgrind when LJ_VALGRIND=1), assert_*.
# With LJ_UI_EVENTS_DIR set, each case's UI transcripts are kept there
# (_lj_collect_ui_events).
set -u
# Files the tests write (password_file among them) are private, as the agent
# requires of a password_file (0600, the agent's own user).
umask 077
LJ_TOP=${LJ_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
LJ_BUILD=${LJ_BUILD:-build}
case $LJ_BUILD in /*) ;; *) LJ_BUILD=$LJ_TOP/$LJ_BUILD ;; esac
# LJ_AGENT_BIN=PATH runs the suite against another build of the agent
# (relative to the top directory unless absolute).
LINKJOIN=${LJ_AGENT_BIN:-$LJ_BUILD/linkjoin}
case $LINKJOIN in /*) ;; *) LINKJOIN=$LJ_TOP/$LINKJOIN ;; esac
ENTRASIM=$LJ_BUILD/entra-sim
export TSS2_LOG=${TSS2_LOG:-all+none}
LJ_SCRIPT_TMP=$(mktemp -d /tmp/lj-it.XXXXXX)
# Cases of this script that printed `not ok` so far (tcase counts them; a
# script that prints its own TAP line adds its failures here too).  The
# script then exits 1 even when its last command succeeded (an `exit 0`
# included), so whatever runs it sees the failure in the exit status;
# tests/run.sh still counts the TAP lines (a non-zero status adds a
# failure only when no `not ok` line explains it).
LJ_CASES_FAILED=0
# A script's own cleanup at exit: define lj_script_cleanup (do not replace
# the EXIT trap, which keeps the exit status).
_lj_script_exit() {
  local rc=$?
  declare -F lj_script_cleanup >/dev/null && lj_script_cleanup
  _lj_kill_all "$LJ_SCRIPT_TMP"
  [ -n "${LJ_KEEP:-}" ] || rm -rf "$LJ_SCRIPT_TMP"
  if [ "$rc" = 0 ] && [ "$LJ_CASES_FAILED" != 0 ]; then
    echo "# $LJ_CASES_FAILED case(s) failed" >&2
    rc=1
  fi
  exit "$rc"
}
trap _lj_script_exit EXIT

_lj_kill_all() {
  local f pid
  for f in "$1"/*/pids "$1"/pids; do
    [ -f "$f" ] || continue
    while read -r pid; do
      [ -n "$pid" ] && kill "$pid" 2>/dev/null
    done <"$f"
    sleep 0.05
    while read -r pid; do
      [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
    done <"$f"
    : >"$f"
  done
}

# Remember a pid for cleanup at the end of the current case.
track_pid() { echo "$1" >>"$CASE/pids"; }

fail() { echo "# FAIL: $*" >&2; exit 1; }
skip() { echo "# SKIP: $*" >&2; echo "$*" >"$CASE/.skip"; exit 0; }

tcase() {
  local name=$1 fn=$2 rc
  # LJ_TCASE=PATTERN (a shell glob) runs only the matching cases (debugging).
  # shellcheck disable=SC2053
  [ -z "${LJ_TCASE:-}" ] || [[ $name == $LJ_TCASE ]] || return 0
  CASE=$LJ_SCRIPT_TMP/$name
  mkdir -p "$CASE"
  : >"$CASE/pids"
  (
    trap '_lj_kill_all "$CASE"' EXIT
    cd "$CASE" || exit 1
    "$fn"
  ) >"$CASE/case.log" 2>&1
  rc=$?
  _lj_collect_ui_events "$name"
  if [ -f "$CASE/.skip" ]; then
    echo "ok - $name # SKIP $(cat "$CASE/.skip")"
  elif [ $rc = 0 ]; then
    echo "ok - $name"
  else
    echo "not ok - $name"
    LJ_CASES_FAILED=$((LJ_CASES_FAILED + 1))
    sed 's/^/#   /' "$CASE/case.log" | tail -n 60
  fi
  _lj_kill_all "$CASE"
}

# LJ_UI_EVENTS_DIR set (tests/run.sh sets it): every agent UI transcript a
# case captured ($CASE/out.jsonl of a stdio run, $CASE/ui*.log of
# ui_client.py) is copied there as SCRIPT-CASE-FILE, and tests/run.sh checks
# them all against platform/oobe/ui-protocol.schema.json at the end.
_lj_collect_ui_events() {
  local f
  [ -n "${LJ_UI_EVENTS_DIR:-}" ] || return 0
  mkdir -p "$LJ_UI_EVENTS_DIR" || return 0
  for f in "$CASE"/out.jsonl "$CASE"/ui*.log; do
    [ -s "$f" ] && cp "$f" "$LJ_UI_EVENTS_DIR/$(basename "$0" .sh)-$1-$(basename "$f")"
  done
  return 0
}

# A TCP port on 127.0.0.1 that nothing listens on (with port+1 free too when
# the argument is "pair", as swtpm's control channel needs).
free_port() {
  local p tries=0
  while [ $tries -lt 200 ]; do
    # Below the kernel's ephemeral range (32768-60999 by default), so an
    # outgoing connection or a :0 listener elsewhere cannot take it meanwhile.
    p=$(( (RANDOM % 12000) + 20000 ))
    tries=$((tries + 1))
    _port_busy "$p" && continue
    [ "${1:-}" = pair ] && _port_busy $((p + 1)) && continue
    echo "$p"; return 0
  done
  return 1
}
_port_busy() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q . ; }

# swtpm_start DIR — start a swtpm with state in DIR on free loopback ports.
# Sets SWTPM_PORT, SWTPM_PID, TCTI.  Reuses DIR's state when it exists.
# SWTPM_LOG_LEVEL=20 makes DIR/swtpm.log hold every command and response.
swtpm_start() {
  local dir=$1 p i
  mkdir -p "$dir"
  # swtpm --daemon changes to /, so a relative state dir would break it.
  dir=$(cd "$dir" && pwd)
  for i in 1 2 3 4 5; do
    p=$(free_port pair) || fail "no free port"
    rm -f "$dir/swtpm.pid"
    swtpm socket --tpm2 --tpmstate dir="$dir" \
      --server type=tcp,port="$p",bindaddr=127.0.0.1 \
      --ctrl type=tcp,port=$((p + 1)),bindaddr=127.0.0.1 \
      --flags not-need-init,startup-clear --pid file="$dir/swtpm.pid" \
      --log file="$dir/swtpm.log${SWTPM_LOG_LEVEL:+,level=$SWTPM_LOG_LEVEL}" --daemon 2>>"$dir/swtpm.err" || continue
    for _ in $(seq 50); do [ -s "$dir/swtpm.pid" ] && break; sleep 0.02; done
    [ -s "$dir/swtpm.pid" ] || continue
    SWTPM_PID=$(cat "$dir/swtpm.pid")
    track_pid "$SWTPM_PID"
    SWTPM_PORT=$p
    SWTPM_DIR=$dir
    TCTI="swtpm:host=127.0.0.1,port=$p"
    export TCTI SWTPM_PORT SWTPM_PID
    return 0
  done
  fail "swtpm did not start: $(cat "$dir/swtpm.err" 2>/dev/null)"
}

swtpm_stop() {
  [ -n "${SWTPM_PID:-}" ] || return 0
  kill "$SWTPM_PID" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$SWTPM_PID" 2>/dev/null || break; sleep 0.02; done
  SWTPM_PID=
}

# Transient handles currently loaded in the running swtpm (should be none).
tpm_transient_handles() {
  TPM2TOOLS_TCTI=$TCTI tpm2_getcap handles-transient 2>/dev/null
}

# lj ARGS... — run the agent (under valgrind when LJ_VALGRIND=1).
lj() {
  if [ -n "${LJ_VALGRIND:-}" ]; then
    valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
      --show-leak-kinds=definite,indirect "$LINKJOIN" "$@"
  else
    "$LINKJOIN" "$@"
  fi
}

assert_eq() { [ "$1" = "$2" ] || fail "${3:-values differ}: expected '$2', got '$1'"; }
assert_ne() { [ "$1" != "$2" ] || fail "${3:-values equal}: both '$1'"; }
assert_contains() { grep -qF -- "$2" <<<"$1" || fail "${3:-missing text}: '$2' not in: $(head -c 2000 <<<"$1")"; }
assert_not_contains() { ! grep -qF -- "$2" <<<"$1" || fail "${3:-unexpected text}: '$2' found"; }
assert_file() { [ -f "$1" ] || fail "missing file $1"; }
assert_no_file() { [ ! -e "$1" ] || fail "unexpected file $1"; }
assert_mode() { local m; m=$(stat -c %a "$1"); [ "$m" = "$2" ] || fail "$1 mode $m, expected $2"; }
# assert_rc EXPECTED CMD... — run CMD, check its exit status; output in $OUT.
assert_rc() {
  local want=$1; shift
  OUT=$("$@" 2>&1); local rc=$?
  [ "$rc" = "$want" ] || fail "exit $rc, expected $want from: $* :: $(head -c 3000 <<<"$OUT")"
}

# serial_wait LOG REGEX MAXSECS — wait until a line of a (growing) serial log
# matches the extended REGEX and print the first such line (\r stripped).
# Returns 1 when MAXSECS pass first: a bound against hanging, not a timing check.
serial_wait() {
  local log=$1 re=$2 max=$3 i line
  for ((i = 0; i < max * 10; i++)); do
    if [ -f "$log" ]; then
      line=$(tr -d '\r' <"$log" | grep -aE -- "$re" | awk 'NR == 1')
      [ -n "$line" ] && { echo "$line"; return 0; }
    fi
    sleep 0.1
  done
  return 1
}

# ---- entra-sim helpers ----------------------------------------------------
#
# sim_start TENANT_FILE [STATE_DIR] [EXTRA ARGS...] — start build/entra-sim on
# free loopback ports and wait for its ready line.  Sets SIM_PORT (public
# HTTPS), SIM_CTL (control port), SIM_CA (CA file to trust), SIM_PID,
# SIM_STATE, SIM_LOG (its stderr).  The state directory defaults to one per
# test script ($LJ_SCRIPT_TMP/sim-state) so keys are made once per script;
# pass another directory for a different CA.  Runs under valgrind when
# SIM_VALGRIND=1.
sim_start() {
  local tenant=$1 state=${2:-$LJ_SCRIPT_TMP/sim-state} out err i
  [ $# -ge 2 ] && shift 2 || shift 1
  out=$CASE/sim.$$.$RANDOM.out
  err=${out%.out}.err
  : >"$out"
  if [ -n "${SIM_VALGRIND:-}" ]; then
    valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
      "$ENTRASIM" --tenant "$tenant" --state-dir "$state" "$@" >"$out" 2>"$err" &
  else
    "$ENTRASIM" --tenant "$tenant" --state-dir "$state" "$@" >"$out" 2>"$err" &
  fi
  SIM_PID=$!
  track_pid "$SIM_PID"
  local tries=600
  [ -n "${SIM_VALGRIND:-}" ] && tries=3600
  for i in $(seq $tries); do
    grep -q '"event":"ready"' "$out" 2>/dev/null && break
    kill -0 "$SIM_PID" 2>/dev/null || fail "entra-sim exited: $(tail -5 "$err")"
    sleep 0.05
  done
  grep -q '"event":"ready"' "$out" || fail "entra-sim not ready: $(tail -5 "$err")"
  SIM_PORT=$(jq -r .port <"$out")
  SIM_CTL=$(jq -r .control_port <"$out")
  SIM_CA=$(jq -r .ca <"$out")
  SIM_STATE=$state
  SIM_LOG=$err
  export SIM_PORT SIM_CTL SIM_CA SIM_PID SIM_STATE SIM_LOG
}

# sim_stop — SIGTERM the simulator and wait; returns its exit status.
sim_stop() {
  local rc=0
  [ -n "${SIM_PID:-}" ] || return 0
  kill -TERM "$SIM_PID" 2>/dev/null
  wait "$SIM_PID" 2>/dev/null || rc=$?
  SIM_PID=
  return $rc
}

# sim_ctl METHOD PATH [JSON] — call the control API; prints the body, fails
# (status 1) on HTTP >= 400.  Example: sim_ctl PUT /control/device-settings
# '{"users_may_join":"none"}'
sim_ctl() {
  local method=$1 path=$2 body=${3:-} out code
  out=$(curl -sS -X "$method" -H 'Content-Type: application/json' \
    ${body:+--data-binary "$body"} -w '\n%{http_code}' "http://127.0.0.1:$SIM_CTL$path") || return 1
  code=${out##*$'\n'}
  printf '%s\n' "${out%$'\n'*}"
  [ "$code" -lt 400 ]
}

# sim_curl ARGS... — curl to the simulator as if it were the real services:
# login.microsoftonline.com, enterpriseregistration.windows.net and
# enrollment.manage.microsoft.com on port 443 map to 127.0.0.1:$SIM_PORT and
# $SIM_CA is the only trusted CA.
sim_curl() {
  curl -sS --cacert "$SIM_CA" \
    --connect-to "login.microsoftonline.com:443:127.0.0.1:$SIM_PORT" \
    --connect-to "enterpriseregistration.windows.net:443:127.0.0.1:$SIM_PORT" \
    --connect-to "enrollment.manage.microsoft.com:443:127.0.0.1:$SIM_PORT" "$@"
}

# sim_keygen FILE — a fresh RSA-2048 key (PEM) for join tests.
sim_keygen() { openssl genrsa -out "$1" 2048 2>/dev/null; }

# sim_csr_b64 KEY [CN] — base64 DER PKCS#10 (sha256WithRSA) with CN (default
# the fixed join placeholder).
sim_csr_b64() {
  openssl req -new -key "$1" -subj "/CN=${2:-7E980AD9-B86D-4306-9425-9AC066FB014A}" \
    -sha256 -outform DER 2>/dev/null | base64 -w0
}

# sim_rsa1_b64 KEY — base64 BCRYPT_RSAPUBLIC_BLOB ("RSA1") of a 2048-bit key
# with e = 65537: LE header (magic, 2048, 3, 256, 0, 0), exponent, modulus.
sim_rsa1_b64() {
  { printf 'RSA1\x00\x08\x00\x00\x03\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00'
    printf '\x01\x00\x01'
    openssl rsa -in "$1" -pubout -outform DER 2>/dev/null | tail -c +34 | head -c 256
  } | base64 -w0
}

# sim_join_body KEY [TKEY] — a valid join request body (JSON) for the
# tenant domain contoso.example with ReuseDevice/ReturnClientSid "true".
sim_join_body() {
  local key=$1 tkey=${2:-$1}
  jq -n --arg csr "$(sim_csr_b64 "$key")" --arg tk "$(sim_rsa1_b64 "$tkey")" '{
    CertificateRequest: {Type: "pkcs10", Data: $csr}, TransportKey: $tk,
    TargetDomain: "contoso.example", DeviceType: "Windows", OSVersion: "10.0.26100.1",
    DeviceDisplayName: "LINK-TEST", JoinType: 0,
    Attributes: {ReuseDevice: "true", ReturnClientSid: "true"}}'
}

# sim_token UPN [MFA] — a DRS access token for UPN via ROPC is not always
# allowed (MFA); this asks the control API to mint one (mfa true|false).
sim_token() {
  sim_ctl POST /control/tokens "{\"upn\":\"$1\",\"mfa\":${2:-false}}" | jq -r .access_token
}

# sim_req ARGS... — sim_curl that stores the status in HTTP_STATUS, the body
# in BODY and the response headers in HEADERS (call it directly, not in $()).
sim_req() {
  local f=$CASE/.simreq.$$
  HTTP_STATUS=$(sim_curl -o "$f.body" -D "$f.hdr" -w '%{http_code}' "$@") || HTTP_STATUS=${HTTP_STATUS:-000}
  BODY=$(cat "$f.body" 2>/dev/null)
  HEADERS=$(cat "$f.hdr" 2>/dev/null)
  rm -f "$f.body" "$f.hdr"
}

# sim_ropc UPN PASSWORD [RESOURCE] — v1 password grant; sets HTTP_STATUS/BODY.
sim_ropc() {
  sim_req https://login.microsoftonline.com/contoso.example/oauth2/token \
    --data-urlencode grant_type=password \
    --data-urlencode client_id=1b730954-1685-4b74-9bfd-dac224a7b894 \
    --data-urlencode "resource=${3:-urn:ms-drs:enterpriseregistration.windows.net}" \
    --data-urlencode "username=$1" --data-urlencode "password=$2"
}

# sim_join TOKEN BODYFILE [API_VERSION] — POST a join; sets HTTP_STATUS/BODY.
sim_join() {
  sim_req "https://enterpriseregistration.windows.net/EnrollmentServer/device/?api-version=${3:-2.0}" \
    -H "Authorization: Bearer $1" -H 'Content-Type: application/json' --data-binary "@$2"
}

# jwt_claims TOKEN — the decoded payload of a JWT (JSON).
jwt_claims() {
  local p
  p=$(cut -d. -f2 <<<"$1" | tr '_-' '/+')
  while [ $(( ${#p} % 4 )) -ne 0 ]; do p="$p="; done
  base64 -d <<<"$p" 2>/dev/null
}

# swtpm_manufacture DIR [--ca-dir CA] [--no-ek-cert] — give a TPM in DIR a
# manufacturing history (hw-sim/swtpm-manufacture.sh: EK + EK certificates
# from a local CA); start it with `swtpm_start DIR/tpmstate`.  Sets EK_CA to
# the CA bundle (empty with --no-ek-cert).
swtpm_manufacture() {
  local dir=$1; shift
  EK_CA=$("$LJ_TOP/hw-sim/swtpm-manufacture.sh" "$dir" "$@") || fail "swtpm-manufacture failed"
  export EK_CA
}

# Fail when the running swtpm holds transient objects.
assert_no_transient_handles() {
  local h
  h=$(tpm_transient_handles)
  [ -z "$h" ] || fail "transient handles left in the TPM: $h"
}

# Put the running swtpm into dictionary-attack lockout: max tries 1, then
# one failed authorization of a DA-protected object.
tpm_force_lockout() {
  local d=${1:-$CASE}
  export TPM2TOOLS_TCTI=$TCTI
  tpm2_dictionarylockout -Q -s -n 1 -t 600 -l 600 || fail "dictionarylockout"
  tpm2_createprimary -Q -C o -p secret -c "$d/lock-p.ctx" || fail "createprimary"
  tpm2_flushcontext -t
  tpm2_create -Q -C "$d/lock-p.ctx" -P wrong -u "$d/lock-x.pub" -r "$d/lock-x.priv" 2>/dev/null &&
    fail "bad auth accepted"
  tpm2_flushcontext -t
  tpm2_getcap properties-variable | grep -q "inLockout:                 1" || fail "TPM not in lockout"
}

# sim_mdm_token UPN — an access token for the Intune enrollment resource
# (https://enrollment.manage.microsoft.com/) from the control API.
sim_mdm_token() {
  sim_ctl POST /control/tokens "{\"upn\":\"$1\",\"aud\":\"https://enrollment.manage.microsoft.com/\"}" |
    jq -r .access_token
}

# sim_join_device_id — after a successful sim_join: the device id (the
# certificate's CN) from $BODY.
sim_join_device_id() {
  jq -r .Certificate.RawBody <<<"$BODY" | base64 -d |
    openssl x509 -inform der -noout -subject -nameopt RFC2253 | sed 's/^subject=CN=//'
}
