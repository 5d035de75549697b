// QDQ ONNX models (QuantizeLinear/DequantizeLinear), both ways:
//
//   // Import: a QDQ model (PyTorch FX int8 export, ONNX Runtime quantize_static, TensorRT
//   // explicit quantization) builds with the scales and int8 layers its Q/DQ nodes fix; give no
//   // calibration config. The manifest's source column says "qdq".
//   mpq::ModelSpeedup speed("model_qdq.onnx", {128, 1, 28, 28}, std::nullopt);
//   speed.compress();
//
//   // Export: the float model with mpq's scales and per-layer precisions as a standard QDQ
//   // model (ONNX Runtime runs it; Q/DQ on conv/gemm inputs and weights, TensorRT's placement).
//   mpq::export_qdq(mpq::Model::load("model.onnx"), "calib.json", "model_qdq.onnx");
//
// docs/qdq.md says which Q/DQ patterns mpq honours and what it refuses.
#pragma once

#include <string>
#include <vector>

#include "mpq/model.h"
#include "mpq/model_speedup.h"

namespace mpq {

struct QdqExportOptions {
  std::string config_list;      // NNI config_list (JSON path) over the calibration config
  bool lenient_config = false;  // config_list: warn where NNI's schema refuses, do not fail
  // Per-layer precisions over the calibration config: 'conv1:int8,fc*:fp32'.
  std::string layer_precision;
  // Precision of layers the calibration config does not name: "" (fp32), "fp32", "bf16",
  // "fp16", "int8".
  std::string default_precision;
  bool force = false;  // accept a calibration table computed on another model
};

// What export_qdq wrote.
struct QdqExportResult {
  int int8_layers = 0;       // layers with Q/DQ on their inputs (and weights)
  int float_layers = 0;      // conv/gemm layers left in float
  int activation_pairs = 0;  // QuantizeLinear/DequantizeLinear pairs on activations
  std::vector<std::string> warnings;
};

// Writes `model` as a QDQ ONNX model to `onnx_path` (atomically; the path is checked first) with
// the quantization the engine mpq builds from `calibration` runs. Throws mpq::Error naming the
// file and key (a model that already has Q/DQ nodes, a table of another model, ...).
QdqExportResult export_qdq(const Model& model, const CalibrationSource& calibration,
                           const std::string& onnx_path, const QdqExportOptions& options = {});

}  // namespace mpq
