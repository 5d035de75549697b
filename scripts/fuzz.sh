#!/usr/bin/env bash
# Runs every fuzz target (tests/fuzz) for SECONDS each (default: MPQ_FUZZ_SECONDS, else 60), one
# after the other, in the sanitizer build folder (clang-14, ASan + UBSan + libFuzzer; built here
# if needed). Each target starts from its checked-in seeds, its crash regressions and the corpus
# kept from earlier runs (<build>/fuzz/corpus/<target>, which grows); the ONNX target also from
# every model of libonnx-testdata. Prints one line per target (executions, coverage, features,
# corpus size) and exits 1 if any target found a crash; the input is saved under
# <build>/fuzz/artifacts/<target>/ (replay it: <build>/tests/fuzz/fuzz_<target> FILE).
#   scripts/fuzz.sh [SECONDS]      MPQ_FUZZ_TARGETS="npy idx" to run only some
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-${MPQ_FUZZ_SECONDS:-60}}
BUILD=${MPQ_SANITIZE_BUILD_DIR:-build-asan}
TARGETS=${MPQ_FUZZ_TARGETS:-npy idx gzip calibration_table config_list onnx engine_file}
scripts/sanitize_build.sh "$BUILD" address,undefined $(for t in $TARGETS; do echo fuzz_$t; done)

declare -A DICT=([npy]=npy [idx]=idx [gzip]=gzip [calibration_table]=json [config_list]=json
                 [onnx]=onnx [engine_file]=engine_file)
# One OpenMP thread: inputs run the same way every time, and the fuzzer's own process is the
# only one working. A UBSan report stops the run like an ASan one.
export OMP_NUM_THREADS=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=()
for t in $TARGETS; do
  corpus=$BUILD/fuzz/corpus/$t art=$BUILD/fuzz/artifacts/$t
  mkdir -p "$corpus" "$art" tests/fuzz/regressions/$t
  extra=()
  if [ "$t" = onnx ] && [ -d /usr/share/libonnx-testdata/data/node ]; then
    mkdir -p "$BUILD/fuzz/onnx-testdata"
    find /usr/share/libonnx-testdata/data/node -name model.onnx -size -64k | while read -r m; do
      cp -n "$m" "$BUILD/fuzz/onnx-testdata/$(basename "$(dirname "$m")").onnx"
    done
    extra=("$BUILD/fuzz/onnx-testdata")
  fi
  log=$BUILD/fuzz/$t.log
  rc=0
  "$BUILD/tests/fuzz/fuzz_$t" -max_total_time="$SECS" -print_final_stats=1 -timeout=30 \
    -rss_limit_mb=4096 -dict="tests/fuzz/dict/${DICT[$t]}.dict" -artifact_prefix="$art/" \
    "$corpus" "tests/fuzz/seeds/$t" "tests/fuzz/regressions/$t" "${extra[@]}" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' || true)
  echo "fuzz_$t: ${SECS} s, ${execs:-?} executions, ${last:-no stats}, exit $rc"
  if [ $rc != 0 ]; then
    failed+=("$t")
    grep -E 'ERROR|SUMMARY|Test unit written|fuzz:' "$log" | head -5
  fi
done
if ((${#failed[@]})); then
  echo "fuzz.sh: crashes in: ${failed[*]} (logs: $BUILD/fuzz/<target>.log)"
  exit 1
fi
