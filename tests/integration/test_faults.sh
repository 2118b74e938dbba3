#!/usr/bin/env bash
# test_faults.sh — the fault matrix: for each phase (sign-in
# device code, sign-in token, discovery, join) and each fault entra-sim can
# inject, the agent ends in a defined result (the exact reason, code, exit
# status and phase below) by itself, within a bound, without storing a
# partial result: no certificate, no `joined` marker, journal below joined.
# The Intune rows (run_mdm_fault, MDM_MATRIX) fault each Intune step after a
# successful join: the device stays joined, the result is joined_mdm_pending
# (exit 11) or joined with mdm.state failed (exit 8), no MDM certificate.
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
    discover) echo /contoso.example/discover ;;
    join) echo /EnrollmentServer/device ;;
    mdm_discover) echo /EnrollmentServer/Discovery.svc ;;
    mdm_policy) echo /StatelessEnrollmentService/EnrollmentPolicy.svc ;;
    mdm_enroll) echo /StatelessEnrollmentService/DeviceEnrollment.svc ;;
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

# ---- Intune (after a successful join) -------------------------------------
#
# The same faults on each Intune step (MS-MDE2 discovery, XCEP policy, WSTEP
# enrollment), every time the step is asked (count 10: the flow's retries
# meet the fault too).  The join itself succeeds first; then, per the design
# note "Intune" in agent/flow/flow.c:
#   pending  transient (transport, 5xx, 429, HTML interception): result
#            joined_mdm_pending, exit 11, journal mdm_pending, the refresh
#            token kept sealed, after at most LJ_FLOW_MDM_MAX_ATTEMPTS
#            enrollment sequences;
#   failed   a bad answer: result joined with mdm.state failed and the
#            reason, exit of the reason, journal joined, nothing kept;
#   enrolled the fault did not stop a correct enrollment (GetPolicies is best
#            effort: an answer that is a fault, another status or unreadable
#            is logged and the RST goes on with RSA-2048 / SHA-256; agent/flow/
#            enroll.c mdm_policy_step).
# Always: the device stays joined (joined marker, journal, the certificate
# the join stored, one device object) and no MDM certificate or chain is
# stored unless enrolled.
SEALED=mdm-refresh.sealed
MGMT_URL=https://r.manage.microsoft.com/devicegatewayproxy/cimhandler.ashx

sha_of() { sha256sum <"$1" | cut -c1-64; }

# run_mdm_fault STEP FAULT OUTCOME REASON CODE EXIT BOUND_S ATTEMPTS ENROLLMENTS
run_mdm_fault() {
  local phase=$1 fault=$2 outcome=$3 want_reason=$4 want_code=$5 want_exit=$6
  local bound=$(( $7 * BOUND_MUL )) want_attempts=$8 want_enr=$9 r cmd cert_sha st fj dev enr_id
  join_env
  sim_ctl PUT /control/intune "{\"mdm_user_scope\":\"all\",\"windows\":\"allowed\",
    \"block_personally_owned\":false,\"corporate_identifiers\":[],\"device_limit\":5,
    \"policy_service\":true,\"management_url\":\"$MGMT_URL\"}" >/dev/null ||
    fail "cannot set Intune settings"
  printf 'Demo-Passw0rd!\n' >"$CASE/pw"
  lj_conf "$CASE/lj.conf" "signin = password" "username = alice@contoso.example" \
    "password_file = $CASE/pw" "request_timeout = $RT"
  sed -i "s/^connect_timeout = .*/connect_timeout = $CT/" "$CASE/lj.conf"
  fj=$(fault_json "$fault" | sed 's/,"count":[0-9]*//')
  sim_ctl POST /control/faults "{\"path_prefix\":\"$(phase_prefix "$phase")\",\"method\":\"POST\",$fj,\"count\":10}" >/dev/null ||
    fail "fault refused"
  cmd=("$LINKJOIN")
  [ -z "${LJ_VALGRIND:-}" ] || cmd=(valgrind -q --error-exitcode=99 --leak-check=full
    --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect "$LINKJOIN")
  timeout -k 5 "$bound" "${cmd[@]}" run --config "$CASE/lj.conf" --ui stdio \
    >"$CASE/out.jsonl" 2>"$CASE/err.log" </dev/null
  LJ_RC=$?
  [ "$LJ_RC" != 124 ] && [ "$LJ_RC" != 137 ] || fail "the agent did not exit by itself within ${bound}s"
  r=$(result_event)
  if [ -n "${FAULTS_DISCOVER:-}" ]; then
    echo "DISCOVER $phase $fault rc=$LJ_RC $(jq -c '{status,phase,reason,code,mdm}' <<<"$r") devices=$(sim_devices) attempts=$(sim_ctl GET "/control/requests?path_prefix=$(phase_prefix "$phase")" | jq length)" >&2
    exit 1
  fi
  assert_eq "$(grep -c '"type":"result"' "$CASE/out.jsonl")" 1 "exactly one result"
  assert_eq "$LJ_RC" "$want_exit" "exit status ($r $(tail -3 "$CASE/err.log"))"
  # joined whatever Intune did: marker, journal, the join's certificate
  assert_file "$CASE/state/joined"
  assert_file "$CASE/state/device-cert.der"
  cert_sha=$(sha_of "$CASE/state/device-cert.der")
  assert_eq "$(jq -r .device_id <<<"$r")" "$(jq -r .device_id "$CASE/state/journal.json")" "device id"
  assert_eq "$(sim_devices)" 1 "device objects"
  dev=$(sim_ctl GET "/control/devices/$(jq -r .device_id <<<"$r")") || fail "no device object"
  assert_eq "$(jq -r .device_id <<<"$dev")" "$(jq -r .device_id <<<"$r")" "the device object is the journal's"
  assert_eq "$(jq -r .thumbprint <<<"$dev" | tr a-f A-F)" \
    "$(openssl x509 -inform DER -in "$CASE/state/device-cert.der" -noout -fingerprint -sha1 |
      cut -d= -f2 | tr -d : | tr a-f A-F)" "the stored certificate is the device object's"
  kill -0 "$SIM_PID" || fail "simulator died"
  [ "$want_attempts" = - ] ||
    assert_eq "$(sim_ctl GET "/control/requests?path_prefix=$(phase_prefix "$phase")" | jq length)" \
      "$want_attempts" "requests to $(phase_prefix "$phase") (retry bound)"
  case $outcome in
    enrolled)
      assert_eq "$(jq -r .status <<<"$r")" joined "status ($r)"
      assert_eq "$(jq -r .mdm.state <<<"$r")" enrolled "mdm.state"
      assert_file "$CASE/state/mdm-cert.der"
      assert_no_file "$CASE/state/$SEALED"
      assert_rc 0 lj status --json --state-dir "$CASE/state"
      assert_eq "$(jq -r .state <<<"$OUT")" mdm_enrolled "journal state"
      return 0 ;;
    pending)
      assert_eq "$(jq -r .status <<<"$r")" joined_mdm_pending "status ($r)"
      assert_eq "$(jq -r .mdm.state <<<"$r")" pending "mdm.state"
      assert_eq "$(jq -r .retryable <<<"$r")" true "retryable"
      st=11 ;;
    failed)
      assert_eq "$(jq -r .status <<<"$r")" joined "status ($r)"
      assert_eq "$(jq -r .mdm.state <<<"$r")" failed "mdm.state"
      assert_eq "$(jq -r .retryable <<<"$r")" false "retryable"
      # mdm = required (the default): joined but not managed is not complete;
      # status exits as run did
      assert_eq "$(jq -r .setup_complete <<<"$r")" false "setup_complete"
      st=$LJ_RC ;;
    *) fail "bad outcome $outcome" ;;
  esac
  assert_eq "$(jq -r .phase <<<"$r")" mdm "phase"
  assert_eq "$(jq -r .reason <<<"$r")" "$want_reason" "reason ($r)"
  assert_eq "$(jq -r .code <<<"$r")" "$want_code" "code"
  # nothing partial stored
  assert_no_file "$CASE/state/mdm-cert.der"
  assert_no_file "$CASE/state/mdm-chain.pem"
  assert_eq "$(sim_ctl GET /control/enrollments | jq length)" "$want_enr" "sim enrollments"
  assert_rc "$st" lj status ${TCTI:+--tcti "$TCTI"} --json --state-dir "$CASE/state"
  assert_eq "$(jq -r .joined <<<"$OUT")" true "status joined"
  assert_eq "$(jq -r .cert_valid <<<"$OUT")" true "status cert_valid"
  assert_eq "$(jq -r .keys_state <<<"$OUT")" ok "status keys_state"
  assert_eq "$(jq -r .last_error.reason <<<"$OUT")" "$want_reason" "status last_error"
  assert_eq "$(jq -r .last_error.phase <<<"$OUT")" mdm "status last_error.phase"
  if [ "$outcome" = pending ]; then
    assert_eq "$(jq -r .state <<<"$OUT")" mdm_pending "journal state"
    assert_eq "$(jq -r .mdm_state <<<"$OUT")" pending "status mdm_state"
    assert_file "$CASE/state/mdm-pending"
    assert_file "$CASE/state/$SEALED"
  else
    assert_eq "$(jq -r .state <<<"$OUT")" joined "journal state"
    assert_eq "$(jq -r .mdm_state <<<"$OUT")" failed "status mdm_state"
    assert_no_file "$CASE/state/mdm-pending"
    assert_no_file "$CASE/state/$SEALED"
  fi
  assert_eq "$(sha_of "$CASE/state/device-cert.der")" "$cert_sha" "device certificate unchanged"
  kill -0 "$SIM_PID" || fail "simulator died"
  # Intune enrolled the device before the fault broke its answer: the next
  # run (fault gone) enrolls again, without a new join, and Intune keeps
  # one enrollment with the same Intune device id.
  if [ "$want_enr" = 1 ]; then
    enr_id=$(sim_ctl GET /control/enrollments | jq -r '.[0].id')
    sim_ctl DELETE /control/faults >/dev/null
    mv "$CASE/out.jsonl" "$CASE/out-fault.jsonl"
    lj_run_bg --ui stdio
    lj_wait
    r=$(result_event)
    assert_eq "$LJ_RC" 0 "the next run enrolls ($r $(tail -3 "$CASE/err.log"))"
    assert_eq "$(jq -r .mdm.state <<<"$r")" enrolled "mdm.state of the next run"
    assert_eq "$(sim_ctl GET /control/enrollments | jq length)" 1 "still one enrollment"
    assert_eq "$(sim_ctl GET /control/enrollments | jq -r '.[0].id')" "$enr_id" "Intune device id kept"
    assert_eq "$(openssl x509 -inform DER -in "$CASE/state/mdm-cert.der" -noout -subject -nameopt RFC2253 |
      sed 's/^subject=CN=//')" "$enr_id" "MDM certificate names the Intune device id"
    assert_eq "$(sim_devices)" 1 "still one device object"
    assert_eq "$(sha_of "$CASE/state/device-cert.der")" "$cert_sha" "device certificate unchanged"
  fi
}

# phase | fault | reason | code | exit | bound (s) | devices left in the sim
# (a join the simulator completed before the fault hit leaves its object;
# the next run reuses it through ReuseDevice, see test_crash.sh)
MATRIX="
devicecode delay                network_unreachable  0x80072ee2  5 30
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
token      delay                network_unreachable  0x80072ee2  5 30
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
discover   delay                network_unreachable  0x80072ee2  5 30
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
join       delay                network_unreachable  0x80072ee2  5 60
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
  [ -z "${FAULTS_ONLY:-}" ] || [[ ${phase}_${fault} =~ $FAULTS_ONLY ]] || continue
  case $phase in devicecode|token) phase_want=signin ;; *) phase_want=$phase ;; esac
  eval "case_${phase}_${fault}() { phase_want=$phase_want; run_fault $phase $fault $reason $code $ex $bound ${dev:-0}; }"
  tcase "${phase}_${fault}" "case_${phase}_${fault}"
done <<<"$MATRIX"

# Intune step | fault | outcome | reason | code (the server's HRESULT when
# it sent a SOAP fault: InternalServiceFault, InMaintenance, EnrollmentServer;
# else Windows' 0x80180010) | exit | bound (s) | requests to the step (3 =
# the retry bound of LJ_FLOW_MDM_MAX_ATTEMPTS sequences; "-": not counted:
# a delayed request is logged only when it is answered, and libcurl resends
# a request once on a reused connection closed without an answer) |
# enrollments Intune holds afterwards (1: it enrolled the device before the
# fault broke its answer; the next run must then enroll with that record)
MDM_MATRIX="
mdm_discover delay                pending  joined_mdm_pending   0x80180010 11 90 - 0
mdm_discover drop                 pending  joined_mdm_pending   0x80180010 11 90 3 0
mdm_discover 500                  pending  joined_mdm_pending   0x80180006 11 90 3 0
mdm_discover 503                  pending  joined_mdm_pending   0x80180017 11 90 3 0
mdm_discover 429_retry_after      pending  joined_mdm_pending   0x80180005 11 90 3 0
mdm_discover 429_retry_after_long pending  joined_mdm_pending   0x80180005 11 90 1 0
mdm_discover malformed            failed   bad_service_response 0x80180001 8  90 1 0
mdm_discover oversized            failed   bad_service_response 0x80180001 8  90 1 0
mdm_discover html                 pending  joined_mdm_pending   0x80180010 11 90 3 0
mdm_policy   delay                pending  joined_mdm_pending   0x80180010 11 90 - 0
mdm_policy   drop                 pending  joined_mdm_pending   0x80180010 11 90 3 0
mdm_policy   500                  enrolled -                    -          0  90 1 1
mdm_policy   503                  enrolled -                    -          0  90 1 1
mdm_policy   429_retry_after      enrolled -                    -          0  90 1 1
mdm_policy   malformed            enrolled -                    -          0  90 1 1
mdm_policy   oversized            failed   bad_service_response 0x80180001 8  90 1 0
mdm_policy   html                 enrolled -                    -          0  90 1 1
mdm_enroll   delay                pending  joined_mdm_pending   0x80180010 11 90 - 1
mdm_enroll   drop                 pending  joined_mdm_pending   0x80180010 11 90 3 1
mdm_enroll   close                pending  joined_mdm_pending   0x80180010 11 90 - 0
mdm_enroll   500                  pending  joined_mdm_pending   0x80180006 11 90 3 0
mdm_enroll   503                  pending  joined_mdm_pending   0x80180017 11 90 3 0
mdm_enroll   429_retry_after      pending  joined_mdm_pending   0x80180005 11 90 3 0
mdm_enroll   429_no_retry_after   pending  joined_mdm_pending   0x80180005 11 90 3 0
mdm_enroll   malformed            failed   bad_service_response 0x80180001 8  90 1 1
mdm_enroll   oversized            failed   bad_service_response 0x80180001 8  90 1 1
mdm_enroll   content_type         enrolled -                    -          0  90 1 1
mdm_enroll   html                 pending  joined_mdm_pending   0x80180010 11 90 3 1
"
if [ -n "${FAULTS_DISCOVER:-}" ]; then
  MDM_MATRIX=$(for p in ${FAULTS_MDM_PHASES:-mdm_discover mdm_policy mdm_enroll}; do
    for f in ${FAULTS_MDM_FAULTS:-delay drop close 500 503 429_retry_after 429_retry_after_long 429_no_retry_after malformed oversized content_type html}; do
      echo "$p $f x x x 0 120 - 0"
    done; done)
fi
while read -r phase fault outcome reason code ex bound attempts enr; do
  [ -n "$phase" ] || continue
  [ -z "${FAULTS_ONLY:-}" ] || [[ ${phase}_${fault} =~ $FAULTS_ONLY ]] || continue
  eval "case_${phase}_${fault}() { run_mdm_fault $phase $fault $outcome $reason $code $ex $bound $attempts $enr; }"
  tcase "${phase}_${fault}" "case_${phase}_${fault}"
done <<<"$MDM_MATRIX"
