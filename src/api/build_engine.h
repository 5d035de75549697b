// The one engine-build path shared by `mpq build` and mpq::ModelSpeedup: reads the calibration
// table (NNI config or mpq table), checks it belongs to the model (model hash, tensor names;
// --force turns a mismatch into a warning), applies an optional NNI config_list over it (bits per
// layer), builds the engine and fills the engine file's build info.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "ir/graph.h"
#include "mpq/calibrator.h"
#include "plan/plan.h"
#include "quant/calibration_table.h"
#include "quant/config_list.h"
#include "runtime/engine.h"
#include "runtime/engine_file.h"

namespace mpq::api {

struct BuildInputs {
  const Graph* graph = nullptr;  // the float model as imported (not modified)
  std::string model_name;        // for messages and the engine file (path or graph name)
  std::string model_hash;        // quant::model_hash(*graph); computed when empty
  std::optional<quant::CalibrationTable> table;
  std::string calib_name;       // file the table came from ("" if in memory)
  std::string calib_hash;       // hash of the table file's bytes ("" if in memory)
  std::string config_list;      // NNI config_list file applied over the table ("" = none)
  bool lenient_config = false;  // config_list schema errors become warnings (ConfigListOptions)
  // A QDQ model (QuantizeLinear/DequantizeLinear nodes) is built with the quantization it fixes
  // (frontend/onnx/qdq_import.h): no table or calibration data may come with it. Q/DQ patterns
  // mpq cannot run exactly fail the build naming the node, or with lenient_qdq fall back to float
  // with a note in the manifest.
  bool lenient_qdq = false;
  plan::BuildOptions options;
  bool force = false;  // accept a table computed on another model (warning instead of error)
  // Layers no table or config_list names (api/unconfigured.h): "fp32", or "fastest" (the faster
  // of fp32 and 16-bit float, timed at build). An explicit options.default_precision excludes
  // "fastest".
  std::string unconfigured = "fp32";
  // NNI's extra_layer_bits (8, 16, 32; 0 unset): the precision of every layer when neither a
  // table nor a config_list is given; ignored with a warning otherwise, as NNI ignores it.
  int extra_layer_bits = 0;
  // Per-layer precisions over the table and config_list: 'conv1:int8,fc*:fp16'
  // (api/layer_precision.h).
  std::string layer_precision;
  // NNI's post-training path (ModelSpeedupTensorRT's calib_data_loader): calibrate on this data
  // before building (ranges for every tensor; `calibrate`'s method, images and batch), reusing
  // `calibration_cache` when its model hash, data hash and options match. The table (NNI's PTQ
  // dict {layer: {weight_bits, output_bits}}) or the config_list gives the bits.
  data::DataSpec calib_data;
  CalibrateOptions calibrate;
  std::string calibration_cache;
};

struct BuildOutput {
  std::shared_ptr<const runtime::Engine> engine;
  runtime::EngineFileInfo info;  // what export writes into the engine file
  std::vector<std::string> warnings;
  std::vector<std::string> notes;  // what the build did besides building (calibrated, cache reused)
  double seconds = 0.0;
};

// Reads a calibration table file and hashes its bytes. Throws kNotFound / kInvalidInput naming it.
quant::CalibrationTable read_table(const std::string& path, std::string* hash);

// Applies an NNI config_list over `t`: the layers it selects get its bits (weight, input, output
// as it enables them), every other layer of `t` keeps its ranges but loses its bits (so it runs
// at the default precision), as NNI quantizes only what the config_list names. Bits must be 4, 8,
// 16 or 32 (kInvalidInput naming the file and key otherwise). Returns warnings (names matching
// nothing).
std::vector<std::string> apply_config_list(quant::CalibrationTable& t, const Graph& g,
                                           const std::string& config_path, bool lenient = false);
// The same for a parsed config_list; `source` names it in messages.
std::vector<std::string> apply_config_list(quant::CalibrationTable& t, const Graph& g,
                                           const quant::ConfigList& c, const std::string& source);

// NNI's PTQ dict ({layer: {weight_bits, output_bits}}) and a config_list ([{...}, ...]) both come
// as --config: true when the file holds a JSON object (the dict). kNotFound naming the file.
bool is_layer_dict_file(const std::string& path);

BuildOutput build_engine(BuildInputs in);

// The producer string written into engine files ("mpq 0.1.0").
const char* producer_string();

}  // namespace mpq::api
