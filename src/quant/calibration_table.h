// CalibrationTable: what the engine builder needs to know about precision and ranges, whatever
// produced it — mpq's PTQ calibrator, mpq's QAT export, or an NNI calibration config.
//   * tensors: the range of every calibrated tensor, keyed by the graph's value name.
//   * layers:  NNI-compatible per-layer section (weight_bits, input_bits, output_bits,
//              tracked_min_input, ...), keyed by a layer key that may be a PyTorch module path,
//              an ONNX node name or an output tensor name.
// The JSON form is documented in docs/calibration.md. One reader accepts mpq's full table, NNI's
// v2.5+ per-layer keys and NNI's v2.2-2.4 names (weight_bit, activation_bit,
// tracked_min_activation, tracked_max_activation).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace mpq::quant {

constexpr int kCalibrationFormatVersion = 1;

struct TensorRange {
  float min = 0.f;
  float max = 0.f;
  std::string method;  // "minmax", "percentile", "entropy", "mse", "qat-ema", "nni"
};

struct LayerPrecision {
  // 0 = not given. Valid bit widths are 4, 8, 16, 32.
  int weight_bits = 0;
  int input_bits = 0;
  int output_bits = 0;
  std::vector<float> weight_scale;  // NNI's exported weight scale(s), if any
  std::vector<int32_t> weight_zero_point;
  std::optional<float> tracked_min_input, tracked_max_input;
  std::optional<float> tracked_min_output, tracked_max_output;
  std::string source = "calibration";  // "calibration", "qat", "nni-config", "config_list"
};

struct CalibrationHeader {
  int format_version = kCalibrationFormatVersion;
  std::string method;
  std::string options_json = "{}";  // method options as written (e.g. {"percentile": 99.99})
  std::string model_hash;           // hash of the float model it was computed on
  std::string data_hash;            // hash of the calibration data + sampling
  int64_t num_samples = 0;
};

struct CalibrationTable {
  CalibrationHeader header;
  std::map<std::string, TensorRange> tensors;
  std::map<std::string, LayerPrecision> layers;
};

}  // namespace mpq::quant
