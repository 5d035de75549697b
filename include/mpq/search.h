// Mixed-precision decisions measured on real engines: per-layer sensitivity (`mpq sensitivity`,
// docs/sensitivity.md) and the automatic precision search (`mpq search`, docs/search.md).
//
//   mpq::Model m = mpq::Model::load("m.onnx");
//   mpq::quant::CalibrationTable t = mpq::Calibrator::load("calib.json");
//   mpq::SearchReport r = mpq::precision_search(m, t, images, labels, {.time_budget_s = 600});
//   if (r.chosen) write(mpq::search_config_list(r, r.points[*r.chosen]));  // an NNI config_list
//
// Every candidate is a whole engine built for the backend, run on the data next to the fp32
// engine (and, in the search, timed): fusions and precision boundaries count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "mpq/calibration_table.h"
#include "mpq/tensor.h"

namespace mpq {

class Graph;  // a Model converts to const Graph&

// How an engine's output 0 compares with the fp32 engine's on the same samples.
struct Fidelity {
  double sqnr_db = 0.0;    // 10 log10(sum ref^2 / sum (ref - out)^2) over output 0; +inf if equal
  double agreement = 0.0;  // fraction of samples whose argmax matches the fp32 engine's
  std::optional<double> accuracy;  // against the labels, when given
};

struct SensitivityOptions {
  std::string backend = "cpu";
  int64_t batch_size = 64;
  int threads = 0;
  // Ranks the layers: "sqnr" (dB, higher is better), "agreement" (top-1 agreement with fp32) or
  // "accuracy" (needs labels). The worst layer by its "alone" figure comes first.
  std::string metric = "sqnr";
  bool force = false;      // accept a calibration table computed on another model
  std::string calib_name;  // the table's file, for messages ("" if built in memory)
};

struct LayerSensitivity {
  std::string name;         // node name
  std::string module_path;  // PyTorch module path, when the exporter kept it
  std::string op;
  Fidelity alone;    // only this layer int8
  Fidelity without;  // every layer int8 but this one
};

struct SensitivityReport {
  std::string metric;
  int64_t samples = 0;
  std::optional<double> fp32_accuracy;
  Fidelity int8;                         // every layer int8
  std::vector<LayerSensitivity> layers;  // worst first by `metric` (alone)
};

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
  int64_t engine_bytes = 0;  // serialized engine size; frontier points only (0 elsewhere)
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

// Per-layer sensitivity: kInvalidInput when the data does not fit the model or the metric needs
// labels that are missing; kUnsupported when the model has no quantizable layer. `progress`
// (optional) is called after each engine with (done, total).
SensitivityReport layer_sensitivity(const Graph& g, const quant::CalibrationTable& table,
                                    const Tensor& data, const std::optional<Tensor>& labels,
                                    const SensitivityOptions& opt,
                                    const std::function<void(int, int)>& progress = {});
std::string sensitivity_json(const SensitivityReport& r);
std::string sensitivity_svg(const SensitivityReport& r);
std::string sensitivity_verdict(const SensitivityReport& r, size_t worst = 3);

// The precision search: kInvalidInput for data that does not fit the model, a metric without
// labels, an unknown option value, a table for another model (unless force); kUnsupported for a
// model without quantizable layers or a backend this build lacks. `progress` (optional) is called
// after each engine with (engines done, engines expected, phase).
SearchReport precision_search(
    const Graph& g, const quant::CalibrationTable& table, const Tensor& data,
    const std::optional<Tensor>& labels, const SearchOptions& opt,
    const std::function<void(int, int, const std::string&)>& progress = {});
// The NNI config_list (JSON) of a plan: `mpq build --calib T --config` rebuilds its engine.
std::string search_config_list(const SearchReport& r, const SearchPoint& p);
std::string search_json(const SearchReport& r);  // every plan, the frontier, the choice
std::string search_svg(const SearchReport& r);   // latency vs fidelity, uniform plans marked
std::string search_verdict(const SearchReport& r);

}  // namespace mpq
