# tests/bench/tls_stack.sh — `make bench` measurement tls_stack (sourced by
# tests/bench/run.sh after flow.sh): the agent on wolfSSL (build/linkjoin:
# the static libcurl of tools/deps-curl.sh) against the agent as it was on
# OpenSSL (Debian's libcurl4-openssl, agent/net/tls_tpmkey_openssl.c), built
# once from BENCH_TLS_BASE into build/bench-base-REF (as flow.sh's prt does;
# it needs libssl-dev and libcurl4-openssl-dev, which `make deps` installs),
# side by side, from the same run, the same entra-sim and the same swtpm
# (without that commit, in a shallow clone, only build/linkjoin is measured:
# compare with the README's recorded OpenSSL figures):
#   - peak RSS of `linkjoin run` (VmHWM at the agent's last events,
#     ui_timer.py: what /usr/bin/time -v reports, without a process in front
#     of the timed start), start to first UI event
#     and sign-in finished to joined: password sign-in, keys made beforehand,
#     runs of the two binaries interleaved so load on the machine hits both;
#   - TLS handshakes per join, from the agent's log (each preflight probe is
#     one; each request line says connection=reused|resumed|full): 3, one per
#     host, since the first request to a host reuses its probe's connection
#     (test_join.sh one_tls_handshake_per_host checks it);
#   - the stripped binary and the shared libraries only it loads;
#   - what the peak RSS is made of, from one more run of each binary: the
#     heap peak of the whole run (valgrind massif: malloc'ed bytes plus
#     malloc's overhead; thread stacks not included) and the largest
#     /proc/PID/smaps_rollup sample (ui_timer.py --smaps, at every UI
#     event): anonymous pages (heap, thread stacks and arenas, library data
#     written to) against file-backed pages (text and read-only data of the
#     binary and its shared libraries), with the largest files.
# The timed runs start the agent the way its systemd unit does, with
# GLIBC_TUNABLES=LJ_HEAP_TUNABLES (platform/heapguard.h) in the
# environment; started without it the agent re-executes itself once to get
# it, so a bare start loads the binary and its libraries twice: that start
# is timed apart ("bare start", the agent killed at its first event).

# The last commit whose build/linkjoin ran on OpenSSL.
BENCH_TLS_BASE=${BENCH_TLS_BASE:-bc5c239}
TLS_BASE_BIN=

# tls_base_build — TLS_BASE_BIN: the OpenSSL agent, built when missing; 1
# when the commit is not in this clone or does not build.
tls_base_build() {
  local dir=$LJ_TOP/build/bench-base-$BENCH_TLS_BASE
  TLS_BASE_BIN=$dir/build/linkjoin
  [ -x "$TLS_BASE_BIN" ] && return 0
  git -C "$LJ_TOP" cat-file -e "$BENCH_TLS_BASE^{commit}" 2>/dev/null || return 1
  rm -rf "$dir" && mkdir -p "$dir" &&
    git -C "$LJ_TOP" archive "$BENCH_TLS_BASE" | tar -x -C "$dir" &&
    make -C "$dir" -j2 build/linkjoin >"$dir.log" 2>&1
}

tls_stack_bins() { echo "${TLS_BASE_BIN:+$TLS_BASE_BIN }$LJ_BUILD/linkjoin"; }

# tls_stack_name BIN — the label of a binary in the report.
tls_stack_name() {
  if [ "$1" != "$TLS_BASE_BIN" ]; then
    echo linkjoin
  elif [ "$BENCH_TLS_BASE" = bc5c239 ]; then
    echo "linkjoin-openssl-$BENCH_TLS_BASE"
  else
    echo "linkjoin-$BENCH_TLS_BASE" # another baseline (BENCH_TLS_BASE=REF)
  fi
}

# tls_stack_libs BIN — "path size" of each shared library ldd lists for BIN.
tls_stack_libs() {
  ldd "$1" | awk '$3 ~ /^\// { print $3 }' | while read -r p; do
    echo "$(readlink -f "$p") $(stat -L -c %s "$p")"
  done | sort -u
}

# tls_stack_heap_env — NAME=VALUE: the heap tunables the systemd units set.
tls_stack_heap_env() {
  echo "GLIBC_TUNABLES=$(sed -n 's/^#define LJ_HEAP_TUNABLES "\(.*\)"$/\1/p' "$LJ_TOP/platform/heapguard.h")"
}

# tls_stack_mib FILE — the KiB figures of FILE (one a line) in MiB.
tls_stack_mib() { awk '{ printf "%.2f", $1 / 1024 }' "$1"; }

# tls_stack_composition NAME — massif heap peak and the RSS sample of NAME's
# composition run, printed and added to the summary.
tls_stack_composition() {
  local name=$1 js=$CASE/$1.smaps.json heap
  if [ ! -s "$CASE/$name.massif" ]; then
    echo "      heap peak of $name: no massif output (valgrind missing?)"
  else
    heap=$(ms_print "$CASE/$name.massif" 2>/dev/null |
      awk '/^ *[0-9]+ +[0-9,]+ +[0-9,]+ +[0-9,]+/ { gsub(",", "", $3); if ($3 + 0 > m) m = $3 + 0 }
           END { printf "%.2f", m / 1048576 }')
    single "  heap peak (massif, whole run), $name" "$heap" MiB \
      "valgrind --tool=massif ${b#"$LJ_TOP"/} run --ui stdio --signin password  # via ui_timer.py"
  fi
  if [ "$(jq -r '.rss_kib // empty' "$js" 2>/dev/null)" = "" ]; then
    echo "      RSS composition of $name: no sample"
    return 0
  fi
  single "  largest RSS sample, $name" "$(jq -r '.rss_kib / 1024 * 100 | round / 100' "$js")" MiB \
    "python3 tests/bench/ui_timer.py --smaps F -- ${b#"$LJ_TOP"/} run  # smaps_rollup at each UI event"
  single "    of it anonymous (heap, stacks, arenas, written library data), $name" \
    "$(jq -r '.anon_kib / 1024 * 100 | round / 100' "$js")" MiB "same sample: Anonymous"
  single "    of it file-backed (binary and library pages), $name" \
    "$(jq -r '.file_kib / 1024 * 100 | round / 100' "$js")" MiB "same sample: Rss - Anonymous"
  echo "      largest files in it (MiB): $(jq -r '.by_file | to_entries | sort_by(-.value) | .[:8][] |
    "\(.key) \(.value / 1024 * 100 | round / 100)"' "$js" | paste -sd ',' | sed 's/,/, /g')"
}

bench_tls_stack() {
  local b i name mine other kib heap_env
  heap_env=$(tls_stack_heap_env)
  if ! tls_base_build; then
    TLS_BASE_BIN=
    echo "      OpenSSL baseline $BENCH_TLS_BASE not available: only build/linkjoin"
  fi
  flow_env swtpm
  keys_template
  for b in $(tls_stack_bins); do
    [ -x "$b" ] || fail "$b missing"
    name=$(tls_stack_name "$b")
    : >"$CASE/$name.json"
    : >"$CASE/$name.rss"
    : >"$CASE/$name.hs"
  done
  FLOW_TIMER_OPTS=(--setenv "$heap_env")
  for i in $(seq "$N"); do
    for b in $(tls_stack_bins); do
      name=$(tls_stack_name "$b")
      fresh_with_keys "$CASE/st-$name-$i"
      # Peak RSS from ui_timer.py (VmHWM): no wrapper process in the timed start.
      LINKJOIN=$b flow_once "$CASE/$name.json" "$CASE/st-$name-$i" 0 \
        -- --signin password --username "$UPN" --log-level info
      tail -1 "$CASE/$name.json" | jq -r '.maxrss_kib / 1024 * 100 | round / 100' >>"$CASE/$name.rss"
      # Full or resumed TLS handshakes of this run (a probe is one).
      grep -cE 'mod=http event=probe_ok|event=response .*connection=(full|resumed|unknown)' \
        "$CASE/agent.err" >>"$CASE/$name.hs"
      grep -oE 'event=response .*connection=[a-z]+' "$CASE/agent.err" |
        sed -E 's/.*host=([^ ]+) .*connection=([a-z]+)/\1 \2/' >>"$CASE/$name.conns"
    done
  done
  # A bare start (no GLIBC_TUNABLES: the agent re-executes itself), timed
  # to the first event only, interleaved the same way.
  for i in $(seq "$N"); do
    for b in $(tls_stack_bins); do
      name=$(tls_stack_name "$b")
      flow_conf "$CASE/bare.conf" "$CASE/st-bare-$name-$i"
      python3 "$UI_TIMER" --ctl "$SIM_CTL" --first-only -- "$b" run --config "$CASE/bare.conf" \
        --ui stdio 2>/dev/null | jq -r .first_event_ms >>"$CASE/$name.bare"
    done
  done
  # One more run of each: the heap peak (massif) and the RSS composition.
  for b in $(tls_stack_bins); do
    name=$(tls_stack_name "$b")
    fresh_with_keys "$CASE/st-$name-massif"
    FLOW_TIMER_OPTS=()
    command -v valgrind >/dev/null &&
      LINKJOIN=$b flow_once "$CASE/$name.massif.json" "$CASE/st-$name-massif" 0 \
        valgrind --tool=massif --massif-out-file="$CASE/$name.massif" -- --signin password --username "$UPN"
    fresh_with_keys "$CASE/st-$name-smaps"
    FLOW_TIMER_OPTS=(--setenv "$heap_env" --smaps "$CASE/$name.smaps.json")
    LINKJOIN=$b flow_once "$CASE/$name.smaps.run" "$CASE/st-$name-smaps" 0 -- \
      --signin password --username "$UPN"
  done
  FLOW_TIMER_OPTS=()
  for b in $(tls_stack_bins); do
    name=$(tls_stack_name "$b")
    echo "  -- $name ($(ldd "$b" | grep -cE 'libssl|libgnutls|libcurl') of libssl/libgnutls/libcurl in ldd)"
    report "peak RSS, $name run (password, keys ready)" MiB "$CASE/$name.rss" \
      "python3 tests/bench/ui_timer.py -- ${b#"$LJ_TOP"/} run --ui stdio --signin password  # VmHWM at its last events"
    jq -r .first_event_ms "$CASE/$name.json" >"$CASE/$name.first"
    report "start to first UI event, $name" ms "$CASE/$name.first" \
      "python3 tests/bench/ui_timer.py --setenv $heap_env -- ${b#"$LJ_TOP"/} run --ui stdio  # t(first line) - t(exec)" \
      "as linkjoin.service starts it (its Environment= line): no re-exec"
    report "  start to first UI event, bare start, $name" ms "$CASE/$name.bare" \
      "python3 tests/bench/ui_timer.py --first-only -- ${b#"$LJ_TOP"/} run --ui stdio" \
      "no GLIBC_TUNABLES: the agent re-executes itself once for them (platform/heapguard.h)"
    field "$CASE/$name.json" joined_wait_ms >"$CASE/$name.joined"
    report "sign-in finished to joined, $name (password, swtpm)" ms "$CASE/$name.joined" \
      "same runs; ends at progress phase=mdm"
    report "TLS handshakes per join, $name" handshakes "$CASE/$name.hs" \
      "grep -c 'probe_ok|connection=full|resumed' of the agent log, same runs" \
      "3 hosts: one per host, requests reuse the probe's connection (6 before)"
    echo "      connections by host and kind, all runs: $(sort "$CASE/$name.conns" | uniq -c |
      awk '{ printf "%s %s x%d; ", $2, $3, $1 }')"
    tls_stack_composition "$name"
  done
  # Size: the stripped binary and the libraries only it loads.
  set -- $(tls_stack_bins)
  tls_stack_libs "$1" >"$CASE/libs-a"
  tls_stack_libs "${2:-$1}" >"$CASE/libs-b"
  for b in $(tls_stack_bins); do
    name=$(tls_stack_name "$b")
    cp "$b" "$CASE/$name.stripped"
    strip "$CASE/$name.stripped"
    single "binary size stripped, $name" \
      "$(stat -c %s "$CASE/$name.stripped" | awk '{ printf "%.1f", $1 / 1024 }')" KiB \
      "strip ${b#"$LJ_TOP"/}; stat -c %s"
    if [ "$b" = "$1" ]; then mine=$CASE/libs-a other=$CASE/libs-b; else mine=$CASE/libs-b other=$CASE/libs-a; fi
    if [ $# = 1 ]; then
      echo "      all libraries (ldd): $(wc -l <"$mine"), $(awk '{ s += $2 } END { printf "%.1f MiB", s / 1048576 }' "$mine") on disk"
      continue
    fi
    kib=$(awk 'NR == FNR { seen[$1] = 1; next } !($1 in seen) { s += $2 } END { printf "%.1f", s / 1024 }' \
      "$other" "$mine")
    single "shared libraries only $name loads" "$kib" KiB \
      "ldd; sizes of the libraries the other build does not load"
    echo "      they are: $(awk 'NR == FNR { seen[$1] = 1; next } !($1 in seen) { n = $1; sub(".*/", "", n); printf "%s ", n }' "$other" "$mine")"
    echo "      all libraries (ldd): $(wc -l <"$mine"), $(awk '{ s += $2 } END { printf "%.1f MiB", s / 1048576 }' "$mine") on disk"
  done
}
