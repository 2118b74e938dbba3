#!/usr/bin/env bash
# test_token_broker.sh — the token broker (`linkjoin token --serve`) against
# entra-sim and a fresh swtpm, after a real join with a PRT (the setup of
# test_prt.sh), with throwaway users: a service user that owns the state
# directory and runs the broker, a member of the group linkjoin who cannot
# read that directory and gets its token through the socket, and a user
# outside the group who is refused.  Each refusal of a request with its exact
# answer; a client that connects and says nothing; no process left behind;
# the token never in the broker's log.  Needs root (useradd, runuser).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_join.sh"

MGMT_URL=https://r.manage.microsoft.com/devicegatewayproxy/cimhandler.ashx
GRAPH=https://graph.microsoft.com
# A python the throwaway users may run (pyenv shims under /root are not theirs).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)

# ---- throwaway users, made once per script and removed at its end ----------
SVC=ljtk-svc-$$
MEMBER=ljtk-member-$$
OTHER=ljtk-other-$$
USERS_MADE=$LJ_SCRIPT_TMP/users.made

users_remove() {
  local u
  [ -f "$USERS_MADE" ] || return 0
  for u in "$SVC" "$MEMBER" "$OTHER"; do
    userdel "$u" 2>/dev/null
    groupdel "$u" 2>/dev/null
  done
  grep -qx group "$USERS_MADE" && groupdel linkjoin 2>/dev/null
  rm -f "$USERS_MADE"
}
# lib.sh's exit trap calls it (and keeps the script's exit status).
lj_script_cleanup() { users_remove; }

# users_make — the three users (and the group linkjoin when missing).
users_make() {
  [ "$(id -u)" = 0 ] || skip "needs root (useradd, runuser)"
  command -v useradd >/dev/null && command -v runuser >/dev/null || skip "no useradd/runuser"
  [ -f "$USERS_MADE" ] && return 0
  : >"$USERS_MADE"
  if ! getent group linkjoin >/dev/null; then
    groupadd --system linkjoin || fail "groupadd linkjoin"
    echo group >>"$USERS_MADE"
  fi
  # like sysusers' `u linkjoin -`: the service user's primary group is linkjoin
  useradd --system --gid linkjoin --no-create-home --shell /usr/sbin/nologin "$SVC" || fail "useradd $SVC"
  useradd --system --user-group --no-create-home --shell /usr/sbin/nologin -G linkjoin "$MEMBER" ||
    fail "useradd $MEMBER"
  useradd --system --user-group --no-create-home --shell /usr/sbin/nologin "$OTHER" || fail "useradd $OTHER"
}

as() { local u=$1; shift; runuser -u "$u" -- "$@"; }

# ---- the device and the broker -----------------------------------------------

# broker_env — join with a PRT as root (like test_prt.sh), then hand the state
# to the service user in $BDIR (0755: the socket, the config, a copy of the
# binary everyone may run; the state directory inside stays 0700).
broker_env() {
  users_make
  join_env
  sim_ctl PUT /control/intune "{\"mdm_user_scope\":\"all\",\"windows\":\"allowed\",
    \"block_personally_owned\":false,\"corporate_identifiers\":[],\"device_limit\":5,
    \"policy_service\":true,\"management_url\":\"$MGMT_URL\"}" >/dev/null ||
    fail "cannot set Intune settings"
  BDIR=$(mktemp -d /tmp/lj-broker.XXXXXX)
  echo "$BDIR" >"$CASE/bdir"
  chmod 0755 "$BDIR"
  cp "$SIM_CA" "$BDIR/ca.pem"
  cp "$LINKJOIN" "$BDIR/linkjoin"
  chmod 0644 "$BDIR/ca.pem"
  chmod 0755 "$BDIR/linkjoin"
  BIN=$BDIR/linkjoin
  mkdir -m 0755 "$BDIR/run"
  SOCK=$BDIR/run/token.sock
  lj_conf "$CASE/lj.conf.tmp" "os_version = 10.0.26100.1" "token_socket = $SOCK"
  sed -e "s|^state_dir = .*|state_dir = $BDIR/state|" -e "s|^ca_file = .*|ca_file = $BDIR/ca.pem|" \
    "$CASE/lj.conf.tmp" >"$BDIR/lj.conf"
  chmod 0644 "$BDIR/lj.conf"
  cp "$BDIR/lj.conf" "$CASE/lj.conf"
  run_device_code
  assert_eq "$LJ_RC" 0 "enrolled ($(result_event) $(tail -5 "$CASE/err.log"))"
  assert_file "$BDIR/state/prt.sealed"
  DID=$(jq -r .device_id "$BDIR/state/journal.json")
  chown -R "$SVC:linkjoin" "$BDIR/state" "$BDIR/run"
  chmod 0700 "$BDIR/state"
}

# broker_cleanup — the per-case directory (the users go at the script's end).
broker_cleanup() { [ -n "${BDIR:-}" ] && rm -rf "$BDIR"; }

# broker_start — `token --serve --listen $SOCK` as the service user; its log
# in $CASE/broker.log, its pid in BROKER_PID.  Waits for the socket.
broker_start() {
  local i
  local vg=()
  # under valgrind when LJ_VALGRIND=1: errors and leaks make its exit 99
  [ -z "${LJ_VALGRIND:-}" ] || vg=(valgrind -q --error-exitcode=99 --leak-check=full
    --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect)
  # setpriv execs (runuser would stay in between and catch the signal)
  setpriv --reuid="$SVC" --regid=linkjoin --init-groups "${vg[@]}" "$BIN" token --serve --listen "$SOCK" --config "$BDIR/lj.conf" \
    --log-level info </dev/null >"$CASE/broker.out" 2>"$CASE/broker.log" &
  BROKER_PID=$!
  track_pid "$BROKER_PID"
  for i in $(seq 600); do
    [ -S "$SOCK" ] && return 0
    kill -0 "$BROKER_PID" 2>/dev/null || break
    sleep 0.1
  done
  fail "the broker did not listen: $(cat "$CASE/broker.log")"
}

# broker_stop — SIGTERM; it exits 0, removes its socket, and no process of the
# service user is left.
broker_stop() {
  kill -TERM "$BROKER_PID"
  wait "$BROKER_PID"
  assert_eq "$?" 0 "broker exit ($(tail -3 "$CASE/broker.log"))"
  assert_no_file "$SOCK"
  assert_eq "$(ps -o pid= -u "$SVC" | tr -d ' ')" "" "processes of $SVC left"
  assert_contains "$(cat "$CASE/broker.log")" "event=broker_stopped path=$SOCK"
}

# raw USER — connect to $SOCK as USER, send stdin as it is (then end the
# sending side; nothing at all when stdin is empty), print the answer line
# (or "connect: REASON" and exit 3).
raw() {
  local u=$1
  runuser -u "$u" -- "$PY" -c '
import socket, sys
data = sys.stdin.buffer.read()
s = socket.socket(socket.AF_UNIX)
s.settimeout(60)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("connect:", e.strerror)
    sys.exit(3)
if data:
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
    except BrokenPipeError:
        pass  # refused before the request was read: the answer is there
buf = b""
while b"\n" not in buf:
    b = s.recv(65536)
    if not b:
        break
    buf += b
sys.stdout.write(buf.decode())
' "$SOCK"
}

# member_token ARGS... — `linkjoin token ARGS` as the member: JSON in OUT,
# stderr in $CASE/member.err; fails unless it exits 0.
member_token() {
  OUT=$(as "$MEMBER" "$BIN" token "$@" --config "$BDIR/lj.conf" 2>"$CASE/member.err") ||
    fail "member token $*: exit $?: $(cat "$CASE/member.err")"
}

assert_not_in_broker_log() {
  [ -n "$1" ] || fail "empty token"
  assert_not_contains "$(cat "$CASE/broker.log" "$CASE/broker.out")" "$1" "token in the broker's log"
}

# ---- cases -------------------------------------------------------------------

case_member_gets_token() {
  local tok uid
  trap 'broker_cleanup; _lj_kill_all "$CASE"' EXIT
  broker_env
  uid=$(id -u "$MEMBER")
  # the member may ask but cannot read the state directory itself
  ! as "$MEMBER" ls "$BDIR/state" >/dev/null 2>&1 || fail "$MEMBER reads the state directory"
  broker_start
  assert_eq "$(stat -c '%a %G' "$SOCK")" "660 linkjoin" "socket mode and group"
  member_token --resource "$GRAPH"
  tok=$(jq -r .access_token <<<"$OUT")
  assert_eq "$(jq -r .token_type <<<"$OUT")" Bearer
  assert_eq "$(jq -r .resource <<<"$OUT")" "$GRAPH"
  assert_eq "$(jq -r .client_id <<<"$OUT")" 29d9ed98-a469-4536-ade2-f981bc1d605e
  assert_eq "$(jwt_claims "$tok" | jq -r .deviceid)" "$DID" "the token names the device"
  assert_eq "$(jwt_claims "$tok" | jq -r .aud)" "$GRAPH" "audience"
  assert_eq "$(cat "$CASE/member.err")" "" "member's stderr"
  assert_contains "$(cat "$CASE/broker.log")" "event=token_served uid=$uid resource=$GRAPH written=yes access_token=***"
  assert_not_in_broker_log "$tok"
  # a scope and another client, through the socket too
  member_token --scope "$GRAPH/.default" --client-id a4a365df-50f1-4397-bc59-1a1564b8bb9c
  assert_eq "$(jq -r .scope <<<"$OUT")" "$GRAPH/.default"
  assert_eq "$(jq -r .client_id <<<"$OUT")" a4a365df-50f1-4397-bc59-1a1564b8bb9c
  assert_not_in_broker_log "$(jq -r .access_token <<<"$OUT")"
  # the raw line: exactly the JSON the command prints
  OUT=$(raw "$MEMBER" <<<"{\"resource\":\"$GRAPH\"}")
  assert_eq "$(jq -r 'keys_unsorted | join(",")' <<<"$OUT")" \
    "token_type,access_token,expires_in,expires_on,resource,client_id"
  assert_not_in_broker_log "$(jq -r .access_token <<<"$OUT")"
  # root and the service user keep the direct path (no new broker line)
  local served
  served=$(grep -c event=token_served "$CASE/broker.log")
  assert_rc 0 lj token --resource "$GRAPH" --config "$BDIR/lj.conf"
  assert_rc 0 as "$SVC" "$BIN" token --resource "$GRAPH" --config "$BDIR/lj.conf"
  assert_eq "$(grep -c event=token_served "$CASE/broker.log")" "$served" "direct paths went to the broker"
  broker_stop
  # no broker: the member is told where it looked
  assert_rc 1 as "$MEMBER" "$BIN" token --resource "$GRAPH" --config "$BDIR/lj.conf"
  assert_contains "$OUT" "linkjoin token: the state directory $BDIR/state is not readable by this user and the token broker does not answer at $SOCK (not_found; is linkjoin-token.socket running?)"
}

# Each bad request gets its own answer, exactly; the broker serves on.
case_bad_requests() {
  local long
  trap 'broker_cleanup; _lj_kill_all "$CASE"' EXIT
  broker_env
  broker_start
  assert_eq "$(raw "$MEMBER" <<<"resource=$GRAPH")" \
    '{"error":"bad_request","message":"the request is not one JSON object of strings","exit":2}'
  assert_eq "$(raw "$MEMBER" <<<"{\"resource\":\"$GRAPH\",\"user\":\"root\"}")" \
    "{\"error\":\"bad_request\",\"message\":\"unknown field 'user'\",\"exit\":2}"
  assert_eq "$(raw "$MEMBER" <<<'{"resource":"https://a b"}')" \
    "{\"error\":\"bad_request\",\"message\":\"field 'resource': 1 to 512 printable ASCII characters without spaces\",\"exit\":2}"
  assert_eq "$(raw "$MEMBER" <<<"{\"resource\":\"$GRAPH\",\"client_id\":\"broker\"}")" \
    "{\"error\":\"bad_request\",\"message\":\"field 'client_id': a GUID (8-4-4-4-12 hexadecimal digits)\",\"exit\":2}"
  assert_eq "$(raw "$MEMBER" <<<"{\"resource\":\"$GRAPH\",\"scope\":\"openid\"}")" \
    '{"error":"bad_request","message":"give exactly one of resource and scope","exit":2}'
  assert_eq "$(printf '{"resource":"%s"}' "$GRAPH" | raw "$MEMBER")" \
    "{\"error\":\"bad_request\",\"message\":\"the request line has no end ('\\\\n')\",\"exit\":2}"
  long=$(head -c 5000 /dev/zero | tr '\0' ' ')
  assert_eq "$(raw "$MEMBER" <<<"{\"resource\":\"$GRAPH\"}$long")" \
    '{"error":"request_too_large","message":"the request is longer than 4096 bytes","exit":2}'
  # the command line refuses the same values with the same rule
  assert_rc 2 as "$MEMBER" "$BIN" token --resource "https://a b" --config "$BDIR/lj.conf"
  assert_eq "$OUT" "linkjoin token: --resource wants 1 to 512 printable ASCII characters without spaces"
  assert_rc 2 as "$MEMBER" "$BIN" token --resource "$GRAPH" --client-id broker --config "$BDIR/lj.conf"
  assert_eq "$OUT" "linkjoin token: --client-id wants a GUID (8-4-4-4-12 hexadecimal digits)"
  # ...and still serves a good one
  member_token --resource "$GRAPH"
  assert_eq "$(jwt_claims "$(jq -r .access_token <<<"$OUT")" | jq -r .deviceid)" "$DID"
  broker_stop
}

# A user outside the group: refused by the client, by the socket's mode, and
# (the socket opened to everyone) by the broker's own check, with the uid logged.
case_outsider_refused() {
  local uid
  trap 'broker_cleanup; _lj_kill_all "$CASE"' EXIT
  broker_env
  uid=$(id -u "$OTHER")
  broker_start
  assert_rc 1 as "$OTHER" "$BIN" token --resource "$GRAPH" --config "$BDIR/lj.conf"
  assert_eq "$OUT" "linkjoin token: only root and members of the group 'linkjoin' may get tokens of this device; nothing was done"
  assert_rc 3 raw "$OTHER" <<<"{\"resource\":\"$GRAPH\"}"
  assert_eq "$OUT" "connect: Permission denied"
  # the second fence: the file mode opened, the broker still refuses
  chmod 0666 "$SOCK"
  assert_eq "$(raw "$OTHER" <<<"{\"resource\":\"$GRAPH\"}")" \
    "{\"error\":\"not_allowed\",\"message\":\"uid $uid is not root, the service user or a member of the group 'linkjoin'; nothing was done\",\"exit\":1}"
  assert_contains "$(cat "$CASE/broker.log")" "event=token_refused uid=$uid reason=not_allowed"
  assert_not_contains "$(cat "$CASE/broker.log")" "event=token_issued" "a token was made for $OTHER"
  broker_stop
}

# A client that connects and sends nothing: told so after 5 s and dropped;
# the broker then serves the next one.
case_silent_client() {
  trap 'broker_cleanup; _lj_kill_all "$CASE"' EXIT
  broker_env
  broker_start
  raw "$MEMBER" </dev/null >"$CASE/silent.out" &
  local silent=$!
  track_pid "$silent"
  # another client, before or behind it in the queue, gets its token
  member_token --resource "$GRAPH"
  assert_eq "$(jwt_claims "$(jq -r .access_token <<<"$OUT")" | jq -r .deviceid)" "$DID"
  wait "$silent"
  assert_eq "$(cat "$CASE/silent.out")" \
    '{"error":"request_timeout","message":"no request line within 5 s","exit":1}'
  assert_contains "$(cat "$CASE/broker.log")" "event=token_refused uid=$(id -u "$MEMBER") reason=request_timeout"
  broker_stop
}

# The service's failure reaches the member with its reason and exit code.
case_device_disabled_through_broker() {
  trap 'broker_cleanup; _lj_kill_all "$CASE"' EXIT
  broker_env
  broker_start
  sim_ctl PATCH "/control/devices/$DID" '{"enabled":false}' >/dev/null || fail "cannot disable the device"
  assert_rc 7 as "$MEMBER" "$BIN" token --resource "$GRAPH" --config "$BDIR/lj.conf"
  assert_contains "$OUT" "linkjoin token: "
  assert_contains "$OUT" "(device_disabled, code AADSTS135011)"
  assert_contains "$(cat "$CASE/broker.log")" "reason=device_disabled"
  broker_stop
}

# systemd's Accept=yes: one connection on stdin/stdout (here a one-shot
# listener in python hands the accepted socket over), then exit.
case_serve_on_stdin() {
  local tok
  trap 'broker_cleanup; _lj_kill_all "$CASE"' EXIT
  broker_env
  assert_rc 2 as "$SVC" "$BIN" token --serve --config "$BDIR/lj.conf" </dev/null
  assert_eq "$OUT" "linkjoin token: --serve wants the accepted connection on stdin (linkjoin-token@.service), or --listen PATH"
  "$PY" -c '
import grp, os, socket, subprocess, sys
path, user = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX)
s.bind(path)
os.chown(path, 0, grp.getgrnam("linkjoin").gr_gid)
os.chmod(path, 0o660)
s.listen(1)
c, _ = s.accept()
r = subprocess.run(["setpriv", "--reuid=" + user, "--regid=linkjoin", "--init-groups"] + sys.argv[3:],
                   stdin=c, stdout=c)
c.close()
os.unlink(path)
sys.exit(r.returncode)
' "$SOCK" "$SVC" "$BIN" token --serve --config "$BDIR/lj.conf" 2>"$CASE/broker.log" &
  local inetd=$!
  track_pid "$inetd"
  local i
  for i in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
  member_token --resource "$GRAPH"
  tok=$(jq -r .access_token <<<"$OUT")
  assert_eq "$(jwt_claims "$tok" | jq -r .deviceid)" "$DID"
  wait "$inetd"
  assert_eq "$?" 0 "the one-connection broker's exit"
  assert_not_in_broker_log "$tok"
  assert_eq "$(ps -o pid= -u "$SVC" | tr -d ' ')" "" "processes of $SVC left"
}

tcase broker_member_gets_token case_member_gets_token
tcase broker_bad_requests case_bad_requests
tcase broker_outsider_refused case_outsider_refused
tcase broker_silent_client case_silent_client
tcase broker_device_disabled case_device_disabled_through_broker
tcase broker_serve_on_stdin case_serve_on_stdin
