#include "core/limits.h"

#include <cstdlib>
#include <limits>

#include "core/status.h"

namespace mpq {

namespace {

// A positive integer from the environment, or `def` when unset; a malformed value is ignored
// rather than trusted, so that a typo cannot lift a cap.
uint64_t env_cap(const char* name, uint64_t def) {
  const char* s = std::getenv(name);
  if (!s || !*s) return def;
  char* end = nullptr;
  unsigned long long v = std::strtoull(s, &end, 10);
  return (end && *end == '\0' && v > 0) ? v : def;
}

}  // namespace

int64_t max_tensor_elements() {
  static const int64_t cap = static_cast<int64_t>(std::min<uint64_t>(
      env_cap("MPQ_MAX_TENSOR_ELEMENTS", uint64_t{1} << 32), std::numeric_limits<int64_t>::max()));
  return cap;
}

size_t max_input_bytes() {
  static const size_t cap = env_cap("MPQ_MAX_INPUT_BYTES", uint64_t{8} << 30);
  return cap;
}

bool checked_mul(int64_t a, int64_t b, int64_t* out) {
  return !__builtin_mul_overflow(a, b, out);
}

bool checked_add(int64_t a, int64_t b, int64_t* out) {
  return !__builtin_add_overflow(a, b, out);
}

int64_t checked_numel(const Shape& s, const std::string& what, bool allow_unknown) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0 && allow_unknown && d == -1) continue;
    if (d < 0) invalid_input(str(what, " has a negative dimension ", shape_str(s))).raise();
    if (d > max_tensor_elements() || !checked_mul(n, d, &n) || n > max_tensor_elements())
      invalid_input(str(what, " of shape ", shape_str(s), " has more than ", max_tensor_elements(),
                        " elements (raise MPQ_MAX_TENSOR_ELEMENTS if it is really meant)"))
          .raise();
  }
  return n;
}

}  // namespace mpq
