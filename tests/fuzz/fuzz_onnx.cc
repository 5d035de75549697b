// ONNX importer: protobuf parsing, onnx's checker and shape inference, mpq's structural checks,
// attribute schemas and shape inference; then, for a graph that imports, the build of an fp32 plan
// at batch 1 (passes, precision assignment, kernel choice and preparation).
#include "frontend/onnx/importer.h"
#include "fuzz_target.h"
#include "plan/builder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mpq::fuzz::expect_clean_failure(data, size, [](const std::string& b) {
    std::unique_ptr<mpq::Graph> g = mpq::import_onnx_bytes(b, "fuzz.onnx");
    mpq::plan::BuildOptions o;
    o.max_batch = 1;
    o.threads = 1;
    mpq::plan::build_plan(*g, nullptr, o);
  });
  return 0;
}
