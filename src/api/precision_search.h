// Automatic mixed precision (`mpq search`): chooses a precision per quantizable layer (int8,
// 16-bit float, fp32) by building real engines on the chosen backend, timing them whole (fusions
// and precision boundaries included) and running them on validation data. The search
//   1. measures the three uniform plans (all fp32, all 16-bit, all int8);
//   2. probes each layer: all int8 but that layer at 16 and at 32 bits (its cost in latency and
//      what it buys back in fidelity);
//   3. fits a per-layer latency model to every timing so far (search_cost_model.h) and walks
//      greedily from all-int8, raising the layer with the best predicted fidelity gain per
//      predicted millisecond;
//   4. explores seeded random neighbours of the frontier, measuring those the model predicts to
//      improve it;
//   5. re-measures every point of the Pareto frontier (latency, fidelity) and picks the fastest
//      point within the target (accuracy drop, or minimum SQNR).
// Each plan is an NNI config_list over the calibration table, so `mpq build --config` rebuilds
// exactly the engine that was measured.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "api/fidelity.h"
#include "core/tensor.h"
#include "ir/graph.h"
#include "quant/calibration_table.h"

namespace mpq::api {

struct SearchOptions {
  std::string backend = "cpu";
  int64_t batch_size = 64;  // engine batch: timed at this batch, data run in batches of it
  int threads = 0;
  // What fidelity means: "accuracy" (needs labels), "agreement" (top-1 agreement with fp32) or
  // "sqnr" (output SQNR against fp32, dB). Empty: accuracy when labels exist, else agreement.
  std::string metric;
  double max_drop = 0.5;      // accuracy/agreement: points below the fp32 engine's
  double min_sqnr_db = 30.0;  // sqnr: the least SQNR accepted
  double time_budget_s = 600.0;
  uint64_t seed = 0;
  int timing_runs = 10;  // timed runs per engine (the fastest counts)
  // "measured": engines are timed. "estimated": latency is a static work estimate (MACs scaled
  // by 1, 2, 4 for int8, 16, 32 bits); no timing, so the whole search is deterministic.
  std::string latency = "measured";
  bool force = false;      // accept a calibration table computed on another model
  std::string calib_name;  // the table's file, for messages
};

struct SearchLayer {
  std::string name, module_path, op;
  std::string config_name;  // the op_names entry that selects exactly this layer
  int64_t params = 0;
  double work = 0;  // multiply-accumulates per sample (estimate)
};

struct SearchPoint {
  std::vector<int> bits;  // per layer (SearchReport::layers order): 8, 16 or 32
  std::string origin;     // all-fp32, all-16, all-int8, probe, greedy, explore
  double latency_ms = 0;  // the last measurement (re-measured on the frontier)
  double first_latency_ms = 0;
  double predicted_ms = -1;  // the cost model's figure before it was measured (-1: none)
  Fidelity fidelity;
  double mean_bits = 0, weighted_bits = 0;  // over layers; weighted by parameters
  int64_t engine_bytes = 0;
  bool frontier = false, remeasured = false;
};

struct SearchReport {
  std::string metric, backend, latency_source;
  int64_t samples = 0, batch = 0;
  uint64_t seed = 0;
  std::optional<double> fp32_accuracy;
  std::vector<SearchLayer> layers;
  std::vector<SearchPoint> points;      // in the order measured
  std::vector<size_t> frontier;         // indices into points, fastest first
  std::optional<size_t> chosen;         // the fastest frontier point within the target
  std::string target;                   // "accuracy >= 91.2%", "sqnr >= 30 dB"
  double cost_model_median_error = -1;  // |predicted - measured| / measured; -1: no prediction
  int cost_model_predictions = 0;
  double seconds = 0;
  std::string stopped;  // why the search ended ("budget", "done")
  bool baselines_complete = false;
};

// kInvalidInput for data that does not fit the model, a metric without labels, an unknown
// option value, a table for another model (unless force); kUnsupported for a model without
// quantizable layers or a backend this build lacks. `progress` (optional) is
// called after each engine with (engines done, engines expected, phase).
SearchReport precision_search(
    const Graph& g, const quant::CalibrationTable& table, const Tensor& data,
    const std::optional<Tensor>& labels, const SearchOptions& opt,
    const std::function<void(int, int, const std::string&)>& progress = {});

// The NNI config_list (JSON) giving each layer its bits: int8 layers quantize input, weight and
// output (as `mpq calibrate`'s default); 16- and 32-bit layers name their weight's bits.
std::string config_list_for(const std::vector<SearchLayer>& layers, const std::vector<int>& bits);

// The NNI config_list (JSON) that selects `p`'s precisions: `mpq build --calib T --config` with
// it rebuilds the measured engine.
std::string search_config_list(const SearchReport& r, const SearchPoint& p);

// The report as JSON (every point, the frontier, the choice, the cost model's error) and the
// frontier as an SVG plot (latency vs fidelity, uniform plans marked).
std::string search_json(const SearchReport& r);
std::string search_svg(const SearchReport& r);

// One line: the chosen plan, its latency and fidelity against all-int8 and all-fp32.
std::string search_verdict(const SearchReport& r);

}  // namespace mpq::api
