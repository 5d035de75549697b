// CalibrationTable: what the engine builder needs to know about precision and ranges, whatever
// produced it — mpq's PTQ calibrator, mpq's QAT export, or an NNI calibration config.
//   * tensors: the range of every calibrated activation tensor, keyed by the graph's value name,
//              with the statistics that chose it.
//   * weights: per-output-channel ranges of constant weights (symmetric), keyed by value name.
//   * layers:  NNI-compatible per-layer section (weight_bits, input_bits, output_bits,
//              tracked_min_input, ...), keyed by a layer key that may be a PyTorch module path,
//              an ONNX node name or an output tensor name.
// The JSON form is documented in docs/calibration.md. One reader accepts mpq's full table and
// NNI's per-layer configs of every version (v2.5+ keys, the v2.2-2.4 names, ObserverQuantizer's
// weight ranges and integer ranges; docs/calibration.md).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mpq/quant_types.h"

namespace mpq::quant {

constexpr int kCalibrationFormatVersion = 1;
constexpr const char* kCalibrationFormatName = "mpq-calibration";

// A quantization given exactly rather than derived from a range: a QDQ model's QuantizeLinear.
// real = scale * (q - zero_point), q in the 8-bit range of `dtype`.
struct FixedQuant {
  float scale = 1.f;
  int32_t zero_point = 0;
  QuantDtype dtype = QuantDtype::kUint;
};

struct TensorRange {
  float min = 0.f;
  float max = 0.f;
  std::string method;  // "minmax", "percentile", "entropy", "mse", "qat-ema", "nni", "qdq"
  // The statistics that chose the range (observed_min/max, count, threshold, kl_divergence, ...),
  // written as they are; sorted by name so the JSON is stable.
  std::map<std::string, double> stats;
  // Set when the model fixed the tensor's quantization (QDQ import): the engine uses this scale
  // and zero point as they are; min/max then hold the range they represent.
  std::optional<FixedQuant> fixed;
};

// Per-channel range of a constant weight (symmetric: min = -max per channel).
struct WeightRange {
  int axis = 0;
  std::vector<float> min, max;
  std::string method = "minmax";
  // Fixed symmetric int8 scales (one per channel along `axis`, or one for the whole tensor), as a
  // QDQ model gives them: the engine quantizes the weight with exactly these (round half to even,
  // saturate to [-128, 127]) instead of max|w| / 127. Empty: the engine computes them.
  std::vector<float> scale;
};

// How one quant type is quantized, when the producer knows it (mpq extension keys
// "<type>_dtype" and "<type>_scheme"; NNI does not export them and then mpq's defaults apply).
struct TypeQuantSpec {
  QuantDtype dtype = QuantDtype::kUint;
  QuantScheme scheme = QuantScheme::kPerTensorAffine;
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
  // NNI ObserverQuantizer's symmetric weight range and the integer ranges its observers used
  // (tracked_qmin_* / tracked_qmax_*: 0..127 for reduce_range activations). Kept so a table reads
  // back as written; the engine quantizes weights itself and activations to 8 bits over the
  // tracked float range, as TensorRT does with these files.
  std::optional<float> tracked_min_weight, tracked_max_weight;
  std::optional<std::pair<int32_t, int32_t>> qrange_weight, qrange_input, qrange_output;
  std::optional<TypeQuantSpec> weight_quant, input_quant, output_quant;
  std::string source = "calibration";  // "calibration", "qat", "nni-config", "config_list", "qdq"
};

struct CalibrationHeader {
  int format_version = kCalibrationFormatVersion;
  std::string method;
  std::string options_json = "{}";  // method options as a JSON object (e.g. {"percentile": 99.99})
  std::string model_hash;           // hash of the float model it was computed on
  std::string data_hash;            // hash of the calibration data + sampling
  int64_t num_samples = 0;
};

struct CalibrationTable {
  CalibrationHeader header;
  std::map<std::string, TensorRange> tensors;
  std::map<std::string, WeightRange> weights;
  std::map<std::string, LayerPrecision> layers;
  // What kind of file it was read from: "mpq" (full table), "nni-v2.5", "nni-v2.2"; "" if built
  // in memory.
  std::string origin;
};

// --- JSON I/O

// The full table as JSON text: stable key order, floats printed shortest-exact, 2-space indent.
// Equal tables give byte-identical text.
std::string calibration_table_to_json(const CalibrationTable& t);
// Writes to `path` atomically (temp file + rename); throws kInvalidInput/kInternal naming the file.
void write_calibration_table(const CalibrationTable& t, const std::string& path);
// Reads mpq's full table or an NNI calibration config (v2.5+ or v2.2-2.4 keys). Validates every
// value (bits in {4,8,16,32}, finite ranges with min <= max, types) and throws kInvalidInput
// naming `source` and the key ("conv1.tracked_min_input").
CalibrationTable parse_calibration_table(const std::string& json_text, const std::string& source);
CalibrationTable read_calibration_table(const std::string& path);

}  // namespace mpq::quant
