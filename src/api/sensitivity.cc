#include "api/sensitivity.h"

#include <algorithm>
#include <sstream>

#include "api/build_engine.h"
#include "api/layer_precision.h"
#include "ir/op_def.h"
#include "runtime/engine.h"

namespace mpq::api {

std::vector<const Node*> quantizable_layers(const Graph& g) {
  std::vector<const Node*> out;
  for (const auto& n : g.nodes())
    if (has_constant_weight(*n)) out.push_back(n.get());
  return out;
}

std::string display_name(const LayerSensitivity& l) {
  return l.module_path.empty() ? l.name : l.module_path;
}

}  // namespace mpq::api

namespace mpq {

SensitivityReport layer_sensitivity(const Graph& g, const quant::CalibrationTable& table,
                                    const Tensor& data, const std::optional<Tensor>& labels,
                                    const SensitivityOptions& opt,
                                    const std::function<void(int, int)>& progress) {
  using namespace api;
  check_metric(opt.metric, labels.has_value());
  check_validation_data(g, data, labels);
  const int64_t samples = data.dim(0);
  const std::vector<const Node*> layers = quantizable_layers(g);
  if (layers.empty())
    unsupported("the model has no quantizable layer (Conv, Gemm or MatMul with a constant weight)")
        .raise();
  const int total = 2 + 2 * static_cast<int>(layers.size());
  int done = 0;
  auto build = [&](const std::string& default_precision,
                   const std::vector<LayerPrecisionRule>& rules) {
    BuildInputs in;
    in.graph = &g;
    in.model_name = g.name;
    quant::CalibrationTable t = table;
    if (!rules.empty()) apply_layer_precisions(t, g, rules, "layer");
    in.table = std::move(t);
    in.force = opt.force;
    in.calib_name = opt.calib_name;
    in.options.backend = opt.backend;
    in.options.max_batch = std::min<int64_t>(opt.batch_size, samples);
    in.options.threads = opt.threads;
    in.options.default_precision = parse_precision(default_precision);
    std::shared_ptr<const runtime::Engine> e = build_engine(std::move(in)).engine;
    std::vector<float> y =
        engine_outputs(e, data, std::min<int64_t>(opt.batch_size, samples), opt.threads);
    if (progress) progress(++done, total);
    return y;
  };
  auto rule = [](const std::string& pattern, int bits) {
    return LayerPrecisionRule{pattern, bits == 8 ? "int8" : "fp32", bits};
  };
  SensitivityReport r;
  r.metric = opt.metric;
  r.samples = samples;
  const std::vector<float> ref = build("fp32", {rule("*", 32)});
  if (labels) r.fp32_accuracy = accuracy_of(ref, samples, *labels);
  r.int8 = compare_outputs(ref, build("int8", {}), samples, labels);
  for (const Node* n : layers) {
    LayerSensitivity l;
    l.name = n->name;
    l.module_path = n->module_path;
    l.op = n->op_name();
    l.alone =
        compare_outputs(ref, build("fp32", {rule("*", 32), rule(n->name, 8)}), samples, labels);
    l.without = compare_outputs(ref, build("int8", {rule(n->name, 32)}), samples, labels);
    r.layers.push_back(std::move(l));
  }
  std::stable_sort(r.layers.begin(), r.layers.end(), [&](const auto& a, const auto& b) {
    return metric_value(a.alone, r.metric) < metric_value(b.alone, r.metric);
  });
  return r;
}

std::string sensitivity_verdict(const SensitivityReport& r, size_t worst) {
  using namespace api;
  std::ostringstream os;
  os << "most sensitive (" << r.metric << " with only that layer int8):";
  for (size_t i = 0; i < r.layers.size() && i < worst; ++i)
    os << (i ? ", " : " ") << display_name(r.layers[i]) << " "
       << metric_text(r.layers[i].alone, r.metric);
  os << "; all int8 " << metric_text(r.int8, r.metric);
  if (!r.layers.empty())
    os << ", all int8 but " << display_name(r.layers[0]) << " "
       << metric_text(r.layers[0].without, r.metric);
  return os.str();
}

}  // namespace mpq
