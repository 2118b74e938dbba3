# tests/bench/tls_stack.sh — `make bench` measurement tls_stack (sourced by
# tests/bench/run.sh after flow.sh): the agent on wolfSSL (build/linkjoin:
# the static libcurl of tools/deps-curl.sh) against the agent as it was on
# OpenSSL (Debian's libcurl4-openssl, agent/net/tls_tpmkey_openssl.c), built
# once from BENCH_TLS_BASE into build/bench-base-REF (as flow.sh's prt does;
# it needs libssl-dev and libcurl4-openssl-dev, which `make deps` installs),
# side by side, from the same run, the same entra-sim and the same swtpm
# (without that commit, in a shallow clone, only build/linkjoin is measured:
# compare with the README's recorded OpenSSL figures):
#   - peak RSS of `linkjoin run` (/usr/bin/time -v), start to first UI event
#     and sign-in finished to joined: password sign-in, keys made beforehand,
#     runs of the two binaries interleaved so load on the machine hits both;
#   - TLS handshakes per join, from the agent's log (each preflight probe is
#     one; each request line says connection=reused|resumed|full): 3, one per
#     host, since the first request to a host reuses its probe's connection
#     (test_join.sh one_tls_handshake_per_host checks it);
#   - the stripped binary and the shared libraries only it loads.

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
  if [ "$1" = "$TLS_BASE_BIN" ]; then echo "linkjoin-openssl-$BENCH_TLS_BASE"; else echo linkjoin; fi
}

# tls_stack_libs BIN — "path size" of each shared library ldd lists for BIN.
tls_stack_libs() {
  ldd "$1" | awk '$3 ~ /^\// { print $3 }' | while read -r p; do
    echo "$(readlink -f "$p") $(stat -L -c %s "$p")"
  done | sort -u
}

bench_tls_stack() {
  local b i name mine other kib
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
  for i in $(seq "$N"); do
    for b in $(tls_stack_bins); do
      name=$(tls_stack_name "$b")
      fresh_with_keys "$CASE/st-$name-$i"
      LINKJOIN=$b flow_once "$CASE/$name.json" "$CASE/st-$name-$i" 0 \
        /usr/bin/time -v -o "$CASE/time.txt" -- --signin password --username "$UPN" --log-level info
      sed -n 's/.*Maximum resident set size (kbytes): //p' "$CASE/time.txt" |
        awk '{ printf "%.2f\n", $1 / 1024 }' >>"$CASE/$name.rss"
      # Full or resumed TLS handshakes of this run (a probe is one).
      grep -cE 'mod=http event=probe_ok|event=response .*connection=(full|resumed|unknown)' \
        "$CASE/agent.err" >>"$CASE/$name.hs"
      grep -oE 'event=response .*connection=[a-z]+' "$CASE/agent.err" |
        sed -E 's/.*host=([^ ]+) .*connection=([a-z]+)/\1 \2/' >>"$CASE/$name.conns"
    done
  done
  for b in $(tls_stack_bins); do
    name=$(tls_stack_name "$b")
    echo "  -- $name ($(ldd "$b" | grep -cE 'libssl|libgnutls|libcurl') of libssl/libgnutls/libcurl in ldd)"
    report "peak RSS, $name run (password, keys ready)" MiB "$CASE/$name.rss" \
      "/usr/bin/time -v ${b#"$LJ_TOP"/} run --ui stdio --signin password  # via ui_timer.py"
    jq -r .first_event_ms "$CASE/$name.json" >"$CASE/$name.first"
    report "start to first UI event, $name" ms "$CASE/$name.first" \
      "python3 tests/bench/ui_timer.py -- ${b#"$LJ_TOP"/} run --ui stdio  # t(first line) - t(exec)"
    field "$CASE/$name.json" joined_wait_ms >"$CASE/$name.joined"
    report "sign-in finished to joined, $name (password, swtpm)" ms "$CASE/$name.joined" \
      "same runs; ends at progress phase=mdm"
    report "TLS handshakes per join, $name" handshakes "$CASE/$name.hs" \
      "grep -c 'probe_ok|connection=full|resumed' of the agent log, same runs" \
      "3 hosts: one per host, requests reuse the probe's connection (6 before)"
    echo "      connections by host and kind, all runs: $(sort "$CASE/$name.conns" | uniq -c |
      awk '{ printf "%s %s x%d; ", $2, $3, $1 }')"
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
