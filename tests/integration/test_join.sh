#!/usr/bin/env bash
# test_join.sh — `linkjoin run` against entra-sim + swtpm: every sign-in
# method joins, the certificate is ours and verifies, status shows it, a
# second run is "already joined" without a single request, the UI socket
# protocol (malformed/oversized lines, cancel), config errors.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_join.sh"
UI_CLIENT="python3 $LJ_TOP/tests/integration/ui_client.py"

# The checks every successful join gets.
assert_joined() {
  local r upn=${1:-alice@contoso.example} did
  r=$(result_event)
  assert_eq "$LJ_RC" 0 "exit code ($(tail -5 "$CASE/err.log"))"
  assert_eq "$(jq -r .status <<<"$r")" joined "status"
  assert_eq "$(jq -r .upn <<<"$r")" "$upn" "upn"
  assert_eq "$(jq -r .tenant_name <<<"$r")" Contoso "tenant_name"
  did=$(jq -r .device_id <<<"$r")
  [[ $did =~ ^[0-9a-f-]{36}$ ]] || fail "device_id '$did'"
  assert_eq "$(sim_devices)" 1 "device objects"
  sim_ctl GET "/control/devices/$did" >/dev/null || fail "device $did not in the simulator"
  assert_mode "$CASE/state" 700
  assert_mode "$CASE/state/journal.json" 600
  assert_mode "$CASE/state/device-cert.der" 600
  assert_file "$CASE/state/joined"
  assert_not_contains "$(cat "$CASE/err.log")" "Demo-Passw0rd"
  assert_not_contains "$(cat "$CASE/state/journal.json")" "eyJ"
}

case_device_code() {
  local did sub pub1 pub2 before
  join_env
  lj_conf "$CASE/lj.conf"
  run_device_code
  assert_joined
  assert_eq "$(grep -c '"type":"hello"' "$CASE/out.jsonl")" 1 "hello"
  assert_contains "$(grep '"kind":"device_code"' "$CASE/out.jsonl")" '"verification_uri":"https://microsoft.com/devicelogin"'
  assert_contains "$(grep '"kind":"device_code"' "$CASE/out.jsonl")" '"expires_at":"'
  # The certificate verifies against the simulator's MS-Organization-Access CA
  # and carries the key `linkjoin csr` signs with.
  openssl x509 -inform DER -in "$CASE/state/device-cert.der" -out "$CASE/cert.pem" || fail "cert parse"
  openssl verify -CAfile "$SIM_STATE/drs-ca.pem" "$CASE/cert.pem" >/dev/null || fail "openssl verify"
  pub1=$(openssl x509 -in "$CASE/cert.pem" -pubkey -noout)
  assert_rc 0 lj csr --state-dir "$CASE/state" --tcti "$TCTI"
  pub2=$(openssl req -pubkey -noout <<<"$(grep -v '^linkjoin' <<<"$OUT")")
  assert_eq "$pub1" "$pub2" "certificate key = csr key"
  did=$(result_event | jq -r .device_id)
  sub=$(openssl x509 -in "$CASE/cert.pem" -noout -subject)
  assert_contains "${sub,,}" "$did"
  # status: every field
  assert_rc 0 lj status ${TCTI:+--tcti "$TCTI"} --json --state-dir "$CASE/state"
  for k in joined state device_id tenant_id tenant_name upn cert_thumbprint cert_not_before \
    cert_not_after cert_valid key_provider tpm_protected mdm_state last_error; do
    assert_eq "$(jq "has(\"$k\")" <<<"$OUT")" true "status has $k"
  done
  assert_eq "$(jq -r .device_id <<<"$OUT")" "$did"
  assert_eq "$(jq -r .tenant_id <<<"$OUT")" 6b1c2a3e-0f4d-4c55-9a77-1e2f3a4b5c6d
  assert_eq "$(jq -r .key_provider <<<"$OUT")" tpm
  assert_eq "$(jq -r .tpm_protected <<<"$OUT")" true
  assert_eq "$(jq -r .keys_state <<<"$OUT")" ok "keys_state"
  # the device key's template, from device.pub (the older one: test_leave.sh leave_old_device_key)
  assert_eq "$(jq -r .device_key_scheme <<<"$OUT")" any "device_key_scheme"
  assert_eq "$(jq -r .device_key_bits <<<"$OUT")" 2048 "device_key_bits"
  assert_eq "$(jq -r .device_key <<<"$OUT")" "RSA-2048, TPM, scheme any (RSA-PSS or PKCS#1)" "device_key"
  assert_eq "$(jq -r .cert_valid <<<"$OUT")" true
  assert_eq "$(jq -r .last_error <<<"$OUT")" null
  assert_eq "$(jq -r .cert_thumbprint <<<"$OUT")" \
    "$(openssl x509 -in "$CASE/cert.pem" -noout -fingerprint -sha1 | cut -d= -f2 | tr -d :)"
  assert_rc 0 lj status ${TCTI:+--tcti "$TCTI"} --state-dir "$CASE/state"
  assert_contains "$OUT" "EntraJoined : YES"
  assert_contains "$OUT" "                 DeviceKey : RSA-2048, TPM, scheme any (RSA-PSS or PKCS#1)"
  # a second run: already joined, exit 10, not one request
  before=$(sim_requests)
  lj_run_bg --ui stdio
  lj_wait
  assert_eq "$LJ_RC" 10 "second run exit"
  assert_eq "$(result_event | jq -r .status)" already_joined
  assert_eq "$(result_event | jq -r .device_id)" "$did"
  assert_eq "$(sim_requests)" "$before" "requests made by the second run"
  assert_eq "$(sim_devices)" 1
}

case_password_file() {
  join_env
  printf 'Demo-Passw0rd!\n' >"$CASE/pw"
  chmod 600 "$CASE/pw"
  lj_conf "$CASE/lj.conf" "signin = password" "username = alice@contoso.example" "password_file = $CASE/pw"
  lj_run_bg --ui stdio
  lj_wait
  assert_joined
  assert_file "$CASE/pw" # kept without password_file_remove
  # A domain tenant is discovered before sign-in, once, as Windows' dsreg asks
  # (Azure-Samples/DSRegTool DSRegTool.ps1): api-version 1.7, Accept JSON, the
  # ocp-adrs-client pair, no Authorization.
  assert_eq "$(sim_ctl GET /control/requests | jq -c --arg v "$(sed -n 's/^#define LJ_VERSION "\(.*\)"$/\1/p' "$LJ_TOP/agent/core/version.h")" '[.[] | select(.path | ascii_downcase | endswith("/discover")) |
    [.method, .path, .query, .accept, .authorization, .ocp_adrs_client_name, (.ocp_adrs_client_version == $v)]]')" \
    '[["GET","/contoso.example/discover","api-version=1.7","application/json","","linkjoin",true]]' "discovery before sign-in"
}

# One full TLS handshake per host per join: each preflight probe's
# connection is the one the host's requests reuse (entra-sim keeps no TLS
# session, so a second connection would be a second full handshake).
# Counted as tests/bench/tls_stack.sh counts them.
case_one_tls_handshake_per_host() {
  local hs
  join_env
  printf 'Demo-Passw0rd!\n' >"$CASE/pw"
  chmod 600 "$CASE/pw"
  lj_conf "$CASE/lj.conf" "signin = password" "username = alice@contoso.example" "password_file = $CASE/pw"
  lj_run_bg --ui stdio --log-level info
  lj_wait
  assert_joined
  hs=$(grep -cE 'mod=http event=probe_ok|event=response .*connection=(full|resumed|unknown)' "$CASE/err.log")
  assert_eq "$hs" 3 "TLS handshakes per join ($(grep -oE 'event=(probe_ok|response) host=[^ ]+|connection=[a-z]+' "$CASE/err.log" | tr '\n' ' '))"
  assert_eq "$(grep -c 'mod=http event=probe_ok' "$CASE/err.log")" 3 "probes"
  assert_eq "$(grep -cE 'event=response .*connection=(full|resumed|unknown)' "$CASE/err.log")" 0 "requests on a new connection"
}

# A password_file others may read is refused before anything is sent: exit 3,
# the file and its mode named, no sign-in request.
case_password_file_readable_refused() {
  join_env
  printf 'Demo-Passw0rd!\n' >"$CASE/pw"
  chmod 644 "$CASE/pw"
  lj_conf "$CASE/lj.conf" "signin = password" "username = alice@contoso.example" "password_file = $CASE/pw"
  assert_rc 3 lj run --config "$CASE/lj.conf" --ui stdio </dev/null
  assert_contains "$OUT" "password_file $CASE/pw is mode 0644 (group or others may read it)"
  assert_eq "$(sim_ctl GET /control/requests | jq '[.[] | select(.path | endswith("/token"))] | length')" 0 \
    "token requests"
  assert_file "$CASE/pw"
}

# password_file_remove = yes: the file is gone once Entra answered the
# password grant; without it the file stays.
case_password_file_removed_after_use() {
  join_env
  printf 'Demo-Passw0rd!\n' >"$CASE/pw"
  chmod 600 "$CASE/pw"
  lj_conf "$CASE/lj.conf" "signin = password" "username = alice@contoso.example" \
    "password_file = $CASE/pw" "password_file_remove = yes"
  lj_run_bg --ui stdio
  lj_wait
  assert_joined
  [ -e "$CASE/pw" ] && fail "password_file still there"
  grep -q "event=password_file_removed" "$CASE/err.log" || fail "no password_file_removed log"
  true
}

case_password_ui_credentials() {
  join_env
  lj_conf "$CASE/lj.conf" "signin = password" "username = alice@contoso.example" \
    "ui = socket" "ui_socket = $CASE/ui.sock"
  lj_run_bg
  $UI_CLIENT "$CASE/ui.sock" "$CASE/ui.log" expect:prompt:credentials \
    'send:{"type":"credentials","username":"alice@contoso.example","password":"Demo-Passw0rd!"}' ||
    fail "ui client: $(cat "$CASE/ui.log")"
  lj_wait
  cp "$CASE/ui.log" "$CASE/out.jsonl"
  assert_joined
  assert_eq "$(grep -c '"type":"hello"' "$CASE/ui.log")" 1 "hello over the socket"
}

# Plays the web view: GET/POST the simulator's sign-in form for the
# authorize_url in $LAST_PROMPT and print the auth_code message.
cat >"$LJ_SCRIPT_TMP/webview.sh" <<'WV'
set -eu
sim_curl() {
  curl -sS --cacert "$SIM_CA" --connect-to "login.microsoftonline.com:443:127.0.0.1:$SIM_PORT" "$@"
}
url=$(jq -r .authorize_url <<<"$LAST_PROMPT")
sim_curl -o /dev/null "$url"
sim_curl -o /dev/null -D "$CASE/authz.hdr" --data "${url#*\?}&login=alice%40contoso.example&passwd=Demo-Passw0rd%21" "${url%%\?*}"
loc=$(grep -i '^location:' "$CASE/authz.hdr" | tr -d '\r' | cut -d' ' -f2-)
python3 - "$loc" <<'PY'
import json, sys, urllib.parse
q = urllib.parse.parse_qs(urllib.parse.urlsplit(sys.argv[1]).query)
print(json.dumps({"type": "auth_code", "code": q["code"][0], "state": q["state"][0]}))
PY
WV

case_auth_code() {
  join_env
  lj_conf "$CASE/lj.conf" "signin = auth_code" "ui = socket" "ui_socket = $CASE/ui.sock"
  lj_run_bg
  export CASE SIM_PORT SIM_CA
  $UI_CLIENT "$CASE/ui.sock" "$CASE/ui.log" expect:prompt:browser \
    'send:{"type":"auth_code","code":"forged","state":"not-ours"}' expect:error \
    "run:bash $LJ_SCRIPT_TMP/webview.sh" || fail "ui client: $(cat "$CASE/ui.log")"
  lj_wait
  assert_contains "$(grep '"kind":"browser"' "$CASE/ui.log")" "code_challenge_method=S256"
  assert_contains "$(grep '"kind":"browser"' "$CASE/ui.log")" '"redirect_uri":"ms-aadj-redir://auth/drs"'
  cp "$CASE/ui.log" "$CASE/out.jsonl"
  assert_joined
}

# Plays the system browser for a loopback redirect_uri: signs in at the
# simulator, then follows the redirect to the agent's own listener (plain
# http on loopback).  Before that, it sends what a stray local client might:
# a wrong path, a POST, a redirect with someone else's state, and error=
# redirects without a state or with a wrong one (RFC 6749 §4.1.2.1).  The agent's
# pages go to $CASE/page-*.  Prints nothing: no auth_code over the UI.
cat >"$LJ_SCRIPT_TMP/browser.sh" <<'BR'
set -eu
sim_curl() {
  curl -sS --cacert "$SIM_CA" --connect-to "login.microsoftonline.com:443:127.0.0.1:$SIM_PORT" "$@"
}
page() { curl -sS --noproxy '*' -o "$CASE/page-$1.html" -w '%{http_code}' "${@:2}" >"$CASE/page-$1.code"; }
url=$(jq -r .authorize_url <<<"$LAST_PROMPT")
redir=$(jq -r .redirect_uri <<<"$LAST_PROMPT")
page wrongpath "${redir%/*}/favicon.ico"
page post --data 'code=x&state=y' "$redir"
page forged "$redir?code=stolen&state=not-ours"
page evilnostate "$redir?error=access_denied&error_description=EVIL"
page evilwrongstate "$redir?error=access_denied&error_description=EVIL&state=not-ours"
case ${BROWSER_MODE:-signin} in
  signin)
    sim_curl -o /dev/null "$url"
    sim_curl -o /dev/null -D "$CASE/authz.hdr" --data "${url#*\?}&login=alice%40contoso.example&passwd=Demo-Passw0rd%21" "${url%%\?*}"
    loc=$(grep -i '^location:' "$CASE/authz.hdr" | tr -d '\r' | cut -d' ' -f2-)
    case $loc in "$redir?"*) ;; *) echo "redirect '$loc' is not to '$redir'" >&2; exit 1 ;; esac
    page final "$loc" ;;
  declined)
    state=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.parse_qs(urllib.parse.urlsplit(sys.argv[1]).query)["state"][0])' "$url")
    page final "$redir?error=access_denied&error_description=AADSTS65004%3A+User+declined+to+consent&state=$state" ;;
esac
BR

# The broker client (29d9ed98, the default client_id) has no loopback
# redirect registered (roadtx firstpartyscopes.json) and Entra answers
# AADSTS50011, so `config --check` refuses that pair; a loopback redirect
# needs an app registration of one's own: the demo tenant's (hw-sim/tenants/demo.json).
LOOPBACK_CLIENT=4b8f2d1c-6a3e-4c5f-9d7b-2e1a0f3c5b7d

# loopback redirect: run the agent with REDIRECT, play the browser in MODE
run_loopback() {
  join_env
  lj_conf "$CASE/lj.conf" "signin = auth_code" "redirect_uri = $1" "client_id = $LOOPBACK_CLIENT" "ui = socket" \
    "ui_socket = $CASE/ui.sock" "retry_wait = 0"
  lj_run_bg
  export CASE SIM_PORT SIM_CA BROWSER_MODE=$2
  $UI_CLIENT "$CASE/ui.sock" "$CASE/ui.log" expect:prompt:browser \
    "run:bash $LJ_SCRIPT_TMP/browser.sh" || fail "ui client: $(cat "$CASE/ui.log")"
  lj_wait
  cp "$CASE/ui.log" "$CASE/out.jsonl"
  assert_eq "$(cat "$CASE/page-wrongpath.code")" 404 "another path"
  assert_eq "$(cat "$CASE/page-post.code")" 405 "a POST"
  assert_eq "$(cat "$CASE/page-forged.code")" 400 "someone else's state"
  assert_contains "$(cat "$CASE/page-forged.html")" "not the answer to the sign-in"
  assert_contains "$(cat "$CASE/err.log")" "event=auth_code_rejected via=loopback"
  # error= without our state: 400, the agent keeps waiting, nothing of it kept
  assert_eq "$(cat "$CASE/page-evilnostate.code")" 400 "error= without a state"
  assert_eq "$(cat "$CASE/page-evilwrongstate.code")" 400 "error= with someone else's state"
  assert_not_contains "$(cat "$CASE/out.jsonl" "$CASE/err.log" "$CASE/state/journal.json" 2>/dev/null)" \
    EVIL "text of an unauthenticated redirect"
}

case_auth_code_loopback_any_port() {
  local redir
  run_loopback http://127.0.0.1/linkjoin/done signin
  redir=$(grep '"kind":"browser"' "$CASE/ui.log" | jq -r .redirect_uri)
  [[ $redir =~ ^http://127\.0\.0\.1:[0-9]+/linkjoin/done$ ]] || fail "redirect_uri with the chosen port: '$redir'"
  assert_ne "$redir" "http://127.0.0.1:0/linkjoin/done" "a real port"
  assert_contains "$(grep '"kind":"browser"' "$CASE/ui.log")" "redirect_uri=http%3A%2F%2F127.0.0.1%3A"
  assert_eq "$(cat "$CASE/page-final.code")" 200 "the redirect page"
  assert_contains "$(cat "$CASE/page-final.html")" "Go back to the device"
  assert_not_contains "$(cat "$CASE/page-final.html")" "code="
  assert_contains "$(cat "$CASE/err.log")" "event=auth_code_received via=loopback"
  assert_joined
  # the listener is gone once the code was taken
  assert_rc 7 curl -sS --noproxy '*' -o /dev/null "$redir?x=1"
}

case_auth_code_loopback_fixed_port() {
  local port
  port=$(free_port)
  run_loopback "http://localhost:$port/cb" signin
  assert_contains "$(grep '"kind":"browser"' "$CASE/ui.log")" "\"redirect_uri\":\"http://localhost:$port/cb\""
  assert_eq "$(cat "$CASE/page-final.code")" 200 "the redirect page"
  assert_joined
}

case_auth_code_loopback_declined() {
  local r
  run_loopback http://127.0.0.1/cb declined
  r=$(result_event)
  assert_eq "$(cat "$CASE/page-final.code")" 400 "the declined redirect's page"
  assert_contains "$(cat "$CASE/page-final.html")" "The device shows why"
  assert_eq "$(jq -r .status <<<"$r")" failed "status ($r)"
  assert_eq "$(jq -r .reason <<<"$r")" signin_declined "reason"
  assert_eq "$(jq -r .server.error_code <<<"$r")" AADSTS65004 "server error code"
  assert_eq "$LJ_RC" 6 "exit status"
  assert_eq "$(sim_devices)" 0 "device objects"
}

# Another user holds [::1]:PORT: a localhost redirect on PORT must not start
# (a browser may try ::1 first and hand that user the code; RFC 8252 §8.3).
case_auth_code_loopback_localhost_v6_taken() {
  local port r
  python3 -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null ||
    skip "no IPv6 loopback on this host"
  join_env
  port=$(free_port)
  python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
s.bind(("::1", int(sys.argv[1]))); s.listen(1)
print("up", flush=True); time.sleep(300)' "$port" >"$CASE/holder.out" &
  track_pid $!
  for _ in $(seq 100); do grep -q up "$CASE/holder.out" && break; sleep 0.05; done
  lj_conf "$CASE/lj.conf" "signin = auth_code" "redirect_uri = http://localhost:$port/cb" \
    "client_id = $LOOPBACK_CLIENT"
  lj_run_bg --ui stdio
  for _ in $(seq 400); do
    kill -0 "$LJ_PID" 2>/dev/null || break
    if grep -q '"kind":"browser"' "$CASE/out.jsonl"; then
      kill "$LJ_PID"
      fail "the agent waits for the browser on 127.0.0.1 while [::1]:$port is someone else's"
    fi
    sleep 0.05
  done
  lj_wait
  r=$(result_event)
  assert_eq "$(jq -r .reason <<<"$r")" internal "reason ($r)"
  assert_eq "$(jq -r .phase <<<"$r")" signin "phase"
  assert_contains "$(cat "$CASE/err.log")" "event=bind_failed address=[::1] port=$port errno=Address already in use"
  assert_not_contains "$(cat "$CASE/out.jsonl")" '"kind":"browser"' "a browser prompt"
  assert_eq "$LJ_RC" 1 "exit status"
}

case_auth_code_loopback_port_taken() {
  local port r
  join_env
  port=$(free_port)
  python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1)
print("up", flush=True); time.sleep(300)' "$port" >"$CASE/holder.out" &
  track_pid $!
  for _ in $(seq 100); do grep -q up "$CASE/holder.out" && break; sleep 0.05; done
  lj_conf "$CASE/lj.conf" "signin = auth_code" "redirect_uri = http://127.0.0.1:$port/cb" \
    "client_id = $LOOPBACK_CLIENT"
  lj_run_bg --ui stdio
  lj_wait
  r=$(result_event)
  assert_eq "$(jq -r .reason <<<"$r")" internal "reason ($r)"
  assert_eq "$(jq -r .phase <<<"$r")" signin "phase"
  assert_contains "$(cat "$CASE/err.log")" "event=bind_failed address=127.0.0.1 port=$port errno=Address already in use"
  assert_eq "$LJ_RC" 1 "exit status"
}

case_ui_malformed_then_cancel() {
  join_env
  lj_conf "$CASE/lj.conf" "ui = socket" "ui_socket = $CASE/ui.sock"
  lj_run_bg
  $UI_CLIENT "$CASE/ui.sock" "$CASE/ui.log" expect:prompt:device_code \
    'sendraw:{"type":' expect:error \
    'oversized:70000' expect:error \
    'send:{"type":"launch_missiles"}' expect:error \
    'send:{"type":"credentials"}' expect:error \
    'send:{"type":"cancel"}' expect:result || fail "ui client: $(cat "$CASE/ui.log")"
  lj_wait
  assert_eq "$LJ_RC" 9 "exit code"
  assert_eq "$(grep '"type":"error"' "$CASE/ui.log" | jq -r .error | tr '\n' ' ')" \
    "bad_json line_too_long unknown_type missing_field " "error events"
  assert_eq "$(result_event "$CASE/ui.log" | jq -r .status)" cancelled
  assert_eq "$(sim_devices)" 0
  assert_rc 12 lj status ${TCTI:+--tcti "$TCTI"} --json --state-dir "$CASE/state"
  assert_eq "$(jq -r .last_error.reason <<<"$OUT")" cancelled
  kill -0 "$SIM_PID" || fail "simulator died"
}

case_sigterm_cancels() {
  join_env
  lj_conf "$CASE/lj.conf"
  lj_run_bg --ui stdio
  wait_event '"kind":"device_code"'
  kill -TERM "$LJ_PID"
  lj_wait
  assert_eq "$LJ_RC" 9 "exit code"
  assert_eq "$(result_event | jq -r .status)" cancelled
  assert_rc 12 lj status ${TCTI:+--tcti "$TCTI"} --json --state-dir "$CASE/state"
  assert_eq "$(jq -r .state <<<"$OUT")" new
}

case_config_bad_key() {
  printf 'tenant = contoso.example\nfrobnicate = 1\n' >"$CASE/bad.conf"
  assert_rc 3 lj run --config "$CASE/bad.conf"
  assert_contains "$OUT" "$CASE/bad.conf:2:"
  assert_contains "$OUT" "frobnicate"
}

case_status_new_device() {
  assert_rc 12 lj status ${TCTI:+--tcti "$TCTI"} --json --state-dir "$CASE/state"
  assert_eq "$(jq -r .joined <<<"$OUT")" false
  assert_eq "$(jq -r .key_provider <<<"$OUT")" none
  # a mistyped --state-dir is named, not reported as a fresh device
  assert_eq "$(jq -r .state_text <<<"$OUT")" \
    "not set up: the state directory $CASE/state does not exist" "state_text"
  mkdir -p "$CASE/state"
  assert_rc 12 lj status ${TCTI:+--tcti "$TCTI"} --state-dir "$CASE/state"
  assert_contains "$OUT" "State : not set up yet"
}

# `run` from a terminal with the default socket UI says where the screen is
# expected instead of staying silent (here preflight then fails at once).
case_run_in_terminal() {
  command -v script >/dev/null || skip "no script(1) for a terminal"
  join_env
  lj_conf "$CASE/lj.conf" "retry_wait = 0" "ui = socket" "ui_socket = $CASE/ui.sock"
  sed -i "s|^connect_to = login.microsoftonline.com:443:.*|connect_to = login.microsoftonline.com:443:127.0.0.1:1|" \
    "$CASE/lj.conf"
  script -qec "$LINKJOIN run --config $CASE/lj.conf" "$CASE/tty.log" </dev/null >/dev/null 2>&1
  assert_contains "$(cat "$CASE/tty.log")" \
    "waiting for the setup screen (OOBE UI) on $CASE/ui.sock; to sign in on this terminal instead, run with --ui tty"
  # not from a pipe (a service's stderr is the journal)
  lj_run_bg
  lj_wait
  assert_not_contains "$(cat "$CASE/err.log")" "waiting for the setup screen"
}

# Run by a user who may not read the state directory: says so, exit 1, not "NO".
case_status_permission_denied() {
  [ "$(id -u)" = 0 ] || skip "needs root to run status as another user"
  command -v runuser >/dev/null || skip "no runuser"
  mkdir -p "$CASE/state"
  chmod 0700 "$CASE/state"
  chmod o+rx "$CASE"
  # a copy nobody may execute, whatever the modes above the checkout (a
  # clone in a 0700 mktemp directory)
  local bin rc
  bin=$(mktemp -d /tmp/lj-bin.XXXXXX) && chmod 0755 "$bin" && install -m 0755 "$LINKJOIN" "$bin/linkjoin" ||
    fail "cannot copy the binary"
  OUT=$(runuser -u nobody -- "$bin/linkjoin" status --state-dir "$CASE/state" 2>&1)
  rc=$?
  rm -rf "$bin"
  assert_eq "$rc" 1 "exit status"
  assert_contains "$OUT" "EntraJoined : UNKNOWN (permission denied)"
  assert_contains "$OUT" "permission denied (run as root)"
  assert_not_contains "$OUT" "EntraJoined : NO"
}

case_bad_journal_moved_aside() {
  join_env
  mkdir -p "$CASE/state" && chmod 700 "$CASE/state"
  printf '{"version":1,"state":"joi' >"$CASE/state/journal.json"
  printf 'Demo-Passw0rd!\n' >"$CASE/pw"
  lj_conf "$CASE/lj.conf" "signin = password" "username = alice@contoso.example" "password_file = $CASE/pw"
  lj_run_bg --ui stdio
  lj_wait
  assert_contains "$(cat "$CASE/out.jsonl")" "The saved setup progress could not be read, so setup starts again"
  assert_contains "$(cat "$CASE/err.log")" "event=journal_moved_aside path=$CASE/state/journal.json.bad-"
  assert_joined
  ls "$CASE"/state/journal.json.bad-* >/dev/null || fail "bad journal not kept"
}

# tenant = organizations: the DRS domain comes from the signed-in UPN.
case_tenant_from_upn() {
  join_env
  printf 'Demo-Passw0rd!\n' >"$CASE/pw"
  lj_conf "$CASE/lj.conf" "signin = password" "username = alice@contoso.example" "password_file = $CASE/pw"
  lj_run_bg --ui stdio --tenant organizations
  lj_wait
  assert_joined
  # After sign-in, as libhimmelblau asks (src/discovery.rs Services::new):
  # api-version 1.9 and managed=True with the DRS token as bearer, Accept JSON.
  assert_eq "$(sim_ctl GET /control/requests | jq -c '[.[] | select(.path | ascii_downcase | endswith("/discover")) |
    [.method, .path, .query, .accept, .authorization, .ocp_adrs_client_name, .status]]')" \
    '[["GET","/contoso.example/Discover","api-version=1.9&managed=True","application/json","Bearer","linkjoin",200]]' "discovery for the UPN's domain"
}

tcase device_code_joins case_device_code
tcase password_file_joins case_password_file
tcase one_tls_handshake_per_host case_one_tls_handshake_per_host
tcase password_file_readable_refused case_password_file_readable_refused
tcase password_file_removed_after_use case_password_file_removed_after_use
tcase password_ui_credentials_joins case_password_ui_credentials
tcase auth_code_joins case_auth_code
tcase auth_code_loopback_any_port case_auth_code_loopback_any_port
tcase auth_code_loopback_fixed_port case_auth_code_loopback_fixed_port
tcase auth_code_loopback_declined case_auth_code_loopback_declined
tcase auth_code_loopback_port_taken case_auth_code_loopback_port_taken
tcase auth_code_loopback_localhost_v6_taken case_auth_code_loopback_localhost_v6_taken
tcase ui_malformed_oversized_then_cancel case_ui_malformed_then_cancel
tcase sigterm_cancels_cleanly case_sigterm_cancels
tcase bad_journal_moved_aside_and_joins case_bad_journal_moved_aside
tcase tenant_organizations_uses_upn_domain case_tenant_from_upn
tcase config_bad_key_names_file_line case_config_bad_key
tcase status_new_device case_status_new_device
tcase run_in_terminal_says_where_the_ui_is case_run_in_terminal
tcase status_permission_denied_says_so case_status_permission_denied
