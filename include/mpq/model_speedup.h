// mpq::ModelSpeedup — NNI's ModelSpeedupTensorRT in shape, on mpq's engine (CPU oneDNN, CUDA):
//
//   mpq::ModelSpeedup speed("model.onnx", {128, 1, 28, 28}, "calibration_config.json",
//                           {.batch_size = 128, .backend = "cpu"});
//   speed.compress();                                   // builds the mixed-precision engine
//   auto [output, seconds] = speed.inference(data);     // any number of rows: every row back
//   speed.export_quantized_model("model.mpqe");         // engine file (any x86-64 CPU)
//   speed.load_quantized_model("model.mpqe");           // milliseconds, no rebuild
//
// The calibration config is NNI's per-layer dict (v2.5+ keys or v2.2-2.4 names), or mpq's full
// calibration table (`mpq calibrate`), as a path or in memory. Bits: 8 -> int8, 16 -> 16-bit
// float (bf16 on the CPU), 32 -> fp32; unnamed layers run at `default_precision`.
//
// Differences from NNI, on purpose: `inference` splits data larger than the batch into batches
// and returns every row (NNI pads the last partial batch with stale data), keeps the output's shape
// ([N, ...], not flattened), and `seconds` is the sum of the per-batch run times (NNI's
// definition) measured with a monotonic clock; the context and its buffers are allocated once.
//
// Errors: every method throws mpq::Error (core/status.h) naming the file, layer and key; wrap a
// call in mpq::capture([&] { return ...; }) to get a Result<T> instead.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mpq/calibration_table.h"
#include "mpq/manifest.h"
#include "mpq/status.h"
#include "mpq/tensor.h"

namespace mpq {

class Graph;
namespace runtime {
class Engine;
class ExecutionContext;
}  // namespace runtime

struct SpeedupOptions {
  int64_t batch_size = 128;     // the engine's maximum batch (inference splits larger data)
  std::string backend = "cpu";  // "cpu" (oneDNN), "cuda", "reference"
  // Precision of layers the calibration config does not name: "" (fp32; an int8 layer without a
  // range is then an error) or "fp32", "bf16", "fp16", "int8" (a missing range falls back).
  std::string default_precision;
  bool strict = false;  // fail when a requested precision cannot be executed (TensorRT's "obey")
  int threads = 0;      // 0: the library default (OMP_NUM_THREADS)
  bool force = false;   // accept a calibration table computed on another model / an engine
                        // built from another model
  std::string config_list;      // optional NNI config_list (JSON path) overriding the layers' bits
  bool lenient_config = false;  // config_list: warn where NNI's schema refuses, do not fail
  // A QDQ model (its Q/DQ nodes fix the int8 layers and scales; no calibration config then): run
  // Q/DQ patterns mpq cannot honour exactly in float, with a manifest note, instead of failing.
  bool lenient_qdq = false;
  // Device backends (cuda): run steps without a device kernel on the host instead of failing.
  bool allow_host_fallback = false;
  // Layers the calibration config / config_list does not name: "fp32", or "fastest" (NNI's
  // behaviour: the faster of fp32 and 16-bit float, both engines timed at build; the manifest
  // says "unconfigured: fastest float"). Excludes default_precision.
  std::string unconfigured = "fp32";
  // NNI's extra_layer_bits: 8, 16 or 32 sets every layer when no calibration config or
  // config_list is given (0: unset); ignored with a warning otherwise, as NNI ignores it.
  int extra_layer_bits = 0;
  // Per-layer precisions over the calibration config, trtexec's habit: 'conv1:int8,fc*:fp16'
  // (node names or module paths, globs; int8, fp16, bf16, fp32; the last match wins).
  std::string layer_precision;
  // NNI's post-training path (calib_data_loader, calibrate_type, calibration_cache): calibrate on
  // this data before building. A data spec: "fashion-mnist:train", an images file (.npy, IDX) or
  // a folder of .npy; it must fit the model input. The calibration config given to the
  // constructor is then NNI's PTQ dict {layer: {weight_bits, output_bits}} (or use config_list).
  std::string calib_data;
  std::string calibrate_type = "entropy";  // entropy | minmax | percentile | mse
  // Reused only when its model hash, data hash and options match (else rewritten); "" = none.
  std::string calibration_cache;
  int64_t calib_images = 1000;  // images sampled from calib_data (<= 0: all); batch: batch_size
};

// The calibration source: nothing, a file (NNI calibration config or mpq table), or a table.
class CalibrationSource {
 public:
  CalibrationSource() = default;
  CalibrationSource(std::nullopt_t) {}
  CalibrationSource(const char* path) : path_(path ? path : "") {}
  CalibrationSource(std::string path) : path_(std::move(path)) {}
  CalibrationSource(quant::CalibrationTable table) : table_(std::move(table)) {}

  bool empty() const { return path_.empty() && !table_; }
  const std::string& path() const { return path_; }
  const std::optional<quant::CalibrationTable>& table() const { return table_; }

 private:
  std::string path_;
  std::optional<quant::CalibrationTable> table_;
};

struct InferenceResult {
  Tensor output;         // output 0 for every row of the data: [N, ...]
  double seconds = 0.0;  // sum of the batches' run times
};

class ModelSpeedup {
 public:
  // `model`: an ONNX file. `input_shape`: the model input's shape [N, C, H, W] (N is ignored:
  // the batch is dynamic up to batch_size); dims the model leaves open are fixed to it, dims it
  // fixes must agree (else kInvalidInput).
  ModelSpeedup(const std::string& model, Shape input_shape, CalibrationSource calibration = {},
               SpeedupOptions options = {});
  ModelSpeedup(const char* model, Shape input_shape, CalibrationSource calibration = {},
               SpeedupOptions options = {})
      : ModelSpeedup(std::string(model), std::move(input_shape), std::move(calibration),
                     std::move(options)) {}
  // From a graph in memory (copied).
  ModelSpeedup(const Graph& graph, Shape input_shape, CalibrationSource calibration = {},
               SpeedupOptions options = {});
  ~ModelSpeedup();
  ModelSpeedup(ModelSpeedup&&) noexcept;
  ModelSpeedup& operator=(ModelSpeedup&&) noexcept;

  // Builds the engine (passes, precision assignment, kernels prepared). Returns the seconds it
  // took.
  double compress();
  // Runs `data` ([N, ...input_shape[1:]], f32, any N >= 1) in batches of at most batch_size.
  // Builds the engine first if compress() was not called.
  InferenceResult inference(const Tensor& data);
  // Every output of the model for every row (models with several outputs).
  std::vector<Tensor> inference_all(const Tensor& data, double* seconds = nullptr);

  // Writes the engine file (atomically). Builds the engine first if needed.
  void export_quantized_model(const std::string& path);
  // Replaces the engine by the one in `path`. Its input must match input_shape; an engine built
  // from another model than the one given is refused unless options.force.
  void load_quantized_model(const std::string& path);

  bool compressed() const { return engine_ != nullptr; }
  // Per-layer report: requested/executed precision, kernel, fused ops, reasons.
  const plan::Manifest& manifest() const;
  std::shared_ptr<const runtime::Engine> engine() const { return engine_; }
  const SpeedupOptions& options() const { return options_; }
  // Warnings from building (calibration table of another model accepted under force, ...).
  const std::vector<std::string>& warnings() const { return warnings_; }
  // Milliseconds the last load_quantized_model took (read + verify + pack).
  double load_ms() const { return load_ms_; }

 private:
  void init(Shape input_shape, CalibrationSource calibration);
  void set_engine(std::shared_ptr<const runtime::Engine> e);
  void require_engine();
  int64_t batch_limit() const;

  std::unique_ptr<Graph> graph_;
  std::string model_name_, model_hash_;
  Shape input_shape_;
  std::optional<quant::CalibrationTable> table_;
  std::string calib_name_, calib_hash_;
  SpeedupOptions options_;
  std::shared_ptr<const runtime::Engine> engine_;
  std::unique_ptr<runtime::ExecutionContext> ctx_;
  std::vector<std::string> warnings_;
  double load_ms_ = 0.0;
};

}  // namespace mpq
