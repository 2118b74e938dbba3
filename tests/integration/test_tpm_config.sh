#!/usr/bin/env bash
# csr, tpm and factory-test read linkjoin.conf like run: tcti, tpm_timeout,
# state_dir, key_provider and log_level from --config FILE (mapped to the TPM
# options by agent/net/cfgmap.c, the one place), their own flags winning.
# Each case runs against a fresh swtpm, a dead port, or a fake TPM that
# accepts and never answers (so only tpm_timeout ends the wait).
. "$(dirname "$0")/lib.sh"

ID=(--manufacturer Contoso --model "Link 1" --serial SN-0001234)
# Under `timeout` only to end a hang; the default tpm_timeout (120 s) would
# outlast it, so exit 4/14 before it proves the file's tpm_timeout applied.
BOUND=100

# conf KEY=VALUE... — write $CASE/lj.conf.
conf() {
  : >"$CASE/lj.conf"
  for kv in "$@"; do echo "${kv%%=*} = ${kv#*=}" >>"$CASE/lj.conf"; done
}

dead_tcti() {
  local p
  p=$(free_port pair) || fail "no port"
  DEAD_TCTI="swtpm:host=127.0.0.1,port=$p"
}

# fake_tpm_start — accept on PORT and PORT+1, never answer.  Sets FAKE_TCTI.
fake_tpm_start() {
  local p
  cat >"$CASE/fake_tpm.py" <<'PY'
import socket, sys, threading, time
port = int(sys.argv[1])
conns = []
def serve(s):
    while True:
        c, _ = s.accept()
        conns.append(c)
for p in (port, port + 1):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", p))
    s.listen(16)
    threading.Thread(target=serve, args=(s,), daemon=True).start()
print("listening", flush=True)
while True:
    time.sleep(3600)
PY
  for _ in 1 2 3 4 5; do
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

# ---- csr ----

csr_config_tcti() {
  swtpm_start "$CASE/tpm"
  conf tcti="$TCTI" state_dir="$CASE/state"
  assert_rc 0 lj csr --config "$CASE/lj.conf"
  assert_contains "$OUT" "-----BEGIN CERTIFICATE REQUEST-----"
  assert_contains "$OUT" "keys created provider=tpm"
  assert_file "$CASE/state/device.pub" # state_dir from the file
  assert_no_transient_handles
}

csr_config_dead_tcti() {
  dead_tcti
  conf tcti="$DEAD_TCTI" state_dir="$CASE/state"
  assert_rc 4 lj csr --config "$CASE/lj.conf"
  assert_contains "$OUT" "TPM unreachable at '$DEAD_TCTI'"
  assert_contains "$OUT" "(reason tpm_unavailable, code 0x8028400f)"
}

csr_flags_win() {
  swtpm_start "$CASE/tpm"
  dead_tcti
  conf tcti="$DEAD_TCTI" state_dir="$CASE/file-state" key_provider=soft
  assert_rc 0 lj csr --config "$CASE/lj.conf" --tcti "$TCTI" --state-dir "$CASE/flag-state" --key-provider tpm
  assert_contains "$OUT" "keys created provider=tpm"
  assert_file "$CASE/flag-state/device.pub"
  assert_no_file "$CASE/file-state"
}

csr_config_key_provider() {
  conf key_provider=soft state_dir="$CASE/state"
  assert_rc 0 lj csr --config "$CASE/lj.conf"
  assert_contains "$OUT" "keys created provider=soft"
}

csr_config_tpm_timeout() {
  fake_tpm_start
  conf tcti="$FAKE_TCTI" tpm_timeout=2 state_dir="$CASE/state"
  assert_rc 4 timeout "$BOUND" "$LINKJOIN" csr --config "$CASE/lj.conf"
  assert_contains "$OUT" "(reason tpm_unavailable"
}

csr_config_errors() {
  assert_rc 3 lj csr --config "$CASE/missing.conf"
  assert_contains "$OUT" "linkjoin csr: $CASE/missing.conf"
  conf tpm_timeout=0
  assert_rc 3 lj csr --config "$CASE/lj.conf"
  assert_contains "$OUT" "$CASE/lj.conf:1"
  assert_rc 2 lj csr --config
}

csr_config_log_level() {
  conf key_provider=soft state_dir="$CASE/state" log_level=error
  assert_rc 0 lj csr --config "$CASE/lj.conf"
  assert_not_contains "$OUT" "soft_provider_in_use" # a warning: below error
  assert_rc 0 lj csr --config "$CASE/lj.conf" --log-level warn
  assert_contains "$OUT" "soft_provider_in_use"
}

# ---- tpm ----

tpm_config_tcti() {
  swtpm_start "$CASE/tpm"
  conf tcti="$TCTI"
  assert_rc 0 lj tpm health --config "$CASE/lj.conf"
  assert_contains "$OUT" "preflight=ok"
}

tpm_config_dead_tcti() {
  dead_tcti
  conf tcti="$DEAD_TCTI"
  assert_rc 4 lj tpm health --config "$CASE/lj.conf"
  assert_contains "$OUT" "(reason tpm_unavailable"
  swtpm_start "$CASE/tpm"
  assert_rc 0 lj tpm health --config "$CASE/lj.conf" --tcti "$TCTI" # the flag wins
}

tpm_config_tpm_timeout() {
  fake_tpm_start
  conf tcti="$FAKE_TCTI" tpm_timeout=2
  assert_rc 4 timeout "$BOUND" "$LINKJOIN" tpm health --config "$CASE/lj.conf"
}

tpm_config_state_dir() {
  swtpm_start "$CASE/tpm"
  conf tcti="$TCTI" state_dir="$CASE/state"
  mkdir -m 700 "$CASE/state"
  printf 'sealed-secret' | LJ_TEST_HOOKS=1 lj tpm seal t1 --config "$CASE/lj.conf" ||
    fail "seal with state_dir from the file"
  assert_file "$CASE/state/t1.sealed"
  assert_eq "$(LJ_TEST_HOOKS=1 lj tpm unseal t1 --config "$CASE/lj.conf" 2>/dev/null)" "sealed-secret"
}

# ---- factory-test ----

factory_config_tcti() {
  swtpm_manufacture "$CASE/dev" >/dev/null
  swtpm_start "$CASE/dev/tpmstate"
  conf tcti="$TCTI"
  assert_rc 0 lj factory-test --config "$CASE/lj.conf" --ek-ca "$EK_CA" "${ID[@]}"
  grep -qE "^  PASS +tpm_present .*TPM answers at $TCTI" <<<"$OUT" || fail "$OUT"
  assert_no_transient_handles
}

factory_config_dead_tcti() {
  dead_tcti
  conf tcti="$DEAD_TCTI"
  assert_rc 14 lj factory-test --config "$CASE/lj.conf" "${ID[@]}"
  grep -qE "^  FAIL +tpm_present .*no TPM at $DEAD_TCTI" <<<"$OUT" || fail "$OUT"
}

factory_flag_wins() {
  swtpm_manufacture "$CASE/dev" >/dev/null
  swtpm_start "$CASE/dev/tpmstate"
  dead_tcti
  conf tcti="$DEAD_TCTI" key_provider=soft
  assert_rc 0 lj factory-test --config "$CASE/lj.conf" --tcti "$TCTI" --ek-ca "$EK_CA" "${ID[@]}"
  grep -qE "^  PASS +tpm_present .*TPM answers at $TCTI" <<<"$OUT" || fail "$OUT"
}

factory_config_tpm_timeout() {
  fake_tpm_start
  conf tcti="$FAKE_TCTI" tpm_timeout=2
  assert_rc 14 timeout "$BOUND" "$LINKJOIN" factory-test --config "$CASE/lj.conf" "${ID[@]}"
  grep -qE "^  FAIL +tpm_present .*no TPM at $FAKE_TCTI" <<<"$OUT" || fail "$OUT"
}

tcase csr_config_tcti csr_config_tcti
tcase csr_config_dead_tcti csr_config_dead_tcti
tcase csr_flags_win csr_flags_win
tcase csr_config_key_provider csr_config_key_provider
tcase csr_config_tpm_timeout csr_config_tpm_timeout
tcase csr_config_errors csr_config_errors
tcase csr_config_log_level csr_config_log_level
tcase tpm_config_tcti tpm_config_tcti
tcase tpm_config_dead_tcti tpm_config_dead_tcti
tcase tpm_config_tpm_timeout tpm_config_tpm_timeout
tcase tpm_config_state_dir tpm_config_state_dir
tcase factory_config_tcti factory_config_tcti
tcase factory_config_dead_tcti factory_config_dead_tcti
tcase factory_flag_wins factory_flag_wins
tcase factory_config_tpm_timeout factory_config_tpm_timeout
