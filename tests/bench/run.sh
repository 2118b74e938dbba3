#!/usr/bin/env bash
# tests/bench/run.sh — `make bench`: speed and size figures of linkjoin on
# loopback (swtpm behind hw-sim/tools/tpm-latency-proxy, entra-sim), printed
# as median and p95 over N runs, each with the command that produced it and
# the machine it ran on.  Not a test: nothing here fails on a slow machine;
# a measurement that fails says so and the others go on.
#
#   tests/bench/run.sh [NAME...]    only the measurements named (see below)
#   BENCH_N=20        runs per measurement (at least 20 for the README)
#   BENCH_N_SLOW=5    runs of the slow ones (cold keygen/join under the
#                     discrete-TPM profile: ~7 s each)
#   BENCH_OUT=FILE    also write the summary table (markdown) to FILE
#   BENCH_PROFILES="discrete"  early_vs_seq: only these TPM profiles
#                     (default "swtpm discrete")
#
# Measurements (names): csr_cold csr_warm hkey (the PRT session key: import,
# one HMAC) rss size callgrind; prt (sign-in finished to enrolled before and
# after the PRT, in one run); flow (start to
# first UI event, sign-in finished to joined and to enrolled, with where the
# time goes), cold_join, early_vs_seq (the person's wait with keygen during
# vs after sign-in), sim_load (entra-sim joins/s, N devices at once),
# tls_stack (build/linkjoin on wolfSSL against the OpenSSL agent of
# BENCH_TLS_BASE: RSS with its heap peak (massif) and anonymous vs
# file-backed pages, first UI event (as the unit starts the agent, and a
# bare start), sign-in to joined, TLS handshakes, size; tls_stack.sh),
# oobe_paint (the OOBE web screen's first contentful paint in headless
# chromium and its asset bytes; oobe_paint.sh).
#
# Everything started here (swtpm, proxies, entra-sim, agents) is registered
# with track_pid and killed when its measurement ends, and again at exit
# (also on Ctrl-C).  Bounded: about 10 minutes with the defaults on the
# 2-core development machine (early_vs_seq alone ~4: 2 profiles x 2 modes x
# N_SLOW joins, each with an 8 s sign-in).
set -u
cd "$(dirname "$0")/../.."
LJ_TOP=$PWD
export LJ_TOP
export LJ_BUILD=${LJ_BUILD:-build}
. tests/integration/lib.sh
. tests/integration/lib_proxy.sh
. tests/integration/lib_join.sh
. tests/bench/flow.sh
. tests/bench/tls_stack.sh
. tests/bench/oobe_paint.sh

N=${BENCH_N:-20}
N_SLOW=${BENCH_N_SLOW:-5}
ONLY=" $* "
SUMMARY=$LJ_SCRIPT_TMP/summary.md
: >"$SUMMARY"
trap '_lj_kill_all "$LJ_SCRIPT_TMP"; rm -rf "$LJ_SCRIPT_TMP"' EXIT
trap 'exit 130' INT TERM

# ---- helpers -------------------------------------------------------------

ms_now() { echo $(($(date +%s%N) / 1000000)); }

# stats FILE — "n median p95 min max" of the numbers in FILE (one a line);
# p95 is the nearest-rank value (the ceil(0.95 n)-th smallest).
stats() {
  sort -g "$1" | awk '{ v[NR] = $1 }
    END {
      if (NR == 0) { print "0 - - - -"; exit }
      med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      r = int(0.95 * NR); if (r < 0.95 * NR) r++
      printf "%d %.6g %.6g %.6g %.6g\n", NR, med, v[r], v[1], v[NR]
    }'
}

# report NAME UNIT FILE COMMAND [NOTE] — print one measurement and add it
# to the summary table.
report() {
  local name=$1 unit=$2 file=$3 cmd=$4 note=${5:-} n med p95 min max
  read -r n med p95 min max < <(stats "$file")
  printf '  %-44s n=%-3s median=%s %s  p95=%s %s  (min %s, max %s)\n' \
    "$name" "$n" "$med" "$unit" "$p95" "$unit" "$min" "$max"
  printf '      command: %s\n' "$cmd"
  [ -z "$note" ] || printf '      note: %s\n' "$note"
  printf '| %s | %s %s | %s %s | %s | `%s` |\n' "$name" "$med" "$unit" "$p95" "$unit" "$n" \
    "$cmd" >>"$SUMMARY"
}

# single NAME VALUE UNIT COMMAND — a figure that is not a distribution.
single() {
  printf '  %-44s %s %s\n      command: %s\n' "$1" "$2" "$3" "$4"
  printf '| %s | %s %s | - | 1 | `%s` |\n' "$1" "$2" "$3" "$4" >>"$SUMMARY"
}

# measure NAME FUNC — run FUNC in a subshell with its own $CASE dir; what it
# started is killed when it ends.  A failure is reported, the bench goes on.
measure() {
  local name=$1 fn=$2 rc
  [ "$ONLY" = "  " ] || [[ $ONLY == *" $name "* ]] || return 0
  echo
  echo "== $name"
  CASE=$LJ_SCRIPT_TMP/$name
  mkdir -p "$CASE"
  : >"$CASE/pids"
  (
    trap '_lj_kill_all "$CASE"' EXIT
    cd "$CASE" || exit 1
    "$fn"
  )
  rc=$?
  _lj_kill_all "$CASE"
  [ $rc = 0 ] || echo "  $name: did not complete (status $rc); see above"
}

# ---- the machine -----------------------------------------------------------

machine() {
  local cpu
  cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
  echo "linkjoin bench — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "  machine: nproc=$(nproc) cpu=\"$cpu\" kernel=$(uname -r)" \
    "mem=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
  echo "  load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews wall-clock figures; callgrind counts do not move)"
  echo "  build: $LJ_BUILD ($(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo '+dirty')), runs per figure N=$N, slow ones N_SLOW=$N_SLOW"
  {
    echo "Machine: nproc=$(nproc), $cpu, Linux $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg) at start; $(date -u +%Y-%m-%d); commit $(git rev-parse --short HEAD 2>/dev/null)."
    echo
    echo "| measurement | median | p95 | n | command |"
    echo "|---|---|---|---|---|"
  } >>"$SUMMARY"
}

# ---- keygen + CSR (available now) -----------------------------------------

# csr_series PROFILE COLD RUNS OUTFILE — time `linkjoin csr` RUNS times through
# a proxy of PROFILE; COLD=1 uses a fresh state dir (keygen) every time.
csr_series() {
  local profile=$1 cold=$2 runs=$3 out=$4 i t0 t1 st
  swtpm_start "$CASE/tpm-$profile"
  tpm_proxy_start "$profile" --verbose
  : >"$out"
  if [ "$cold" = 0 ]; then
    "$LINKJOIN" csr --state-dir "$CASE/warm-$profile" --tcti "$PROXY_TCTI" >/dev/null 2>&1 ||
      fail "csr (making keys) failed"
  fi
  for i in $(seq "$runs"); do
    st=$CASE/warm-$profile
    [ "$cold" = 0 ] || st=$CASE/cold-$profile-$i
    t0=$(ms_now)
    "$LINKJOIN" csr --state-dir "$st" --tcti "$PROXY_TCTI" >/dev/null 2>"$CASE/csr.err" ||
      fail "csr failed: $(cat "$CASE/csr.err")"
    t1=$(ms_now)
    echo $((t1 - t0)) >>"$out"
  done
  tpm_proxy_stop
  swtpm_stop
}

bench_csr_cold() {
  local cmd='build/linkjoin csr --state-dir FRESH --tcti swtpm:host=127.0.0.1,port=PROXY'
  csr_series swtpm 1 "$N" "$CASE/swtpm.ms"
  report "keygen+CSR, cold (swtpm)" ms "$CASE/swtpm.ms" "$cmd  # proxy --profile swtpm"
  sed -n 's/.*kind=rsa-keygen .*tpm_ms=\([0-9]*\).*/\1/p' "$CASE/proxy.err" >"$CASE/swtpm-rsa.ms"
  report "  swtpm's own RSA-2048 Create" ms "$CASE/swtpm-rsa.ms" \
    "tpm-latency-proxy --verbose (tpm_ms of kind=rsa-keygen)" \
    "the discrete profile holds these for 3000 ms"
  csr_series discrete 1 "$N_SLOW" "$CASE/discrete.ms"
  report "keygen+CSR, cold (discrete TPM profile)" ms "$CASE/discrete.ms" \
    "$cmd  # proxy --profile discrete" "N_SLOW runs: two 3 s RSA keygens each"
}

bench_csr_warm() {
  local cmd='build/linkjoin csr --state-dir KEYS --tcti swtpm:host=127.0.0.1,port=PROXY'
  csr_series swtpm 0 "$N" "$CASE/swtpm.ms"
  report "CSR with existing keys (swtpm)" ms "$CASE/swtpm.ms" "$cmd  # proxy --profile swtpm"
  csr_series discrete 0 "$N" "$CASE/discrete.ms"
  report "CSR with existing keys (discrete TPM profile)" ms "$CASE/discrete.ms" \
    "$cmd  # proxy --profile discrete"
}

# ---- the PRT session key in the TPM (tests/unit/test_tpm_hkey.c) -----------

# hkey_series PROFILE — N imports and N HMACs through a proxy of PROFILE.
hkey_series() {
  local profile=$1
  swtpm_start "$CASE/tpm-$profile"
  tpm_proxy_start "$profile"
  mkdir -p "$CASE/$profile"
  LJ_BENCH_HKEY=$N LJ_BENCH_HKEY_OUT=$CASE/$profile LJ_TEST_TCTI=$PROXY_TCTI \
    CMOCKA_MESSAGE_OUTPUT=TAP "$LJ_BUILD/tests/test_tpm_hkey" >"$CASE/$profile.log" 2>&1 ||
    fail "test_tpm_hkey failed: $(grep -m3 'not ok' "$CASE/$profile.log")"
  tpm_proxy_stop
  swtpm_stop
}

bench_hkey() {
  local cmd='LJ_BENCH_HKEY=N LJ_TEST_TCTI=swtpm:host=127.0.0.1,port=PROXY build/tests/test_tpm_hkey'
  hkey_series swtpm
  report "hkey import, one call (swtpm)" ms "$CASE/swtpm/tpm-import.ms" "$cmd  # --profile swtpm" \
    "TPM2_Create of a keyedHash under the SRK template, salted session"
  report "hkey HMAC-SHA256, one call (swtpm)" ms "$CASE/swtpm/tpm-hmac.ms" \
    "$cmd  # --profile swtpm" "one PRT derived key: CreatePrimary, Load, salted session, HMAC, flushes"
  hkey_series discrete
  report "hkey import, one call (discrete TPM profile)" ms "$CASE/discrete/tpm-import.ms" \
    "$cmd  # --profile discrete"
  report "hkey HMAC-SHA256, one call (discrete TPM profile)" ms "$CASE/discrete/tpm-hmac.ms" \
    "$cmd  # --profile discrete"
}

# ---- peak RSS, size, instructions -----------------------------------------

bench_rss() {
  local i kb
  swtpm_start "$CASE/tpm"
  : >"$CASE/cold.kb"
  : >"$CASE/warm.kb"
  for i in $(seq "$N"); do
    /usr/bin/time -v "$LINKJOIN" csr --state-dir "$CASE/st-$i" --tcti "$TCTI" \
      >/dev/null 2>"$CASE/time.err" || fail "csr failed: $(tail -5 "$CASE/time.err")"
    kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$CASE/time.err")
    awk -v k="$kb" 'BEGIN { printf "%.2f\n", k / 1024 }' >>"$CASE/cold.kb"
    /usr/bin/time -v "$LINKJOIN" csr --state-dir "$CASE/st-$i" --tcti "$TCTI" \
      >/dev/null 2>"$CASE/time.err" || fail "csr failed"
    kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$CASE/time.err")
    awk -v k="$kb" 'BEGIN { printf "%.2f\n", k / 1024 }' >>"$CASE/warm.kb"
  done
  report "peak RSS, csr with keygen" MiB "$CASE/cold.kb" \
    "/usr/bin/time -v build/linkjoin csr --state-dir FRESH --tcti swtpm:..."
  report "peak RSS, csr with existing keys" MiB "$CASE/warm.kb" \
    "/usr/bin/time -v build/linkjoin csr --state-dir KEYS --tcti swtpm:..."
  # What the RSS is made of: the process's own heap peak (massif) against
  # the shared libraries mapped in.
  valgrind --tool=massif --massif-out-file="$CASE/massif.out" "$LINKJOIN" csr \
    --state-dir "$CASE/st-massif" --tcti "$TCTI" >/dev/null 2>&1 || fail "massif run failed"
  single "  heap peak (massif), csr with keygen" "$(ms_print "$CASE/massif.out" |
    awk '/^ *[0-9]+ +[0-9,]+ +[0-9,]+ +[0-9,]+/ { gsub(",", "", $3); if ($3 + 0 > m) m = $3 + 0 }
         END { printf "%.2f", m / 1048576 }')" MiB \
    "valgrind --tool=massif build/linkjoin csr --state-dir FRESH --tcti swtpm:..."
  echo "      shared libraries mapped: $(ldd "$LINKJOIN" | wc -l) (ldd); the rest of the RSS is their text and data"
}

bench_size() {
  local f=$CASE/linkjoin.stripped
  cp "$LINKJOIN" "$f"
  strip "$f"
  single "binary size, stripped" "$(stat -c %s "$f" | awk '{ printf "%.1f", $1 / 1024 }')" KiB \
    "cp ${LINKJOIN#"$LJ_TOP"/} x; strip x; stat -c %s x"
  echo "      size(1): $(size "$f" | awk 'NR == 2 { printf "text=%d data=%d bss=%d", $1, $2, $3 }');" \
    "$(ldd "$LINKJOIN" | wc -l) shared libraries (ldd); as make built it (-O2, test hooks in)"
}

# callgrind_once OUT ARGS... — instructions (Ir) of one linkjoin run.
callgrind_once() {
  local out=$1
  shift
  valgrind --tool=callgrind --callgrind-out-file="$out" "$LINKJOIN" "$@" \
    >/dev/null 2>"$out.err" || fail "callgrind run failed: $(tail -5 "$out.err")"
  sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out.err"
}

bench_callgrind() {
  local i
  command -v valgrind >/dev/null || fail "valgrind missing"
  swtpm_start "$CASE/tpm"
  : >"$CASE/cold.ir"
  : >"$CASE/warm.ir"
  for i in 1 2 3; do
    callgrind_once "$CASE/cold-$i.out" csr --state-dir "$CASE/st-$i" --tcti "$TCTI" \
      | awk '{ printf "%.2f\n", $1 / 1e6 }' >>"$CASE/cold.ir"
    callgrind_once "$CASE/warm-$i.out" csr --state-dir "$CASE/st-$i" --tcti "$TCTI" \
      | awk '{ printf "%.2f\n", $1 / 1e6 }' >>"$CASE/warm.ir"
  done
  report "instructions, csr with keygen" "M instr" "$CASE/cold.ir" \
    "valgrind --tool=callgrind build/linkjoin csr --state-dir FRESH --tcti swtpm:..." \
    "3 runs; min..max shows how repeatable it is (TPM work happens in swtpm, not counted)"
  report "instructions, csr with existing keys" "M instr" "$CASE/warm.ir" \
    "valgrind --tool=callgrind build/linkjoin csr --state-dir KEYS --tcti swtpm:..."
  echo "      top functions by own instructions (csr with keygen, run 3):"
  callgrind_annotate "$CASE/cold-3.out" 2>/dev/null |
    awk '/^-+$/ { d++; next } d >= 3 && NF >= 2 && $1 ~ /[0-9]/ { print; if (++k == 8) exit }' |
    sed 's/^/        /'
}

# ---- the join flow (tests/bench/flow.sh) ----------------------------------

bench_flow() { bench_flow_warm; }
bench_cold_join() { bench_flow_cold; }
bench_early_vs_seq() { bench_flow_early_vs_seq; }
bench_sim_load() { bench_sim_all; }
bench_prt() { bench_flow_prt; }

# ---- main ---------------------------------------------------------------------

for b in "$LINKJOIN" "$TPM_PROXY" "$ENTRASIM" "$LJ_BUILD/sim-load"; do
  [ -x "$b" ] || { echo "bench: $b missing; run make first" >&2; exit 1; }
done
T0=$(ms_now)
machine
measure csr_cold bench_csr_cold
measure csr_warm bench_csr_warm
measure hkey bench_hkey
measure rss bench_rss
measure size bench_size
measure callgrind bench_callgrind
measure flow bench_flow
measure prt bench_prt
measure cold_join bench_cold_join
measure early_vs_seq bench_early_vs_seq
measure sim_load bench_sim_load
measure tls_stack bench_tls_stack
measure oobe_paint bench_oobe_paint
echo
echo "== summary (markdown, for the README)"
cat "$SUMMARY"
[ -z "${BENCH_OUT:-}" ] || cp "$SUMMARY" "$BENCH_OUT"
echo
echo "bench took $((($(ms_now) - T0) / 1000)) s; load average now $(cut -d' ' -f1-3 /proc/loadavg)"
