// `mpq export-qdq` and mpq::export_qdq: the float model as a QDQ ONNX model with the
// quantization mpq's engine runs — the same table, config_list and per-layer precisions as
// `mpq build`, the engine built to decide them, then each int8 layer's activation inputs and
// weights written as Q/DQ with the scales and zero points its kernels use. BatchNormalization
// after a conv/gemm is folded into its weights first, as the engine does.
#pragma once

#include <string>

#include "api/build_engine.h"

namespace mpq::api {

struct QdqExportSummary {
  int int8_layers = 0;       // layers written with Q/DQ
  int float_layers = 0;      // conv/gemm layers left in float (the engine runs them so)
  int activation_pairs = 0;  // QuantizeLinear/DequantizeLinear pairs on activations
  std::vector<std::string> warnings, notes;
};

// Builds the engine `in` describes (max batch 1: only its decisions are used), writes the QDQ
// model to `path` atomically. The output path is checked first; a model that already has Q/DQ
// nodes is kInvalidInput.
QdqExportSummary export_qdq(BuildInputs in, const std::string& path);

}  // namespace mpq::api
