#!/usr/bin/env bash
# test_faults.sh — the fault matrix (issue 7): for each phase (sign-in
# device code, sign-in token, discovery, join) and each fault entra-sim can
# inject, the agent ends in a defined result (the exact reason, code, exit
# status and phase below) by itself, within a bound, without storing a
# partial result: no certificate, no `joined` marker, journal below joined.
#
# Timeouts are short in these tests (connect_timeout = 2, request_timeout =
# 3) so a delay past them is quick; every run is wrapped in `timeout` with a
# generous bound (README "Bounded time") and must exit by itself: timeout's
# own 124/137 is a failure.  One TAP line per phase x fault.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_join.sh"

# Phase -> signin method, path prefix, method.
phase_signin() { case $1 in devicecode) echo device_code ;; *) echo password ;; esac; }
phase_prefix() {
  case $1 in
    devicecode) echo /contoso.example/oauth2/devicecode ;;
    token) echo /contoso.example/oauth2/token ;;
    discover) echo /contoso.example/Discover ;;
    join) echo /EnrollmentServer/device ;;
  esac
}

# fault name -> control API fault body (path_prefix added by the runner).
fault_json() {
  case $1 in
    delay) echo "\"kind\":\"delay\",\"delay_ms\":$DELAY_MS" ;;
    drop) echo '"kind":"drop"' ;;
    close) echo '"kind":"close","count":10' ;;
    500) echo '"kind":"status","status":500,"count":10' ;;
    503) echo '"kind":"status","status":503,"retry_after":1,"count":10' ;;
    429_retry_after) echo '"kind":"status","status":429,"retry_after":1,"count":10' ;;
    429_retry_after_long) echo '"kind":"status","status":429,"retry_after":3600,"count":10' ;;
    429_no_retry_after) echo '"kind":"status","status":429,"count":10' ;;
    malformed) echo '"kind":"malformed"' ;;
    oversized) echo '"kind":"oversized","size":4194304' ;;
    content_type) echo '"kind":"content_type"' ;;
    html) echo '"kind":"html"' ;;
    wrong_cert) echo '"kind":"wrong_cert"' ;;
  esac
}

# Under valgrind everything is ~20x slower: longer timeouts (and a longer
# delay past them) keep each fault in its phase; the bounds scale too.
BOUND_MUL=1 CT=2 RT=3 DELAY_MS=8000
[ -z "${LJ_VALGRIND:-}" ] || { BOUND_MUL=6; CT=20; RT=25; DELAY_MS=60000; }

# run_fault PHASE FAULT REASON CODE EXIT BOUND_S [DEVICES]
run_fault() {
  local phase=$1 fault=$2 want_reason=$3 want_code=$4 want_exit=$5 bound=$(( $6 * BOUND_MUL ))
  local want_dev=${7:-0} method=POST r code cmd again=
  # "1x": the simulator's object keeps the foreign certificate (ReuseDevice
  # hands it out again), so the next run must refuse it again.
  [ "$want_dev" = 1x ] && { want_dev=1; again=refuse; }
  [ "$want_dev" = 1 ] && [ -z "$again" ] && again=join
  [ "$phase" = discover ] && method=GET
  join_env
  sim_ctl PATCH /control/login '{"device_code_interval":0}' >/dev/null || fail "login settings"
  printf 'Demo-Passw0rd!\n' >"$CASE/pw"
  if [ "$(phase_signin "$phase")" = password ]; then
    lj_conf "$CASE/lj.conf" "signin = password" "username = alice@contoso.example" \
      "password_file = $CASE/pw" "request_timeout = $RT"
  else
    lj_conf "$CASE/lj.conf" "signin = device_code" "request_timeout = $RT"
  fi
  sed -i "s/^connect_timeout = .*/connect_timeout = $CT/" "$CASE/lj.conf"
  sim_ctl POST /control/faults "{\"path_prefix\":\"$(phase_prefix "$phase")\",\"method\":\"$method\",$(fault_json "$fault")}" >/dev/null ||
    fail "fault refused"
  cmd=("$LINKJOIN")
  [ -z "${LJ_VALGRIND:-}" ] || cmd=(valgrind -q --error-exitcode=99 --leak-check=full
    --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect "$LINKJOIN")
  if [ "$(phase_signin "$phase")" = device_code ]; then
    # approve whatever code shows up, in the background
    ( for _ in $(seq 600); do
        code=$(grep '"kind":"device_code"' "$CASE/out.jsonl" 2>/dev/null | jq -r .user_code)
        [ -n "$code" ] && { approve "$code"; exit 0; }
        sleep 0.1
      done ) &
    track_pid $!
  fi
  : >"$CASE/out.jsonl"
  timeout -k 5 "$bound" "${cmd[@]}" run --config "$CASE/lj.conf" --ui stdio \
    >"$CASE/out.jsonl" 2>"$CASE/err.log" </dev/null
  LJ_RC=$?
  [ "$LJ_RC" != 124 ] && [ "$LJ_RC" != 137 ] || fail "the agent did not exit by itself within ${bound}s"
  r=$(result_event)
  if [ -n "${FAULTS_DISCOVER:-}" ]; then
    echo "DISCOVER $phase $fault rc=$LJ_RC $(jq -c '{status,phase,reason,code}' <<<"$r") devices=$(sim_devices)" >&2
    exit 1
  fi
  assert_eq "$(grep -c '"type":"result"' "$CASE/out.jsonl")" 1 "exactly one result"
  if [ "$want_reason" = joined ]; then
    # A correct body under a wrong Content-Type label: the content itself
    # is verified (JSON shape, certificate key), so it is accepted.
    assert_eq "$(jq -r .status <<<"$r")" joined "status ($r)"
    assert_eq "$LJ_RC" 0 "exit status"
    assert_eq "$(sim_devices)" 1 "device objects"
    return 0
  fi
  assert_eq "$(jq -r .status <<<"$r")" failed "status ($r)"
  assert_eq "$(jq -r .reason <<<"$r")" "$want_reason" "reason ($r)"
  assert_eq "$(jq -r .code <<<"$r")" "$want_code" "code"
  assert_eq "$(jq -r .phase <<<"$r")" "$phase_want" "phase"
  assert_eq "$LJ_RC" "$want_exit" "exit status"
  # discovery of the configured domain runs before sign-in: nobody was asked
  # for a credential or a code
  if [ "$phase" = discover ]; then
    assert_not_contains "$(cat "$CASE/out.jsonl")" '"type":"prompt"' "a prompt before the discovery failure"
  fi
  # nothing partial stored
  assert_no_file "$CASE/state/device-cert.der"
  assert_no_file "$CASE/state/joined"
  assert_rc 12 lj status ${TCTI:+--tcti "$TCTI"} --json --state-dir "$CASE/state"
  assert_eq "$(jq -r .joined <<<"$OUT")" false "status joined"
  assert_eq "$(jq -r .last_error.reason <<<"$OUT")" "$want_reason" "status last_error"
  assert_eq "$(sim_devices)" "$want_dev" "device objects"
  kill -0 "$SIM_PID" || fail "simulator died"
  # The simulator made the device object before the fault broke its answer:
  # the next run (fault gone) reuses it (same key, ReuseDevice).
  if [ -n "$again" ]; then
    lj_run_bg --ui stdio
    lj_wait
    if [ "$again" = join ]; then
      assert_eq "$LJ_RC" 0 "the next run joins ($(tail -3 "$CASE/err.log"))"
    else
      assert_eq "$LJ_RC" "$want_exit" "the next run refuses the foreign certificate again"
      assert_no_file "$CASE/state/device-cert.der"
    fi
    assert_eq "$(sim_devices)" 1 "still one device object"
  fi
}

# phase | fault | reason | code | exit | bound (s) | devices left in the sim
# (a join the simulator completed before the fault hit leaves its object;
# the next run reuses it through ReuseDevice, see test_crash.sh)
MATRIX="
devicecode delay                network_unreachable  0x80072efd  5 30
devicecode drop                 network_unreachable  0x80072efd  5 30
devicecode close                network_unreachable  0x80072efd  5 30
devicecode 500                  service_unavailable  AADSTS90033 5 30
devicecode 503                  service_unavailable  AADSTS90033 5 30
devicecode 429_retry_after      service_unavailable  AADSTS50196 5 30
devicecode 429_no_retry_after   service_unavailable  AADSTS50196 5 30
devicecode malformed            bad_service_response 0x801c0001  8 30
devicecode oversized            bad_service_response 0x801c0001  8 30
devicecode content_type         joined               -           0 30 1
devicecode html network_intercepted  0x8007000d  5 30
token      delay                network_unreachable  0x80072efd  5 30
token      drop                 network_unreachable  0x80072efd  5 30
token      close                network_unreachable  0x80072efd  5 30
token      500                  service_unavailable  AADSTS90033 5 30
token      503                  service_unavailable  AADSTS90033 5 30
token      429_retry_after      service_unavailable  AADSTS50196 5 30
token      429_no_retry_after   service_unavailable  AADSTS50196 5 30
token      malformed            bad_service_response 0x801c0001  8 30
token      oversized            bad_service_response 0x801c0001  8 30
token      content_type         joined               -           0 30 1
token html network_intercepted  0x8007000d  5 30
discover   delay                network_unreachable  0x80072efd  5 30
discover   drop                 network_unreachable  0x80072efd  5 30
discover   close                network_unreachable  0x80072efd  5 30
discover   500                  service_unavailable  0x801c0025  5 30
discover   503                  service_unavailable  0x801c0025  5 30
discover   429_retry_after      service_unavailable  0x801c0025  5 30
discover   429_no_retry_after   service_unavailable  0x801c0025  5 30
discover   malformed            bad_service_response 0x801c0001  8 30
discover   oversized            bad_service_response 0x801c0001  8 30
discover   content_type         joined               -           0 30 1
discover html network_intercepted  0x8007000d  5 30
join       delay                network_unreachable  0x80072efd  5 60
join       drop                 network_unreachable  0x80072efd  5 60 1
join       close                network_unreachable  0x80072efd  5 60
join       500                  service_unavailable  0x801c0025  5 60
join       503                  service_unavailable  0x801c0025  5 60
join       429_retry_after      service_unavailable  0x801c0025  5 60
join       429_retry_after_long service_unavailable  0x801c0025  5 60
join       429_no_retry_after   service_unavailable  0x801c0025  5 60
join       malformed            bad_service_response 0x801c0001  8 60 1
join       oversized            bad_service_response 0x801c0001  8 60 1
join       content_type         joined               -           0 60 1
join       html                 network_intercepted  0x8007000d  5 60 1
join       wrong_cert           bad_service_response 0x801c0001  8 60 1x
"

if [ -n "${FAULTS_DISCOVER:-}" ]; then
  MATRIX=$(for p in ${FAULTS_PHASES:-devicecode token discover join}; do
    for f in delay drop close 500 503 429_retry_after 429_retry_after_long 429_no_retry_after malformed oversized content_type html wrong_cert; do
      [ $f = wrong_cert ] && [ $p != join ] && continue
      echo "$p $f x x 0 120"
    done; done)
fi
while read -r phase fault reason code ex bound dev; do
  [ -n "$phase" ] || continue
  case $phase in devicecode|token) phase_want=signin ;; *) phase_want=$phase ;; esac
  eval "case_${phase}_${fault}() { phase_want=$phase_want; run_fault $phase $fault $reason $code $ex $bound ${dev:-0}; }"
  tcase "${phase}_${fault}" "case_${phase}_${fault}"
done <<<"$MATRIX"
