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

using mpq::precision_search;
using mpq::search_config_list;
using mpq::search_json;
using mpq::search_svg;
using mpq::search_verdict;
using mpq::SearchLayer;
using mpq::SearchOptions;
using mpq::SearchPoint;
using mpq::SearchReport;

// The NNI config_list (JSON) giving each layer its bits: int8 layers quantize input, weight and
// output (as `mpq calibrate`'s default), 16-bit layers name their weight's bits, fp32 layers are
// not named (not quantized, as in NNI).
std::string config_list_for(const std::vector<SearchLayer>& layers, const std::vector<int>& bits);

}  // namespace mpq::api
