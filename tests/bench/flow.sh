# tests/bench/flow.sh — join-flow figures for tests/bench/run.sh (sourced by
# it; uses its helpers report/single/stats/measure and lib.sh/lib_proxy.sh).
#
# One simulated device = one swtpm behind a tpm-latency-proxy of the chosen
# profile + `linkjoin run --ui stdio` driven by tests/bench/ui_timer.py, which
# plays the person: it approves the device code through entra-sim's control
# API SIGNIN_S + rand(0..BENCH_SIGNIN_JITTER) seconds after the prompt
# appears ("the person finishes sign-in"), and records when every UI event
# arrives.
#   the person's wait = result event - sign-in finished
# The result comes after the Intune enrollment (linkjoin run enrolls right
# after the join); "joined" ends earlier, at the first progress event of
# phase "mdm" (ui_timer.py joined_ms; the journal says joined by then).
# Device-code sign-in is polled by the agent every `interval` seconds (the
# agent never polls faster than 1 s, RFC 8628 default 5 s; the simulator is
# set to 1 s here), so the device-code wait includes 0..1 s of polling; the
# password (credentials prompt) figures show the agent's own part.
BENCH_SIGNIN_S=${BENCH_SIGNIN_S:-8}
BENCH_SIGNIN_JITTER=${BENCH_SIGNIN_JITTER:-1}
UI_TIMER=$LJ_TOP/tests/bench/ui_timer.py
DEMO_TENANT=${LJ_TENANT_DEMO:-$LJ_TOP/hw-sim/tenants/demo.json}
UPN=alice@contoso.example
UPN_PASSWORD=Demo-Passw0rd!

# flow_env PROFILE — entra-sim (demo tenant, unlimited devices, 1 s device
# code interval) and a swtpm behind a proxy of PROFILE for this measurement.
flow_env() {
  sim_start "$DEMO_TENANT" "$CASE/sim-state" --log-level warn
  sim_ctl PUT /control/login '{"device_code_interval":1}' >/dev/null ||
    fail "cannot set the device code interval"
  sim_ctl PUT /control/device-settings '{"max_devices_per_user":"unlimited"}' >/dev/null ||
    fail "cannot lift the device quota"
  swtpm_start "$CASE/tpm"
  tpm_proxy_start "$1"
}

# flow_conf FILE STATE_DIR [LINE...] — agent configuration for the simulator.
flow_conf() {
  local f=$1 st=$2 h l
  shift 2
  {
    echo "tenant = contoso.example"
    for h in login.microsoftonline.com enterpriseregistration.windows.net enrollment.manage.microsoft.com; do
      echo "connect_to = $h:443:127.0.0.1:$SIM_PORT"
    done
    echo "ca_file = $SIM_CA"
    echo "tcti = $PROXY_TCTI"
    echo "state_dir = $st"
    echo "serial = BENCH-$RANDOM"
    echo "os_version = 10.0.26100.1" # a dotted quad: the simulator refuses anything else (MS-MDE2)
    echo "log_level = warn"
    for l in "$@"; do echo "$l"; done
  } >"$f"
}

# flow_once OUT STATE_DIR SIGNIN_S [ui_timer/agent args...] — one join, its
# ui_timer JSON line appended to OUT.  Extra args after -- go to the agent.
# FLOW_TIMER_OPTS (an array, empty by default): more ui_timer.py options.
FLOW_TIMER_OPTS=()
flow_once() {
  local out=$1 st=$2 s=$3 pre=() agent=() line
  shift 3
  while [ $# -gt 0 ] && [ "$1" != -- ]; do pre+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  agent=("$@")
  flow_conf "$CASE/lj.conf" "$st"
  : >"$CASE/agent.err"
  # Every run enrolls as a new device would: forget earlier enrollments
  # (outside the timed part), else the user hits Intune's device limit (5
  # in the demo tenant) after a few runs with fresh keys and the rest would
  # time a refusal (mdm_device_cap) instead of an enrollment.
  sim_ctl DELETE /control/enrollments >/dev/null || fail "cannot clear the enrollments"
  if line=$(python3 "$UI_TIMER" --ctl "$SIM_CTL" --upn "$UPN" --password "$UPN_PASSWORD" \
    --signin-s "$s" --signin-jitter "$BENCH_SIGNIN_JITTER" --events "$CASE/events.log" \
    "${FLOW_TIMER_OPTS[@]}" -- "${pre[@]}" \
    "$LINKJOIN" run --config "$CASE/lj.conf" --ui stdio "${agent[@]}" 2>>"$CASE/agent.err"); then
    echo "$line" >>"$out"
  else
    # Left out of the figures, shown here; the series goes on.
    echo "      a run failed (left out): $line"
    grep -m2 'level=error' "$CASE/agent.err" | sed 's/^/        /'
  fi
}

# field FILE KEY — one number a line from the JSON lines of FILE.
field() { jq -r ".$2" "$1" | grep -v null; }

# keys_template — a state dir holding keys made in this measurement's TPM
# (copied per run: the blobs load under the same swtpm's ECC SRK template).
# keys_template [DIR [BINARY]] (default $CASE/keys, $LINKJOIN): a baseline
# binary gets keys of its own making, since an older agent refuses the newer
# key templates (the device key's scheme) as corrupt.
keys_template() {
  local dir=${1:-$CASE/keys} bin=${2:-$LINKJOIN}
  [ -f "$dir/keys.rec" ] && return 0
  "$bin" csr --state-dir "$dir" --tcti "$PROXY_TCTI" >/dev/null 2>&1 ||
    fail "making template keys failed ($bin)"
}

# fresh_with_keys DEST [DIR] — DEST becomes a copy of the template DIR.
fresh_with_keys() {
  rm -rf "$1"
  cp -a "${2:-$CASE/keys}" "$1"
}

# fresh_tpm PROFILE TAG — replace this measurement's swtpm + proxy by new ones.
fresh_tpm() {
  tpm_proxy_stop
  swtpm_stop
  swtpm_start "$CASE/tpm-$2"
  tpm_proxy_start "$1"
}

# ---- start to first event, sign-in finished to joined / enrolled -----------

# Both instants come from the same run: `linkjoin run` enrolls in Intune right
# after the join, and ui_timer.py notes when the device is joined (the first
# progress event of phase "mdm" after the join: the journal says joined then)
# and when the result arrives (after the enrollment, mdm.state "enrolled").
bench_flow_warm() {
  local i cmd="python3 tests/bench/ui_timer.py --signin-s 0 --signin-jitter 1 -- build/linkjoin run --ui stdio"
  flow_env swtpm
  keys_template
  : >"$CASE/dc.json"
  : >"$CASE/pw.json"
  for i in $(seq "$N"); do
    fresh_with_keys "$CASE/st-dc-$i"
    flow_once "$CASE/dc.json" "$CASE/st-dc-$i" 0
  done
  for i in $(seq "$N"); do
    fresh_with_keys "$CASE/st-pw-$i"
    flow_once "$CASE/pw.json" "$CASE/st-pw-$i" 0 -- --signin password --username "$UPN" --log-level info
    cp "$CASE/agent.err" "$CASE/agent-pw-$i.log"
  done
  cat "$CASE/dc.json" "$CASE/pw.json" | jq -r .first_event_ms >"$CASE/first.ms"
  report "agent start to first UI event" ms "$CASE/first.ms" "$cmd  # t(first line) - t(exec)" \
    "hello event; all $((2 * N)) runs below"
  field "$CASE/dc.json" joined_wait_ms >"$CASE/dc.ms"
  report "sign-in finished to joined, keys ready (device code, swtpm)" ms "$CASE/dc.ms" \
    "$cmd  # config: signin = device_code; keys made beforehand; ends at progress phase=mdm" \
    "ends at the first progress event of phase mdm (journal says joined); includes the agent's device-code poll (1 s interval): on average half an interval"
  field "$CASE/pw.json" joined_wait_ms >"$CASE/pw.ms"
  report "sign-in finished to joined, keys ready (password, swtpm)" ms "$CASE/pw.ms" \
    "$cmd --signin password --log-level info  # credentials answered at the prompt; ends at progress phase=mdm" \
    "ends at the first progress event of phase mdm; no polling: the agent's own token + discovery + join time"
  field "$CASE/dc.json" enrolled_wait_ms >"$CASE/dc-enr.ms"
  report "sign-in finished to enrolled, keys ready (device code, swtpm)" ms "$CASE/dc-enr.ms" \
    "$cmd  # same runs as joined; ends at the result event" \
    "ends at the result event (status joined, mdm.state enrolled); runs not enrolled are left out"
  field "$CASE/pw.json" enrolled_wait_ms >"$CASE/pw-enr.ms"
  report "sign-in finished to enrolled, keys ready (password, swtpm)" ms "$CASE/pw-enr.ms" \
    "$cmd --signin password --log-level info  # same runs as joined; ends at the result event" \
    "ends at the result event (mdm.state enrolled): joined + Intune token, discovery, policy, enrollment"
  echo "      where the password runs' time goes (agent log timestamps, --log-level info; tests/bench/breakdown.py):"
  python3 "$LJ_TOP/tests/bench/breakdown.py" "$CASE"/agent-pw-*.log | sed 's/^/      /'
}

# ---- cold join -----------------------------------------------------------------

bench_flow_cold() {
  local p runs i cmd="python3 tests/bench/ui_timer.py --signin-s 0 --signin-jitter 1 -- /usr/bin/time -v build/linkjoin run --ui stdio"
  for p in swtpm discrete; do
    (
      flow_env "$p"
      runs=$N
      [ "$p" = discrete ] && runs=$N_SLOW
      : >"$CASE/cold-$p.json"
      : >"$CASE/rss-$p.mib"
      for i in $(seq "$runs"); do
        flow_once "$CASE/cold-$p.json" "$CASE/st-cold-$p-$i" 0 /usr/bin/time -v -o "$CASE/time.txt"
        sed -n 's/.*Maximum resident set size (kbytes): //p' "$CASE/time.txt" |
          awk '{ printf "%.2f\n", $1 / 1024 }' >>"$CASE/rss-$p.mib"
      done
      field "$CASE/cold-$p.json" total_ms >"$CASE/cold-$p.ms"
      report "cold full join, no keys ($p)" ms "$CASE/cold-$p.ms" "$cmd  # proxy --profile $p" \
        "start to result (joined and enrolled in Intune), device code approved 0..1 s after the prompt$([ "$p" = discrete ] && echo "; N_SLOW runs")"
      report "peak RSS, linkjoin run cold join ($p)" MiB "$CASE/rss-$p.mib" \
        "/usr/bin/time -v build/linkjoin run ...  # same runs"
    ) || return 1
    _lj_kill_all "$CASE"
  done
}

# ---- the person's wait: early keygen vs keygen after sign-in -----------------

bench_flow_early_vs_seq() {
  local p i em sm cmd="python3 tests/bench/ui_timer.py --signin-s $BENCH_SIGNIN_S --signin-jitter 1 -- build/linkjoin run --ui stdio"
  : >"$CASE/ratios.txt"
  for p in ${BENCH_PROFILES:-swtpm discrete}; do
    (
      flow_env "$p"
      : >"$CASE/early-$p.json"
      : >"$CASE/seq-$p.json"
      # A fresh TPM for every run, as every new device has one.
      for i in $(seq "$N_SLOW"); do
        fresh_tpm "$p" "$i-e"
        flow_once "$CASE/early-$p.json" "$CASE/st-early-$p-$i" "$BENCH_SIGNIN_S"
        fresh_tpm "$p" "$i-s"
        flow_once "$CASE/seq-$p.json" "$CASE/st-seq-$p-$i" "$BENCH_SIGNIN_S" -- --no-early-keygen
      done
      field "$CASE/early-$p.json" wait_ms >"$CASE/early-$p.ms"
      field "$CASE/seq-$p.json" wait_ms >"$CASE/seq-$p.ms"
      report "person's wait, early keygen ($p)" ms "$CASE/early-$p.ms" "$cmd  # proxy --profile $p" \
        "cold (no keys); the person takes ${BENCH_SIGNIN_S} s to sign in; ends at the result event (joined and enrolled in Intune); N_SLOW runs"
      report "person's wait, keygen after sign-in ($p)" ms "$CASE/seq-$p.ms" \
        "$cmd --no-early-keygen  # proxy --profile $p"
      em=$(stats "$CASE/early-$p.ms" | cut -d' ' -f2)
      sm=$(stats "$CASE/seq-$p.ms" | cut -d' ' -f2)
      echo "$p $em $sm" >>"$CASE/ratios.txt"
      # The same runs up to joined (first progress phase=mdm): the wait
      # without the Intune enrollment, which adds TPM work after sign-in
      # in both modes (the MDM CSR: parent CreatePrimary, Load, Sign).
      field "$CASE/early-$p.json" joined_wait_ms >"$CASE/early-j-$p.ms"
      field "$CASE/seq-$p.json" joined_wait_ms >"$CASE/seq-j-$p.ms"
      report "  same runs to joined, early keygen ($p)" ms "$CASE/early-j-$p.ms" \
        "$cmd  # ends at progress phase=mdm"
      report "  same runs to joined, keygen after sign-in ($p)" ms "$CASE/seq-j-$p.ms" \
        "$cmd --no-early-keygen  # ends at progress phase=mdm"
      em=$(stats "$CASE/early-j-$p.ms" | cut -d' ' -f2)
      sm=$(stats "$CASE/seq-j-$p.ms" | cut -d' ' -f2)
      echo "$p(joined) $em $sm" >>"$CASE/ratios.txt"
    ) || return 1
    _lj_kill_all "$CASE"
  done
  echo "  person's wait after sign-in, median (ms; to the result, and to joined):"
  printf '      %-18s %12s %12s %10s\n' profile early sequential "seq/early"
  while read -r p em sm; do
    printf '      %-18s %12s %12s %10s\n' "$p" "$em" "$sm" "$(awk -v a="$em" -v b="$sm" 'BEGIN { printf "%.1fx", b / a }')"
    printf '| wait ratio sequential/early (%s) | %s | | %s | `medians: %s ms vs %s ms` |\n' "$p" \
      "$(awk -v a="$em" -v b="$sm" 'BEGIN { printf "%.1fx", b / a }')" "$N_SLOW" "$sm" "$em" >>"$SUMMARY"
  done <"$CASE/ratios.txt"
}


# ---- entra-sim under load -------------------------------------------------------

bench_sim_all() {
  local c out
  for c in 1 8; do
    out=$(bash "$LJ_TOP/tests/bench/sim_join_load.sh" 3000 "$c" 20 2>/dev/null | tail -1)
    single "entra-sim DRS joins/s, TLS keep-alive, $c conns" \
      "$(jq -r .joins_per_s <<<"$out" 2>/dev/null || echo '?')" "joins/s" \
      "tests/bench/sim_join_load.sh 3000 $c 20  # $out"
  done
  bench_parallel_devices
}

# N devices (own swtpm each, no keys) joining one entra-sim at once with
# password sign-in from a file (no UI round trips), each then enrolling in
# Intune (one user: at most 15 enroll, Intune's highest device limit).
bench_parallel_devices() {
  local n=${BENCH_DEVICES:-8} i t0 t1 pids=()
  sim_start "$DEMO_TENANT" "$CASE/sim-state" --log-level warn
  sim_ctl PUT /control/device-settings '{"max_devices_per_user":"unlimited"}' >/dev/null
  # All n enroll at once for one user: Intune's highest device limit (15).
  sim_ctl PUT /control/intune '{"device_limit":15}' >/dev/null || fail "cannot raise the Intune device limit"
  printf '%s' "$UPN_PASSWORD" >"$CASE/pw"
  chmod 600 "$CASE/pw"
  for i in $(seq "$n"); do
    swtpm_start "$CASE/tpm-$i"
    PROXY_TCTI=$TCTI flow_conf "$CASE/lj-$i.conf" "$CASE/st-$i" "signin = password" \
      "username = $UPN" "password_file = $CASE/pw"
  done
  : >"$CASE/dev.ms"
  t0=$(ms_now)
  for i in $(seq "$n"); do
    (
      a=$(ms_now)
      "$LINKJOIN" run --config "$CASE/lj-$i.conf" --ui stdio </dev/null >"$CASE/out-$i.jsonl" 2>"$CASE/err-$i.log"
      rc=$?
      echo "$(($(ms_now) - a)) $rc" >"$CASE/dev-$i.ms"
    ) &
    pids+=($!)
  done
  wait "${pids[@]}"
  t1=$(ms_now)
  local ok=0
  for i in $(seq "$n"); do
    read -r ms rc <"$CASE/dev-$i.ms"
    echo "$ms" >>"$CASE/dev.ms"
    [ "$rc" = 0 ] && ok=$((ok + 1))
  done
  report "$n devices joining at once: each device's join + enrollment" ms "$CASE/dev.ms" \
    "$n x build/linkjoin run --signin password --password-file F (own swtpm each, no keys), in parallel" \
    "$ok of $n joined and enrolled; all $n done in $((t1 - t0)) ms = $(awk -v n="$ok" -v t=$((t1 - t0)) 'BEGIN { printf "%.1f", n * 1000 / t }') joins/s (keygen included, 2 cores shared with swtpm)"
}

# ---- the PRT's cost: sign-in finished to enrolled, before and after ---------

# The last commit whose agent took the Intune token with a plain refresh
# grant (no PRT): built once into build/bench-base-REF from `git archive`,
# then both agents enroll against the same simulator, one after the other.
BENCH_PRT_BASE=${BENCH_PRT_BASE:-2e4d307}

# prt_base_build — BASE_BIN: the baseline agent, built when missing; 1 when
# the commit is not in this clone (a shallow clone): the "before" is skipped.
prt_base_build() {
  local dir=$LJ_TOP/build/bench-base-$BENCH_PRT_BASE
  BASE_BIN=$dir/build/linkjoin
  [ -x "$BASE_BIN" ] && return 0
  git -C "$LJ_TOP" cat-file -e "$BENCH_PRT_BASE^{commit}" 2>/dev/null || return 1
  rm -rf "$dir" && mkdir -p "$dir" &&
    git -C "$LJ_TOP" archive "$BENCH_PRT_BASE" | tar -x -C "$dir" &&
    make -C "$dir" -j2 build/linkjoin >"$dir.log" 2>&1
}

bench_flow_prt() {
  local i have_base=1 saved=$LINKJOIN
  local cmd="python3 tests/bench/ui_timer.py --signin-s 0 -- LINKJOIN run --ui stdio --signin password"
  prt_base_build || { have_base=0; echo "      baseline $BENCH_PRT_BASE not available: only the PRT agent"; }
  flow_env swtpm
  keys_template
  [ "$have_base" = 0 ] || keys_template "$CASE/keys-base" "$BASE_BIN"
  : >"$CASE/before.json"
  : >"$CASE/after.json"
  for i in $(seq "$N"); do
    if [ "$have_base" = 1 ]; then
      # what the old agent needs: Intune takes a token without deviceid and
      # the MDM claims in the DRS token (the simulator's compatibility switches)
      sim_ctl PUT /control/intune '{"require_device_claim":false,"mdm_claims_in_access_token":true}' >/dev/null
      LINKJOIN=$BASE_BIN
      fresh_with_keys "$CASE/st-b-$i" "$CASE/keys-base"
      flow_once "$CASE/before.json" "$CASE/st-b-$i" 0 -- --signin password --username "$UPN"
    fi
    sim_ctl PUT /control/intune '{"require_device_claim":true,"mdm_claims_in_access_token":false}' >/dev/null
    LINKJOIN=$saved
    fresh_with_keys "$CASE/st-a-$i"
    flow_once "$CASE/after.json" "$CASE/st-a-$i" 0 -- --signin password --username "$UPN"
  done
  LINKJOIN=$saved
  if [ "$have_base" = 1 ]; then
    field "$CASE/before.json" enrolled_wait_ms >"$CASE/before.ms"
    report "sign-in finished to enrolled, before the PRT ($BENCH_PRT_BASE, password, swtpm)" ms \
      "$CASE/before.ms" "${cmd/LINKJOIN/build/bench-base-$BENCH_PRT_BASE/build/linkjoin}" \
      "Intune token by a plain refresh grant (no deviceid: the real Intune refuses it)"
  fi
  field "$CASE/after.json" enrolled_wait_ms >"$CASE/after.ms"
  report "sign-in finished to enrolled, with the PRT (password, swtpm)" ms "$CASE/after.ms" \
    "${cmd/LINKJOIN/build/linkjoin}" \
    "adds: 2 nonces, the PRT request (one TPM sign), session key decrypt + import, 2 TPM HMACs; interleaved with the runs above; target <= 80 ms"
}
