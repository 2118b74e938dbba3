# tests/integration/lib_proxy.sh — the TPM latency proxy (source after lib.sh).
#
#   tpm_proxy_start PROFILE [ARGS..]  build/tpm-latency-proxy in front of the
#                         swtpm of swtpm_start (SWTPM_PORT), on a free port
#                         pair; sets PROXY_PORT PROXY_PID PROXY_TCTI and
#                         PROXY_LOG (its stderr: per-command lines with
#                         --verbose, the "stop" line with counts at exit)
#   tpm_proxy_stop        SIGTERM, wait for it; exit status in PROXY_RC
#   proxy_fd_count        open fds of the running proxy
TPM_PROXY=$LJ_BUILD/tpm-latency-proxy

tpm_proxy_start() {
  local profile=$1 i p dir=${CASE:-$LJ_SCRIPT_TMP}
  shift
  [ -n "${SWTPM_PORT:-}" ] || fail "tpm_proxy_start: no swtpm (call swtpm_start first)"
  for i in 1 2 3 4 5; do
    p=$(free_port pair) || fail "no free port"
    : >"$dir/proxy.out"
    "$TPM_PROXY" --listen "$p" --upstream "$SWTPM_PORT" --profile "$profile" "$@" \
      >"$dir/proxy.out" 2>"$dir/proxy.err" &
    PROXY_PID=$!
    track_pid "$PROXY_PID"
    # A bound on waiting for the ready line, not a timing check.
    for _ in $(seq 100); do
      grep -q "listening" "$dir/proxy.out" 2>/dev/null && break
      kill -0 "$PROXY_PID" 2>/dev/null || break
      sleep 0.05
    done
    if grep -q "listening" "$dir/proxy.out"; then
      PROXY_PORT=$p
      PROXY_LOG=$dir/proxy.err
      PROXY_TCTI="swtpm:host=127.0.0.1,port=$p"
      export PROXY_PORT PROXY_PID PROXY_TCTI PROXY_LOG
      return 0
    fi
    kill "$PROXY_PID" 2>/dev/null
    wait "$PROXY_PID" 2>/dev/null
  done
  fail "tpm-latency-proxy did not start: $(cat "$dir/proxy.err")"
}

tpm_proxy_stop() {
  [ -n "${PROXY_PID:-}" ] || return 0
  kill -TERM "$PROXY_PID" 2>/dev/null
  # A bound against hanging, not a timing check.
  for _ in $(seq 200); do kill -0 "$PROXY_PID" 2>/dev/null || break; sleep 0.05; done
  kill -0 "$PROXY_PID" 2>/dev/null && fail "tpm-latency-proxy did not stop on SIGTERM"
  wait "$PROXY_PID" 2>/dev/null
  PROXY_RC=$?
  PROXY_PID=
}

proxy_fd_count() { ls "/proc/$PROXY_PID/fd" | wc -l; }
