// IDX reader: type code, rank, big-endian dims against the byte count.
#include "data/idx.h"
#include "fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mpq::fuzz::expect_clean_failure(
      data, size, [](const std::string& b) { mpq::data::parse_idx(b, "fuzz.idx"); });
  return 0;
}
