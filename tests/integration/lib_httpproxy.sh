# tests/integration/lib_httpproxy.sh — a real corporate-style HTTP proxy
# (Debian's tinyproxy, `make deps`) for the agent's proxy tests; source after
# lib.sh.  (lib_proxy.sh is something else: the TPM latency proxy.)
#
#   httpproxy_start [--auth USER PASS] [--listen ADDR] [--connect-port N]
#                     tinyproxy in the foreground on a free loopback port of
#                     ADDR (default 127.0.0.1; ::1 for IPv6), allowing only
#                     loopback clients, CONNECT to any port (the simulator's);
#                     with --auth it demands Basic credentials (407); with
#                     --connect-port it tunnels only to port N (403 else).  Sets
#                     HPROXY_PORT HPROXY_PID HPROXY_URL HPROXY_LOG
#                     (tinyproxy's log: one "CONNECT host:port" line per tunnel)
#   httpproxy_stop    SIGTERM, wait for it
#   httpproxy_tunnels how many CONNECT requests it has logged
#
# It listens on loopback only and is told nothing but loopback targets
# (connect_to), so no traffic leaves the machine.
TINYPROXY=${TINYPROXY:-$(command -v tinyproxy || echo /usr/bin/tinyproxy)}

need_tinyproxy() {
  [ -x "$TINYPROXY" ] || fail "tinyproxy is not installed (make deps)"
}

httpproxy_start() {
  local user="" pass="" addr=127.0.0.1 cport="" dir=${CASE:-$LJ_SCRIPT_TMP} p i
  while [ $# -gt 0 ]; do
    case $1 in
      --auth) user=$2; pass=$3; shift 3 ;;
      --listen) addr=$2; shift 2 ;;
      --connect-port) cport=$2; shift 2 ;;
      *) fail "httpproxy_start: unknown argument $1" ;;
    esac
  done
  need_tinyproxy
  for i in 1 2 3 4 5; do
    p=$(free_port) || fail "no free port"
    {
      echo "Port $p"
      echo "Listen $addr"
      echo "Allow $addr"
      echo "Timeout 30"
      echo "MaxClients 32"
      echo "LogLevel Connect"
      echo "DisableViaHeader Yes"
      [ -z "$user" ] || echo "BasicAuth $user $pass"
      [ -z "$cport" ] || echo "ConnectPort $cport"
    } >"$dir/tinyproxy.conf"
    : >"$dir/tinyproxy.log"
    "$TINYPROXY" -d -c "$dir/tinyproxy.conf" >"$dir/tinyproxy.log" 2>&1 &
    HPROXY_PID=$!
    track_pid "$HPROXY_PID"
    # A bound on waiting for its listening socket, not a timing check (at
    # LogLevel Connect tinyproxy prints no ready line).
    for _ in $(seq 100); do
      _port_busy "$p" && break
      kill -0 "$HPROXY_PID" 2>/dev/null || break
      sleep 0.05
    done
    if kill -0 "$HPROXY_PID" 2>/dev/null && _port_busy "$p"; then
      HPROXY_PORT=$p
      HPROXY_LOG=$dir/tinyproxy.log
      if [[ $addr == *:* ]]; then HPROXY_URL="http://[$addr]:$p"; else HPROXY_URL="http://$addr:$p"; fi
      export HPROXY_PORT HPROXY_PID HPROXY_URL HPROXY_LOG
      return 0
    fi
    kill "$HPROXY_PID" 2>/dev/null
    wait "$HPROXY_PID" 2>/dev/null
  done
  fail "tinyproxy did not start: $(cat "$dir/tinyproxy.log")"
}

httpproxy_stop() {
  [ -n "${HPROXY_PID:-}" ] || return 0
  kill -TERM "$HPROXY_PID" 2>/dev/null
  # A bound against hanging, not a timing check.
  for _ in $(seq 200); do kill -0 "$HPROXY_PID" 2>/dev/null || break; sleep 0.05; done
  kill -0 "$HPROXY_PID" 2>/dev/null && fail "tinyproxy did not stop on SIGTERM"
  wait "$HPROXY_PID" 2>/dev/null
  HPROXY_PID=
}

httpproxy_tunnels() { grep -c "Request (file descriptor [0-9]*): CONNECT " "$HPROXY_LOG"; }
