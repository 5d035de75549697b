// The engine end to end: zoo models at fp32/bf16/int8 against the reference, any batch 1..max,
// input checks, strict mode, missing ranges, mixed precision from an NNI-style config, the
// manifest, the memory plan and concurrent contexts.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "engine_test_util.h"
#include "plan/builder.h"
#include "zoo/zoo.h"

namespace mpq {
namespace {

using testing::random_tensor;

int64_t argmax_row(const std::vector<float>& v, int64_t row, int64_t n) {
  int64_t best = 0;
  for (int64_t j = 1; j < n; ++j)
    if (v[row * n + j] > v[row * n + best]) best = j;
  return best;
}

double top1_agreement(const Tensor& a, const Tensor& b) {
  auto x = a.to_floats(), y = b.to_floats();
  const int64_t rows = a.dim(0), n = a.dim(1);
  int64_t same = 0;
  for (int64_t r = 0; r < rows; ++r) same += argmax_row(x, r, n) == argmax_row(y, r, n);
  return static_cast<double>(same) / static_cast<double>(rows);
}

struct Model {
  std::unique_ptr<Graph> g;
  std::vector<Tensor> calib, test;
};

Model zoo_model(const char* name, int64_t batch) {
  Model m;
  m.g = zoo::build_zoo_model(name, {.batch = -1, .seed = 3}).graph;
  Shape s = m.g->inputs()[0]->shape;
  s[0] = batch;
  Rng rng(42);
  m.calib.push_back(random_tensor(rng, s, -1.f, 2.f));
  m.test.push_back(random_tensor(rng, s, -1.f, 2.f));
  return m;
}

TEST(Engine, ZooModelsAtEveryPrecision) {
  for (const char* name : {"mnist_naive", "resnet18_cifar"}) {
    Model m = zoo_model(name, 8);
    quant::CalibrationTable table = testing::minmax_table(*m.g, m.calib);
    Tensor ref = ReferenceExecutor(*m.g).run(m.test)[0];
    for (Precision p : {Precision::kFp32, Precision::kBf16, Precision::kInt8}) {
      SCOPED_TRACE(str(name, " ", precision_name(p)));
      auto e = testing::build_engine(*m.g, &table, p, 8);
      runtime::ExecutionContext ctx(e);
      Tensor y = ctx.run(m.test)[0];
      Tensor sim = testing::simulate_plan(e->plan(), m.test)[0];
      const float mx = testing::max_abs(ref);
      if (p == Precision::kFp32) EXPECT_LE(testing::max_diff(y, ref), 1e-3f * (1.f + mx));
      if (p == Precision::kBf16) EXPECT_LE(testing::max_diff(y, sim), 0.05f * (1.f + mx));
      // int8: the engine computes what the plan says (a few rounding flips deep in the network
      // aside), and agrees with the float model on nearly every prediction.
      if (p == Precision::kInt8) EXPECT_GE(top1_agreement(y, sim), 0.99);
      EXPECT_GE(top1_agreement(y, ref), p == Precision::kInt8 ? 0.75 : 0.99)
          << e->manifest().to_table();
      for (const auto& r : e->manifest().layers) {
        if (r.op != "FusedConv" && r.op != "FusedGemm" && r.op != "Conv") continue;
        EXPECT_EQ(r.executed, p) << r.name << " " << r.reason;
        EXPECT_EQ(r.backend, "cpu") << r.name;
      }
    }
  }
}

TEST(Engine, AnyBatchUpToTheMaximumGivesExactlyThoseRows) {
  Model m = zoo_model("mnist_naive", 5);
  quant::CalibrationTable table = testing::minmax_table(*m.g, m.calib);
  for (Precision p : {Precision::kFp32, Precision::kInt8}) {
    auto e = testing::build_engine(*m.g, &table, p, 5);
    runtime::ExecutionContext ctx(e);
    Tensor full = ctx.run(m.test)[0];
    auto f = full.to_floats();
    for (int64_t b : {1, 2, 3, 5}) {
      Tensor x(DType::f32, {b, 1, 28, 28});
      std::memcpy(x.raw(), m.test[0].raw(), x.nbytes());
      Tensor y = ctx.run({x})[0];
      ASSERT_EQ(y.shape(), (Shape{b, 10}));
      auto v = y.to_floats();
      float d = 0.f;
      for (size_t i = 0; i < v.size(); ++i) d = std::max(d, std::fabs(v[i] - f[i]));
      EXPECT_LE(d, p == Precision::kInt8 ? 0.05f : 1e-4f) << "batch " << b;
    }
  }
}

TEST(Engine, RejectsInputsOfTheWrongShapeDtypeOrBatch) {
  Model m = zoo_model("mnist_naive", 2);
  auto e = testing::build_engine(*m.g, nullptr, Precision::kFp32, 4);
  runtime::ExecutionContext ctx(e);
  const std::vector<Tensor> bad[] = {{Tensor(DType::f32, {2, 1, 28, 27})},
                                     {Tensor(DType::f32, {2, 28, 28})},
                                     {Tensor(DType::u8, {2, 1, 28, 28})},
                                     {Tensor(DType::f32, {5, 1, 28, 28})},
                                     {},
                                     {Tensor(DType::f32, {2, 1, 28, 28}), Tensor(DType::f32, {2})}};
  for (const auto& in : bad) {
    try {
      ctx.run(in);
      ADD_FAILURE() << "accepted a bad input";
    } catch (const Error& err) {
      EXPECT_EQ(err.status().code, Code::kInvalidInput) << err.what();
      if (in.size() == 1) EXPECT_EQ(err.status().key, "input") << err.what();
    }
  }
}

// NNI's PTQ example shape: conv1 8, conv2 32, fc1 16, fc2 8 bits; relu outputs named by ranges.
TEST(Engine, MixedPrecisionFromLayerConfig) {
  Model m = zoo_model("mnist_naive", 4);
  quant::CalibrationTable table = testing::minmax_table(*m.g, m.calib);
  auto layer = [](int bits) {
    quant::LayerPrecision l;
    l.weight_bits = l.output_bits = bits;
    l.source = "nni-config";
    return l;
  };
  table.layers["conv1"] = layer(8);
  table.layers["conv2"] = layer(32);
  table.layers["fc1"] = layer(16);
  table.layers["fc2"] = layer(8);
  plan::BuildOptions o;
  o.max_batch = 4;
  o.strict = true;  // 16 -> bf16 is not a violation
  auto e = runtime::Engine::build(*m.g, &table, o);
  std::map<std::string, const plan::LayerReport*> by_path;
  for (const auto& r : e->manifest().layers)
    if (!r.module_path.empty()) by_path[r.module_path] = &r;
  ASSERT_TRUE(by_path.count("conv1") && by_path.count("fc1")) << e->manifest().to_table();
  EXPECT_EQ(by_path["conv1"]->executed, Precision::kInt8);
  EXPECT_EQ(by_path["conv1"]->source, "config");
  EXPECT_EQ(by_path["conv2"]->executed, Precision::kFp32);
  EXPECT_EQ(by_path["fc1"]->requested, Precision::kFp16);
  EXPECT_EQ(by_path["fc1"]->executed, Precision::kBf16);
  EXPECT_NE(by_path["fc1"]->reason.find("bf16"), std::string::npos);
  EXPECT_EQ(by_path["fc2"]->executed, Precision::kInt8);
  // relu1 and max_pool1 follow conv1 in int8 (passthrough between int8 layers).
  EXPECT_EQ(by_path["max_pool1"]->executed, Precision::kInt8) << e->manifest().to_table();
  EXPECT_NEAR(
      e->manifest().average_bits,
      (20 * 25 * 8 + 50 * 500 * 32 + 800 * 500 * 16 + 5000 * 8) / (500.0 + 25000 + 400000 + 5000),
      0.01);
  runtime::ExecutionContext ctx(e);
  Tensor y = ctx.run(m.test)[0];
  Tensor ref = ReferenceExecutor(*m.g).run(m.test)[0];
  EXPECT_GE(top1_agreement(y, ref), 0.75);
  auto json = e->manifest().to_json();
  for (const char* key : {"\"requested\"", "\"executed\"", "\"kernel\"", "\"reason\"", "\"op\""})
    EXPECT_NE(json.find(key), std::string::npos) << key;
}

TEST(Engine, MissingRangeIsAnErrorOrARecordedFallback) {
  Model m = zoo_model("mnist_naive", 2);
  quant::CalibrationTable table;
  quant::LayerPrecision l;
  l.weight_bits = 8;
  l.source = "nni-config";
  table.layers["conv2"] = l;
  plan::BuildOptions o;
  o.max_batch = 2;
  try {
    runtime::Engine::build(*m.g, &table, o);
    ADD_FAILURE() << "built int8 without a range";
  } catch (const Error& e) {
    EXPECT_EQ(e.status().code, Code::kInvalidInput);
    EXPECT_EQ(e.status().node, "conv2") << e.what();
  }
  o.default_precision = Precision::kFp32;
  auto e = runtime::Engine::build(*m.g, &table, o);
  bool seen = false;
  for (const auto& r : e->manifest().layers)
    if (r.module_path == "conv2") {
      seen = true;
      EXPECT_EQ(r.requested, Precision::kInt8);
      EXPECT_EQ(r.executed, Precision::kFp32);
      EXPECT_NE(r.reason.find("no calibration range"), std::string::npos) << r.reason;
    }
  EXPECT_TRUE(seen);
  o.strict = true;
  try {
    runtime::Engine::build(*m.g, &table, o);
    ADD_FAILURE() << "strict accepted a fallback";
  } catch (const Error& err) {
    EXPECT_EQ(err.status().code, Code::kUnsupported);
    EXPECT_NE(std::string(err.what()).find("conv2"), std::string::npos) << err.what();
  }
}

TEST(Engine, MemoryPlanReusesBuffersAndSumsInPlace) {
  Model m = zoo_model("resnet18_cifar", 2);
  quant::CalibrationTable table = testing::minmax_table(*m.g, m.calib);
  auto e = testing::build_engine(*m.g, &table, Precision::kInt8, 2);
  const plan::MemoryPlan& mp = e->memory();
  EXPECT_LT(mp.arena_bytes * 2, mp.unshared_bytes);
  // Near the lower bound: the most bytes live at any one step (buffers shared in place once).
  const auto& steps = e->plan().steps;
  std::vector<int> first(e->plan().tensors.size(), 1 << 30), last(e->plan().tensors.size(), -1);
  for (int s = 0; s < static_cast<int>(steps.size()); ++s) {
    for (int t : steps[s].outputs) first[t] = std::min(first[t], s), last[t] = std::max(last[t], s);
    for (int t : steps[s].inputs)
      if (t >= 0) last[t] = std::max(last[t], s);
  }
  size_t peak = 0;
  for (int s = 0; s < static_cast<int>(steps.size()); ++s) {
    std::map<int64_t, size_t> live;  // offset -> bytes
    for (size_t t = 0; t < first.size(); ++t)
      if (mp.offset[t] >= 0 && first[t] <= s && s <= last[t])
        live[mp.offset[t]] = std::max(live[mp.offset[t]], e->plan().tensors[t].bytes());
    size_t sum = 0;
    for (auto& [o, b] : live) sum += b;
    peak = std::max(peak, sum);
  }
  EXPECT_LE(mp.arena_bytes, peak * 5 / 4 + 1024) << "peak live " << peak;
  int inplace = 0;
  for (const plan::Step& st : e->plan().steps)
    if (st.inputs.size() > 3 && st.inputs[3] >= 0 &&
        mp.offset[st.outputs[0]] == mp.offset[st.inputs[3]])
      ++inplace;
  EXPECT_GE(inplace, 6);
}

TEST(Engine, ContextsRunConcurrently) {
  Model m = zoo_model("mnist_naive", 4);
  quant::CalibrationTable table = testing::minmax_table(*m.g, m.calib);
  auto e = testing::build_engine(*m.g, &table, Precision::kInt8, 4);
  Tensor want = runtime::ExecutionContext(e).run(m.test)[0];
  std::vector<float> diffs(2, -1.f);
  std::vector<std::thread> ts;
  for (int t = 0; t < 2; ++t)
    ts.emplace_back([&, t] {
      runtime::ExecutionContext ctx(e, 1);
      float d = 0.f;
      for (int i = 0; i < 5; ++i) d = std::max(d, testing::max_diff(ctx.run(m.test)[0], want));
      diffs[t] = d;
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(diffs[0], 0.f);
  EXPECT_EQ(diffs[1], 0.f);
}

}  // namespace
}  // namespace mpq

namespace mpq {
namespace {
// A range that does not contain 0 is widened to contain it (QuantizeLinear's rule), and the
// manifest says so; the widened scale is the one the plan uses.
TEST(Engine, WidenedRangeIsRecorded) {
  Rng rng(8);
  Graph g;
  Value* x = g.add_input("x", DType::f32, {2, 4, 5, 5});
  Node* c =
      testing::add(g, "Conv", {x, g.add_constant("w", random_tensor(rng, {4, 4, 1, 1}))}, {}, "c");
  g.add_output(c->outputs[0]);
  quant::CalibrationTable t;
  t.tensors["x"] = quant::TensorRange{0.5f, 2.55f, "test", {}};
  auto e = testing::build_engine(g, &t, Precision::kInt8, 2);
  bool noted = false;
  for (const auto& n : e->manifest().notes)
    noted |= n.find("'x'") != std::string::npos && n.find("widened") != std::string::npos;
  EXPECT_TRUE(noted) << e->manifest().to_table();
  bool found = false;
  for (const TensorSpec& s : e->plan().tensors)
    if (s.dtype == DType::u8 && s.name.rfind("x@", 0) == 0) {
      found = true;
      EXPECT_FLOAT_EQ(s.quant->scale[0], 2.55f / 255.f);
      EXPECT_EQ(s.quant->zero_point[0], 0);
    }
  EXPECT_TRUE(found);
}
}  // namespace
}  // namespace mpq

namespace mpq {
namespace {
// With `tune`, each conv times its algorithms at build; the choice is recorded per step and the
// engine computes the same function as the untuned one (fp32: to rounding).
TEST(Engine, TunedBuildRecordsEachConvChoice) {
  Model m = zoo_model("resnet18_cifar", 2);
  plan::BuildOptions o;
  o.max_batch = 2;
  o.threads = 2;
  o.tune = true;
  auto tuned = runtime::Engine::build(*m.g, nullptr, o);
  o.tune = false;
  auto plain = runtime::Engine::build(*m.g, nullptr, o);
  int convs = 0;
  for (const plan::Step& st : tuned->plan().steps) {
    const std::string& op = st.node->def().name;
    if (op != "Conv" && op != "FusedConv") continue;
    ++convs;
    EXPECT_TRUE(st.variant == "direct" || st.variant == "gemm")
        << st.node->name << ": " << st.variant;
  }
  EXPECT_EQ(convs, 20);
  Tensor a = runtime::ExecutionContext(tuned).run(m.test)[0];
  Tensor b = runtime::ExecutionContext(plain).run(m.test)[0];
  EXPECT_LE(testing::max_diff(a, b), 1e-3f * (1.f + testing::max_abs(b)));
}

// resnet18_cifar's CPU engine at batch 2, whose plan the loading tests clone and prepare again.
struct BuiltModel {
  Model m = zoo_model("resnet18_cifar", 2);
  std::shared_ptr<const runtime::Engine> engine;
  BuiltModel() {
    plan::BuildOptions o;
    o.max_batch = 2;
    o.threads = 2;
    engine = runtime::Engine::build(*m.g, nullptr, o);
  }
};

// A recorded choice no kernel here can take (an engine file tuned elsewhere) is made again when
// the plan is prepared, and the manifest says how many steps chose again; a choice that applies
// is kept without a note.
TEST(Engine, RecordedChoiceThatDoesNotApplyIsMadeAgainWithANote) {
  const BuiltModel bm;
  const auto& built = bm.engine;
  for (const bool foreign : {false, true}) {
    plan::Plan p = built->plan().clone();
    int changed = 0;
    for (plan::Step& st : p.steps)
      if (foreign && st.variant == "direct") st.variant = "direct_on_another_cpu", ++changed;
    ASSERT_TRUE(!foreign || changed > 0);
    auto e = runtime::Engine::from_plan(std::move(p));
    std::string notes;
    for (const std::string& n : e->manifest().notes) notes += n + "\n";
    const size_t at = notes.find("chose their algorithm again");
    EXPECT_EQ(at != std::string::npos, foreign) << notes;
    if (foreign)
      EXPECT_NE(notes.find(std::to_string(changed) + " step(s) chose"), std::string::npos) << notes;
    for (const plan::Step& st : e->plan().steps)
      EXPECT_NE(st.variant, "direct_on_another_cpu") << st.node->name;
  }
}

// Notes about the machine that prepared the kernels (Kernel::build_note) are the loading
// machine's: those an engine file brings from the machine that built it are dropped, others kept.
TEST(Engine, NotesOfTheBuildingMachineAreMadeAgainOnLoad) {
  const BuiltModel bm;
  plan::Plan p = bm.engine->plan().clone();
  const std::string stale = std::string(plan::kMachineNote) + "a kernel the builder's GPU lacked";
  p.manifest.notes.push_back(stale);
  p.manifest.notes.push_back("QDQ model: kept");
  auto e = runtime::Engine::from_plan(std::move(p));
  const auto& notes = e->manifest().notes;
  EXPECT_EQ(std::count(notes.begin(), notes.end(), stale), 0);
  EXPECT_EQ(std::count(notes.begin(), notes.end(), "QDQ model: kept"), 1);
}
}  // namespace
}  // namespace mpq

namespace mpq {
namespace {

// The step observer (calibration's hook) sees every tensor each step writes, at the run's batch,
// while it is still there: the last one is the model's output, and every observed tensor is a
// value of the plan's graph. Cleared, it sees nothing.
TEST(Engine, StepObserverSeesEveryStepOutput) {
  Model m = zoo_model("resnet18_cifar", 4);
  auto e = testing::build_engine(*m.g, nullptr, Precision::kFp32, 8);
  runtime::ExecutionContext ctx(e);
  std::vector<std::string> names;
  std::vector<Tensor> copies;
  ctx.set_observer([&](const TensorSpec& spec, const Tensor& t) {
    EXPECT_EQ(t.dim(0), 4) << spec.name;  // the run's rows, not the engine's maximum batch
    names.push_back(spec.name);
    copies.push_back(t.clone());
  });
  Tensor y = ctx.run(m.test)[0];
  size_t outputs = 0;
  for (const auto& st : e->plan().steps) outputs += st.outputs.size();
  ASSERT_EQ(names.size(), outputs);
  for (const auto& n : names) EXPECT_TRUE(e->plan().graph->find_value(n)) << n;
  EXPECT_EQ(names.back(), e->output_specs()[0].name);
  EXPECT_EQ(testing::max_diff(copies.back(), y), 0.f);
  ctx.set_observer({});
  names.clear();
  ctx.run(m.test);
  EXPECT_TRUE(names.empty());
}

}  // namespace
}  // namespace mpq
