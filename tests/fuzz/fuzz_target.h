// What every fuzz target shares: the input as a string, and the rule that bad input may only end
// in an mpq::Error a user can act on (kInvalidInput, kNotFound, kUnsupported: exit code 2). An
// error with exit code 1 (internal), any other exception, a crash or a sanitizer report is a
// finding: libFuzzer saves the input, which then goes to tests/fuzz/regressions/<target>/ once
// fixed. MPQ_FUZZ_VERBOSE=1 prints each refusal (to check that a seed is accepted).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/status.h"

namespace mpq::fuzz {

// Set before main: the caps of core/limits.h lowered to 64 MiB a tensor (an input that would need
// more is refused the same way, through the same checks, without taking the fuzzer's memory), and
// no oneDNN primitive cache, which would otherwise keep up to 1024 primitives of the shapes that
// earlier inputs made (their memory is freed only at exit, and counts toward -rss_limit_mb).
inline const bool kFuzzEnvironment = [] {
  setenv("MPQ_MAX_TENSOR_ELEMENTS", "16777216", 0);
  setenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "0", 0);
  setenv("DNNL_PRIMITIVE_CACHE_CAPACITY", "0", 0);
  return true;
}();

template <class Fn>
void expect_clean_failure(const uint8_t* data, size_t size, Fn&& fn) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    fn(bytes);
  } catch (const Error& e) {
    if (std::getenv("MPQ_FUZZ_VERBOSE")) std::fprintf(stderr, "refused: %s\n", e.what());
    if (e.status().exit_code() == 2) return;
    std::fprintf(stderr, "fuzz: internal error on bad input (exit 1, should be 2): %s\n", e.what());
    std::abort();
  }
}

}  // namespace mpq::fuzz
