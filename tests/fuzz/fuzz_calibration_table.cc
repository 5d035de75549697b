// Calibration-table reader: mpq's table and NNI's calibration configs (JSON).
#include "fuzz_target.h"
#include "quant/calibration_table.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mpq::fuzz::expect_clean_failure(data, size, [](const std::string& b) {
    mpq::quant::parse_calibration_table(b, "fuzz.json");
  });
  return 0;
}
