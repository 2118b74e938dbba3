#!/usr/bin/env bash
# tests/fuzz/build.sh — `make fuzz`: build every fuzz target with clang and
# libFuzzer into build-fuzz/ (the agent library and sim objects compiled
# from the same sources by the same Makefile, with
# -fsanitize=fuzzer-no-link,address,undefined), then run each target once
# over its seed corpus (-runs=0) to show the corpora load cleanly.
# To fuzz for real: tests/fuzz/run.sh (see there).
set -eu
cd "$(dirname "$0")/../.."
BUILD=${LJ_FUZZ_BUILD:-build-fuzz}
JOBS=${LJ_JOBS:-2}
command -v clang >/dev/null || { echo "make fuzz: clang is not installed (make deps)"; exit 1; }

make --no-print-directory -j"$JOBS" BUILD="$BUILD" CC=clang OPT="-O1" \
  SANITIZE=fuzzer-no-link,address,undefined fuzz-targets

fail=0
for bin in "$BUILD"/fuzz_* "$BUILD"/simfuzz_*; do
  [ -x "$bin" ] || continue
  base=$(basename "$bin")
  case $base in simfuzz_*) name=sim_${base#simfuzz_} ;; *) name=${base#fuzz_} ;; esac
  corpus=tests/fuzz/corpus/$name
  if out=$("$bin" -runs=0 "$corpus" 2>&1); then
    echo "fuzz: $base: $(grep -o 'INITED.*' <<<"$out" | tail -1)"
  else
    echo "fuzz: $base: FAILED on its seed corpus"; tail -n 40 <<<"$out"; fail=1
  fi
done
[ "$fail" = 0 ] && echo "fuzz: targets in $BUILD/; run them with tests/fuzz/run.sh"
exit "$fail"
