// Training on real Fashion-MNIST (Debian's dataset-fashion-mnist, installed by scripts/setup.sh):
// the zoo's mnist_naive with NNI's recipe on a subset, QAT with NNI's example config, and the
// int8 engine built from the QAT export agreeing with the QAT model. The full-epoch numbers are
// benchmarks (bench/train/, bench/RESULTS.md).
#include <gtest/gtest.h>
#include <omp.h>

#include <filesystem>

#include "mpq/qat_quantizer.h"
#include "quant/calibration_table.h"
#include "quant/config_list.h"
#include "runtime/engine.h"
#include "train/trainer.h"
#include "zoo/zoo.h"

namespace mpq::train {
namespace {

bool have_fashion_mnist() {
  return std::filesystem::exists(data::fashion_mnist_dir() + "/train-images-idx3-ubyte.gz");
}

std::unique_ptr<data::Dataset> fashion(const char* split, int64_t limit) {
  data::DataSpec s;
  s.source = std::string("fashion-mnist:") + split;
  s.limit = limit;
  return data::open_dataset(s, {-1, 1, 28, 28});
}

// NNI's example mixed config (mixed_precision_speedup_mnist.py), weights as the engine runs them.
const char* kNniConfig = R"([
  {"quant_types": ["input", "weight"], "quant_bits": {"input": 8, "weight": 8}, "op_names": ["conv1"]},
  {"quant_types": ["output"], "quant_bits": {"output": 8}, "op_names": ["relu1"]},
  {"quant_types": ["input", "weight"], "quant_bits": {"input": 8, "weight": 8}, "op_names": ["conv2"]},
  {"quant_types": ["output"], "quant_bits": {"output": 8}, "op_names": ["relu2"]}
])";

TEST(TrainFashion, MnistNaiveNniRecipeThenQatThenEngine) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  omp_set_num_threads(1);  // robust on a loaded CI machine (see one_thread() in train_nets.h)
  auto g = zoo::build_zoo_model("mnist_naive").graph;
  auto train = fashion("train", 6400);
  auto test = fashion("test", 1000);
  TrainOptions o;
  o.quiet = true;  // NNI's recipe: SGD lr 0.01 momentum 0.5, batch 64
  Trainer t(*g, o);
  EpochResult e = t.train_epoch(*train, 0);
  EXPECT_EQ(e.steps, 100);
  const double float_acc = t.evaluate(*test).accuracy;
  std::cerr << "float accuracy after 100 steps: " << float_acc << "\n";
  EXPECT_GT(float_acc, 0.68);  // 100 steps; a full epoch reaches ~85% (bench/RESULTS.md)

  // QAT with NNI's example config, 50 more steps.
  QatOptions qo;
  qo.quiet = true;
  qo.max_steps_per_epoch = 50;
  for (const char* weights : {"", "int_per_channel"}) {
    std::string cfg = kNniConfig;
    if (*weights) {  // the engine quantizes weights symmetric per channel: train it that way
      const std::string spec =
          "\"quant_dtype\": {\"weight\": \"int\", \"input\": \"uint\"}, "
          "\"quant_scheme\": {\"weight\": \"per_channel_symmetric\", \"input\": "
          "\"per_tensor_affine\"}, ";
      for (size_t p = 0; (p = cfg.find("\"op_names\": [\"conv", p)) != std::string::npos;
           p += spec.size() + 10)
        cfg.insert(p, spec);
    }
    QatQuantizer q(*g, quant::ConfigList::parse_string(cfg), SGD{.lr = 0.01, .momentum = 0.5}, qo);
    q.fit(*train, 1);
    const double qat_acc = q.evaluate(*test).accuracy;
    std::cerr << "QAT accuracy (" << weights << "): " << qat_acc << "\n";
    EXPECT_GT(qat_acc, float_acc - 0.01) << weights;
    if (!*weights) continue;
    // The int8 engine built from the export predicts what the QAT model predicts.
    quant::CalibrationTable table = q.export_model("", "");
    plan::BuildOptions bo;
    bo.max_batch = 250;
    auto engine = runtime::Engine::build(q.float_graph(), &table, bo);
    runtime::ExecutionContext ctx(engine);
    int64_t agree = 0, n = 0, int8_layers = 0;
    for (const auto& l : engine->manifest().layers) int8_layers += l.executed == Precision::kInt8;
    EXPECT_GE(int8_layers, 2);
    for (int64_t b = 0; b < test->size(); b += 250) {
      Tensor x = test->images(b, 250);
      std::vector<float> a = ctx.run({x})[0].to_floats(), r = q.predict(x).to_floats();
      for (int64_t i = 0; i < 250; ++i, ++n) {
        auto arg = [&](const std::vector<float>& v) {
          return std::max_element(v.begin() + i * 10, v.begin() + i * 10 + 10) - v.begin();
        };
        agree += arg(a) == arg(r);
      }
    }
    EXPECT_GE(static_cast<double>(agree) / n, 0.995) << agree << "/" << n;
  }
}

}  // namespace
}  // namespace mpq::train
