// NNI config_list parser, then its resolution against a real model (lenet5 from the zoo): op_types
// and op_names matching, exclude entries, per-type bits.
#include "fuzz_target.h"
#include "quant/config_list.h"
#include "zoo/zoo.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto model = mpq::zoo::build_zoo_model("lenet5", {.batch = 1});
  mpq::fuzz::expect_clean_failure(data, size, [](const std::string& b) {
    for (bool lenient : {false, true}) {
      const auto cfg = mpq::quant::ConfigList::parse_string(b, "fuzz.json", {.lenient = lenient});
      cfg.resolve(*model.graph);
    }
  });
  return 0;
}
