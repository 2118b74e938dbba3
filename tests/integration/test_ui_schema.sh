#!/usr/bin/env bash
# test_ui_schema.sh — every event the agent sends matches the OOBE UI
# protocol's JSON Schema (platform/oobe/ui-protocol.schema.json, draft
# 2020-12, checked with Debian's python3-jsonschema by ui_schema_check.py):
# the schema itself, and the transcripts of a full join (stdio, device
# code), a failure (stdio, wrong password), a retry (socket: failure, retry,
# join), a protocol-2 session (socket: hello in German, prompt_closed,
# leaving) and a protocol-2 notice (DRS busy once).  tests/run.sh also checks every transcript the other scripts
# captured (LJ_UI_EVENTS_DIR).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_join.sh"
UI_CLIENT="python3 $LJ_TOP/tests/integration/ui_client.py"
CHECK="/usr/bin/python3 $LJ_TOP/tests/integration/ui_schema_check.py"
CRED_OK='send:{"type":"credentials","username":"alice@contoso.example","password":"Demo-Passw0rd!"}'
CRED_BAD='send:{"type":"credentials","username":"alice@contoso.example","password":"not-the-password"}'

need_jsonschema() {
  /usr/bin/python3 -c 'import jsonschema' 2>/dev/null || fail "python3-jsonschema missing (make deps)"
}

# check_events FILE.. — the transcripts are valid, with at least one event
check_events() {
  $CHECK "$@" >"$CASE/check.txt" 2>&1 || fail "schema: $(cat "$CASE/check.txt")"
}

case_schema_is_draft_2020_12() {
  need_jsonschema
  $CHECK --check-schema >"$CASE/check.txt" 2>&1 || fail "$(cat "$CASE/check.txt")"
  # and it refuses what it must: an unknown member, a v2 event without its texts
  printf '%s\n' '{"type":"progress","phase":"signin","step":"x","percent":20,"extra":1}' >"$CASE/bad1"
  printf '%s\n' '{"type":"leaving","why":"done","exit_code":0}' >"$CASE/bad2"
  printf '%s\n' '{"type":"hello","protocol":2}' >"$CASE/bad3"
  for f in bad1 bad2 bad3; do
    ! $CHECK "$CASE/$f" >"$CASE/$f.out" 2>&1 || fail "$f accepted"
  done
  assert_contains "$(cat "$CASE/bad1.out")" "Additional properties are not allowed"
  assert_contains "$(cat "$CASE/bad2.out")" "'message_id' is a required property"
  # UI -> agent messages
  printf '%s\n' '{"type":"hello","protocol":2,"locale":"de-DE","features":["notice"]}' \
    '{"type":"credentials","username":"a","password":"b"}' '{"type":"retry"}' >"$CASE/ui.jsonl"
  $CHECK --ui "$CASE/ui.jsonl" >"$CASE/check.txt" 2>&1 || fail "$(cat "$CASE/check.txt")"
}

case_full_join_events_valid() {
  local p
  need_jsonschema
  join_env
  # a server that sends verification_uri_complete (RFC 8628 3.2) and its own message
  sim_ctl PATCH /control/login '{"verification_uri_complete":true}' >/dev/null || fail "login settings"
  lj_conf "$CASE/lj.conf"
  run_device_code
  assert_eq "$(jq -r .status <<<"$(result_event)")" joined "result"
  check_events "$CASE/out.jsonl"
  p=$(grep '"kind":"device_code"' "$CASE/out.jsonl")
  assert_eq "$(jq -r .verification_uri_complete <<<"$p")" \
    "https://microsoft.com/devicelogin?otc=$(jq -r .user_code <<<"$p")" "verification_uri_complete ($p)"
  assert_contains "$(jq -r .server_message <<<"$p")" "To sign in, use a web browser"
  assert_eq "$(jq -r .interval <<<"$p")" 1 "interval"
  assert_contains "$(cat "$CASE/out.jsonl")" '"step_id":"mdm.enroll"'
  assert_contains "$(result_event)" '"next_action":{"action":"none"}'
}

case_failure_events_valid() {
  local r
  need_jsonschema
  join_env
  printf 'not-the-password\n' >"$CASE/pw"
  lj_conf "$CASE/lj.conf" "signin = password" "username = alice@contoso.example" "password_file = $CASE/pw"
  lj_run_bg --ui stdio
  lj_wait
  r=$(result_event)
  assert_eq "$(jq -r .reason <<<"$r")" wrong_password "reason ($r)"
  assert_eq "$(jq -r .message_id <<<"$r")" reason.wrong_password "message_id"
  assert_eq "$(jq -r .admin_action_id <<<"$r")" admin.wrong_password "admin_action_id"
  assert_eq "$(jq -r .support.code <<<"$r")" "$(jq -r .code <<<"$r")" "support.code"
  # stdin is /dev/null: no retry is offered
  assert_eq "$(jq -r .retry_until <<<"$r")" null "retry_until"
  check_events "$CASE/out.jsonl"
}

case_retry_events_valid() {
  local r1
  need_jsonschema
  join_env
  lj_conf "$CASE/lj.conf" "ui = socket" "ui_socket = $CASE/ui.sock" "signin = password" \
    "username = alice@contoso.example"
  lj_run_bg
  $UI_CLIENT "$CASE/ui.sock" "$CASE/ui.log" expect:prompt:credentials "$CRED_BAD" expect:result \
    'send:{"type":"retry"}' expect:prompt:credentials "$CRED_OK" expect:result ||
    fail "ui client: $(cat "$CASE/ui.log")"
  lj_wait
  assert_eq "$LJ_RC" 0 "exit status"
  r1=$(grep '"type":"result"' "$CASE/ui.log" | head -1)
  assert_eq "$(jq -r .next_action.action <<<"$r1")" retry_now "first next_action ($r1)"
  assert_ne "$(jq -r .retry_until <<<"$r1")" null "retry_until"
  check_events "$CASE/ui.log"
}

case_v2_hello_events_valid() {
  local log
  need_jsonschema
  join_env
  lj_conf "$CASE/lj.conf" "ui = socket" "ui_socket = $CASE/ui.sock" "signin = password" \
    "username = alice@contoso.example"
  lj_run_bg
  $UI_CLIENT "$CASE/ui.sock" "$CASE/ui.log" \
    'send:{"type":"hello","protocol":2,"locale":"de-DE","features":["notice","prompt_closed"]}' \
    expect:hello expect:prompt:credentials "$CRED_OK" expect:result ||
    fail "ui client: $(cat "$CASE/ui.log")"
  lj_wait
  assert_eq "$LJ_RC" 0 "exit status"
  log=$(cat "$CASE/ui.log")
  assert_contains "$log" '"protocol":2,'
  assert_contains "$log" '"locale":"de"'
  assert_contains "$log" '{"type":"prompt_closed","kind":"credentials","why":"answered"}'
  assert_contains "$(tail -1 "$CASE/ui.log")" '{"type":"leaving","why":"done","exit_code":0,'
  check_events "$CASE/ui.log"
}

# DRS answers 429 once (Retry-After: 1): a v2 client gets the notice with
# retry_in beside the busy step; a v1 client (the stdio transcript of
# test_join_failures' drs_429 case) only the step.
case_v2_busy_notice_valid() {
  local n
  need_jsonschema
  join_env
  sim_ctl POST /control/faults '{"path_prefix":"/EnrollmentServer/device","method":"POST","kind":"status","status":429,"retry_after":1,"count":1}' >/dev/null || fail fault
  lj_conf "$CASE/lj.conf" "ui = socket" "ui_socket = $CASE/ui.sock" "signin = password" \
    "username = alice@contoso.example"
  lj_run_bg
  $UI_CLIENT "$CASE/ui.sock" "$CASE/ui.log" 'send:{"type":"hello","protocol":2,"locale":"fr-FR"}' \
    expect:prompt:credentials "$CRED_OK" expect:notice expect:result ||
    fail "ui client: $(cat "$CASE/ui.log")"
  lj_wait
  assert_eq "$LJ_RC" 0 "exit status"
  n=$(grep '"type":"notice"' "$CASE/ui.log")
  assert_eq "$(jq -r .notice_id <<<"$n")" service_busy "notice ($n)"
  assert_eq "$(jq -r .retry_in <<<"$n")" 1 "retry_in"
  assert_eq "$(jq -r .args.seconds <<<"$n")" 1 "args.seconds"
  assert_contains "$(cat "$CASE/ui.log")" '"step_id":"join.busy"'
  check_events "$CASE/ui.log"
}

tcase schema_is_draft_2020_12 case_schema_is_draft_2020_12
tcase full_join_events_valid case_full_join_events_valid
tcase failure_events_valid case_failure_events_valid
tcase retry_events_valid case_retry_events_valid
tcase v2_hello_events_valid case_v2_hello_events_valid
tcase v2_busy_notice_valid case_v2_busy_notice_valid
