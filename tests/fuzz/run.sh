#!/usr/bin/env bash
# tests/fuzz/run.sh — fuzz for real (after `make fuzz`).
#
#   tests/fuzz/run.sh [-t SECONDS] [-j PARALLEL] [NAME...]   fuzz (default: all, 600 s each)
#   NAME is the corpus name: fuzz_NAME, or sim_NAME for simfuzz_NAME.
#   tests/fuzz/run.sh --merge [NAME...]                      minimize into the seed corpus
#
# Each target runs `nice -n 10` with -max_total_time=SECONDS on a working
# corpus build-fuzz/corpus/NAME (started from tests/fuzz/corpus/NAME and
# kept between runs); crashes go to build-fuzz/artifacts/NAME/, the log to
# build-fuzz/logs/NAME.log, and the final stats line (execs, exec/s, cov,
# corpus) is printed.  JSON targets get tests/fuzz/json.dict.  Our log lines
# (stderr) are dropped with -close_fd_mask=2; libFuzzer's report is not.
# --merge adds to tests/fuzz/corpus/NAME the inputs of the working corpus
# that reach code edges the seeds do not (-merge=1 -use_counters=0: edges
# only, so the corpus stays small); existing seeds and regress-* files are
# kept.  Commit what it added (keep the total to a few hundred KiB).
set -u
cd "$(dirname "$0")/../.."
B=${LJ_FUZZ_BUILD:-build-fuzz}
secs=600 par=1 merge=
while [ $# -gt 0 ]; do
  case $1 in
    -t) secs=$2; shift 2 ;;
    -j) par=$2; shift 2 ;;
    --merge) merge=1; shift ;;
    *) break ;;
  esac
done
names=("$@")
if [ ${#names[@]} = 0 ]; then
  for bin in "$B"/fuzz_* "$B"/simfuzz_*; do
    [ -x "$bin" ] || continue
    n=$(basename "$bin")
    case $n in simfuzz_*) names+=("sim_${n#simfuzz_}") ;; *) names+=("${n#fuzz_}") ;; esac
  done
fi

bin_of() { case $1 in sim_*) echo "$B/simfuzz_${1#sim_}" ;; *) echo "$B/fuzz_$1" ;; esac; }
dict_of() {
  case $1 in b64|url_host|oauth_jwt|oauth_redirect|prt_jwe|config|drs_cert|http_headers|sim_form|sim_csr|sim_rsa1|mdm_*) ;;
    *) echo "-dict=tests/fuzz/json.dict" ;; esac
}

one() {
  local n=$1 bin
  bin=$(bin_of "$n")
  [ -x "$bin" ] || { echo "$n: no target $bin (make fuzz)"; return 1; }
  mkdir -p "$B/corpus/$n" "$B/artifacts/$n" "$B/logs"
  cp -n tests/fuzz/corpus/"$n"/* "$B/corpus/$n/" 2>/dev/null
  # shellcheck disable=SC2046
  nice -n 10 "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 -max_len=16384 \
    -close_fd_mask=2 -print_final_stats=1 -artifact_prefix="$B/artifacts/$n/" \
    $(dict_of "$n") "$B/corpus/$n" >"$B/logs/$n.log" 2>&1
  local rc=$?
  local last execs
  last=$(grep -E '^#[0-9]+' "$B/logs/$n.log" | tail -1)
  execs=$(grep -E 'stat::number_of_executed_units' "$B/logs/$n.log" | awk '{print $2}')
  echo "$n: rc=$rc execs=${execs:-?} last: $last; corpus $(ls "$B/corpus/$n" | wc -l) files $(du -sb "$B/corpus/$n" | cut -f1) bytes"
  ls "$B/artifacts/$n" | sed "s|^|  artifact: $B/artifacts/$n/|"
}

domerge() {
  local n=$1 bin
  bin=$(bin_of "$n")
  mkdir -p "$B/logs"
  "$bin" -merge=1 -use_counters=0 -close_fd_mask=2 tests/fuzz/corpus/"$n" "$B/corpus/$n" \
    >"$B/logs/$n.merge.log" 2>&1 || { echo "$n: merge failed (see $B/logs/$n.merge.log)"; return 1; }
  echo "$n: seed corpus now $(ls tests/fuzz/corpus/"$n" | wc -l) files $(du -sb tests/fuzz/corpus/"$n" | cut -f1) bytes"
}

export -f one bin_of dict_of
export B secs
if [ -n "$merge" ]; then
  for n in "${names[@]}"; do domerge "$n"; done
else
  printf '%s\n' "${names[@]}" | xargs -P "$par" -I{} bash -c 'one "$@"' _ {}
fi
