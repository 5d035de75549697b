// Per-layer sensitivity on real CPU engines (api/sensitivity.h): a layer whose input range was
// shrunk to 1% (so int8 clips it when that layer alone is int8) must rank first, by far; the JSON
// and SVG forms carry every layer; labels give accuracies; bad input fails before any engine.
#include "api/sensitivity.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/rng.h"
#include "engine_test_util.h"
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

Fixture mnist() {
  Fixture f;
  f.g = zoo::build_zoo_model("mnist_naive", {.batch = -1, .seed = 3}).graph;
  Rng rng(11);
  f.x = random_tensor(rng, {48, 1, 28, 28});
  f.table = minmax_table(*f.g, {f.x});
  return f;
}

const Node* node_with_path(const Graph& g, const std::string& path) {
  for (const auto& n : g.nodes())
    if (n->module_path == path) return n.get();
  return nullptr;
}

TEST(Sensitivity, ClippedLayerRanksFirst) {
  Fixture f = mnist();
  const Node* fc1 = node_with_path(*f.g, "fc1");
  ASSERT_NE(fc1, nullptr);
  quant::TensorRange& r = f.table.tensors.at(fc1->inputs[0]->name);
  r.min *= 0.01f, r.max *= 0.01f;
  api::SensitivityOptions o;
  o.batch_size = 16;
  int calls = 0;
  api::SensitivityReport rep =
      api::layer_sensitivity(*f.g, f.table, f.x, std::nullopt, o, [&](int, int) { ++calls; });
  ASSERT_EQ(rep.layers.size(), 4u);
  EXPECT_EQ(calls, 2 + 2 * 4);
  EXPECT_EQ(rep.samples, 48);
  EXPECT_EQ(rep.layers[0].module_path, "fc1");
  for (size_t i = 1; i < rep.layers.size(); ++i) {
    EXPECT_TRUE(std::isfinite(rep.layers[i].alone.sqnr_db));
    EXPECT_GT(rep.layers[i].alone.sqnr_db, rep.layers[0].alone.sqnr_db + 10.0)
        << rep.layers[i].name;
    EXPECT_GE(rep.layers[i].alone.agreement, 0.0);
    EXPECT_LE(rep.layers[i].alone.agreement, 1.0);
  }
  // Real engines, real boundaries: in the all-int8 engine fc1's input is the int8 chain's own
  // (the pool's scale passes through Flatten), so the shrunk float range does not apply; only
  // with conv2 in fp32 is that float tensor quantized for fc1, with the shrunk range.
  EXPECT_GT(rep.int8.sqnr_db, 30.0);
  for (const auto& l : rep.layers) {
    if (l.module_path == "conv2")
      EXPECT_LT(l.without.sqnr_db, 10.0);
    else
      EXPECT_GT(l.without.sqnr_db, 30.0) << l.name;
  }
  EXPECT_NE(api::sensitivity_verdict(rep).find("fc1"), std::string::npos);

  const nlohmann::json j = nlohmann::json::parse(api::sensitivity_json(rep));
  ASSERT_EQ(j["layers"].size(), 4u);
  EXPECT_EQ(j["layers"][0]["rank"], 1);
  EXPECT_EQ(j["layers"][0]["module_path"], "fc1");
  EXPECT_NEAR(j["layers"][0]["alone"]["sqnr_db"].get<double>(), rep.layers[0].alone.sqnr_db, 1e-9);
  const std::string svg = api::sensitivity_svg(rep);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  size_t rects = 0;
  for (size_t p = svg.find("<rect"); p != std::string::npos; p = svg.find("<rect", p + 1)) ++rects;
  EXPECT_EQ(rects, 8u);  // alone and without, per layer
}

TEST(Sensitivity, LabelsGiveAccuracyAndRankByIt) {
  Fixture f = mnist();
  Tensor labels(DType::i64, {48});
  for (int64_t i = 0; i < 48; ++i) labels.data<int64_t>()[i] = i % 10;
  api::SensitivityOptions o;
  o.metric = "accuracy";
  api::SensitivityReport rep = api::layer_sensitivity(*f.g, f.table, f.x, labels, o);
  ASSERT_TRUE(rep.fp32_accuracy.has_value());
  ASSERT_TRUE(rep.int8.accuracy.has_value());
  for (size_t i = 1; i < rep.layers.size(); ++i)
    EXPECT_LE(*rep.layers[i - 1].alone.accuracy, *rep.layers[i].alone.accuracy);
}

TEST(Sensitivity, BadInputIsRefusedBeforeAnyEngine) {
  Fixture f = mnist();
  api::SensitivityOptions o;
  o.metric = "accuracy";
  int calls = 0;
  auto count = [&](int, int) { ++calls; };
  EXPECT_THROW(api::layer_sensitivity(*f.g, f.table, f.x, std::nullopt, o, count), Error);
  o.metric = "sqnr";
  Rng rng(2);
  const Tensor wrong = random_tensor(rng, {4, 1, 27, 27});
  try {
    api::layer_sensitivity(*f.g, f.table, wrong, std::nullopt, o, count);
    FAIL() << "data of the wrong shape was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.status().code, Code::kInvalidInput);
    EXPECT_NE(e.status().message.find("[4,1,27,27]"), std::string::npos) << e.what();
  }
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace mpq
