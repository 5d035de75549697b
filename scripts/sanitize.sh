#!/usr/bin/env bash
# The sanitizer step of CI (docs/testing.md, "Sanitizers"), each part timed:
#  1. build-asan (clang-14, ASan + UBSan, -O1): the unit tests, the CLI and the fuzz targets;
#     ctest there runs the unit tests, the CLI tests and the fuzz replays (MPQ_SANITIZE_TESTS:
#     a ctest -R regex to run others; the torchvision model tests and the slow label are left
#     to the normal build);
#  2. build-tsan (clang-14, TSan): the engine-threads test alone, run under ThreadSanitizer;
#  3. every fuzz target from its seeds and regressions, MPQ_FUZZ_SECONDS each (default 60), or
#     less when MPQ_CI_DEADLINE (a date +%s time, set by scripts/test.sh from MPQ_CI_BUDGET_S)
#     leaves less: the time left is shared by the targets, at least 10 s each.
set -euo pipefail
cd "$(dirname "$0")/.."
ASAN=${MPQ_SANITIZE_BUILD_DIR:-build-asan}
TSAN=${MPQ_TSAN_BUILD_DIR:-build-tsan}
step() { echo "sanitize.sh: $1 took $((SECONDS - $2)) s"; }

t=$SECONDS
fuzzers=$(sed -n 's/^set(MPQ_FUZZ_TARGETS \(.*\))$/\1/p' tests/fuzz/CMakeLists.txt)
targets=(mpq mpq_unit_tests mpq_engine_threads_test)
for f in $fuzzers; do targets+=(fuzz_$f fuzz_replay_$f); done
scripts/sanitize_build.sh "$ASAN" address,undefined "${targets[@]}"
step "ASan+UBSan build" $t

t=$SECONDS
# Leaks are checked too (LeakSanitizer); a UBSan report fails the test like an ASan one.
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 OMP_WAIT_POLICY=passive
# Left to the normal build: the torchvision and zoo model tests (long), the conformance runner and
# the examples, and cli_demo_quick, which asserts that int8 is faster than fp32 (mpq's own int8
# loops at -O1 with ASan are not; oneDNN's fp32 is uninstrumented).
skip='^(model_|zoo_engine_|models_export|mpq_info_resnet18|mpq_info_json|example_|conformance|cli_demo_quick$)'
if [ -n "${MPQ_SANITIZE_TESTS:-}" ]; then
  ctest --test-dir "$ASAN" -R "$MPQ_SANITIZE_TESTS" --output-on-failure -j "$(nproc)"
else
  ctest --test-dir "$ASAN" -LE slow -E "$skip" --output-on-failure -j "$(nproc)"
fi
step "tests under ASan+UBSan" $t

t=$SECONDS
scripts/sanitize_build.sh "$TSAN" thread mpq_engine_threads_test
ctest --test-dir "$TSAN" -R '^engine_threads' --output-on-failure
step "TSan build and engine-threads test" $t

t=$SECONDS
secs=${MPQ_FUZZ_SECONDS:-60}
if [ -n "${MPQ_CI_DEADLINE:-}" ]; then
  n=$(echo $fuzzers | wc -w)
  # 20 s per target for starting, merging the corpus and printing; the rest is fuzzing.
  share=$(((MPQ_CI_DEADLINE - $(date +%s)) / n - 20))
  ((share < secs)) && secs=$((share < 10 ? 10 : share))
fi
MPQ_SANITIZE_BUILD_DIR=$ASAN scripts/fuzz.sh "$secs"
step "fuzzing ($secs s per target)" $t
