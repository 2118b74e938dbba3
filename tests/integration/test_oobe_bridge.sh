#!/usr/bin/env bash
# test_oobe_bridge.sh — build/linkjoin-oobe, the setup screen's bridge, in
# front of a real agent (`linkjoin run --ui socket` against entra-sim +
# swtpm), driven by curl as the page would: the token (403 without it,
# ?t= -> cookie + 303), Host and Origin checks, 127.0.0.1 only, the event
# stream (hello, progress, prompt, result, the agent going away and coming
# back), /send (a whole password join; bad bodies named), /qr.svg (decoded
# back to the URL), the token file, secrets in no log, a /send body's
# copy in libmicrohttpd's read buffer wiped (counted in the bridge's
# memory), no process left.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_join.sh"
# LJ_OOBE: another build of the bridge (e.g. build-san/linkjoin-oobe under ASan).
OOBE=${LJ_OOBE:-$LJ_BUILD/linkjoin-oobe}
PW='Demo-Passw0rd!'

need_oobe() { [ -x "$OOBE" ] || fail "bridge not built ($OOBE)"; }

# A page's files for --assets (the real page is platform/oobe/www/).
make_assets() {
  mkdir -p "$CASE/www/i18n" "$CASE/www/sub"
  echo '<!doctype html><title>oobe test page</title>' >"$CASE/www/index.html"
  echo 'console.log("app");' >"$CASE/www/app.js"
  echo 'body { color: black; }' >"$CASE/www/app.css"
  echo '{"screen.title":"Einrichtung"}' >"$CASE/www/i18n/de.json"
  echo 'secret' >"$CASE/www/.hidden.js"
  echo 'nope' >"$CASE/www/tool.exe"
}

# bridge_start [ARGS..] — the bridge for $CASE/ui.sock on a port it picks;
# sets BR_PID, BR_PORT, BR (base URL), TOKEN.
bridge_start() {
  need_oobe
  [ -d "$CASE/www" ] || make_assets
  mkdir -p "$CASE/run"
  "$OOBE" --ui-socket "$CASE/ui.sock" --listen 127.0.0.1:0 --assets "$CASE/www" \
    --token-file "$CASE/run/token" --log-level debug "$@" >"$CASE/bridge.out" 2>>"$CASE/bridge.log" &
  BR_PID=$!
  track_pid "$BR_PID"
  for _ in $(seq 200); do
    grep -q '^listening ' "$CASE/bridge.out" && break
    kill -0 "$BR_PID" 2>/dev/null || fail "bridge exited: $(cat "$CASE/bridge.log")"
    sleep 0.05
  done
  BR=$(sed -n 's|^listening \(http://127.0.0.1:[0-9]*\)/$|\1|p' "$CASE/bridge.out")
  [ -n "$BR" ] || fail "no listening line: $(cat "$CASE/bridge.out")"
  BR_PORT=${BR##*:}
  TOKEN=$(cat "$CASE/run/token")
}

# breq ARGS.. — curl to the bridge; HTTP_STATUS, BODY, HEADERS (call directly).
breq() {
  local f=$CASE/.breq.$$
  HTTP_STATUS=$(curl -sS -o "$f.body" -D "$f.hdr" -w '%{http_code}' "$@") || HTTP_STATUS=${HTTP_STATUS:-000}
  BODY=$(cat "$f.body" 2>/dev/null)
  HEADERS=$(tr -d '\r' <"$f.hdr" 2>/dev/null)
  rm -f "$f.body" "$f.hdr"
}

# send JSON — POST /send as the page does (token header, our Origin).
send() {
  breq -H "X-LJ-Token: $TOKEN" -H "Origin: $BR" -H 'Content-Type: application/json' \
    --data-binary "$1" "$BR/send"
}

# sse_start [LOCALE] [FILE] — open /events like the page; lines go to FILE
# ($CASE/sse.log); SSE_PID is curl's.
sse_start() {
  SSE_LOG=${2:-$CASE/sse.log}
  : >"$SSE_LOG"
  curl -sSN -H "X-LJ-Token: $TOKEN" "$BR/events?locale=${1:-de-DE}" >"$SSE_LOG" 2>>"$CASE/curl.err" &
  SSE_PID=$!
  track_pid "$SSE_PID"
}

# The events received so far, one JSON object a line.
sse_events() { sed -n 's/^data: //p' "${1:-$SSE_LOG}"; }

# sse_wait JQ_FILTER [COUNT] — until COUNT (default 1) events make the
# filter true (bounded at 120 s against hanging, not a timing check).
sse_wait() {
  local i
  for ((i = 0; i < 1200; i++)); do
    sse_events | jq -s -e "[.[] | select($1)] | length >= ${2:-1}" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "no event with $1 (${2:-1}) in: $(sse_events | head -c 3000)"
}

# sse_wait_expr JQ_EXPR — until the jq expression over all events (an
# array) is true; bounded like sse_wait.
sse_wait_expr() {
  local i
  for ((i = 0; i < 1200; i++)); do
    sse_events | jq -s -e "$1" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "events never made $1 true: $(sse_events | head -c 3000)"
}

# True once the agent's connection number N (1-based) has shown a device-code
# prompt (protocol 1 and 2 agents alike: v2 replays state after our hello).
after_connect() {
  echo "([.[] | .type == \"bridge\" and .agent == \"connected\"] | indices(true)) as \$c |
    (\$c | length) >= $1 and (.[\$c[$1 - 1]:] | any(.type == \"prompt\" and .kind == \"device_code\"))"
}

# The agent on the socket the bridge talks to.
agent_conf() {
  lj_conf "$CASE/lj.conf" "ui = socket" "ui_socket = $CASE/ui.sock" "$@"
}

# mem_count PID NEEDLE — how many times NEEDLE occurs in the readable
# memory of process PID (/proc/PID/maps and /proc/PID/mem; root or the same
# user with ptrace allowed), or "unreadable".
mem_count() {
  python3 - "$1" "$2" <<'PY'
import re, sys
pid, needle = sys.argv[1], sys.argv[2].encode()
n = 0
try:
    maps = open(f"/proc/{pid}/maps").read().splitlines()
    mem = open(f"/proc/{pid}/mem", "rb", 0)
except OSError:
    print("unreadable"); sys.exit(0)
for line in maps:
    f = line.split()
    if "r" not in f[1] or (len(f) > 5 and f[5] in ("[vvar]", "[vsyscall]", "[vvar_vclock]")):
        continue
    lo, hi = (int(x, 16) for x in f[0].split("-"))
    # A sanitizer build maps terabytes of shadow memory read-write (never
    # touched, no program data): skip mappings of 64 GiB and more, and read
    # the rest in 16 MiB pieces that overlap by the needle's length.
    if hi - lo >= 64 << 30:
        continue
    step, tail = 16 << 20, b""
    try:
        mem.seek(lo)
        for at in range(lo, hi, step):
            buf = tail + mem.read(min(step, hi - at))
            n += len(re.findall(re.escape(needle), buf))
            tail = buf[-(len(needle) - 1):] if len(needle) > 1 else b""
    except (OSError, ValueError, OverflowError):
        pass
print(n)
PY
}

# ---- the token ------------------------------------------------------------

case_no_token() {
  bridge_start
  breq "$BR/"
  assert_eq "$HTTP_STATUS" 403 "GET / without token"
  assert_eq "$BODY" "Forbidden" "no detail"
  breq "$BR/events"
  assert_eq "$HTTP_STATUS" 403 "GET /events without token"
  breq "$BR/qr.svg"
  assert_eq "$HTTP_STATUS" 403 "GET /qr.svg without token"
  breq -H "Origin: $BR" -H 'Content-Type: application/json' --data '{"type":"cancel"}' "$BR/send"
  assert_eq "$HTTP_STATUS" 403 "POST /send without token"
  assert_not_contains "$HEADERS" "Set-Cookie"
}

case_wrong_token() {
  bridge_start
  local wrong=${TOKEN:0:63}x
  [ "$wrong" != "$TOKEN" ] || wrong=${TOKEN:0:63}y
  breq "$BR/?t=$wrong"
  assert_eq "$HTTP_STATUS" 403 "?t= wrong"
  assert_not_contains "$HEADERS" "Set-Cookie"
  breq "$BR/?t=${TOKEN:0:32}"
  assert_eq "$HTTP_STATUS" 403 "?t= a prefix of the token"
  breq -b "lj_oobe=$wrong" "$BR/"
  assert_eq "$HTTP_STATUS" 403 "wrong cookie"
  breq -H "X-LJ-Token: $wrong" "$BR/"
  assert_eq "$HTTP_STATUS" 403 "wrong header"
  breq -H "X-LJ-Token: ${TOKEN}0" "$BR/"
  assert_eq "$HTTP_STATUS" 403 "token plus one character"
}

case_token_query_cookie_303() {
  bridge_start
  breq "$BR/?t=$TOKEN&locale=de-DE"
  assert_eq "$HTTP_STATUS" 303 "first load"
  assert_contains "$HEADERS" "Set-Cookie: lj_oobe=$TOKEN; HttpOnly; SameSite=Lax; Path=/"
  assert_contains "$HEADERS" "Location: /?locale=de-DE"
  breq "$BR/app.js?t=$TOKEN"
  assert_eq "$HTTP_STATUS" 303
  assert_contains "$HEADERS" "Location: /app.js"$'\n'
  # then the cookie alone, as the browser sends it
  breq -b "lj_oobe=$TOKEN" "$BR/"
  assert_eq "$HTTP_STATUS" 200 "GET / with the cookie"
  assert_eq "$BODY" "$(cat "$CASE/www/index.html")" "index.html"
  assert_contains "$HEADERS" "Content-Type: text/html; charset=utf-8"
  assert_contains "$HEADERS" "Content-Security-Policy: default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'"
  assert_contains "$HEADERS" "X-Content-Type-Options: nosniff"
  assert_contains "$HEADERS" "Cache-Control: no-store"
  # scripts: the header
  breq -H "X-LJ-Token: $TOKEN" "$BR/app.css"
  assert_eq "$HTTP_STATUS" 200 "GET /app.css with the header"
  assert_contains "$HEADERS" "Content-Type: text/css; charset=utf-8"
}

# ---- Host, Origin, address -------------------------------------------------

case_wrong_host() {
  bridge_start
  breq -H "Host: evil.example:$BR_PORT" -H "X-LJ-Token: $TOKEN" "$BR/"
  assert_eq "$HTTP_STATUS" 403 "a rebinding name"
  breq -H "Host: evil.example:$BR_PORT" "$BR/?t=$TOKEN"
  assert_eq "$HTTP_STATUS" 403 "a rebinding name with ?t="
  assert_not_contains "$HEADERS" "Set-Cookie"
  breq -H "Host: 127.0.0.1" -H "X-LJ-Token: $TOKEN" "$BR/"
  assert_eq "$HTTP_STATUS" 403 "no port"
  breq -H "Host: 127.0.0.1:$((BR_PORT + 1))" -H "X-LJ-Token: $TOKEN" "$BR/"
  assert_eq "$HTTP_STATUS" 403 "another port"
  breq -H "Host: localhost:$BR_PORT" -H "X-LJ-Token: $TOKEN" "$BR/"
  assert_eq "$HTTP_STATUS" 200 "localhost:PORT"
  breq -H "X-LJ-Token: $TOKEN" "$BR/"
  assert_eq "$HTTP_STATUS" 200 "127.0.0.1:PORT"
}

case_foreign_origin() {
  bridge_start
  breq -H "X-LJ-Token: $TOKEN" -H "Origin: http://evil.example" -H 'Content-Type: application/json' \
    --data '{"type":"cancel"}' "$BR/send"
  assert_eq "$HTTP_STATUS" 403 "foreign Origin"
  breq -H "X-LJ-Token: $TOKEN" -H "Origin: http://127.0.0.1:$((BR_PORT + 1))" \
    -H 'Content-Type: application/json' --data '{"type":"cancel"}' "$BR/send"
  assert_eq "$HTTP_STATUS" 403 "Origin of another port"
  breq -H "X-LJ-Token: $TOKEN" -H "Origin: null" -H 'Content-Type: application/json' \
    --data '{"type":"cancel"}' "$BR/send"
  assert_eq "$HTTP_STATUS" 403 "Origin null"
  breq -H "X-LJ-Token: $TOKEN" -H 'Content-Type: application/json' --data '{"type":"cancel"}' "$BR/send"
  assert_eq "$HTTP_STATUS" 403 "POST without Origin"
  breq -H "X-LJ-Token: $TOKEN" -H "Origin: http://evil.example" "$BR/app.js"
  assert_eq "$HTTP_STATUS" 403 "GET with a foreign Origin"
  # our own Origin, no agent: 503
  send '{"type":"cancel"}'
  assert_eq "$HTTP_STATUS" 503 "no agent"
  assert_eq "$(jq -r .error <<<"$BODY")" no_agent
}

case_loopback_only() {
  local port lines
  bridge_start
  lines=$(ss -Hltn "sport = :$BR_PORT")
  assert_eq "$(wc -l <<<"$lines")" 1 "one listening socket: $lines"
  assert_eq "$(awk '{print $4}' <<<"$lines")" "127.0.0.1:$BR_PORT" "bound address"
  # a fixed port, and no other address accepted
  port=$(free_port) || fail "no free port"
  assert_rc 2 "$OOBE" --ui-socket "$CASE/ui.sock" --listen "0.0.0.0:$port" --assets "$CASE/www" \
    --token-file "$CASE/t2"
  assert_contains "$OUT" "--listen takes 127.0.0.1:PORT only: 0.0.0.0:$port"
  assert_rc 2 "$OOBE" --ui-socket "$CASE/ui.sock" --listen "[::1]:$port" --assets "$CASE/www" \
    --token-file "$CASE/t2"
  assert_no_file "$CASE/t2"
  "$OOBE" --ui-socket "$CASE/ui.sock" --listen "127.0.0.1:$port" --assets "$CASE/www" \
    --token-file "$CASE/t2" >"$CASE/b2.out" 2>"$CASE/b2.log" &
  track_pid $!
  for _ in $(seq 100); do [ -s "$CASE/b2.out" ] && break; sleep 0.05; done
  assert_eq "$(cat "$CASE/b2.out")" "listening http://127.0.0.1:$port/"
  assert_eq "$(ss -Hltn "sport = :$port" | awk '{print $4}')" "127.0.0.1:$port"
}

# ---- files ----------------------------------------------------------------

case_static_assets() {
  mkdir -p "$CASE/i18n"
  echo '{"screen.title":"Configuration"}' >"$CASE/i18n/fr.json"
  make_assets
  ln -s /etc/passwd "$CASE/www/link.txt"
  bridge_start --i18n "$CASE/i18n"
  local h=(-H "X-LJ-Token: $TOKEN")
  breq "${h[@]}" "$BR/app.js"
  assert_eq "$HTTP_STATUS" 200 "app.js"
  assert_contains "$HEADERS" "Content-Type: text/javascript; charset=utf-8"
  breq "${h[@]}" "$BR/i18n/fr.json"
  assert_eq "$HTTP_STATUS" 200 "i18n from --i18n"
  assert_eq "$(jq -r '."screen.title"' <<<"$BODY")" Configuration
  breq "${h[@]}" "$BR/i18n/de.json"
  assert_eq "$HTTP_STATUS" 404 "with --i18n, not from assets/i18n"
  for p in /.hidden.js /tool.exe /i18n/ /sub /link.txt /nothing.js /a/b/c/d.js //app.js; do
    breq --path-as-is "${h[@]}" "$BR$p"
    assert_eq "$HTTP_STATUS" 404 "$p"
  done
  breq --path-as-is "${h[@]}" "$BR/../../etc/passwd"
  assert_ne "$HTTP_STATUS" 200 "dot-dot"
  assert_not_contains "$BODY" "root:"
  breq --path-as-is "${h[@]}" "$BR/i18n/../app.js"
  assert_ne "$HTTP_STATUS" 200 "dot-dot inside"
  breq "${h[@]}" -X PUT "$BR/app.js"
  assert_eq "$HTTP_STATUS" 405 "PUT"
  breq "${h[@]}" "$BR/send"
  assert_eq "$HTTP_STATUS" 405 "GET /send"
  breq "${h[@]}" -I "$BR/events"
  assert_eq "$HTTP_STATUS" 405 "HEAD /events"
}

# No index.html in --assets: a page that says the screen is not installed.
case_index_missing() {
  mkdir -p "$CASE/www"
  bridge_start
  breq -H "X-LJ-Token: $TOKEN" "$BR/"
  assert_eq "$HTTP_STATUS" 200
  assert_contains "$BODY" "Setup screen not installed"
}

# ---- the agent behind it ----------------------------------------------------

# A whole join through the bridge: password sign-in, credentials POSTed to /send.
case_password_join() {
  join_env
  agent_conf "signin = password" "username = alice@contoso.example"
  lj_run_bg
  bridge_start
  sse_start de-DE
  sse_wait '.type == "prompt" and .kind == "credentials"'
  send "{\"type\":\"credentials\",\"username\":\"alice@contoso.example\",\"password\":\"$PW\"}"
  assert_eq "$HTTP_STATUS" 202 "credentials forwarded ($BODY)"
  sse_wait '.type == "result"'
  lj_wait
  assert_eq "$LJ_RC" 0 "agent exit ($(tail -5 "$CASE/err.log"))"
  assert_eq "$(sse_events | jq -r 'select(.type == "result") | .status')" joined "result"
  assert_eq "$(sse_events | jq -r 'select(.type == "result") | .upn')" alice@contoso.example
  assert_eq "$(sse_events | head -1)" '{"type":"bridge","agent":"connected"}' "first event"
  assert_eq "$(sse_events | sed -n 2p | jq -r .type)" hello "hello after connected"
  assert_ne "$(sse_events | jq -r 'select(.type == "progress") | .phase' | head -1)" "" "a progress event"
  assert_eq "$(sse_events | jq -r 'select(.type == "error") | .error')" "" "no error event"
  assert_eq "$(sim_devices)" 1 "device objects"
  # the agent is gone: the page is told
  sse_wait '.type == "bridge" and .agent == "disconnected"'
  assert_not_contains "$(cat "$CASE/bridge.log" "$CASE/err.log")" "$PW"
  grep -q "event=sent type=credentials" "$CASE/bridge.log" || fail "no sent log line"
}

# /qr.svg: 404 without a prompt; the device code URL, decoded back; 404 again after the result.
case_qr_device_code() {
  local url
  join_env
  agent_conf "retry_wait = 0"
  bridge_start
  breq -H "X-LJ-Token: $TOKEN" "$BR/qr.svg"
  assert_eq "$HTTP_STATUS" 404 "no prompt yet"
  lj_run_bg
  sse_start en-US
  sse_wait '.type == "prompt" and .kind == "device_code"'
  url=$(sse_events | jq -r 'select(.kind == "device_code") | .verification_uri_complete // .verification_uri' | tail -1)
  assert_eq "$url" "https://microsoft.com/devicelogin" "prompt URL"
  breq -H "X-LJ-Token: $TOKEN" "$BR/qr.svg"
  assert_eq "$HTTP_STATUS" 200 "qr.svg"
  printf '%s\n' "$BODY" >"$CASE/qr.svg"
  assert_contains "$HEADERS" "Content-Type: image/svg+xml"
  assert_contains "$(head -c 200 "$CASE/qr.svg")" '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 '
  if command -v rsvg-convert >/dev/null && command -v zbarimg >/dev/null; then
    rsvg-convert -w 400 -h 400 -b white "$CASE/qr.svg" >"$CASE/qr.png" || fail "rsvg-convert"
    assert_eq "$(zbarimg -q --raw "$CASE/qr.png")" "$url" "decoded QR"
  else
    echo "# no rsvg-convert/zbarimg: QR not decoded"
  fi
  send '{"type":"cancel"}'
  assert_eq "$HTTP_STATUS" 202 "cancel forwarded"
  sse_wait '.type == "result" and .status == "cancelled"'
  breq -H "X-LJ-Token: $TOKEN" "$BR/qr.svg"
  assert_eq "$HTTP_STATUS" 404 "after the result"
  lj_wait
  assert_eq "$LJ_RC" 9 "cancelled"
}

# Bad /send bodies: 400 naming the problem, nothing reaches the agent.
# The password's bytes in the bridge's memory while a /send body is half
# uploaded (libmicrohttpd has handed what arrived to the handler): once,
# in the bridge's own body buffer; libmicrohttpd's read buffer, where
# recv() put them, was wiped as they were taken (http.c wipe_upload; before,
# that copy stayed until the pool was reset or unmapped).  After the
# answer: nowhere.  The body's odd spacing is kept in no other copy (the
# line for the agent is rebuilt), so a match is the body itself.
case_send_body_wiped_in_mhd_buffer() {
  local body marker i c
  [ "$(id -u)" = 0 ] || skip "reading another process's memory needs root"
  bridge_start
  marker="Wipe-Me-$RANDOM$RANDOM-pw"
  body="{\"type\" :  \"credentials\" ,  \"username\" :  \"a@b.example\" ,  \"password\" :  \"$marker\"}"
  [ "$(mem_count "$BR_PID" "$marker")" = 0 ] || fail "marker in the bridge before the request"
  python3 - "$BR_PORT" "$TOKEN" "$body" "$CASE/half" "$CASE/answer" <<'PY' &
import os, socket, sys, time
port, token, body, half, answer = int(sys.argv[1]), sys.argv[2], sys.argv[3].encode(), sys.argv[4], sys.argv[5]
s = socket.create_connection(("127.0.0.1", port))
origin = "http://127.0.0.1:%d" % port
head = ("POST /send HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nOrigin: %s\r\nX-LJ-Token: %s\r\n"
        "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (port, origin, token, len(body)))
s.sendall(head.encode() + body[:-1])
open(half, "w").close()
while not os.path.exists(half + ".go"):
    time.sleep(0.02)
s.sendall(body[-1:])
data = b""
while b"\r\n\r\n" not in data:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
open(answer, "wb").write(data)
s.close()
PY
  track_pid $!
  for ((i = 0; i < 600; i++)); do [ -e "$CASE/half" ] && break; sleep 0.05; done
  [ -e "$CASE/half" ] || fail "the client did not start"
  # the handler has taken what arrived (its debug line; bounded wait)
  for ((i = 0; i < 600; i++)); do
    grep -q "event=send_body_part bytes=[0-9]* total=$((${#body} - 1))$" "$CASE/bridge.log" && break
    sleep 0.05
  done
  grep -q "event=send_body_part bytes=[0-9]* total=$((${#body} - 1))$" "$CASE/bridge.log" ||
    fail "the bridge did not take the half body: $(cat "$CASE/bridge.log")"
  c=$(mem_count "$BR_PID" "$marker")
  [ "$c" = unreadable ] && skip "cannot read /proc/$BR_PID/mem"
  assert_eq "$c" 1 "copies of the half-sent password in the bridge (its own buffer only)"
  touch "$CASE/half.go"
  for ((i = 0; i < 600; i++)); do [ -s "$CASE/answer" ] && break; sleep 0.05; done
  assert_contains "$(head -n 1 "$CASE/answer")" "HTTP/1.1 503" "no agent on the socket"
  assert_eq "$(mem_count "$BR_PID" "$marker")" 0 "copies of the password after the answer"
  assert_not_contains "$(cat "$CASE/bridge.log")" "$marker"
}

case_bad_post_bodies() {
  join_env
  agent_conf "retry_wait = 0"
  lj_run_bg
  bridge_start
  sse_start
  sse_wait '.type == "prompt"'
  check_bad() {
    local want=$1 msg=$2 body=$3
    send "$body"
    assert_eq "$HTTP_STATUS" 400 "status for $body"
    assert_eq "$(jq -r .error <<<"$BODY")" "$want" "error for $body"
    assert_eq "$(jq -r .message <<<"$BODY")" "$msg" "message for $body"
  }
  check_bad bad_json "body is not one JSON object" '{"type":'
  check_bad bad_json "body is not one JSON object" 'cancel'
  check_bad bad_json "body is not one JSON object" '{"type":"cancel"} {"type":"cancel"}'
  check_bad not_object "body is not a JSON object" '["cancel"]'
  check_bad missing_type "missing field 'type'" '{}'
  check_bad bad_field "field 'type' must be a string" '{"type":7}'
  check_bad unknown_type "unknown type 'launch' (credentials, auth_code, cancel or retry)" '{"type":"launch"}'
  check_bad missing_field "credentials: missing field 'password'" '{"type":"credentials","username":"a@b"}'
  check_bad bad_field "credentials: field 'password' must be a string" '{"type":"credentials","username":"a@b","password":1}'
  check_bad bad_field "credentials: field 'password' must be 1 to 1024 bytes" '{"type":"credentials","username":"a@b","password":""}'
  check_bad unknown_field "cancel: unknown field 'why'" '{"type":"cancel","why":"x"}'
  check_bad duplicate_field "cancel: field 'type' given twice" '{"type":"cancel","type":"cancel"}'
  head -c 70000 /dev/zero | tr '\0' 'a' | sed 's/^/{"type":"cancel","x":"/; s/$/"}/' >"$CASE/big.json"
  breq -H "X-LJ-Token: $TOKEN" -H "Origin: $BR" -H 'Content-Type: application/json' \
    --data-binary "@$CASE/big.json" "$BR/send"
  assert_eq "$HTTP_STATUS" 400 "too large"
  assert_eq "$(jq -r .error <<<"$BODY")" too_large
  assert_eq "$(jq -r .message <<<"$BODY")" "body over 65536 bytes"
  # the same without a Content-Length: counted as it arrives
  breq -H "X-LJ-Token: $TOKEN" -H "Origin: $BR" -H 'Content-Type: application/json' \
    -H 'Transfer-Encoding: chunked' --data-binary "@$CASE/big.json" "$BR/send"
  assert_eq "$HTTP_STATUS" 400 "too large, chunked"
  assert_eq "$(jq -r .error <<<"$BODY")" too_large
  breq -H "X-LJ-Token: $TOKEN" -H "Origin: $BR" -H 'Content-Type: text/plain' --data '{"type":"cancel"}' "$BR/send"
  assert_eq "$HTTP_STATUS" 400 "text/plain"
  assert_eq "$(jq -r .error <<<"$BODY")" bad_content_type
  # none of it reached the agent: it answered no error and still waits
  kill -0 "$LJ_PID" || fail "agent gone"
  assert_eq "$(sse_events | jq -r 'select(.type == "error") | .error')" "" "agent error events"
  send '{"type":"cancel"}'
  assert_eq "$HTTP_STATUS" 202
  lj_wait
  assert_eq "$LJ_RC" 9 "the agent took the cancel"
}

# The agent stops and starts again: disconnected, then connected and a new hello.
case_agent_restart() {
  join_env
  agent_conf "retry_wait = 0"
  bridge_start
  sse_start
  sse_wait '.type == "bridge" and .agent == "disconnected"' # no agent yet
  lj_run_bg
  sse_wait_expr "$(after_connect 1)"
  assert_eq "$(sse_events | jq -r 'select(.type == "bridge") | .agent' | tr '\n' ' ')" \
    "disconnected connected " "bridge events before the kill"
  kill -KILL "$LJ_PID"
  lj_wait
  sse_wait '.type == "bridge" and .agent == "disconnected"' 2
  assert_eq "$(sse_events | jq -r 'select(.type == "bridge") | .agent' | tr '\n' ' ')" \
    "disconnected connected disconnected " "after the kill"
  send '{"type":"cancel"}'
  assert_eq "$HTTP_STATUS" 503 "no agent to send to"
  rm -f "$CASE/ui.sock" # SIGKILL left it
  lj_run_bg
  sse_wait_expr "$(after_connect 2)"
  assert_eq "$(sse_events | jq -r 'select(.type == "bridge") | .agent' | tr '\n' ' ')" \
    "disconnected connected disconnected connected " "after the restart"
  # each connection starts with the new agent's hello
  assert_eq "$(sse_events | jq -s -r '([.[] | .type == "bridge" and .agent == "connected"] |
    indices(true)) as $c | [.[$c[] + 1].type] | join(" ")')" "hello hello" "hello after each connected"
  send '{"type":"cancel"}'
  assert_eq "$HTTP_STATUS" 202
  lj_wait
  assert_eq "$LJ_RC" 9
}

# One page at a time: a second /events ends the first; it gets the agent's replay.
case_one_page() {
  join_env
  agent_conf "retry_wait = 0"
  lj_run_bg
  bridge_start
  sse_start en "$CASE/sse1.log"
  local first=$SSE_PID
  sse_wait '.type == "prompt"'
  sse_start fr-FR "$CASE/sse2.log"
  for _ in $(seq 100); do kill -0 "$first" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$first" 2>/dev/null && fail "first stream still open"
  sse_wait '.type == "prompt"'
  # the agent's replay (protocol 1: hello, progress, prompt; 2: hello, prompt, progress)
  assert_eq "$(sse_events | jq -r .type | head -2 | tr '\n' ' ')" "bridge hello " "replay starts"
  sse_wait '.type == "progress"'
  grep -q "event=events_opened page=2 locale=fr-FR" "$CASE/bridge.log" || fail "locale not taken"
  send '{"type":"cancel"}'
  lj_wait
}

# The token file: 0600, the token in no log and no argv, removed at exit; exit 0 on SIGTERM.
case_token_file() {
  local rc
  join_env
  agent_conf "signin = password" "username = alice@contoso.example"
  lj_run_bg
  bridge_start
  assert_mode "$CASE/run/token" 600
  [[ $TOKEN =~ ^[0-9a-f]{64}$ ]] || fail "token form: $TOKEN"
  breq "$BR/?t=$TOKEN"
  breq -b "lj_oobe=$TOKEN" "$BR/?x=1"
  breq -H "X-LJ-Token: ${TOKEN:0:60}0000" "$BR/"
  sse_start
  sse_wait '.type == "prompt"'
  send "{\"type\":\"credentials\",\"username\":\"alice@contoso.example\",\"password\":\"$PW\"}"
  sse_wait '.type == "result"'
  lj_wait
  assert_not_contains "$(tr '\0' ' ' <"/proc/$BR_PID/cmdline")" "$TOKEN" "token in the bridge's argv"
  kill -TERM "$BR_PID"
  wait "$BR_PID"
  rc=$?
  assert_eq "$rc" 0 "bridge exit on SIGTERM"
  assert_no_file "$CASE/run/token"
  grep -q "event=request" "$CASE/bridge.log" || fail "no request log lines"
  for f in "$CASE/bridge.log" "$CASE/bridge.out" "$CASE/err.log"; do
    assert_not_contains "$(cat "$f")" "$TOKEN" "token in $f"
    assert_not_contains "$(cat "$f")" "${TOKEN:0:16}" "part of the token in $f"
    assert_not_contains "$(cat "$f")" "$PW" "password in $f"
  done
}

# The kiosk launcher's start page: 0600, redirects to ?t=TOKEN (never on a
# command line), and following it gives the cookie and the page.
case_kiosk_start_page() {
  local kiosk=$LJ_TOP/platform/oobe/kiosk/linkjoin-oobe-kiosk page loc
  bridge_start
  mkdir -p "$CASE/kiosk"
  LINKJOIN_OOBE_URL=$BR/ LINKJOIN_OOBE_TOKEN_FILE=$CASE/run/token LINKJOIN_KIOSK_DIR=$CASE/kiosk \
    sh "$kiosk" prepare || fail "prepare failed"
  page=$CASE/kiosk/linkjoin-oobe-start.html
  assert_mode "$page" 600
  assert_contains "$(cat "$page")" "<meta http-equiv=\"refresh\" content=\"0;url=$BR/?t=$TOKEN\">"
  loc=$(sed -n 's/.*content="0;url=\([^"]*\)".*/\1/p' "$page")
  breq -c "$CASE/jar" "$loc"
  assert_eq "$HTTP_STATUS" 303 "start page's URL"
  breq -b "$CASE/jar" "$BR/"
  assert_eq "$HTTP_STATUS" 200 "with the cookie from the jar"
  # a URL that is not the loopback bridge, or no token: refused, no page
  rm -f "$page"
  LINKJOIN_OOBE_URL=http://evil.example/ LINKJOIN_OOBE_TOKEN_FILE=$CASE/run/token \
    LINKJOIN_KIOSK_DIR=$CASE/kiosk sh "$kiosk" prepare 2>"$CASE/k.err" && fail "foreign URL taken"
  assert_contains "$(cat "$CASE/k.err")" "LINKJOIN_OOBE_URL must be http://127.0.0.1:PORT/"
  echo "not-a-token" >"$CASE/bad-token"
  LINKJOIN_OOBE_URL=$BR/ LINKJOIN_OOBE_TOKEN_FILE=$CASE/bad-token LINKJOIN_KIOSK_DIR=$CASE/kiosk \
    sh "$kiosk" prepare 2>"$CASE/k.err" && fail "bad token file taken"
  assert_contains "$(cat "$CASE/k.err")" "does not hold a token"
  assert_no_file "$page"
  # run: chromium is told only the file:// start page
  assert_contains "$(sed -n '/^run()/,/^}/p' "$kiosk")" '"file://$page"'
  assert_not_contains "$(sed -n '/^run()/,/^}/p' "$kiosk")" 'token'
}

# Every process a case started has ended (lib.sh kills them; the bridge
# must not leave a child or linger after SIGTERM).
case_no_process_left() {
  bridge_start
  sse_start
  sse_wait '.type == "bridge"'
  kill -TERM "$BR_PID"
  for _ in $(seq 100); do kill -0 "$BR_PID" 2>/dev/null || break; sleep 0.05; done
  kill -0 "$BR_PID" 2>/dev/null && fail "bridge still running after SIGTERM"
  for _ in $(seq 100); do kill -0 "$SSE_PID" 2>/dev/null || break; sleep 0.05; done
  kill -0 "$SSE_PID" 2>/dev/null && fail "the event stream did not end"
  true
}

tcase no_token_403 case_no_token
tcase wrong_token_403 case_wrong_token
tcase token_query_sets_cookie_303 case_token_query_cookie_303
tcase wrong_host_403 case_wrong_host
tcase foreign_origin_post_403 case_foreign_origin
tcase listens_on_127_0_0_1_only case_loopback_only
tcase static_assets_known_files_only case_static_assets
tcase index_missing_says_so case_index_missing
tcase password_join_through_send case_password_join
tcase qr_svg_device_code case_qr_device_code
tcase bad_post_bodies_400 case_bad_post_bodies
tcase send_body_wiped_in_mhd_buffer case_send_body_wiped_in_mhd_buffer
tcase agent_restart_disconnected_connected case_agent_restart
tcase one_page_at_a_time case_one_page
tcase token_file_0600_not_logged case_token_file
tcase kiosk_start_page_0600_redirects case_kiosk_start_page
tcase no_process_left case_no_process_left

# Nothing any case started is still running.
left=$(pgrep -af "$LJ_SCRIPT_TMP" | grep -v pgrep || true)
if [ -z "$left" ]; then
  echo "ok - nothing_left_running"
else
  echo "not ok - nothing_left_running"
  echo "# $left"
  LJ_CASES_FAILED=$((LJ_CASES_FAILED + 1))
fi
