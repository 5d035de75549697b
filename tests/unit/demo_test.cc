// mpq demo (src/demo): the recipes' config_lists select exactly the layers they name on the zoo
// models; the table renders measured rows and failed rows (with their reason) in every format;
// the SVG plot has one point per measured engine and copes with none.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "backends/backend.h"
#include "demo/pipeline.h"
#include "demo/recipes.h"
#include "demo/svg_plot.h"
#include "demo/table.h"
#include "quant/config_list.h"
#include "zoo/zoo.h"

namespace mpq::demo {
namespace {

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

TEST(DemoRecipes, ConfigListsResolveOnTheZooModels) {
  for (const std::string& model : demo_models()) {
    const ModelRecipe r = model_recipe(model, "nni");
    zoo::ZooModel m = zoo::build_zoo_model(model);
    ASSERT_GE(r.variants.size(), 4u) << model;
    for (const Variant& v : r.variants) {
      if (v.config_list.empty()) continue;
      quant::ConfigList cl = quant::ConfigList::parse_string(v.config_list, v.id);
      EXPECT_TRUE(cl.warnings().empty()) << model << " " << v.id;
      quant::ResolvedConfig rc = cl.resolve(*m.graph);
      EXPECT_TRUE(rc.warnings.empty()) << model << " " << v.id << ": " << rc.warnings.at(0);
      EXPECT_FALSE(rc.nodes.empty()) << model << " " << v.id;
    }
  }
}

TEST(DemoRecipes, MnistConfigsAreNnis) {
  const ModelRecipe r = model_recipe("mnist_naive", "nni");
  zoo::ZooModel m = zoo::build_zoo_model("mnist_naive");
  auto weight_bits = [&](const std::string& id) {
    std::map<std::string, int> bits;
    for (const Variant& v : r.variants)
      if (v.id == id)
        for (const auto& s : quant::ConfigList::parse_string(v.config_list).resolve(*m.graph).nodes)
          if (s.weight().enabled) bits[s.node->module_path] = s.weight().bits;
    return bits;
  };
  // NNI's QAT example quantizes the convolutions only; its PTQ example is 8/32/16/8.
  EXPECT_EQ(weight_bits("qat_mixed"), (std::map<std::string, int>{{"conv1", 8}, {"conv2", 8}}));
  EXPECT_EQ(weight_bits("ptq_nni_mixed"),
            (std::map<std::string, int>{{"conv1", 8}, {"fc1", 16}, {"fc2", 8}}));
  EXPECT_EQ(weight_bits("qat_int8"),
            (std::map<std::string, int>{{"conv1", 8}, {"conv2", 8}, {"fc1", 8}, {"fc2", 8}}));
  const auto* sgd = std::get_if<SGD>(&r.float_train.optimizer);
  ASSERT_NE(sgd, nullptr);
  EXPECT_EQ(sgd->lr, 0.01);
  EXPECT_EQ(sgd->momentum, 0.5);
  EXPECT_EQ(r.float_train.batch_size, 64);
  EXPECT_TRUE(
      std::holds_alternative<Adam>(model_recipe("mnist_naive", "adam").float_train.optimizer));
}

TEST(DemoRecipes, UnknownModelOrRecipeIsBadInput) {
  try {
    model_recipe("resnet50", "nni");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.status().code, Code::kInvalidInput);
    EXPECT_NE(e.status().message.find("mnist_naive, lenet5, resnet18_cifar"), std::string::npos);
  }
  EXPECT_THROW(model_recipe("mnist_naive", "lbfgs"), Error);
}

TEST(DemoRun, BadOptionsFailBeforeAnythingRuns) {
  DemoOptions o;
  o.out_dir = testing::TempDir() + "/demo_bad_options";
  if (!find_backend("cuda")) {
    o.backend = "cuda";
    try {
      run_demo(o);
      FAIL() << "--backend cuda ran without the cuda backend";
    } catch (const Error& e) {
      EXPECT_EQ(e.status().exit_code(), 2);
      EXPECT_NE(e.status().message.find("-DMPQ_CUDA=ON"), std::string::npos) << e.what();
    }
    o.backend = "cpu";
  }
  o.calib_method = "kl";
  EXPECT_THROW(run_demo(o), Error);
  o.calib_method = "entropy";
  o.batch = 0;
  EXPECT_THROW(run_demo(o), Error);
  EXPECT_FALSE(std::filesystem::exists(o.out_dir));  // nothing written
}

DemoReport sample_report() {
  DemoReport r;
  r.options.model = "mnist_naive";
  r.options.out_dir = testing::TempDir() + "/demo_table";
  r.model_parameters = 431080;
  r.threads = 2;
  DemoRow fp32;
  fp32.id = "fp32", fp32.method = "float", fp32.strategy = "all in 32bit", fp32.ok = true;
  fp32.layers = 4, fp32.mean_bits = 32, fp32.weighted_bits = 32;
  fp32.accuracy = 0.8502, fp32.agreement = 1.0, fp32.latency_ms = 36.0, fp32.speedup = 1.0;
  fp32.p10_ms = 30, fp32.p90_ms = 40, fp32.runs = 50;
  fp32.precisions = "conv1 fp32, conv2 fp32, fc1 fp32, fc2 fp32";
  DemoRow q = fp32;
  q.id = "qat_int8", q.method = "QAT", q.strategy = "all in 8bit", q.mean_bits = 8;
  q.weighted_bits = 8, q.accuracy = 0.8696, q.latency_ms = 16.0, q.speedup = 2.25;
  q.simulated_accuracy = 0.8701;
  DemoRow bad;
  bad.id = "ptq_int8", bad.method = "PTQ", bad.strategy = "all in 8bit";
  bad.error = "PTQ failed: calibration failed: data | broken";
  r.rows = {fp32, q, bad};
  return r;
}

TEST(DemoTable, RendersMeasuredAndFailedRows) {
  const DemoReport r = sample_report();
  const std::string t = render_terminal(r);
  EXPECT_NE(t.find("all in 8bit   QAT     qat_int8"), std::string::npos) << t;
  EXPECT_NE(t.find("2.25x"), std::string::npos);
  EXPECT_NE(t.find("86.96%"), std::string::npos);
  EXPECT_NE(t.find("8.0 / 8.0"), std::string::npos);
  EXPECT_NE(t.find("failed: PTQ failed: calibration failed: data | broken"), std::string::npos);

  const std::string md = render_markdown(r);
  EXPECT_NE(md.find("| all in 8bit | QAT | qat_int8 | 8.0 / 8.0 | 16.000 | 30.000-40.000 | 2.25x | "
                    "86.96% | 100.00% |"),
            std::string::npos)
      << md;
  // A '|' in an error must not break the Markdown table.
  EXPECT_NE(md.find("failed: PTQ failed: calibration failed: data / broken"), std::string::npos);
  EXPECT_NE(md.find("average bit 20.4"), std::string::npos);  // NNI's published table

  const auto j = nlohmann::json::parse(render_json(r));
  ASSERT_EQ(j["rows"].size(), 3u);
  EXPECT_EQ(j["rows"][1]["speedup"], 2.25);
  EXPECT_EQ(j["rows"][1]["simulated_accuracy"], 0.8701);
  EXPECT_EQ(j["rows"][2]["ok"], false);
  EXPECT_TRUE(j["rows"][2]["median_ms"].is_null());
  EXPECT_EQ(j["rows"][2]["error"], "PTQ failed: calibration failed: data | broken");
}

TEST(DemoTable, SvgHasOnePointPerMeasuredEngine) {
  DemoReport r = sample_report();
  const std::string svg = render_svg_plot(r);
  EXPECT_EQ(count(svg, "<circle"), 2u + 3u);  // fp32, qat_int8 + the legend's three marks
  EXPECT_NE(svg.find("qat_int8 (2.25x)"), std::string::npos);
  EXPECT_EQ(svg.rfind("</svg>"), svg.size() - 7);
  for (auto& row : r.rows) row.ok = false;
  const std::string empty = render_svg_plot(r);
  EXPECT_EQ(count(empty, "<circle"), 0u);
  EXPECT_NE(empty.find("no engine has both"), std::string::npos);
}

}  // namespace
}  // namespace mpq::demo
