#!/usr/bin/env bash
# Every fuzz target's seed corpus (tests/fuzz/corpus/NAME, sim_NAME for
# simfuzz_NAME) replayed once
# through its replay driver ($LJ_BUILD/tests/replay/{fuzz,simfuzz}_NAME, the
# target linked with tests/fuzz/replay.c; built by `make build-tests` with
# the build's own compiler and sanitizers).  A finding aborts the driver.
# Under LJ_VALGRIND=1 the drivers run under valgrind (errors and definite or
# indirect leaks fail).  One case per target; a target without a corpus and
# a corpus without a target both fail.
. "$(dirname "$0")/lib.sh"

FUZZ_DIR=$LJ_TOP/tests/fuzz

replay() {
  local bin=$1 corpus=$2 out rc
  [ -x "$bin" ] || fail "no replay driver $bin (make build-tests)"
  [ -d "$corpus" ] || fail "no seed corpus $corpus"
  [ -n "$(ls -A "$corpus")" ] || fail "empty seed corpus $corpus"
  if [ -n "${LJ_VALGRIND:-}" ]; then
    out=$(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
      --show-leak-kinds=definite,indirect "$bin" "$corpus" 2>&1); rc=$?
  else
    out=$("$bin" "$corpus" 2>&1); rc=$?
  fi
  [ "$rc" = 0 ] || fail "exit $rc replaying $corpus: $(tail -c 4000 <<<"$out")"
  assert_contains "$out" "replayed $(find "$corpus" -maxdepth 1 -type f ! -name '.*' | wc -l) inputs"
}

shopt -s nullglob
for src in "$FUZZ_DIR"/fuzz_*.c "$FUZZ_DIR"/simfuzz_*.c; do
  base=$(basename "$src" .c)
  case $base in simfuzz_*) name=sim_${base#simfuzz_} ;; *) name=${base#fuzz_} ;; esac
  eval "case_$base() { replay '$LJ_BUILD/tests/replay/$base' '$FUZZ_DIR/corpus/$name'; }"
  tcase "replay_$name" "case_$base"
done

orphans() {
  local d n
  for d in "$FUZZ_DIR"/corpus/*/; do
    n=$(basename "$d")
    [ -f "$FUZZ_DIR/fuzz_$n.c" ] || [ -f "$FUZZ_DIR/simfuzz_${n#sim_}.c" ] || fail "corpus $n has no target"
  done
}
tcase corpus_dirs_have_targets orphans
