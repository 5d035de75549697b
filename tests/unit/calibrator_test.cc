// Calibration: known distributions give known ranges, streaming histograms keep fixed memory,
// results are byte-identical whatever the thread count, and bad data is reported by tensor and
// image.
#include "mpq/calibrator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>

#include "ir/op_def.h"
#include "runtime/calibrator.h"
#include "quant/model_hash.h"
#include "quant/observers.h"

namespace mpq::quant {
namespace {

// Deterministic samples (hand-written transforms: std distributions differ between libraries).
std::vector<float> uniform(size_t n, float lo, float hi, uint64_t seed) {
  std::mt19937_64 g(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = lo + (hi - lo) * static_cast<float>((g() >> 11) * 0x1.0p-53);
  return v;
}
std::vector<float> gaussian(size_t n, uint64_t seed) {
  std::mt19937_64 g(seed);
  std::vector<float> v(n);
  for (size_t i = 0; i < n; i += 2) {
    double u1 = ((g() >> 11) + 1) * 0x1.0p-53, u2 = (g() >> 11) * 0x1.0p-53;
    double r = std::sqrt(-2 * std::log(u1));
    v[i] = static_cast<float>(r * std::cos(2 * M_PI * u2));
    if (i + 1 < n) v[i + 1] = static_cast<float>(r * std::sin(2 * M_PI * u2));
  }
  return v;
}
std::vector<float> laplace(size_t n, uint64_t seed) {
  std::mt19937_64 g(seed);
  std::vector<float> v(n);
  for (auto& x : v) {
    double u = ((g() >> 11) + 0.5) * 0x1.0p-53 - 0.5;  // (-0.5, 0.5)
    x = static_cast<float>(-std::copysign(1.0, u) * std::log(1 - 2 * std::fabs(u)));
  }
  return v;
}

HistogramObserver observe_all(const std::vector<float>& v, size_t batch = 10000, int threads = 1) {
  HistogramObserver h;
  for (size_t b = 0; b < v.size(); b += batch)
    h.observe(v.data() + b, static_cast<int64_t>(std::min(batch, v.size() - b)), threads);
  return h;
}

TEST(Observers, MinMaxOfUniformIsItsBounds) {
  auto v = uniform(200000, -1.f, 3.f, 1);
  v[17] = -1.f, v[99] = 3.f;  // the bounds themselves occur
  auto h = observe_all(v);
  TensorRange r = choose_range(h, CalibMethod::kMinMax, {});
  EXPECT_EQ(r.min, -1.f);
  EXPECT_EQ(r.max, 3.f);
  EXPECT_EQ(r.method, "minmax");
  EXPECT_EQ(r.stats.at("count"), 200000);
}

TEST(Observers, GaussianPercentileMatchesAnalyticQuantile) {
  auto h = observe_all(gaussian(1000000, 2));
  // |X| for X ~ N(0,1): P(|X| <= t) = p  <=>  t = Phi^-1((1 + p) / 2).
  EXPECT_NEAR(percentile_threshold(h, 99.99), 3.8906, 0.06);
  EXPECT_NEAR(percentile_threshold(h, 99.0), 2.5758, 0.01);
  EXPECT_NEAR(percentile_threshold(h, 90.0), 1.6449, 0.01);
  TensorRange r = choose_range(h, CalibMethod::kPercentile, {.percentile = 99.0});
  EXPECT_NEAR(r.max, 2.5758, 0.01);
  EXPECT_NEAR(r.min, -2.5758, 0.01);
  EXPECT_EQ(r.stats.at("percentile"), 99.0);
  EXPECT_THROW(percentile_threshold(h, 0.0), Error);
  EXPECT_THROW(percentile_threshold(h, 100.5), Error);
}

TEST(Observers, EntropyAndMseClipHeavyTails) {
  auto h = observe_all(laplace(1000000, 3));
  const double amax = h.amax();
  ASSERT_GT(amax, 10.0);  // ~ln(1e6) = 13.8
  double kl, mse;
  const double te = entropy_threshold(h, 128, &kl);
  const double tm = mse_threshold(h, 8, &mse);
  EXPECT_LT(te, 0.75 * amax);
  EXPECT_GT(te, 3.0);
  EXPECT_LT(tm, 0.75 * amax);
  EXPECT_GT(tm, 3.0);
  EXPECT_GT(kl, 0.0);
  // The clip MSE picked beats no clip, evaluated by fake-quantizing the actual data.
  auto v = laplace(200000, 4);
  auto err = [&](double t) {
    double s = 0, step = 2 * t / 255;
    for (float x : v) {
      double c = std::clamp<double>(x, -t, t);
      double q = std::nearbyint(c / step) * step;
      s += (q - x) * (q - x);
    }
    return s / v.size();
  };
  EXPECT_LT(err(tm), err(amax));
  EXPECT_LT(err(te), err(amax));
}

TEST(Observers, EntropyAndMseKeepUniformMax) {
  for (auto [lo, hi] : {std::pair{0.f, 1.f}, std::pair{-2.f, 2.f}}) {
    auto h = observe_all(uniform(1000000, lo, hi, 5));
    const double amax = h.amax();
    EXPECT_GE(entropy_threshold(h, 128), 0.98 * amax) << lo;
    EXPECT_GE(mse_threshold(h, 8), 0.98 * amax) << lo;
    TensorRange r = choose_range(h, CalibMethod::kEntropy, {});
    EXPECT_NEAR(r.max, hi, 0.02 * hi);
  }
}

TEST(Observers, ReluZerosDoNotSteerTheClip) {
  auto v = laplace(400000, 6);
  for (auto& x : v) x = std::max(x, 0.f);  // half the values are exact zeros
  auto h = observe_all(v);
  EXPECT_NEAR(static_cast<double>(h.zero_count()) / v.size(), 0.5, 0.01);
  int64_t in_bins = 0;
  for (int64_t c : h.bins()) in_bins += c;
  EXPECT_EQ(in_bins + h.zero_count(), h.count());
  TensorRange r = choose_range(h, CalibMethod::kEntropy, {});
  EXPECT_EQ(r.min, 0.f);
  EXPECT_GT(r.max, 2.f);
  EXPECT_LT(r.max, h.max());
}

TEST(Observers, RebinningDoublesTheRangeAndKeepsCounts) {
  HistogramObserver h(8);
  std::vector<float> a = {0.1f, 0.3f, 0.6f, 1.0f};  // range 1: bins of 0.125
  h.observe(a.data(), 4);
  EXPECT_EQ(h.range(), 1.f);
  EXPECT_EQ(h.bins(), (std::vector<int64_t>{1, 0, 1, 0, 1, 0, 0, 1}));
  std::vector<float> b = {-3.5f, 0.f};  // needs range 4: two doublings, bins of 0.5
  h.observe(b.data(), 2);
  EXPECT_EQ(h.range(), 4.f);
  // 1.0 sat in the last bin of range 1 (values == range are kept there), so it merges into bin 1.
  EXPECT_EQ(h.bins(), (std::vector<int64_t>{2, 2, 0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(h.zero_count(), 1);
  EXPECT_EQ(h.count(), 6);
  EXPECT_EQ(h.min(), -3.5f);
  EXPECT_EQ(h.max(), 1.f);
  EXPECT_EQ(h.amax(), 3.5f);
  EXPECT_THROW(HistogramObserver(100), Error);
}

TEST(Observers, MemoryIsIndependentOfTheNumberOfValues) {
  HistogramObserver small, large;
  const size_t before = large.memory_bytes();
  auto v = gaussian(100000, 7);
  small.observe(v.data(), 10000);
  for (int rep = 0; rep < 10; ++rep) large.observe(v.data(), 100000);  // 100x the values
  EXPECT_EQ(large.memory_bytes(), before);
  EXPECT_EQ(large.memory_bytes(), small.memory_bytes());
  EXPECT_EQ(large.bins().size(), static_cast<size_t>(kDefaultHistogramBins));
}

TEST(Observers, ThreadCountDoesNotChangeTheHistogram) {
  auto v = laplace(600000, 8);
  auto h1 = observe_all(v, 300000, 1);
  auto h4 = observe_all(v, 300000, 4);
  EXPECT_EQ(h1.bins(), h4.bins());
  EXPECT_EQ(h1.zero_count(), h4.zero_count());
  EXPECT_EQ(entropy_threshold(h1, 128), entropy_threshold(h4, 128));
}

TEST(Observers, MethodNames) {
  CalibMethod m;
  for (const char* s : {"minmax", "percentile", "entropy", "mse"}) {
    ASSERT_TRUE(parse_calib_method(s, &m));
    EXPECT_STREQ(calib_method_name(m), s);
  }
  EXPECT_FALSE(parse_calib_method("kl", &m));
}

// ------------------------------------------------------------------ the calibrator

class TensorDataset : public data::Dataset {
 public:
  TensorDataset(Shape sample, std::vector<float> values, std::string name = "memory")
      : sample_(std::move(sample)), values_(std::move(values)), name_(std::move(name)) {}
  int64_t size() const override {
    int64_t per = shape_numel(sample_);
    return per ? static_cast<int64_t>(values_.size()) / per : 0;
  }
  Shape sample_shape() const override { return sample_; }
  bool has_labels() const override { return false; }
  Tensor images(const std::vector<int64_t>& idx) const override {
    Shape s = sample_;
    s.insert(s.begin(), static_cast<int64_t>(idx.size()));
    Tensor t(DType::f32, s);
    const int64_t per = shape_numel(sample_);
    for (size_t i = 0; i < idx.size(); ++i)
      std::copy_n(values_.begin() + idx[i] * per, per, t.data<float>() + i * per);
    return t;
  }
  Tensor labels(const std::vector<int64_t>&) const override { invalid_input("no labels").raise(); }
  std::string describe() const override { return name_; }

 private:
  Shape sample_;
  std::vector<float> values_;
  std::string name_;
};

// x[N,4] -> Add(x, bias) "h" -> Relu "r" -> Add(r, x) "y"
struct SmallModel {
  Graph g;
  SmallModel(float bias = 0.5f) {
    Value* x = g.add_input("x", DType::f32, {-1, 4});
    Value* b = g.add_constant("bias", Tensor::from<float>({4}, {bias, -bias, 0.f, 1.f}));
    Node* a = g.add_node(OpKind::Add, "add", {x, b}, {"h"});
    a->module_path = "block.add";
    Node* r = g.add_node(OpKind::Relu, "relu", {a->outputs[0]}, {"r"});
    Node* y = g.add_node(OpKind::Add, "add2", {r->outputs[0], x}, {"y"});
    g.add_output(y->outputs[0]);
    infer_shapes(g);
  }
};

Status run_status(const Graph& g, const data::Dataset& ds, CalibrationOptions o = {}) {
  try {
    Calibrator(g, o).run(ds);
  } catch (const Error& e) {
    return e.status();
  }
  return Status::Ok();
}

TEST(Calibrator, TableHasEveryTensorLayersAndHashes) {
  SmallModel m;
  TensorDataset ds({4}, gaussian(4 * 500, 9));
  CalibrationOptions o;
  o.method = CalibMethod::kMinMax;
  o.calib_images = 300;
  o.batch_size = 64;
  Calibrator c(m.g, o);
  CalibrationTable t = c.run(ds);
  EXPECT_EQ(t.header.num_samples, 300);
  EXPECT_EQ(t.header.method, "minmax");
  EXPECT_EQ(t.header.model_hash, model_hash(m.g));
  EXPECT_EQ(t.header.data_hash, data_hash(ds, sample_indices(500, 300, 0), 7));  // any batch size
  for (const char* v : {"x", "h", "r", "y"}) EXPECT_TRUE(t.tensors.count(v)) << v;
  EXPECT_EQ(t.tensors.size(), 4u);  // constants are not activations
  EXPECT_EQ(t.tensors.at("r").min, 0.f);
  // Both Adds are requant ops: default 8 bits on input and output with their tensors' ranges.
  ASSERT_EQ(t.layers.size(), 2u);
  const LayerPrecision& l = t.layers.at("block.add");
  EXPECT_EQ(l.input_bits, 8);
  EXPECT_EQ(l.output_bits, 8);
  EXPECT_EQ(l.weight_bits, 0);
  EXPECT_EQ(*l.tracked_min_input, t.tensors.at("x").min);
  EXPECT_EQ(*l.tracked_max_output, t.tensors.at("h").max);
  EXPECT_TRUE(t.layers.count("add2"));
  EXPECT_TRUE(check_table_matches(t, m.g, false).empty());
  // The JSON says how the range was chosen.
  std::string js = calibration_table_to_json(t);
  EXPECT_NE(js.find("\"observed_max\""), std::string::npos);
  EXPECT_NE(js.find("\"calib_images\": 300"), std::string::npos);
}

TEST(Calibrator, ConfigListChoosesLayersAndBits) {
  SmallModel m;
  TensorDataset ds({4}, gaussian(4 * 100, 10));
  auto cfg = ConfigList::parse_string(R"([
    {"quant_types": ["input", "output"], "quant_bits": {"input": 16, "output": 8}, "op_types": ["Add"]},
    {"quant_types": ["output"], "quant_bits": 8, "op_types": ["ReLU"]},
    {"exclude": true, "op_names": ["add2"]}])");
  Calibrator c(m.g, {}, cfg.resolve(m.g), "cfg.json", "h");
  CalibrationTable t = c.run(ds);
  ASSERT_EQ(t.layers.size(), 2u);
  EXPECT_EQ(t.layers.at("block.add").input_bits, 16);
  EXPECT_EQ(t.layers.at("block.add").source, "config_list");
  EXPECT_EQ(t.layers.at("relu").output_bits, 8);
  EXPECT_EQ(*t.layers.at("relu").tracked_max_output, t.tensors.at("r").max);
  // Bits the engine cannot run are an error naming the config and the entry.
  auto bad = ConfigList::parse_string(
      R"([{"quant_types": ["output"], "quant_bits": 6, "op_types": ["Relu"]}])");
  try {
    Calibrator(m.g, {}, bad.resolve(m.g), "cfg.json").run(ds);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.status().file, "cfg.json");
    EXPECT_EQ(e.status().key, "[0].quant_bits");
    EXPECT_EQ(e.status().node, "relu");
  }
}

TEST(Calibrator, ByteIdenticalAcrossThreadCountsAndRuns) {
  // Wide tensors so that histogram counting really splits across threads.
  Graph g;
  Value* x = g.add_input("x", DType::f32, {-1, 70000});
  Node* r = g.add_node(OpKind::Relu, "relu", {x}, {"r"});
  Node* a = g.add_node(OpKind::Add, "add", {r->outputs[0], x}, {"y"});
  g.add_output(a->outputs[0]);
  infer_shapes(g);
  TensorDataset ds({70000}, laplace(70000 * 12, 11));
  std::string first;
  for (auto method : {CalibMethod::kEntropy, CalibMethod::kMse, CalibMethod::kPercentile}) {
    std::string ref;
    for (int threads : {1, 3, 1}) {
      CalibrationOptions o;
      o.method = method;
      o.threads = threads;
      o.batch_size = 4;
      o.calib_images = 10;
      o.seed = 42;
      std::string js = calibration_table_to_json(Calibrator(g, o).run(ds));
      if (ref.empty()) ref = js;
      EXPECT_EQ(js, ref) << calib_method_name(method) << " threads " << threads;
    }
  }
}

TEST(Calibrator, MemoryStaysFlatWithTenTimesTheImages) {
  SmallModel m;
  TensorDataset ds({4}, laplace(4 * 2000, 12));
  CalibrationOptions o;
  o.calib_images = 100;
  Calibrator c1(m.g, o);
  c1.run(ds);
  o.calib_images = 1000;
  Calibrator c10(m.g, o);
  CalibrationTable t = c10.run(ds);
  EXPECT_EQ(t.header.num_samples, 1000);
  EXPECT_GT(c1.observer_memory_bytes(), 0u);
  EXPECT_EQ(c10.observer_memory_bytes(), c1.observer_memory_bytes());
}

TEST(Calibrator, SeededSampling) {
  auto a = sample_indices(60000, 1000, 1);
  EXPECT_EQ(a.size(), 1000u);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  EXPECT_EQ(std::adjacent_find(a.begin(), a.end()), a.end());  // distinct
  EXPECT_EQ(a, sample_indices(60000, 1000, 1));
  EXPECT_NE(a, sample_indices(60000, 1000, 2));
  EXPECT_EQ(sample_indices(10, 0, 1).size(), 10u);   // all
  EXPECT_EQ(sample_indices(10, 50, 1).size(), 10u);  // more than there are: all
  // Different seeds give different data hashes; so do different images.
  TensorDataset ds({4}, gaussian(4 * 100, 13));
  EXPECT_NE(data_hash(ds, sample_indices(100, 10, 1)), data_hash(ds, sample_indices(100, 10, 2)));
  TensorDataset ds2({4}, gaussian(4 * 100, 14));
  EXPECT_NE(data_hash(ds, sample_indices(100, 10, 1)), data_hash(ds2, sample_indices(100, 10, 1)));
}

TEST(Calibrator, DataShapeMismatchNamesBothShapes) {
  SmallModel m;
  TensorDataset ds({1, 28, 28}, std::vector<float>(784 * 2, 0.f));
  Status s = run_status(m.g, ds);
  EXPECT_EQ(s.code, Code::kInvalidInput);
  EXPECT_NE(s.message.find("[1,28,28]"), std::string::npos) << s.message;
  EXPECT_NE(s.message.find("[?,4]"), std::string::npos) << s.message;
}

TEST(Calibrator, NanInDataNamesInputAndImage) {
  SmallModel m;
  auto v = gaussian(4 * 50, 15);
  v[4 * 37 + 2] = NAN;  // dataset image 37
  TensorDataset ds({4}, v);
  CalibrationOptions o;
  o.batch_size = 16;
  Status s = run_status(m.g, ds, o);
  EXPECT_EQ(s.code, Code::kInvalidInput);
  EXPECT_EQ(s.key, "x");
  EXPECT_NE(s.message.find("NaN"), std::string::npos);
  EXPECT_NE(s.message.find("dataset index 37"), std::string::npos) << s.message;
  EXPECT_EQ(s.file, "memory");
}

TEST(Calibrator, InfInActivationsNamesTensorAndImage) {
  SmallModel m(3e38f);  // bias 3e38: a large input overflows the Add to inf
  auto v = gaussian(4 * 20, 16);
  v[4 * 5 + 0] = 1e38f;  // dataset image 5: 3e38 + 1e38 = inf
  TensorDataset ds({4}, v);
  Status s = run_status(m.g, ds);
  EXPECT_EQ(s.code, Code::kInvalidInput);
  EXPECT_EQ(s.key, "h");
  EXPECT_NE(s.message.find("inf"), std::string::npos);
  EXPECT_NE(s.message.find("calibration image 5 (dataset index 5)"), std::string::npos)
      << s.message;
  EXPECT_NE(s.message.find("'add'"), std::string::npos) << s.message;
}

TEST(Calibrator, EmptyDatasetAndBadOptions) {
  SmallModel m;
  TensorDataset empty({4}, {});
  Status s = run_status(m.g, empty);
  EXPECT_EQ(s.code, Code::kInvalidInput);
  EXPECT_NE(s.message.find("empty"), std::string::npos);
  CalibrationOptions o;
  o.method = CalibMethod::kPercentile;
  o.method_options.percentile = 0;
  EXPECT_THROW(Calibrator(m.g, o), Error);
  CalibrationOptions o2;
  o2.batch_size = 0;
  EXPECT_THROW(Calibrator(m.g, o2), Error);
}

}  // namespace
}  // namespace mpq::quant

namespace mpq::quant {
namespace {

TEST(Calibrator, CacheMatchesOnlySameModelDataAndOptions) {
  SmallModel m;
  TensorDataset ds({4}, gaussian(4 * 64, 20));
  CalibrationOptions o;
  o.calib_images = 32;
  Calibrator c(m.g, o);
  CalibrationTable t = parse_calibration_table(calibration_table_to_json(c.run(ds)), "cache.json");
  const std::string mh = model_hash(m.g), dh = data_hash(ds, c.sample(ds));
  EXPECT_EQ(cache_mismatch(t, mh, dh, c.options_json(ds)), "");
  EXPECT_NE(cache_mismatch(t, "fnv1a64:x", dh, c.options_json(ds)).find("model hash differs"),
            std::string::npos);
  o.seed = 1;  // another sample of the data
  Calibrator c2(m.g, o);
  EXPECT_NE(cache_mismatch(t, mh, data_hash(ds, c2.sample(ds)), c2.options_json(ds))
                .find("data hash differs"),
            std::string::npos);
  o.seed = 0;
  o.method = CalibMethod::kMse;
  Calibrator c3(m.g, o);
  EXPECT_NE(cache_mismatch(t, mh, dh, c3.options_json(ds)).find("options differ"),
            std::string::npos);
  CalibrationTable nni = parse_calibration_table(R"({"add": {"output_bits": 8}})", "nni.json");
  EXPECT_NE(cache_mismatch(nni, mh, dh, c.options_json(ds)), "");
}

TEST(Calibrator, PublicApi) {
  SmallModel m;
  TensorDataset ds({4}, gaussian(4 * 64, 21));
  const std::string cfg = testing::TempDir() + "/api_cfg.json";
  {
    std::ofstream f(cfg);
    f << R"([{"quant_types": ["output"], "quant_bits": 8, "op_types": ["ReLU"], "quant_bitz": 1}])";
  }
  mpq::Calibrator c(m.g, {.method = "percentile",
                          .percentile = 99.0,
                          .calib_images = 50,
                          .config_list = cfg,
                          .lenient_config = true});
  CalibrationTable t = c.calibrate(ds);
  EXPECT_EQ(t.header.method, "percentile");
  EXPECT_EQ(t.header.num_samples, 50);
  ASSERT_EQ(t.layers.size(), 1u);
  EXPECT_EQ(t.layers.begin()->first, "relu");
  ASSERT_EQ(c.warnings().size(), 1u);  // the unknown key (lenient; else an error)
  EXPECT_THROW(mpq::Calibrator(m.g, {.config_list = cfg}), Error);
  const std::string out = testing::TempDir() + "/api_calib.json";
  mpq::Calibrator::save(t, out);
  EXPECT_EQ(calibration_table_to_json(mpq::Calibrator::load(out)), calibration_table_to_json(t));
  try {
    mpq::Calibrator(m.g, {.method = "kl"});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.status().key, "method");
    EXPECT_NE(e.status().message.find("unknown calibration method 'kl'"), std::string::npos);
  }
  std::remove(cfg.c_str());
  std::remove(out.c_str());
}

}  // namespace
}  // namespace mpq::quant

namespace mpq::quant {
namespace {

TEST(Calibrator, WeightsPerOutputChannelSymmetric) {
  Graph g;
  Value* x = g.add_input("x", DType::f32, {-1, 1, 3, 3});
  // Channel 0 spans [-0.5, 0.25] -> amax 0.5; channel 1 spans [-0.1, 2] -> amax 2.
  std::vector<float> w(18, 0.f);
  w[0] = -0.5f, w[1] = 0.25f, w[9] = -0.1f, w[10] = 2.f;
  Value* wv = g.add_constant("conv.weight", Tensor::from<float>({2, 1, 3, 3}, w));
  Node* conv = g.add_node(OpKind::Conv, "Conv_0", {x, wv}, {"c"});
  conv->module_path = "conv";
  g.add_output(conv->outputs[0]);
  for (auto& n : g.nodes()) apply_attr_schema(*n);
  infer_shapes(g);
  TensorDataset ds({1, 3, 3}, gaussian(9 * 20, 30));
  CalibrationOptions o;
  o.method = CalibMethod::kMinMax;
  CalibrationTable t = Calibrator(g, o).run(ds);
  const WeightRange& r = t.weights.at("conv.weight");
  EXPECT_EQ(r.axis, 0);
  EXPECT_EQ(r.min, (std::vector<float>{-0.5f, -2.f}));
  EXPECT_EQ(r.max, (std::vector<float>{0.5f, 2.f}));
  const LayerPrecision& l = t.layers.at("conv");
  EXPECT_EQ(l.weight_bits, 8);
  EXPECT_EQ(l.weight_scale, (std::vector<float>{0.5f / 127.f, 2.f / 127.f}));
  EXPECT_EQ(l.weight_zero_point, (std::vector<int32_t>{0, 0}));
  EXPECT_EQ(*l.tracked_min_input, t.tensors.at("x").min);
  EXPECT_EQ(*l.tracked_max_output, t.tensors.at("c").max);
  // A config_list with NNI's defaults (uint, per_tensor_affine) gives NNI's weight scale.
  auto cfg = ConfigList::parse_string(
      R"([{"quant_types": ["weight", "input"], "quant_bits": 8, "op_types": ["Conv2d"]}])");
  CalibrationTable t2 = Calibrator(g, o, cfg.resolve(g)).run(ds);
  const LayerPrecision& l2 = t2.layers.at("conv");
  ASSERT_EQ(l2.weight_scale.size(), 1u);
  EXPECT_FLOAT_EQ(l2.weight_scale[0], 2.5f / 255.f);  // [-0.5, 2] over 255 levels
  EXPECT_EQ(l2.weight_zero_point[0], 51);             // 0 - round(-0.5 / (2.5/255)) = 51
  EXPECT_EQ(l2.output_bits, 0);
}

}  // namespace
}  // namespace mpq::quant

namespace mpq::quant {
namespace {

TEST(Observers, EntropyKeepsTheRangeOfFewValuedData) {
  // Like normalized u8 images: 256 levels, half the pixels at the background value.
  std::mt19937_64 g(40);
  std::vector<float> v(300000);
  for (auto& x : v) {
    const int pixel = (g() % 2) ? 0 : static_cast<int>(g() % 256);
    x = (pixel / 255.f - 0.286f) / 0.353f;
  }
  auto h = observe_all(v);
  EXPECT_EQ(entropy_threshold(h, 128), h.amax());
  TensorRange r = choose_range(h, CalibMethod::kEntropy, {});
  EXPECT_EQ(r.min, h.min());
  EXPECT_EQ(r.max, h.max());
  EXPECT_LE(r.stats.at("nonzero_bins"), 256);
}

}  // namespace
}  // namespace mpq::quant

namespace mpq::quant {
namespace {

TEST(Observers, EntropyFloorLimitsTheClippedFraction) {
  // A bulk near 1 and a 1% tail up to 20 (like features where rare strong activations carry the
  // signal): KL clips inside the tail; the floor keeps 99.99% of the values.
  auto v = gaussian(1000000, 50);
  auto tail = uniform(1000000, 0.f, 20.f, 51);
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = i % 100 == 0 ? tail[i] : std::fabs(1.f + 0.3f * v[i]);
  auto h = observe_all(v);
  const double kl_t = entropy_threshold(h, 128);
  const double floor = percentile_threshold(h, 99.99);
  ASSERT_LT(kl_t, floor);
  TensorRange plain = choose_range(h, CalibMethod::kEntropy, {.entropy_floor_percentile = 0.0});
  TensorRange floored = choose_range(h, CalibMethod::kEntropy, {});
  EXPECT_FLOAT_EQ(plain.max, static_cast<float>(kl_t));
  EXPECT_FLOAT_EQ(floored.max, static_cast<float>(floor));
  EXPECT_LT(floored.max, h.max());  // still a clip on heavy tails
  EXPECT_EQ(floored.stats.at("kl_threshold"), kl_t);
}

}  // namespace
}  // namespace mpq::quant

namespace mpq::quant {
namespace {

// The CPU fp32 engine as the executor (api/calibration_runner.h) reports NaN/inf the same way:
// the tensor the engine wrote and the calibration image.
TEST(Calibrator, EngineExecutorNamesInfTensorAndImage) {
#ifndef MPQ_HAVE_DNNL
  GTEST_SKIP() << "built without the CPU backend";
#endif
  SmallModel m(3e38f);
  auto v = gaussian(4 * 20, 16);
  v[4 * 5 + 0] = 1e38f;  // dataset image 5: 3e38 + 1e38 = inf
  TensorDataset ds({4}, v);
  try {
    mpq::Calibrator c(m.g,
                      {.method = "minmax", .calib_images = 0, .batch_size = 8, .executor = "cpu"});
    c.calibrate(ds);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.status().code, Code::kInvalidInput);
    EXPECT_NE(e.status().message.find("inf"), std::string::npos) << e.status().message;
    EXPECT_NE(e.status().message.find("calibration image 5 (dataset index 5)"), std::string::npos)
        << e.status().message;
    EXPECT_TRUE(m.g.find_value(e.status().key)) << e.status().key;
  }
  try {
    mpq::Calibrator(m.g, {.executor = "gpu"});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.status().key, "executor");
  }
}

}  // namespace
}  // namespace mpq::quant
