# tests/integration/lib.sh — harness for integration tests (source it).
#
# A script defines case functions and calls `tcase NAME FUNC` for each; every
# case runs in its own subshell with its own temp dir ($CASE), prints one TAP
# line, and kills whatever it started (swtpm, entra-sim, agents) even when it
# fails.  `fail MSG` ends a case as failed; `skip MSG` as skipped.
#
# Helpers: free_port, swtpm_start/swtpm_stop, sim_start/sim_stop (entra-sim),
# lj (runs the agent, under valgrind when LJ_VALGRIND=1), assert_*.
set -u
LJ_TOP=${LJ_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
LJ_BUILD=${LJ_BUILD:-build}
case $LJ_BUILD in /*) ;; *) LJ_BUILD=$LJ_TOP/$LJ_BUILD ;; esac
LINKJOIN=$LJ_BUILD/linkjoin
ENTRASIM=$LJ_BUILD/entra-sim
export TSS2_LOG=${TSS2_LOG:-all+none}
LJ_SCRIPT_TMP=$(mktemp -d /tmp/lj-it.XXXXXX)
trap '_lj_kill_all "$LJ_SCRIPT_TMP"; [ -z "${LJ_KEEP:-}" ] && rm -rf "$LJ_SCRIPT_TMP"' EXIT

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
  CASE=$LJ_SCRIPT_TMP/$name
  mkdir -p "$CASE"
  : >"$CASE/pids"
  (
    trap '_lj_kill_all "$CASE"' EXIT
    cd "$CASE" || exit 1
    "$fn"
  ) >"$CASE/case.log" 2>&1
  rc=$?
  if [ -f "$CASE/.skip" ]; then
    echo "ok - $name # SKIP $(cat "$CASE/.skip")"
  elif [ $rc = 0 ]; then
    echo "ok - $name"
  else
    echo "not ok - $name"
    sed 's/^/#   /' "$CASE/case.log" | tail -n 60
  fi
  _lj_kill_all "$CASE"
}

# A TCP port on 127.0.0.1 that nothing listens on (with port+1 free too when
# the argument is "pair", as swtpm's control channel needs).
free_port() {
  local p tries=0
  while [ $tries -lt 200 ]; do
    p=$(( (RANDOM % 20000) + 20000 ))
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
      --log file="$dir/swtpm.log" --daemon 2>>"$dir/swtpm.err" || continue
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
