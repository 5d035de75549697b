#include "api/sensitivity.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "api/build_engine.h"
#include "api/layer_precision.h"
#include "ir/op_def.h"
#include "runtime/engine.h"

namespace mpq::api {

namespace {

// Output 0 of `e` for every row of `data`, as floats.
std::vector<float> run_all(const std::shared_ptr<const runtime::Engine>& e, const Tensor& data,
                           int64_t batch, int threads) {
  runtime::ExecutionContext ctx(e, threads);
  std::vector<float> out;
  const int64_t n = data.dim(0);
  const int64_t row = data.numel() / std::max<int64_t>(n, 1);
  for (int64_t b = 0; b < n; b += batch) {
    const int64_t m = std::min(batch, n - b);
    Shape s = data.shape();
    s[0] = m;
    const auto* base = static_cast<const uint8_t*>(data.raw()) + b * row * dtype_size(data.dtype());
    Tensor x = Tensor::view(data.dtype(), s, const_cast<uint8_t*>(base));
    std::vector<float> y = ctx.run({x}).at(0).to_floats();
    out.insert(out.end(), y.begin(), y.end());
  }
  return out;
}

int64_t argmax_row(const float* p, int64_t k) {
  return std::max_element(p, p + k) - p;
}

Fidelity compare(const std::vector<float>& ref, const std::vector<float>& out, int64_t samples,
                 const std::optional<Tensor>& labels) {
  Fidelity f;
  double sig = 0.0, noise = 0.0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double d = static_cast<double>(ref[i]) - out[i];
    sig += static_cast<double>(ref[i]) * ref[i];
    noise += d * d;
  }
  f.sqnr_db =
      noise > 0.0 ? 10.0 * std::log10(sig / noise) : std::numeric_limits<double>::infinity();
  const int64_t k = samples ? static_cast<int64_t>(ref.size()) / samples : 0;
  int64_t agree = 0, correct = 0;
  std::vector<int64_t> lab = labels ? labels->to_int64s() : std::vector<int64_t>{};
  for (int64_t s = 0; s < samples && k > 0; ++s) {
    const int64_t a = argmax_row(out.data() + s * k, k);
    agree += a == argmax_row(ref.data() + s * k, k);
    if (labels) correct += a == lab.at(s);
  }
  f.agreement = samples ? static_cast<double>(agree) / samples : 0.0;
  if (labels) f.accuracy = samples ? static_cast<double>(correct) / samples : 0.0;
  return f;
}

double accuracy_of(const std::vector<float>& out, int64_t samples, const Tensor& labels) {
  const int64_t k = samples ? static_cast<int64_t>(out.size()) / samples : 0;
  std::vector<int64_t> lab = labels.to_int64s();
  int64_t correct = 0;
  for (int64_t s = 0; s < samples && k > 0; ++s)
    correct += argmax_row(out.data() + s * k, k) == lab.at(s);
  return samples ? static_cast<double>(correct) / samples : 0.0;
}

}  // namespace

std::vector<const Node*> quantizable_layers(const Graph& g) {
  std::vector<const Node*> out;
  for (const auto& n : g.nodes())
    if (has_constant_weight(*n)) out.push_back(n.get());
  return out;
}

double metric_value(const Fidelity& f, const std::string& metric) {
  if (metric == "agreement") return f.agreement;
  if (metric == "accuracy") return f.accuracy.value_or(0.0);
  return f.sqnr_db;
}

std::string metric_text(const Fidelity& f, const std::string& metric) {
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(1);
  if (metric == "sqnr") {
    if (std::isinf(f.sqnr_db)) return "exact";
    os << f.sqnr_db << " dB";
  } else {
    os << 100.0 * metric_value(f, metric) << "%";
  }
  return os.str();
}

SensitivityReport layer_sensitivity(const Graph& g, const quant::CalibrationTable& table,
                                    const Tensor& data, const std::optional<Tensor>& labels,
                                    const SensitivityOptions& opt,
                                    const std::function<void(int, int)>& progress) {
  if (opt.metric != "sqnr" && opt.metric != "agreement" && opt.metric != "accuracy")
    invalid_input(str("unknown metric '", opt.metric, "': sqnr, agreement or accuracy"))
        .key("metric")
        .raise();
  if (opt.metric == "accuracy" && !labels)
    invalid_input("the accuracy metric needs labels (--labels, or a labeled dataset)")
        .key("metric")
        .raise();
  if (data.rank() < 1 || data.dim(0) < 1)
    invalid_input("no validation samples").key("data").raise();
  const int64_t samples = data.dim(0);
  // The data must fit the model input (every known dim but the batch), before any engine is built.
  const Shape& want = g.inputs().at(0)->shape;
  bool fits = data.rank() == static_cast<int64_t>(want.size());
  for (size_t d = 1; fits && d < want.size(); ++d) fits = want[d] < 0 || want[d] == data.dim(d);
  if (!fits)
    invalid_input(str("samples of shape ", shape_str(data.shape()), " cannot feed the model input ",
                      shape_str(want)))
        .key("data")
        .raise();
  if (labels && labels->numel() != samples)
    invalid_input(str(labels->numel(), " labels for ", samples, " samples")).key("labels").raise();
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
        run_all(e, data, std::min<int64_t>(opt.batch_size, samples), opt.threads);
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
  r.int8 = compare(ref, build("int8", {}), samples, labels);
  for (const Node* n : layers) {
    LayerSensitivity l;
    l.name = n->name;
    l.module_path = n->module_path;
    l.op = n->op_name();
    l.alone = compare(ref, build("fp32", {rule("*", 32), rule(n->name, 8)}), samples, labels);
    l.without = compare(ref, build("int8", {rule(n->name, 32)}), samples, labels);
    r.layers.push_back(std::move(l));
  }
  std::stable_sort(r.layers.begin(), r.layers.end(), [&](const auto& a, const auto& b) {
    return metric_value(a.alone, r.metric) < metric_value(b.alone, r.metric);
  });
  return r;
}

std::string display_name(const LayerSensitivity& l) {
  return l.module_path.empty() ? l.name : l.module_path;
}

std::string sensitivity_verdict(const SensitivityReport& r, size_t worst) {
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

}  // namespace mpq::api
