// How an engine's outputs compare with the fp32 engine's on validation data: output SQNR, top-1
// agreement and accuracy. Shared by `mpq sensitivity` and `mpq search`, which judge candidate
// engines by running them (kernels, fusions and precision boundaries included) on the same data.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"
#include "mpq/search.h"
#include "runtime/engine.h"

namespace mpq::api {

using mpq::Fidelity;

// kInvalidInput (key "metric") unless `metric` is sqnr, agreement or accuracy, or when it is
// accuracy without labels.
void check_metric(const std::string& metric, bool has_labels);

// kInvalidInput (key "data" / "labels") when the samples cannot feed the model's input 0 (every
// known dim but the batch must match) or the labels do not match the samples in number.
void check_validation_data(const Graph& g, const Tensor& data, const std::optional<Tensor>& labels);

// Output 0 of `e` for every row of `data` in batches of `batch`, as floats.
std::vector<float> engine_outputs(const std::shared_ptr<const runtime::Engine>& e,
                                  const Tensor& data, int64_t batch, int threads);

Fidelity compare_outputs(const std::vector<float>& ref, const std::vector<float>& out,
                         int64_t samples, const std::optional<Tensor>& labels);
double accuracy_of(const std::vector<float>& out, int64_t samples, const Tensor& labels);

// {sqnr_db (null for an exact match: JSON has no infinity), agreement, accuracy (with labels)}.
nlohmann::json fidelity_json(const Fidelity& f);

// The figure `metric` ranks by (higher is better) and its display ("31.2 dB", "97.5%").
double metric_value(const Fidelity& f, const std::string& metric);
std::string metric_text(const Fidelity& f, const std::string& metric);

}  // namespace mpq::api
