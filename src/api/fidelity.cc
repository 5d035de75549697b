#include "api/fidelity.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

namespace mpq::api {

namespace {

int64_t argmax_row(const float* p, int64_t k) {
  return std::max_element(p, p + k) - p;
}

}  // namespace

void check_metric(const std::string& metric, bool has_labels) {
  if (metric != "sqnr" && metric != "agreement" && metric != "accuracy")
    invalid_input(str("unknown metric '", metric, "': sqnr, agreement or accuracy"))
        .key("metric")
        .raise();
  if (metric == "accuracy" && !has_labels)
    invalid_input("the accuracy metric needs labels (--labels, or a labeled dataset)")
        .key("metric")
        .raise();
}

void check_validation_data(const Graph& g, const Tensor& data,
                           const std::optional<Tensor>& labels) {
  if (data.rank() < 1 || data.dim(0) < 1)
    invalid_input("no validation samples").key("data").raise();
  const Shape& want = g.inputs().at(0)->shape;
  bool fits = data.rank() == static_cast<int64_t>(want.size());
  for (size_t d = 1; fits && d < want.size(); ++d) fits = want[d] < 0 || want[d] == data.dim(d);
  if (!fits)
    invalid_input(str("samples of shape ", shape_str(data.shape()), " cannot feed the model input ",
                      shape_str(want)))
        .key("data")
        .raise();
  if (labels && labels->numel() != data.dim(0))
    invalid_input(str(labels->numel(), " labels for ", data.dim(0), " samples"))
        .key("labels")
        .raise();
}

std::vector<float> engine_outputs(const std::shared_ptr<const runtime::Engine>& e,
                                  const Tensor& data, int64_t batch, int threads) {
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

Fidelity compare_outputs(const std::vector<float>& ref, const std::vector<float>& out,
                         int64_t samples, const std::optional<Tensor>& labels) {
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
  int64_t agree = 0;
  for (int64_t s = 0; s < samples && k > 0; ++s)
    agree += argmax_row(out.data() + s * k, k) == argmax_row(ref.data() + s * k, k);
  f.agreement = samples ? static_cast<double>(agree) / samples : 0.0;
  if (labels) f.accuracy = accuracy_of(out, samples, *labels);
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

nlohmann::json fidelity_json(const Fidelity& f) {
  nlohmann::json j;
  j["sqnr_db"] = std::isinf(f.sqnr_db) ? nlohmann::json() : nlohmann::json(f.sqnr_db);
  j["agreement"] = f.agreement;
  if (f.accuracy) j["accuracy"] = *f.accuracy;
  return j;
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

}  // namespace mpq::api
