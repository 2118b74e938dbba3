#!/usr/bin/env bash
# test_retry.sh — the UI's `retry`: after a result that is not a success the
# agent waits (retry_wait) for retry or cancel and, on retry, runs the whole
# flow again in the same process; retry while it is still working, other
# messages while it waits, the window running out and stdin closing.
# Driven by tests/integration/ui_client.py over the UI socket.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_join.sh"
UI_CLIENT="python3 $LJ_TOP/tests/integration/ui_client.py"
CRED_OK='send:{"type":"credentials","username":"alice@contoso.example","password":"Demo-Passw0rd!"}'
CRED_BAD='send:{"type":"credentials","username":"alice@contoso.example","password":"not-the-password"}'

socket_conf() {
  lj_conf "$CASE/lj.conf" "ui = socket" "ui_socket = $CASE/ui.sock" "$@"
}

# The n-th result event of the UI transcript (1-based).
nth_result() { grep '"type":"result"' "$CASE/ui.log" | sed -n "${1}p"; }

case_retry_after_wrong_password() {
  local r1 r2
  join_env
  socket_conf "signin = password" "username = alice@contoso.example"
  lj_run_bg
  $UI_CLIENT "$CASE/ui.sock" "$CASE/ui.log" expect:prompt:credentials "$CRED_BAD" expect:result \
    'send:{"type":"retry"}' expect:prompt:credentials "$CRED_OK" expect:result ||
    fail "ui client: $(cat "$CASE/ui.log")"
  lj_wait
  r1=$(nth_result 1) r2=$(nth_result 2)
  assert_eq "$(jq -r .status <<<"$r1")" failed "first result ($r1)"
  assert_eq "$(jq -r .reason <<<"$r1")" wrong_password "first reason"
  assert_eq "$(jq -r .fix_by <<<"$r1")" user "first fix_by"
  assert_eq "$(jq -r .status <<<"$r2")" joined "second result ($r2)"
  assert_eq "$(grep -c '"type":"result"' "$CASE/ui.log")" 2 "two results"
  assert_eq "$(grep -c '"type":"hello"' "$CASE/ui.log")" 1 "one hello for the whole run"
  assert_contains "$(cat "$CASE/ui.log")" '"step":"Trying again"'
  assert_eq "$LJ_RC" 0 "exit status"
  assert_eq "$(sim_devices)" 1 "device objects"
  assert_contains "$(cat "$CASE/err.log")" "event=retry attempt=2"
  assert_not_contains "$(cat "$CASE/err.log" "$CASE/ui.log" "$CASE/state/journal.json")" "not-the-password"
  # the journal no longer carries the first attempt's error
  assert_eq "$(jq -r .state "$CASE/state/journal.json")" mdm_enrolled "journal state"
}

case_reconnect_after_retry_sees_only_this_attempt() {
  join_env
  socket_conf "signin = password" "username = alice@contoso.example"
  lj_run_bg
  $UI_CLIENT "$CASE/ui.sock" "$CASE/ui1.log" expect:prompt:credentials "$CRED_BAD" expect:result \
    'send:{"type":"retry"}' expect:prompt:credentials quit || fail "ui client 1: $(cat "$CASE/ui1.log")"
  # a restarted UI is sent hello, the last progress and the new prompt, not the old result
  $UI_CLIENT "$CASE/ui.sock" "$CASE/ui.log" expect:prompt:credentials "$CRED_OK" expect:result ||
    fail "ui client 2: $(cat "$CASE/ui.log")"
  lj_wait
  assert_eq "$(grep -c '"type":"result"' "$CASE/ui.log")" 1 "results shown to the restarted UI"
  assert_eq "$(jq -r .status <<<"$(nth_result 1)")" joined "its result"
  assert_eq "$(grep -c '"type":"hello"' "$CASE/ui.log")" 1 "hello again"
  assert_eq "$LJ_RC" 0 "exit status"
}

case_retry_after_service_unavailable() {
  local r1
  join_env
  printf 'Demo-Passw0rd!\n' >"$CASE/pw"
  socket_conf "signin = password" "username = alice@contoso.example" "password_file = $CASE/pw"
  sim_ctl POST /control/faults \
    '{"path_prefix":"/contoso.example/discover","method":"GET","kind":"status","status":503,"count":1}' \
    >/dev/null || fail "fault refused"
  lj_run_bg
  $UI_CLIENT "$CASE/ui.sock" "$CASE/ui.log" expect:result 'send:{"type":"retry"}' expect:result ||
    fail "ui client: $(cat "$CASE/ui.log")"
  lj_wait
  r1=$(nth_result 1)
  assert_eq "$(jq -r .reason <<<"$r1")" service_unavailable "first reason ($r1)"
  assert_eq "$(jq -r .retryable <<<"$r1")" true "first result retryable"
  assert_eq "$(jq -r .status <<<"$(nth_result 2)")" joined "second result"
  assert_eq "$LJ_RC" 0 "exit status"
  assert_eq "$(sim_devices)" 1 "device objects"
}

case_retry_while_working_is_not_expected() {
  join_env
  socket_conf
  lj_run_bg
  $UI_CLIENT "$CASE/ui.sock" "$CASE/ui.log" expect:prompt:device_code \
    'send:{"type":"retry"}' expect:error 'send:{"type":"cancel"}' expect:result ||
    fail "ui client: $(cat "$CASE/ui.log")"
  lj_wait
  assert_contains "$(grep '"type":"error"' "$CASE/ui.log")" '"error":"not_expected"'
  assert_eq "$(jq -r .status <<<"$(result_event "$CASE/ui.log")")" cancelled "result"
  assert_eq "$LJ_RC" 9 "exit status"
}

case_cancel_while_waiting_for_retry() {
  join_env
  socket_conf "signin = password" "username = alice@contoso.example"
  lj_run_bg
  # credentials nobody asked for get not_expected; cancel ends the wait
  $UI_CLIENT "$CASE/ui.sock" "$CASE/ui.log" expect:prompt:credentials "$CRED_BAD" expect:result \
    "$CRED_OK" expect:error 'send:{"type":"cancel"}' ||
    fail "ui client: $(cat "$CASE/ui.log")"
  lj_wait
  assert_contains "$(grep '"type":"error"' "$CASE/ui.log")" '"error":"not_expected"'
  assert_eq "$(grep -c '"type":"result"' "$CASE/ui.log")" 1 "one result"
  assert_eq "$LJ_RC" 9 "exit status (cancelled)"
  assert_contains "$(cat "$CASE/err.log")" "event=retry_wait_ended reason=cancel"
  assert_eq "$(sim_devices)" 0 "device objects"
  assert_not_contains "$(cat "$CASE/err.log" "$CASE/ui.log")" "Demo-Passw0rd!"
}

case_retry_window_over() {
  join_env
  socket_conf "signin = password" "username = alice@contoso.example" "retry_wait = 1"
  lj_run_bg
  $UI_CLIENT "$CASE/ui.sock" "$CASE/ui.log" expect:prompt:credentials "$CRED_BAD" expect:result ||
    fail "ui client: $(cat "$CASE/ui.log")"
  lj_wait
  assert_eq "$LJ_RC" 6 "exit status (the failure's)"
  assert_contains "$(cat "$CASE/err.log")" "event=retry_wait_ended reason=window_over"
}

case_sigterm_ends_the_wait() {
  join_env
  socket_conf "signin = password" "username = alice@contoso.example"
  lj_run_bg
  $UI_CLIENT "$CASE/ui.sock" "$CASE/ui.log" expect:prompt:credentials "$CRED_BAD" expect:result quit ||
    fail "ui client: $(cat "$CASE/ui.log")"
  for _ in $(seq 100); do
    grep -q "event=waiting_for_retry" "$CASE/err.log" && break
    sleep 0.1
  done
  kill -TERM "$LJ_PID"
  lj_wait
  assert_eq "$LJ_RC" 6 "exit status (the failure's, not cancelled)"
  assert_contains "$(cat "$CASE/err.log")" "event=retry_wait_ended reason=signal"
  assert_no_file "$CASE/ui.sock"
}

case_retry_wait_zero_exits_at_once() {
  join_env
  socket_conf "signin = password" "username = alice@contoso.example" "retry_wait = 0"
  lj_run_bg
  $UI_CLIENT "$CASE/ui.sock" "$CASE/ui.log" expect:prompt:credentials "$CRED_BAD" expect:result ||
    fail "ui client: $(cat "$CASE/ui.log")"
  lj_wait
  assert_eq "$LJ_RC" 6 "exit status"
  assert_contains "$(cat "$CASE/err.log")" "event=retry_not_offered reason=retry_wait_0"
}

case_stdio_closed_ends_the_wait() {
  join_env
  printf 'not-the-password\n' >"$CASE/pw"
  # default retry_wait (900 s): stdin is /dev/null, so nobody can send retry
  lj_conf "$CASE/lj.conf" "signin = password" "username = alice@contoso.example" \
    "password_file = $CASE/pw"
  timeout -k 5 120 "$LINKJOIN" run --config "$CASE/lj.conf" --ui stdio \
    >"$CASE/out.jsonl" 2>"$CASE/err.log" </dev/null
  LJ_RC=$?
  assert_eq "$LJ_RC" 6 "exit status"
  # the flow already read stdin's end: no wait at all
  assert_contains "$(cat "$CASE/err.log")" "event=retry_not_offered reason=ui_cannot_send"
}

case_stdio_retry() {
  # stdio UI: retry arrives on stdin after the first result
  join_env
  printf 'Demo-Passw0rd!\n' >"$CASE/pw"
  lj_conf "$CASE/lj.conf" "signin = password" "username = alice@contoso.example" \
    "password_file = $CASE/pw"
  sim_ctl POST /control/faults \
    '{"path_prefix":"/contoso.example/discover","method":"GET","kind":"status","status":503,"count":1}' \
    >/dev/null || fail "fault refused"
  mkfifo "$CASE/in"
  "$LINKJOIN" run --config "$CASE/lj.conf" --ui stdio <"$CASE/in" >"$CASE/out.jsonl" \
    2>"$CASE/err.log" &
  LJ_PID=$!
  track_pid "$LJ_PID"
  exec 7>"$CASE/in"
  wait_event '"type":"result"' || fail "no first result: $(cat "$CASE/out.jsonl")"
  echo '{"type":"retry"}' >&7
  for _ in $(seq 600); do
    [ "$(grep -c '"type":"result"' "$CASE/out.jsonl")" = 2 ] && break
    kill -0 "$LJ_PID" 2>/dev/null || break
    sleep 0.1
  done
  exec 7>&-
  lj_wait
  assert_eq "$(grep -c '"type":"result"' "$CASE/out.jsonl")" 2 "two results"
  assert_eq "$(jq -r .status <<<"$(result_event)")" joined "second result"
  assert_eq "$LJ_RC" 0 "exit status"
}

tcase retry_after_wrong_password case_retry_after_wrong_password
tcase reconnect_after_retry_sees_only_this_attempt case_reconnect_after_retry_sees_only_this_attempt
tcase retry_after_service_unavailable case_retry_after_service_unavailable
tcase retry_while_working_is_not_expected case_retry_while_working_is_not_expected
tcase cancel_while_waiting_for_retry case_cancel_while_waiting_for_retry
tcase retry_window_over case_retry_window_over
tcase sigterm_ends_the_wait case_sigterm_ends_the_wait
tcase retry_wait_zero_exits_at_once case_retry_wait_zero_exits_at_once
tcase stdio_closed_ends_the_wait case_stdio_closed_ends_the_wait
tcase stdio_retry case_stdio_retry
