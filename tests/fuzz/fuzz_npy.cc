// NPY reader: header dict parsing, dtypes, shapes against the byte count.
#include "data/npy.h"
#include "fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mpq::fuzz::expect_clean_failure(
      data, size, [](const std::string& b) { mpq::data::parse_npy(b, "fuzz.npy"); });
  return 0;
}
