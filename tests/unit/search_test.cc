// Automatic mixed precision on real CPU engines (api/precision_search.h): a layer whose input
// range was shrunk (so int8 clips it) is kept in float by the chosen plan; the same seed gives the
// same plans; the chosen config_list rebuilds the measured engine; the frontier is re-measured and
// non-dominated; a budget too short for the uniform plans keeps what it measured; bad input fails
// before any engine. The cost model recovers additive costs.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "api/build_engine.h"
#include "api/precision_search.h"
#include "api/search_cost_model.h"
#include "backends/backend.h"
#include "core/rng.h"
#include "engine_test_util.h"
#include "quant/config_list.h"
#include "zoo/zoo.h"

namespace mpq {
namespace {

using testing::minmax_table;
using testing::random_tensor;

struct Fixture {
  std::unique_ptr<Graph> g;
  Tensor x;
  quant::CalibrationTable table;
};

// mnist_naive whose input range is shrunk to 2%: quantizing the input (conv1 at int8) clips it.
Fixture clipped_mnist() {
  Fixture f;
  f.g = zoo::build_zoo_model("mnist_naive", {.batch = -1, .seed = 3}).graph;
  Rng rng(11);
  f.x = random_tensor(rng, {32, 1, 28, 28});
  f.table = minmax_table(*f.g, {f.x});
  quant::TensorRange& r = f.table.tensors.at(f.g->inputs()[0]->name);
  r.min *= 0.02f, r.max *= 0.02f;
  return f;
}

api::SearchOptions estimated() {
  api::SearchOptions o;
  o.metric = "sqnr";
  o.min_sqnr_db = 25;
  o.batch_size = 16;
  o.latency = "estimated";
  o.seed = 7;
  return o;
}

size_t layer_index(const api::SearchReport& r, const std::string& name) {
  for (size_t l = 0; l < r.layers.size(); ++l)
    if (r.layers[l].config_name == name) return l;
  ADD_FAILURE() << "no layer " << name;
  return 0;
}

TEST(PrecisionSearch, KeepsTheClippedLayerInFloat) {
  Fixture f = clipped_mnist();
  int calls = 0;
  api::SearchReport r =
      api::precision_search(*f.g, f.table, f.x, std::nullopt, estimated(),
                            [&](int done, int, const std::string&) { calls = done; });
  ASSERT_EQ(r.layers.size(), 4u);
  ASSERT_TRUE(r.baselines_complete);
  EXPECT_EQ(calls, static_cast<int>(r.points.size()));
  EXPECT_EQ(r.points[2].origin, "all-int8");
  EXPECT_LT(r.points[2].fidelity.sqnr_db, 25.0);  // the clipped input ruins all-int8
  ASSERT_TRUE(r.chosen.has_value()) << api::search_verdict(r);
  const api::SearchPoint& c = r.points[*r.chosen];
  EXPECT_NE(c.bits[layer_index(r, "conv1")], 8);
  EXPECT_GE(c.fidelity.sqnr_db, 25.0);
  EXPECT_LT(c.latency_ms, r.points[0].latency_ms);  // cheaper than all fp32
  EXPECT_LT(c.mean_bits, 32.0);
  EXPECT_NE(api::search_verdict(r).find("chosen"), std::string::npos);
  // Estimated latencies are exactly additive: the model predicts them exactly.
  EXPECT_GT(r.cost_model_predictions, 0);
  EXPECT_LT(r.cost_model_median_error, 1e-3);
}

TEST(PrecisionSearch, SameSeedSamePlans) {
  Fixture f = clipped_mnist();
  api::SearchReport a = api::precision_search(*f.g, f.table, f.x, std::nullopt, estimated());
  api::SearchReport b = api::precision_search(*f.g, f.table, f.x, std::nullopt, estimated());
  ASSERT_EQ(a.points.size(), b.points.size());
  for (size_t i = 0; i < a.points.size(); ++i) {
    EXPECT_EQ(a.points[i].bits, b.points[i].bits) << i;
    EXPECT_EQ(a.points[i].origin, b.points[i].origin) << i;
    EXPECT_EQ(a.points[i].fidelity.agreement, b.points[i].fidelity.agreement) << i;
    EXPECT_EQ(a.points[i].latency_ms, b.points[i].latency_ms) << i;
  }
  EXPECT_EQ(a.frontier, b.frontier);
  EXPECT_EQ(a.chosen, b.chosen);
}

TEST(PrecisionSearch, ChosenConfigListRebuildsTheMeasuredEngine) {
  Fixture f = clipped_mnist();
  api::SearchOptions o = estimated();
  o.latency = "measured";
  o.timing_runs = 2;
  api::SearchReport r = api::precision_search(*f.g, f.table, f.x, std::nullopt, o);
  ASSERT_TRUE(r.chosen.has_value());
  const api::SearchPoint& c = r.points[*r.chosen];
  // The frontier: fastest first, fidelity rising, every point timed twice.
  ASSERT_FALSE(r.frontier.empty());
  for (size_t k = 0; k < r.frontier.size(); ++k) {
    const api::SearchPoint& p = r.points[r.frontier[k]];
    EXPECT_TRUE(p.frontier && p.remeasured) << k;
    if (k) {
      const api::SearchPoint& q = r.points[r.frontier[k - 1]];
      EXPECT_GE(p.latency_ms, q.latency_ms);
      EXPECT_GT(p.fidelity.sqnr_db, q.fidelity.sqnr_db);
    }
  }
  // What `mpq build --calib T --config chosen.json` builds: same outputs as measured.
  const std::string text = api::search_config_list(r, c);
  quant::CalibrationTable t = f.table;
  api::apply_config_list(t, *f.g, quant::ConfigList::parse_string(text, "chosen.json"),
                         "chosen.json");
  api::BuildInputs in;
  in.graph = f.g.get();
  in.table = std::move(t);
  in.options.max_batch = 16;
  auto e = api::build_engine(std::move(in)).engine;
  size_t matched = 0;
  for (const plan::LayerReport& l : e->manifest().layers)
    for (size_t k = 0; k < r.layers.size(); ++k)
      if (l.name == r.layers[k].name) {
        ++matched;
        EXPECT_EQ(l.executed == Precision::kInt8, c.bits[k] == 8) << l.name;
      }
  EXPECT_EQ(matched, r.layers.size());
  api::SearchOptions fp32 = o;
  const std::vector<float> ref = api::engine_outputs(
      api::build_engine([&] {
        quant::CalibrationTable t32 = f.table;
        api::apply_config_list(
            t32, *f.g,
            quant::ConfigList::parse_string(
                api::config_list_for(r.layers, std::vector<int>(r.layers.size(), 32)), "fp32"),
            "fp32");
        api::BuildInputs b;
        b.graph = f.g.get();
        b.table = std::move(t32);
        b.options.max_batch = 16;
        return b;
      }())
          .engine,
      f.x, 16, 0);
  const api::Fidelity again =
      api::compare_outputs(ref, api::engine_outputs(e, f.x, 16, 0), 32, std::nullopt);
  EXPECT_DOUBLE_EQ(again.sqnr_db, c.fidelity.sqnr_db);
  const nlohmann::json j = nlohmann::json::parse(api::search_json(r));
  EXPECT_EQ(j["points"].size(), r.points.size());
  EXPECT_EQ(j["chosen"].get<size_t>(), *r.chosen);
  EXPECT_NE(api::search_svg(r).find("<polyline"), std::string::npos);
}

TEST(PrecisionSearch, BudgetTooShortKeepsWhatItMeasured) {
  Fixture f = clipped_mnist();
  api::SearchOptions o = estimated();
  o.time_budget_s = 1e-6;
  api::SearchReport r = api::precision_search(*f.g, f.table, f.x, std::nullopt, o);
  EXPECT_FALSE(r.baselines_complete);
  ASSERT_EQ(r.points.size(), 1u);
  EXPECT_EQ(r.points[0].origin, "all-fp32");
  EXPECT_EQ(r.stopped, "budget");
}

TEST(PrecisionSearch, BadInputIsRefusedBeforeAnyEngine) {
  Fixture f = clipped_mnist();
  int calls = 0;
  auto count = [&](int, int, const std::string&) { ++calls; };
  auto code_of = [&](const Tensor& x, const api::SearchOptions& o) {
    try {
      api::precision_search(*f.g, f.table, x, std::nullopt, o, count);
    } catch (const Error& e) {
      return e.status().code;
    }
    return Code::kOk;
  };
  Rng rng(2);
  EXPECT_EQ(code_of(random_tensor(rng, {4, 1, 27, 27}), estimated()), Code::kInvalidInput);
  api::SearchOptions o = estimated();
  o.metric = "accuracy";  // no labels
  EXPECT_EQ(code_of(f.x, o), Code::kInvalidInput);
  o = estimated();
  o.latency = "guessed";
  EXPECT_EQ(code_of(f.x, o), Code::kInvalidInput);
  o = estimated();
  o.time_budget_s = 0;
  EXPECT_EQ(code_of(f.x, o), Code::kInvalidInput);
  if (!find_backend("cuda")) {
    o = estimated();
    o.backend = "cuda";
    EXPECT_EQ(code_of(f.x, o), Code::kUnsupported);
  }
  Fixture other = clipped_mnist();
  other.g = zoo::build_zoo_model("lenet5", {.batch = -1, .seed = 1}).graph;
  try {
    api::precision_search(*other.g, f.table, f.x, std::nullopt, estimated(), count);
    ADD_FAILURE() << "a table of another model was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.status().code, Code::kInvalidInput) << e.what();
  }
  EXPECT_EQ(calls, 0);
}

TEST(SearchCostModel, RecoversLayerAndBoundaryCostsFromWholePlanTimings) {
  const std::vector<double> e16 = {0.5, 1.0, 0.2}, e32 = {1.5, 3.0, 0.4};
  auto truth = [&](const std::vector<int>& b) {
    double t = 2.0;
    for (size_t l = 0; l < b.size(); ++l) {
      t += b[l] == 16 ? e16[l] : b[l] == 32 ? e32[l] : 0.0;
      if (l > 0 && b[l] != b[l - 1]) t += 0.3;  // a precision conversion between layers
    }
    return t;
  };
  api::SearchCostModel m(3);
  m.set_prior(1.0, {0, 0, 0}, {0, 0, 0});  // a wrong prior: the timings must override it
  Rng rng(5);
  for (int i = 0; i < 60; ++i) {
    std::vector<int> b(3);
    for (int& v : b) v = std::vector<int>{8, 16, 32}[rng.below(3)];
    m.add(b, truth(b));
  }
  m.fit();
  EXPECT_EQ(m.samples(), 60u);
  for (const std::vector<int>& b : {std::vector<int>{8, 8, 8}, {32, 16, 8}, {16, 32, 32}})
    EXPECT_NEAR(m.predict(b), truth(b), 0.05 * truth(b));
}

TEST(SearchConfigList, GroupsLayersByBitsAsNniEntries) {
  std::vector<api::SearchLayer> layers(3);
  layers[0].config_name = "conv1", layers[1].config_name = "conv2", layers[2].config_name = "fc";
  const nlohmann::json j = nlohmann::json::parse(api::config_list_for(layers, {8, 32, 16}));
  ASSERT_EQ(j.size(), 2u);  // conv2 (fp32) is named by no entry: not quantized
  EXPECT_EQ(j[0]["quant_bits"], 8);
  EXPECT_EQ(j[0]["op_names"], nlohmann::json({"conv1"}));
  EXPECT_EQ(j[0]["quant_types"], nlohmann::json({"input", "weight", "output"}));
  EXPECT_EQ(j[1]["quant_bits"], 16);
  EXPECT_EQ(j[1]["op_names"], nlohmann::json({"fc"}));
  EXPECT_NO_THROW(quant::ConfigList::parse_string(j.dump()));
  EXPECT_TRUE(quant::ConfigList::parse_string(j.dump()).check_qat().empty());  // QAT takes it
}

}  // namespace
}  // namespace mpq
