#include "runtime/calibrator.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>

#include "core/progress.h"
#include "data/sampler.h"
#include "ir/op_def.h"
#include "quant/model_hash.h"

namespace mpq::quant {

namespace {

class ReferenceRunner : public BatchRunner {
 public:
  explicit ReferenceRunner(const Graph& g) : ex_(g) {}
  void run(const std::vector<Tensor>& inputs, const ValueObserver& observe) override {
    ex_.run(inputs, observe);
  }
  std::string name() const override { return "reference"; }

 private:
  ReferenceExecutor ex_;
};

std::string json_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
      continue;
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::unique_ptr<BatchRunner> make_reference_runner(const Graph& g) {
  return std::make_unique<ReferenceRunner>(g);
}

std::vector<int64_t> sample_indices(int64_t size, int64_t n, uint64_t seed) {
  // The data layer's seeded sampler (shared with training subsets); n <= 0 means all.
  return data::sample_indices(std::max<int64_t>(size, 0), n <= 0 ? std::max<int64_t>(size, 0) : n,
                              seed);
}

std::string data_hash(const data::Dataset& ds, const std::vector<int64_t>& indices,
                      int batch_size) {
  Fnv1a64 h;
  h.string("mpq-data-v1");
  h.string(ds.describe());
  const Shape s = ds.sample_shape();
  h.u64(s.size());
  for (int64_t d : s) h.i64(d);
  h.u64(indices.size());
  for (int64_t i : indices) h.i64(i);
  for (size_t b = 0; b < indices.size(); b += static_cast<size_t>(batch_size)) {
    std::vector<int64_t> batch(
        indices.begin() + b,
        indices.begin() + std::min(indices.size(), b + static_cast<size_t>(batch_size)));
    Tensor x = ds.images(batch);
    h.bytes(x.raw(), x.nbytes());  // the concatenated bytes: independent of batch_size
  }
  return h.hex();
}

// ------------------------------------------------------------------ ActivationCollector

ActivationCollector::ActivationCollector(const Graph& g, int bins, int threads)
    : g_(g), bins_(bins), threads_(threads) {
  HistogramObserver probe(bins);  // validates `bins` once, up front
  for (const Node* n : constant_nodes(g))
    for (const Value* o : n->outputs) skip_.insert(o);
}

void ActivationCollector::observe(const Value& v, const Tensor& t,
                                  const std::vector<int64_t>& image_ids, int64_t first) {
  if (t.dtype() != DType::f32 || v.is_constant() || skip_.count(&v)) return;
  auto it = obs_.find(v.name);
  if (it == obs_.end()) it = obs_.emplace(v.name, HistogramObserver(bins_)).first;
  const int64_t bad = it->second.observe(t.data<float>(), t.numel(), threads_);
  if (bad >= 0) {
    const float x = t.data<float>()[bad];
    const int64_t n = static_cast<int64_t>(image_ids.size());
    std::string where;
    if (t.rank() >= 1 && t.dim(0) == n && n > 0) {
      const int64_t img = bad / (t.numel() / n);
      where = str("calibration image ", first + img, " (dataset index ", image_ids[img], ")");
    } else {
      where = str("the batch of calibration images ", first, "..", first + n - 1);
    }
    const bool input = v.is_graph_input;
    invalid_input(str(input ? "the data" : "the model", " has ", std::isnan(x) ? "NaN" : "inf",
                      " in ", input ? "input" : "tensor", " '", v.name, "' for ", where,
                      input ? ": check the data files and --normalize"
                            : (v.producer ? str(" (computed by node '", v.producer->name,
                                                "'): the float model overflows on this image")
                                          : std::string())))
        .key(v.name)
        .raise();
  }
}

size_t ActivationCollector::memory_bytes() const {
  size_t n = 0;
  for (const auto& [name, o] : obs_) n += name.capacity() + o.memory_bytes();
  return n;
}

// ------------------------------------------------------------------ weights and layers

std::map<std::string, WeightRange> weight_ranges(const Graph& g) {
  std::map<std::string, WeightRange> out;
  for (const auto& n : g.nodes()) {
    if (!node_has_weight(*n)) continue;
    const Value* w = n->input(1);
    if (w->constant->dtype() != DType::f32 || out.count(w->name)) continue;
    WeightRange r;
    r.axis = 0;
    r.method = "minmax";
    std::vector<float> mins, maxs;
    channel_min_max(*w->constant, 0, &mins, &maxs);
    for (size_t c = 0; c < mins.size(); ++c) {
      const float a = std::max(std::fabs(mins[c]), std::fabs(maxs[c]));
      r.min.push_back(-a);
      r.max.push_back(a);
    }
    out[w->name] = std::move(r);
  }
  return out;
}

std::vector<std::string> fill_layers(CalibrationTable& t, const Graph& g, const ResolvedConfig& cfg,
                                     const std::string& config_source,
                                     const std::unordered_set<std::string>& fused) {
  std::vector<std::string> warnings;
  for (const NodeQuantSetting& s : cfg.nodes) {
    const Node& n = *s.node;
    const std::string key = layer_key(g, n);
    LayerPrecision l;
    l.source = s.entry >= 0 ? "config_list" : "calibration";
    for (int ti = 0; ti < kNumQuantTypes; ++ti) {
      const TypeSetting& ts = s.types[ti];
      if (!ts.enabled) continue;
      const char* tname = quant_type_name(static_cast<QuantType>(ti));
      if (ts.bits != 4 && ts.bits != 8 && ts.bits != 16 && ts.bits != 32)
        invalid_input(str("config_list entry ", s.entry, " asks ", ts.bits, "-bit ", tname,
                          " for layer '", key,
                          "': mpq executes 4 (weights only), 8, 16 or 32 bits"))
            .file(config_source)
            .node(n.name)
            .key(str("[", s.entry, "].quant_bits"))
            .raise();
      const TypeQuantSpec spec{ts.dtype, ts.scheme};
      if (ti == 0) {
        if (!node_has_weight(n) || n.input(1)->constant->dtype() != DType::f32) {
          warnings.push_back(str("layer '", key, "' (", n.op_name(),
                                 ") has no weight to quantize; 'weight' is ignored"));
          continue;
        }
        const Tensor& w = *n.input(1)->constant;
        TensorQuant q = tensor_quant_from_data(w, ts.bits, ts.dtype, ts.scheme, 0);
        l.weight_bits = ts.bits;
        l.weight_scale = q.scale;
        for (int64_t z : q.zero_point) l.weight_zero_point.push_back(static_cast<int32_t>(z));
        l.weight_quant = spec;
      } else {
        const Value* v = ti == 1 ? n.input(0) : (n.outputs.empty() ? nullptr : n.outputs[0]);
        if (ti == 1) l.input_bits = ts.bits, l.input_quant = spec;
        if (ti == 2) l.output_bits = ts.bits, l.output_quant = spec;
        auto it = v ? t.tensors.find(v->name) : t.tensors.end();
        if (it == t.tensors.end()) {
          if (v && !v->is_constant() && !fused.count(v->name))
            warnings.push_back(
                str("layer '", key, "': no calibrated range for its ", tname, " '", v->name, "'"));
          continue;
        }
        if (ti == 1) l.tracked_min_input = it->second.min, l.tracked_max_input = it->second.max;
        if (ti == 2) l.tracked_min_output = it->second.min, l.tracked_max_output = it->second.max;
      }
    }
    if (l.weight_bits || l.input_bits || l.output_bits) t.layers[key] = std::move(l);
  }
  return warnings;
}

// ------------------------------------------------------------------ Calibrator

std::string cache_mismatch(const CalibrationTable& cached, const std::string& model_hash,
                           const std::string& data_hash, const std::string& options_json) {
  if (cached.origin != "mpq") return "it is not an mpq calibration table";
  if (cached.header.model_hash != model_hash)
    return str("its model hash differs (", cached.header.model_hash, " vs ", model_hash, ")");
  if (cached.header.data_hash != data_hash)
    return str("its data hash differs (", cached.header.data_hash, " vs ", data_hash, ")");
  nlohmann::json a, b;
  try {
    a = nlohmann::json::parse(cached.header.options_json);
    b = nlohmann::json::parse(options_json);
  } catch (const std::exception&) {
    return "its options cannot be read";
  }
  if (a != b) return str("its options differ (", a.dump(), " vs ", b.dump(), ")");
  return "";
}

Calibrator::Calibrator(const Graph& g, CalibrationOptions o, std::optional<ResolvedConfig> cfg,
                       std::string config_source, std::string config_hash)
    : g_(g),
      o_(std::move(o)),
      cfg_(cfg ? std::move(*cfg) : default_8bit_config(g)),
      config_source_(std::move(config_source)),
      config_hash_(std::move(config_hash)) {
  if (o_.batch_size < 1)
    invalid_input(str("batch size must be >= 1, got ", o_.batch_size)).key("--batch").raise();
  if (o_.threads < 1)
    invalid_input(str("threads must be >= 1, got ", o_.threads)).key("--threads").raise();
  const double efp = o_.method_options.entropy_floor_percentile;
  if (o_.method == CalibMethod::kEntropy && !(efp >= 0.0 && efp <= 100.0))
    invalid_input(str("the entropy floor percentile must be in [0, 100], got ", efp))
        .key("--entropy-floor")
        .raise();
  if (o_.method == CalibMethod::kPercentile &&
      !(o_.method_options.percentile > 0.0 && o_.method_options.percentile <= 100.0))
    invalid_input(str("percentile must be in (0, 100], got ", o_.method_options.percentile))
        .key("--percentile")
        .raise();
  HistogramObserver probe(o_.bins);  // validates bins
}

std::vector<int64_t> Calibrator::sample(const data::Dataset& ds) const {
  return sample_indices(ds.size(), o_.calib_images, o_.seed);
}

std::string Calibrator::options_json(const data::Dataset& ds) const {
  std::string s = str("{\"method\": ", json_quote(calib_method_name(o_.method)));
  switch (o_.method) {
    case CalibMethod::kPercentile:
      s += str(", \"percentile\": ", o_.method_options.percentile);
      break;
    case CalibMethod::kEntropy:
      s += str(", \"entropy_levels\": ", o_.method_options.entropy_levels,
               ", \"entropy_floor_percentile\": ", o_.method_options.entropy_floor_percentile);
      break;
    case CalibMethod::kMse:
      s += str(", \"mse_bits\": ", o_.method_options.mse_bits);
      break;
    default:
      break;
  }
  s += str(", \"executor\": ", json_quote(o_.executor), ", \"bins\": ", o_.bins,
           ", \"batch_size\": ", o_.batch_size, ", \"calib_images\": ", o_.calib_images,
           ", \"seed\": ", o_.seed, ", \"data\": ", json_quote(ds.describe()),
           ", \"config_list\": ", json_quote(config_hash_.empty() ? "default-8bit" : config_hash_),
           "}");
  return s;
}

void Calibrator::check_data(const data::Dataset& ds) const {
  if (g_.inputs().size() != 1)
    unsupported(str("calibration feeds one input; the model has ", g_.inputs().size())).raise();
  const Value& in = *g_.inputs()[0];
  if (in.dtype != DType::f32)
    unsupported(
        str("the model input is ", dtype_name(in.dtype), "; calibration feeds float images"))
        .key(in.name)
        .raise();
  if (ds.size() <= 0)
    invalid_input(str("the calibration dataset is empty: ", ds.describe())).key("--data").raise();
  const Shape s = ds.sample_shape();
  bool ok = in.shape.size() == s.size() + 1;
  for (size_t d = 0; ok && d < s.size(); ++d) ok = in.shape[d + 1] < 0 || in.shape[d + 1] == s[d];
  if (!ok)
    invalid_input(str("data samples have shape ", shape_str(s), " (a batch is [N,",
                      shape_str(s).substr(1), "), but the model input '", in.name, "' expects ",
                      shape_str(in.shape)))
        .key("--data")
        .raise();
}

CalibrationTable Calibrator::run(const data::Dataset& ds, BatchRunner* runner) {
  check_data(ds);
  std::unique_ptr<BatchRunner> own;
  if (!runner) own = make_reference_runner(g_), runner = own.get();
  const std::vector<int64_t> indices = sample(ds);
  const Value& in = *g_.inputs()[0];
  const int64_t fixed_batch =
      in.shape[0] > 0 ? in.shape[0] : 0;  // a model built for one batch size
  const int64_t bs = fixed_batch ? fixed_batch : o_.batch_size;
  if (fixed_batch && static_cast<int64_t>(indices.size()) % fixed_batch != 0)
    invalid_input(str("the model input '", in.name, "' has a fixed batch of ", fixed_batch,
                      ", which does not divide the ", indices.size(),
                      " calibration images: pick --calib-images as a multiple of it"))
        .key("--calib-images")
        .raise();

  ActivationCollector col(g_, o_.bins, o_.threads);
  Fnv1a64 dh;  // the same stream data_hash() reads
  dh.string("mpq-data-v1");
  dh.string(ds.describe());
  const Shape s = ds.sample_shape();
  dh.u64(s.size());
  for (int64_t d : s) dh.i64(d);
  dh.u64(indices.size());
  for (int64_t i : indices) dh.i64(i);

  Progress bar("calibrate", static_cast<int64_t>(indices.size()), o_.quiet);
  for (size_t b = 0; b < indices.size(); b += static_cast<size_t>(bs)) {
    std::vector<int64_t> batch(
        indices.begin() + b,
        indices.begin() + std::min(indices.size(), b + static_cast<size_t>(bs)));
    Tensor x = ds.images(batch);
    dh.bytes(x.raw(), x.nbytes());
    const int64_t first = static_cast<int64_t>(b);
    try {
      runner->run({x}, [&](const Value& v, const Tensor& t) { col.observe(v, t, batch, first); });
    } catch (const Error& e) {
      throw e.with_file(ds.describe());
    }
    bar.advance(static_cast<int64_t>(batch.size()));
  }
  bar.finish();

  CalibrationTable t;
  t.origin = "";
  t.header.method = calib_method_name(o_.method);
  t.header.options_json = options_json(ds);
  t.header.model_hash = model_hash(g_);
  t.header.data_hash = dh.hex();
  t.header.num_samples = static_cast<int64_t>(indices.size());
  for (const auto& [name, h] : col.observers())
    t.tensors[name] = choose_range(h, o_.method, o_.method_options);
  t.weights = weight_ranges(g_);
  const std::unordered_set<std::string> fused = runner->unobserved();
  unobserved_ = fused.size();
  warnings_ = fill_layers(t, g_, cfg_, config_source_, fused);
  observer_bytes_ = col.memory_bytes();
  return t;
}

}  // namespace mpq::quant
