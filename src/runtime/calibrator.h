// Post-training calibration: runs the float graph over sampled calibration images,
// streams every float tensor (graph inputs and every node output) into a fixed-size histogram,
// picks each tensor's range with minmax / percentile / entropy / MSE, computes per-output-channel
// symmetric weight ranges from the weights, and writes the NNI-compatible per-layer section for
// the layers a config_list selects (or every quantizable layer at 8 bits).
//
// Determinism: the same model, data and options give a byte-identical table whatever the thread
// count (integer histograms, fixed-order floating-point sums, fixed batch order).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "backends/reference/executor.h"
#include "data/dataset.h"
#include "quant/calibration_table.h"
#include "quant/config_list.h"
#include "quant/observers.h"

namespace mpq::quant {

struct CalibrationOptions {
  CalibMethod method = CalibMethod::kEntropy;
  MethodOptions method_options;  // percentile, entropy levels, MSE bits
  int64_t calib_images = 1000;   // images sampled from the dataset; <= 0 or >= size: all of them
  uint64_t seed = 0;             // sampling seed
  int batch_size = 32;           // images per executor run (part of the result: fixes batch order)
  int threads = 1;               // histogram threads (the result does not depend on it)
  int bins = kDefaultHistogramBins;
  bool quiet = true;  // no progress bar
  // The executor the caller runs (api::resolve_executor: "cpu" or "reference"). Recorded in the
  // options: the CPU engine observes the tensors it materializes, the reference every value.
  std::string executor = "reference";
};

// "Run a batch and observe its values": the float executor calibration collects through (the
// reference executor here; the CPU fp32 engine in api/calibration_runner.h).
class BatchRunner {
 public:
  virtual ~BatchRunner() = default;
  // Runs the graph on `inputs`; calls `observe` for every graph input and every computed value.
  virtual void run(const std::vector<Tensor>& inputs, const ValueObserver& observe) = 0;
  virtual std::string name() const = 0;
  // Values of the graph this runner never shows `observe` (computed inside a fused step): the
  // table has no range of their own, and no layer warning is raised for them.
  virtual std::unordered_set<std::string> unobserved() const { return {}; }
};
std::unique_ptr<BatchRunner> make_reference_runner(const Graph& g);

// Seeded sample of `n` distinct indices of [0, size), sorted; all indices when n <= 0 or
// n >= size. Identical on every platform (data::sample_indices).
std::vector<int64_t> sample_indices(int64_t size, int64_t n, uint64_t seed);

// Hash of the data: the dataset's description, the sample shape, the sampled indices and the
// bytes of the sampled (normalized) images. Independent of the batch size used to read them.
std::string data_hash(const data::Dataset& ds, const std::vector<int64_t>& indices,
                      int batch_size = 64);

// Histograms of every float tensor of the graph, fed batch by batch.
class ActivationCollector {
 public:
  ActivationCollector(const Graph& g, int bins, int threads);
  // Observes `t` (the value `v` for a batch of images). `image_ids[i]` is the dataset index of
  // image i of the batch and `first` the calibration-order number of image 0 (for messages).
  // Throws kInvalidInput naming the tensor and the image on NaN/inf.
  void observe(const Value& v, const Tensor& t, const std::vector<int64_t>& image_ids,
               int64_t first);
  const std::map<std::string, HistogramObserver>& observers() const { return obs_; }
  // Bytes held by all histograms: fixed by the graph and `bins`, not by the number of images.
  size_t memory_bytes() const;

 private:
  const Graph& g_;
  int bins_, threads_;
  std::map<std::string, HistogramObserver> obs_;
  std::unordered_set<const Value*> skip_;  // outputs of constant subgraphs (not activations)
};

// Per-output-channel (axis 0) symmetric ranges of every constant weight of a weighted node.
std::map<std::string, WeightRange> weight_ranges(const Graph& g);

// Fills t.layers (NNI keys) for the nodes `cfg` selects from t.tensors and the graph's weights:
// bits per enabled type, tracked_{min,max}_{input,output} from the node's input 0 / output 0
// ranges, weight_scale/zero_point from the weights with the entry's dtype and scheme. Bits mpq
// cannot execute (not 4/8/16/32) are an error naming the config file, entry and node. Returns
// warnings (e.g. a weight type asked of a node without weights).
// Inputs/outputs named in `fused` (never observed: see BatchRunner::unobserved) get no
// tracked range and no warning.
std::vector<std::string> fill_layers(CalibrationTable& t, const Graph& g, const ResolvedConfig& cfg,
                                     const std::string& config_source = "",
                                     const std::unordered_set<std::string>& fused = {});

// Why `cached` cannot stand in for a calibration of the model/data with these hashes and
// options: "" when it can, else e.g. "its model hash differs (fnv1a64:... vs fnv1a64:...)".
std::string cache_mismatch(const CalibrationTable& cached, const std::string& model_hash,
                           const std::string& data_hash, const std::string& options_json);

class Calibrator {
 public:
  // `cfg`: the resolved config_list; nullopt: default_8bit_config(g).
  Calibrator(const Graph& g, CalibrationOptions o, std::optional<ResolvedConfig> cfg = std::nullopt,
             std::string config_source = "", std::string config_hash = "");

  // The indices of `ds` this calibrator uses (seeded sample).
  std::vector<int64_t> sample(const data::Dataset& ds) const;
  // The header's options object (method, its parameters, bins, batch size, sampling, config).
  std::string options_json(const data::Dataset& ds) const;
  // Checks that `ds` can feed the graph (one float input, matching sample shape, not empty).
  void check_data(const data::Dataset& ds) const;

  // Runs calibration. `runner`: the executor to collect through (default: reference).
  CalibrationTable run(const data::Dataset& ds, BatchRunner* runner = nullptr);

  const std::vector<std::string>& warnings() const { return warnings_; }
  size_t observer_memory_bytes() const { return observer_bytes_; }  // after run()
  // Graph values the runner could not observe (fused inside engine steps), after run().
  size_t unobserved_count() const { return unobserved_; }
  const CalibrationOptions& options() const { return o_; }

 private:
  const Graph& g_;
  CalibrationOptions o_;
  ResolvedConfig cfg_;
  std::string config_source_, config_hash_;
  std::vector<std::string> warnings_;
  size_t observer_bytes_ = 0, unobserved_ = 0;
};

}  // namespace mpq::quant
