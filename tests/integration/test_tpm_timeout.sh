#!/usr/bin/env bash
# test_tpm_timeout.sh — a TPM that takes a command and never answers must
# not hang `linkjoin run`: tpm_timeout bounds one TPM command
# (tpm/tpm.h "Bounded waits"); past it the run ends with tpm_unavailable
# (exit 4) and the process exits although the TPM worker thread is still
# blocked in the TCTI.  A TPM that is slow but answers within the bound
# still joins.
#
# Fake TPMs: a tiny python server that accepts on the swtpm command and
# control ports and never answers (so even the TCTI's init blocks), and
# tpm-latency-proxy holding the answer to RSA keygen for 600 s in front of
# a real swtpm (the TPM answers everything else).  The bound in these tests
# is tpm_timeout = 2 or 3 s; every run is wrapped in `timeout` (60 s) and
# must exit by itself.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_join.sh"
source "$(dirname "$0")/lib_proxy.sh"

BOUND=60
[ -z "${LJ_VALGRIND:-}" ] || BOUND=360

# fake_tpm_start — accept on PORT and PORT+1, read, never answer.  Sets
# FAKE_TCTI.
fake_tpm_start() {
  local p i
  cat >"$CASE/fake_tpm.py" <<'EOF'
import socket, sys, threading, time
port = int(sys.argv[1])
conns = []
def serve(s):
    while True:
        c, _ = s.accept()
        conns.append(c)          # keep it open, never answer
socks = []
for p in (port, port + 1):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", p))
    s.listen(64)
    socks.append(s)
for s in socks:
    threading.Thread(target=serve, args=(s,), daemon=True).start()
print("listening", flush=True)
while True:
    time.sleep(3600)
EOF
  for i in 1 2 3 4 5; do
    p=$(free_port pair) || fail "no free port"
    python3 "$CASE/fake_tpm.py" "$p" >"$CASE/fake.out" 2>"$CASE/fake.err" &
    track_pid $!
    for _ in $(seq 100); do
      grep -q listening "$CASE/fake.out" 2>/dev/null && break
      sleep 0.05
    done
    grep -q listening "$CASE/fake.out" && { FAKE_TCTI="swtpm:host=127.0.0.1,port=$p"; return 0; }
  done
  fail "fake TPM did not start: $(cat "$CASE/fake.err")"
}

# run_bounded — `linkjoin run` under `timeout`; LJ_RC, out.jsonl, err.log.
run_bounded() {
  local cmd=("$LINKJOIN")
  [ -z "${LJ_VALGRIND:-}" ] || cmd=(valgrind -q --error-exitcode=99 --leak-check=full
    --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect "$LINKJOIN")
  timeout -k 5 "$BOUND" "${cmd[@]}" run --config "$CASE/lj.conf" --ui stdio \
    >"$CASE/out.jsonl" 2>"$CASE/err.log" </dev/null
  LJ_RC=$?
  [ "$LJ_RC" != 124 ] && [ "$LJ_RC" != 137 ] || fail "the agent did not exit by itself within ${BOUND}s"
}

# The failed result of a TPM that stopped answering, and nothing stored.
assert_tpm_timeout_result() {
  local phase=$1 r
  r=$(result_event)
  [ -n "$r" ] || fail "no result event: $(cat "$CASE/out.jsonl") $(tail -20 "$CASE/err.log")"
  assert_eq "$LJ_RC" 4 "exit status ($r $(tail -5 "$CASE/err.log"))"
  assert_eq "$(grep -c '"type":"result"' "$CASE/out.jsonl")" 1 "exactly one result"
  assert_eq "$(jq -r .status <<<"$r")" failed "status"
  assert_eq "$(jq -r .reason <<<"$r")" tpm_unavailable "reason"
  assert_eq "$(jq -r .code <<<"$r")" 0x8028400f "code"
  assert_eq "$(jq -r .phase <<<"$r")" "$phase" "phase"
  assert_eq "$(jq -r .fix_by <<<"$r")" hardware "fix_by"
  assert_contains "$(cat "$CASE/err.log")" "event=tpm_timeout"
  assert_contains "$(cat "$CASE/err.log")" "event=tpm_abandoned"
  assert_no_file "$CASE/state/device-cert.der"
  assert_no_file "$CASE/state/joined"
  assert_no_file "$CASE/state/keys.rec"
  assert_journal_failed tpm_unavailable
  assert_eq "$(sim_devices)" 0 "device objects"
}

# Accepts and never answers: the TCTI's own init (swtpm locality over the
# control port) blocks; tpm_open gives up in preflight.
case_tpm_never_answers() {
  join_env
  fake_tpm_start
  printf 'Demo-Passw0rd!\n' >"$CASE/pw"
  lj_conf "$CASE/lj.conf" "signin = password" "username = alice@contoso.example" \
    "password_file = $CASE/pw" "tpm_timeout = 2"
  sed -i "s|^tcti = .*|tcti = $FAKE_TCTI|" "$CASE/lj.conf"
  run_bounded
  assert_tpm_timeout_result preflight
  assert_contains "$(cat "$CASE/err.log")" "timeout_s=2"
  # nothing was sent to the cloud: the TPM is checked before any prompt
  assert_eq "$(sim_ctl GET '/control/requests?path_prefix=/contoso.example/oauth2' | jq length)" 0 \
    "sign-in requests"
  # the flag overrides the file, the same way
  sed -i '/^tpm_timeout/d' "$CASE/lj.conf"
  rm -rf "$CASE/state"
  : >"$CASE/out.jsonl"
  timeout -k 5 "$BOUND" "$LINKJOIN" run --config "$CASE/lj.conf" --ui stdio --tpm-timeout 1 \
    >"$CASE/out.jsonl" 2>"$CASE/err.log" </dev/null
  LJ_RC=$?
  assert_tpm_timeout_result preflight
  assert_contains "$(cat "$CASE/err.log")" "timeout_s=1"
}

# The TPM answers everything but RSA keygen (held for 600 s by the proxy):
# the background keygen hangs; sign-in and discovery go on; the wait for
# the keys gives up 3 s after the keygen command went out.
case_keygen_never_answers() {
  join_env
  tpm_proxy_start swtpm --delay rsa-keygen=600000
  printf 'Demo-Passw0rd!\n' >"$CASE/pw"
  lj_conf "$CASE/lj.conf" "signin = password" "username = alice@contoso.example" \
    "password_file = $CASE/pw" "tpm_timeout = 3"
  sed -i "s|^tcti = .*|tcti = $PROXY_TCTI|" "$CASE/lj.conf"
  run_bounded
  assert_tpm_timeout_result keys
  # the status command with a working TPM path still works afterwards
  assert_rc 12 lj status --json --state-dir "$CASE/state"
  assert_eq "$(jq -r .last_error.reason <<<"$OUT")" tpm_unavailable "status last_error"
}

# Slow but answering: each RSA keygen takes 3 s (the proxy's hold), the
# two of them 6 s in one job, more than tpm_timeout = 5 — the bound is per
# TPM command, so the device joins.
case_slow_tpm_within_bound_joins() {
  join_env
  tpm_proxy_start swtpm --delay rsa-keygen=3000 --verbose
  printf 'Demo-Passw0rd!\n' >"$CASE/pw"
  lj_conf "$CASE/lj.conf" "signin = password" "username = alice@contoso.example" \
    "password_file = $CASE/pw" "tpm_timeout = 5"
  sed -i "s|^tcti = .*|tcti = $PROXY_TCTI|" "$CASE/lj.conf"
  run_bounded
  assert_eq "$LJ_RC" 0 "exit status ($(result_event) $(tail -5 "$CASE/err.log"))"
  assert_eq "$(result_event | jq -r .status)" joined "status"
  assert_not_contains "$(cat "$CASE/err.log")" "event=tpm_timeout"
  assert_eq "$(grep -c 'kind=rsa-keygen hold_ms=3000' "$PROXY_LOG")" 2 "RSA keygens held 3 s each"
  assert_file "$CASE/state/device-cert.der"
}

tcase run_tpm_never_answers_ends_tpm_unavailable case_tpm_never_answers
tcase run_tpm_keygen_never_answers_ends_tpm_unavailable case_keygen_never_answers
tcase run_slow_tpm_within_bound_joins case_slow_tpm_within_bound_joins
