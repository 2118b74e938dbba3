#!/usr/bin/env bash
# test_secrets.sh — secrets never leave the agent in clear.
#
# After full joins (password through the UI socket, password file, device
# code) with log_level = debug, the password, access/id tokens (JWTs:
# "eyJ..."), refresh tokens (entra-sim's "0.AS..." opaque format) and device
# codes ("DAQABIQEAAAD...") appear nowhere: stderr, stdout, the UI socket
# transcript, the journal, any file of the state directory.  The patterns
# are checked against a real token first (positive control).  Also: state
# dir 0700 / files 0600 whatever the umask, no core dump while sign-in
# secrets are held, no secret in a core (gcore) of the agent waiting for
# `retry` (freed library buffers included), https only, a redirect is not followed, a certificate
# for another host name is refused.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_join.sh"
UI_CLIENT="python3 $LJ_TOP/tests/integration/ui_client.py"
PASSWORD='Demo-Passw0rd!'
JWT_RE='eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}'
RT_RE='0\.A[SQ][A-Za-z0-9_-]{40,}'
DC_RE='DAQABIQEAAAD[A-Za-z0-9_-]{20,}'

# assert_clean FILES... — none of the secrets in any of the files.
assert_clean() {
  local f
  for f in "$@"; do
    [ -f "$f" ] || continue
    ! grep -aqF -- "$PASSWORD" "$f" || fail "password in clear in $f"
    ! grep -aqE -- "$JWT_RE" "$f" || fail "a token (JWT) in clear in $f: $(grep -aoE -- "$JWT_RE" "$f" | head -1 | cut -c1-20)..."
    ! grep -aqE -- "$RT_RE" "$f" || fail "a refresh token / code in clear in $f"
    ! grep -aqE -- "$DC_RE" "$f" || fail "a device code in clear in $f"
  done
}

# The patterns find real secrets (else the search would prove nothing).
positive_control() {
  local tok
  tok=$(sim_token alice@contoso.example)
  grep -qE -- "$JWT_RE" <<<"$tok" || fail "JWT pattern does not match a real token"
  sim_ropc alice@contoso.example "$PASSWORD"
  grep -qE -- "$RT_RE" <<<"$(jq -r .refresh_token <<<"$BODY")" || fail "refresh pattern does not match"
  sim_req https://login.microsoftonline.com/contoso.example/oauth2/devicecode \
    --data-urlencode client_id=1b730954-1685-4b74-9bfd-dac224a7b894 \
    --data-urlencode resource=urn:ms-drs:enterpriseregistration.windows.net
  grep -qE -- "$DC_RE" <<<"$(jq -r .device_code <<<"$BODY")" || fail "device code pattern does not match: $BODY"
}

PRT_RE='0\.AS\.PRT[A-Za-z0-9_-]{20,}'

# assert_no_keys KEYS_JSON FILES... — none of the simulator's session or
# derived keys (GET /control/prt/secrets) in any file: raw bytes, hex,
# base64 and base64url.
assert_no_keys() {
  local keys=$1
  shift
  python3 - "$keys" "$@" <<'PY' || fail "a PRT key in clear (see above)"
import base64, json, sys
keys = json.loads(sys.argv[1])
forms = []
for h in keys["session_keys"] + keys["derived_keys"]:
    raw = bytes.fromhex(h)
    forms += [raw, h.encode(), h.upper().encode(), base64.b64encode(raw).rstrip(b"="),
              base64.urlsafe_b64encode(raw).rstrip(b"=")]
bad = 0
for f in sys.argv[2:]:
    try:
        data = open(f, "rb").read()
    except OSError:
        continue
    for x in forms:
        if x in data:
            print("# key material in", f, file=sys.stderr)
            bad = 1
            break
sys.exit(bad)
PY
}

debug_log() { sed -i 's/^log_level = .*/log_level = debug/' "$CASE/lj.conf"; }
state_files() { find "$CASE/state" -type f; }

case_password_socket() {
  join_env
  positive_control
  lj_conf "$CASE/lj.conf" "signin = password" "username = alice@contoso.example" \
    "ui = socket" "ui_socket = $CASE/ui.sock"
  debug_log
  lj_run_bg
  $UI_CLIENT "$CASE/ui.sock" "$CASE/ui.log" expect:prompt:credentials \
    "send:{\"type\":\"credentials\",\"username\":\"alice@contoso.example\",\"password\":\"$PASSWORD\"}" ||
    fail "ui client: $(cat "$CASE/ui.log")"
  lj_wait
  assert_eq "$LJ_RC" 0 "joined ($(tail -3 "$CASE/err.log"))"
  grep -q "level=debug" "$CASE/err.log" || fail "no debug lines: the test would prove little"
  assert_clean "$CASE/err.log" "$CASE/out.jsonl" "$CASE/ui.log" $(state_files)
  # the process was not dumpable while it held the password and the tokens
  grep -q "mod=secmem event=dumpable value=0" "$CASE/err.log" || fail "no dumpable=0 readback"
}

case_password_file() {
  join_env
  printf '%s\n' "$PASSWORD" >"$CASE/pw"
  lj_conf "$CASE/lj.conf" "signin = password" "username = alice@contoso.example" \
    "password_file = $CASE/pw"
  debug_log
  lj_run_bg --ui stdio
  lj_wait
  assert_eq "$LJ_RC" 0 "joined"
  assert_clean "$CASE/err.log" "$CASE/out.jsonl" $(state_files)
}

case_device_code() {
  join_env
  lj_conf "$CASE/lj.conf"
  debug_log
  run_device_code
  assert_eq "$LJ_RC" 0 "joined"
  assert_clean "$CASE/err.log" "$CASE/out.jsonl" $(state_files)
  # non-dumpable from before the prompt until the secrets were dropped
  local first_dc first_nd last_d
  first_nd=$(grep -n "event=dumpable value=0" "$CASE/err.log" | head -1 | cut -d: -f1)
  first_dc=$(grep -n "event=device_code" "$CASE/err.log" | head -1 | cut -d: -f1)
  last_d=$(grep "event=dumpable" "$CASE/err.log" | tail -1)
  [ -n "$first_nd" ] && [ -n "$first_dc" ] && [ "$first_nd" -lt "$first_dc" ] ||
    fail "not undumpable before the device code arrived"
  assert_contains "$last_d" "value=0" "still non-dumpable once the secrets are gone"
  ! grep -q "event=dumpable value=1" "$CASE/err.log" || fail "dumpable again"
}

# The PRT, its session key, the keys derived from it and the signed request
# JWTs: nowhere in logs, the UI transcript or the state directory (the PRT
# only sealed), through a join with enrollment, `linkjoin token` and
# `linkjoin prt-renew`; the agent is non-dumpable while it holds them.
case_prt() {
  local keys files
  join_env
  printf '%s\n' "$PASSWORD" >"$CASE/pw"
  lj_conf "$CASE/lj.conf" "signin = password" "username = alice@contoso.example" \
    "password_file = $CASE/pw"
  debug_log
  lj_run_bg --ui stdio
  lj_wait
  assert_eq "$LJ_RC" 0 "joined and enrolled ($(tail -3 "$CASE/err.log"))"
  assert_contains "$(cat "$CASE/err.log")" "event=prt_acquired"
  lj token --resource https://graph.microsoft.com --config "$CASE/lj.conf" \
    >"$CASE/token.out" 2>"$CASE/token.err" || fail "token: $(cat "$CASE/token.err")"
  lj prt-renew --force --config "$CASE/lj.conf" >"$CASE/renew.out" 2>"$CASE/renew.err" ||
    fail "prt-renew: $(cat "$CASE/renew.err")"
  keys=$(sim_ctl GET /control/prt/secrets)
  # positive controls: the simulator issued a session key and derived keys
  [ "$(jq '.session_keys | length' <<<"$keys")" -ge 1 ] || fail "no session key issued: $keys"
  [ "$(jq '.derived_keys | length' <<<"$keys")" -ge 4 ] || fail "too few derived keys: $keys"
  # the simulator's PRT form (entra-sim prt.c new_prt: "0.AS.PRT" + base64url)
  grep -qE -- "$PRT_RE" <<<"0.AS.PRTabcdefghijklmnopqrstuvwxyz" ||
    fail "PRT pattern does not match"
  files="$CASE/err.log $CASE/out.jsonl $CASE/token.err $CASE/renew.out $CASE/renew.err $(state_files)"
  # shellcheck disable=SC2086
  assert_clean $files
  # shellcheck disable=SC2086
  assert_no_keys "$keys" $files "$CASE/token.out"
  for f in $files "$CASE/token.out"; do
    ! grep -aqE -- "$PRT_RE" "$f" || fail "the PRT in clear in $f"
  done
  assert_file "$CASE/state/prt.sealed"
  # token and prt-renew were not dumpable while they held the PRT
  grep -q "mod=secmem event=dumpable value=0" "$CASE/token.err" || fail "token: no dumpable=0"
  grep -q "mod=secmem event=dumpable value=0" "$CASE/renew.err" || fail "prt-renew: no dumpable=0"
}

# State dir 0700, every file 0600, even with a permissive umask.
case_modes() {
  local bad
  join_env
  printf '%s\n' "$PASSWORD" >"$CASE/pw"
  lj_conf "$CASE/lj.conf" "signin = password" "username = alice@contoso.example" "password_file = $CASE/pw"
  ( umask 000; lj_run_bg --ui stdio; lj_wait; exit $LJ_RC ) || fail "join failed"
  assert_mode "$CASE/state" 700
  bad=$(find "$CASE/state" -type f ! -perm 0600 -printf '%m %p\n')
  [ -z "$bad" ] || fail "files not 0600: $bad"
  bad=$(find "$CASE/state" -type d ! -perm 0700 -printf '%m %p\n')
  [ -z "$bad" ] || fail "directories not 0700: $bad"
  [ "$(find "$CASE/state" -type f | wc -l)" -ge 7 ] || fail "expected keys, journal, cert, marker"
}

# A crash while the device code is pending leaves no core file with it.
case_no_core_dump() {
  local i
  [ -z "${LJ_VALGRIND:-}" ] || skip "valgrind writes its own vgcore files"
  ! ldd "$LINKJOIN" | grep -q libasan || skip "ASan turns core dumps off and handles SIGSEGV itself"
  [ "$(cat /proc/sys/kernel/core_pattern)" = core ] || skip "core_pattern is not a plain file name"
  ulimit -c unlimited 2>/dev/null || skip "cannot raise the core size limit"
  # control: an ordinary process does leave a core here
  mkdir -p "$CASE/ctl"
  (cd "$CASE/ctl" && sleep 30 & echo $! >"$CASE/ctl.pid"; wait) &
  for i in $(seq 50); do [ -s "$CASE/ctl.pid" ] && break; sleep 0.05; done
  kill -SEGV "$(cat "$CASE/ctl.pid")"
  for i in $(seq 100); do ls "$CASE"/ctl/core* >/dev/null 2>&1 && break; sleep 0.05; done
  ls "$CASE"/ctl/core* >/dev/null 2>&1 || skip "this machine writes no core files even for a plain process"
  join_env
  lj_conf "$CASE/lj.conf"
  mkdir -p "$CASE/run"
  cd "$CASE/run"
  lj_run_bg --ui stdio
  wait_event '"kind":"device_code"'
  kill -SEGV "$LJ_PID"
  lj_wait
  [ "$LJ_RC" -ge 128 ] || fail "agent not killed by the signal (exit $LJ_RC)"
  ! ls "$CASE"/run/core* >/dev/null 2>&1 || fail "core file written while the device code was held"
}

# While the agent waits for `retry` after a joined_mdm_pending result (the
# password, refresh and access tokens were all used by then), a core of it
# (gcore, as root: the process is non-dumpable for anyone else) holds none
# of them (nor the PRT, its session key or a derived key): not in our buffers, not in freed libcurl/TLS buffers (glibc
# malloc perturb + no tcache, set by the agent for itself), and the process
# stayed non-dumpable.
case_core_while_waiting_for_retry() {
  local i core
  command -v gcore >/dev/null || skip "gcore (gdb) not installed: make deps"
  [ -z "${LJ_VALGRIND:-}" ] || skip "valgrind has its own allocator"
  ! ldd "$LINKJOIN" | grep -q libasan || skip "ASan has its own allocator"
  [ "$(id -u)" = 0 ] || skip "gcore of a non-dumpable process needs root"
  join_env
  positive_control
  sim_ctl PUT /control/intune '{"mdm_user_scope":"all","windows":"allowed","block_personally_owned":false,"corporate_identifiers":[],"device_limit":5,"policy_service":true,"management_url":"https://r.manage.microsoft.com/devicegatewayproxy/cimhandler.ashx"}' >/dev/null ||
    fail "intune settings"
  sim_ctl POST /control/faults '{"path_prefix":"/StatelessEnrollmentService/DeviceEnrollment.svc","kind":"status","status":503,"count":1000}' >/dev/null ||
    fail "fault"
  printf '%s\n' "$PASSWORD" >"$CASE/pw"
  lj_conf "$CASE/lj.conf" "signin = password" "username = alice@contoso.example" \
    "password_file = $CASE/pw" "manufacturer = Microsoft Corporation" "model = Windows 365 Link" \
    "os_version = 10.0.26100.1" "retry_wait = 600"
  debug_log
  mkfifo "$CASE/in"
  "$LINKJOIN" run --config "$CASE/lj.conf" --ui stdio <"$CASE/in" >"$CASE/out.jsonl" 2>"$CASE/err.log" &
  LJ_PID=$!
  track_pid "$LJ_PID"
  exec 7>"$CASE/in"
  wait_event '"type":"result"'
  assert_eq "$(jq -r .status <<<"$(result_event)")" joined_mdm_pending "result"
  # the result is written before the wait starts: let it get there
  for i in $(seq 100); do grep -q "event=waiting_for_retry" "$CASE/err.log" && break; sleep 0.05; done
  grep -q "event=waiting_for_retry" "$CASE/err.log" || fail "agent not waiting for retry: $(tail -3 "$CASE/err.log")"
  gcore -o "$CASE/core" "$LJ_PID" >"$CASE/gcore.log" 2>&1 || fail "gcore: $(tail -3 "$CASE/gcore.log")"
  core=$(ls "$CASE"/core.* | head -1)
  [ -s "$core" ] || fail "no core written"
  # positive control on the core itself: it is the agent's memory
  grep -aqF "alice@contoso.example" "$core" || fail "the core does not look like the agent's memory"
  ! grep -aqF -- "$PASSWORD" "$core" || fail "password in the core"
  ! grep -aqF -- "Passw0rd%21" "$core" || fail "form-encoded password in the core"
  ! grep -aqE -- "$JWT_RE" "$core" || fail "a JWT in the core: $(grep -aoE -- "$JWT_RE" "$core" | head -1 | cut -c1-24)..."
  ! grep -aqE -- "$RT_RE" "$core" || fail "a refresh token in the core"
  ! grep -aqi -- "Authorization: Bearer" "$core" || fail "an Authorization header in the core"
  # the PRT, its session key and the keys derived from it (the join took a
  # PRT and a PRT-signed Intune token before the 503)
  grep -q "event=prt_acquired" "$CASE/err.log" || fail "no PRT taken: the check would prove little"
  ! grep -aqE -- "$PRT_RE" "$core" || fail "the PRT in the core"
  assert_no_keys "$(sim_ctl GET /control/prt/secrets)" "$core"
  rm -f "$core"
  # never dumpable again while it waits
  ! grep -q "mod=secmem event=dumpable value=1" "$CASE/err.log" || fail "dumpable again during the wait"
  kill -0 "$LJ_PID" 2>/dev/null || fail "the agent stopped waiting"
  exec 7>&-
  lj_wait
}

# https only: a plain-http authority, DRS or MDM URL is refused at configuration time.
case_http_refused() {
  local k
  for k in authority drs_url mdm_url; do
    printf 'tenant = contoso.example\n%s = http://login.microsoftonline.com\n' "$k" >"$CASE/c.conf"
    assert_rc 3 lj run --config "$CASE/c.conf"
    assert_contains "$OUT" "plain http is not allowed"
    assert_contains "$OUT" "$k"
  done
}

# The DRS host answers the join with a 302 to another host: the agent does
# not follow it (so the bearer token never goes there) and fails defined.
cat >"$LJ_SCRIPT_TMP/redir.py" <<'PY'
import http.server, json, ssl, sys
port, cert, key, discover, target, log = sys.argv[1:7]
class H(http.server.BaseHTTPRequestHandler):
    def _log(self):
        with open(log, "a") as f:
            f.write("%s %s auth=%s\n" % (self.command, self.path,
                    "yes" if self.headers.get("Authorization") else "no"))
    def do_GET(self):
        self._log()
        body = open(discover, "rb").read() if discover != "-" else b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_POST(self):
        self._log()
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(n)
        if target == "-":
            self.do_GET()
            return
        self.send_response(302)
        self.send_header("Location", target)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv = http.server.HTTPServer(("127.0.0.1", int(port)), H)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print("ready", flush=True)
srv.serve_forever()
PY

start_py() { # PORT CERT KEY DISCOVER TARGET LOG
  python3 "$LJ_SCRIPT_TMP/redir.py" "$@" >"$CASE/py.$1.out" 2>&1 &
  track_pid $!
  for _ in $(seq 100); do grep -q ready "$CASE/py.$1.out" && return 0; sleep 0.05; done
  fail "python server did not start: $(cat "$CASE/py.$1.out")"
}

case_redirect_not_followed() {
  local p1 p2 r
  join_env
  # a certificate for the other host, from the simulator's CA (so TLS to it would work)
  openssl req -newkey rsa:2048 -nodes -keyout "$CASE/o.key" -subj "/CN=other.example" \
    -out "$CASE/o.csr" 2>/dev/null || fail openssl
  printf 'subjectAltName=DNS:other.example\n' >"$CASE/o.ext"
  openssl x509 -req -in "$CASE/o.csr" -CA "$SIM_STATE/ca.pem" -CAkey "$SIM_STATE/ca.key" \
    -CAcreateserial -days 2 -extfile "$CASE/o.ext" -out "$CASE/o.pem" 2>/dev/null || fail "sign"
  sim_curl -o "$CASE/discover.json" "https://enterpriseregistration.windows.net/contoso.example/Discover?api-version=1.7" || fail discover
  p1=$(free_port) && p2=$(free_port)
  start_py "$p2" "$CASE/o.pem" "$CASE/o.key" - - "$CASE/other.log"
  start_py "$p1" "$SIM_STATE/server.pem" "$SIM_STATE/server.key" "$CASE/discover.json" \
    "https://other.example/EnrollmentServer/device/" "$CASE/drs.log"
  printf '%s\n' "$PASSWORD" >"$CASE/pw"
  lj_conf "$CASE/lj.conf" "signin = password" "username = alice@contoso.example" \
    "password_file = $CASE/pw" "connect_to = other.example:443:127.0.0.1:$p2"
  sed -i "s|^connect_to = enterpriseregistration.windows.net:443:.*|connect_to = enterpriseregistration.windows.net:443:127.0.0.1:$p1|" "$CASE/lj.conf"
  lj_run_bg --ui stdio
  lj_wait
  r=$(result_event)
  assert_eq "$(jq -r .reason <<<"$r")" bad_service_response "reason ($r)"
  assert_eq "$(jq -r .phase <<<"$r")" join "phase"
  assert_eq "$(jq -r .server.http_status <<<"$r")" 302 "status"
  assert_eq "$LJ_RC" 8 "exit"
  assert_eq "$(grep -c '^POST /EnrollmentServer/device/' "$CASE/drs.log")" 1 "one join POST"
  assert_contains "$(cat "$CASE/drs.log")" "POST /EnrollmentServer/device/?api-version=2.0 auth=yes"
  assert_eq "$(cat "$CASE/other.log" 2>/dev/null)" "" "requests to the redirect target"
  assert_no_file "$CASE/state/device-cert.der"
}

# A server certificate that does not name the host: refused before any request.
case_wrong_hostname() {
  local r
  join_env
  lj_conf "$CASE/lj.conf" "authority = https://login.example.net" \
    "connect_to = login.example.net:443:127.0.0.1:$SIM_PORT"
  lj_run_bg --ui stdio
  lj_wait
  r=$(result_event)
  assert_eq "$(jq -r .reason <<<"$r")" tls_untrusted "reason ($r)"
  assert_eq "$(jq -r .phase <<<"$r")" preflight "phase"
  assert_contains "$(jq -r .admin_action <<<"$r")" "login.example.net"
  assert_contains "$(cat "$CASE/err.log")" "rc=tls_hostname"
  assert_eq "$(sim_requests)" 0 "requests"
}

tcase secrets_password_ui_socket case_password_socket
tcase secrets_password_file case_password_file
tcase secrets_device_code case_device_code
tcase secrets_prt case_prt
tcase state_modes_0700_0600_any_umask case_modes
tcase no_core_dump_while_secrets_held case_no_core_dump
tcase no_secret_in_core_while_waiting_for_retry case_core_while_waiting_for_retry
tcase http_authority_refused case_http_refused
tcase redirect_to_other_host_not_followed case_redirect_not_followed
tcase tls_wrong_hostname_refused case_wrong_hostname
