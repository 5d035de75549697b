// Model zoo: structure, module paths, parameter counts, seeded init, and outputs against PyTorch.
#include "zoo/zoo.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "backends/reference/executor.h"
#include "core/rng.h"
#include "data/npy.h"
#include "frontend/onnx/exporter.h"
#include "frontend/onnx/importer.h"
#include "ir/op_def.h"

namespace mpq::zoo {
namespace {

namespace fs = std::filesystem;

const Node* node_by_path(const Graph& g, const std::string& path, OpKind op) {
  for (const auto& n : g.nodes())
    if (n->module_path == path && n->op == op) return n.get();
  return nullptr;
}

std::map<std::string, int> op_histogram(const Graph& g) {
  std::map<std::string, int> h;
  for (const auto& n : g.nodes()) ++h[n->op_name()];
  return h;
}

Tensor random_input(Shape shape, uint64_t seed) {
  Tensor t(DType::f32, std::move(shape));
  Rng rng(seed);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(rng.normal());
  return t;
}

TEST(Zoo, ListsTheThreeModels) {
  std::vector<std::string> names;
  for (const auto& m : zoo_models()) names.push_back(m.name);
  EXPECT_EQ(names, (std::vector<std::string>{"mnist_naive", "lenet5", "resnet18_cifar"}));
  try {
    build_zoo_model("resnet50");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.status().code, Code::kNotFound);
    EXPECT_NE(std::string(e.what()).find("available: mnist_naive, lenet5, resnet18_cifar"),
              std::string::npos);
  }
  EXPECT_THROW(build_zoo_model("lenet5", {0, 0}), Error);
}

TEST(Zoo, MnistNaiveStructureAndParams) {
  ZooModel m = build_zoo_model("mnist_naive", {4, 0});
  const Graph& g = *m.graph;
  EXPECT_EQ(m.num_parameters,
            431080);  // PyTorch: sum(p.numel() for p in NaiveModel().parameters())
  EXPECT_EQ(g.inputs()[0]->shape, (Shape{4, 1, 28, 28}));
  ASSERT_EQ(g.outputs().size(), 1u);
  EXPECT_EQ(g.outputs()[0]->name, "output");
  EXPECT_EQ(g.outputs()[0]->shape, (Shape{4, 10}));
  EXPECT_EQ(op_histogram(g), (std::map<std::string, int>{{"Conv", 2},
                                                         {"Clip", 3},
                                                         {"MaxPool", 2},
                                                         {"Flatten", 1},
                                                         {"Gemm", 2},
                                                         {"LogSoftmax", 1}}));
  const Node* conv2 = node_by_path(g, "conv2", OpKind::Conv);
  ASSERT_NE(conv2, nullptr);
  EXPECT_EQ(conv2->name, "/conv2/Conv");
  EXPECT_EQ(conv2->outputs[0]->shape, (Shape{4, 50, 8, 8}));
  EXPECT_EQ(conv2->input(1)->name, "conv2.weight");
  EXPECT_EQ(conv2->input(1)->shape, (Shape{50, 20, 5, 5}));
  const Node* relu3 = node_by_path(g, "relu3", OpKind::Clip);
  ASSERT_NE(relu3, nullptr);
  EXPECT_EQ(relu3->input(2)->constant->to_floats(), (std::vector<float>{6.f}));
  const Node* fc1 = node_by_path(g, "fc1", OpKind::Gemm);
  ASSERT_NE(fc1, nullptr);
  EXPECT_EQ(fc1->input(0)->shape, (Shape{4, 800}));
  EXPECT_EQ(fc1->input(1)->shape, (Shape{500, 800}));
  EXPECT_EQ(fc1->attrs.i("transB"), 1);
  // Runs, and log_softmax rows exponentiate to probabilities.
  std::vector<Tensor> y = ReferenceExecutor(g).run({random_input({4, 1, 28, 28}, 3)});
  ASSERT_EQ(y[0].shape(), (Shape{4, 10}));
  std::vector<float> v = y[0].to_floats();
  for (int r = 0; r < 4; ++r) {
    double s = 0;
    for (int c = 0; c < 10; ++c) s += std::exp(v[r * 10 + c]);
    EXPECT_NEAR(s, 1.0, 1e-4);
  }
}

TEST(Zoo, Lenet5StructureAndParams) {
  ZooModel m = build_zoo_model("lenet5", {-1, 0});
  const Graph& g = *m.graph;
  EXPECT_EQ(m.num_parameters, 61706);
  EXPECT_EQ(g.inputs()[0]->shape, (Shape{-1, 1, 28, 28}));
  EXPECT_EQ(g.outputs()[0]->shape, (Shape{-1, 10}));
  const Node* conv1 = node_by_path(g, "conv1", OpKind::Conv);
  ASSERT_NE(conv1, nullptr);
  EXPECT_EQ(conv1->outputs[0]->shape, (Shape{-1, 6, 28, 28}));  // pad 2 keeps 28x28
  EXPECT_EQ(node_by_path(g, "fc1", OpKind::Gemm)->input(0)->shape, (Shape{-1, 400}));
  EXPECT_NE(node_by_path(g, "relu4", OpKind::Relu), nullptr);
  // Dynamic batch: any batch size runs.
  EXPECT_EQ(ReferenceExecutor(g).run({random_input({3, 1, 28, 28}, 1)})[0].shape(), (Shape{3, 10}));
}

TEST(Zoo, Resnet18CifarStructureAndParams) {
  ZooModel m = build_zoo_model("resnet18_cifar", {2, 0});
  const Graph& g = *m.graph;
  EXPECT_EQ(m.num_parameters, 11173962);  // torchvision resnet18(num_classes=10), 3x3 conv1
  EXPECT_EQ(g.inputs()[0]->shape, (Shape{2, 3, 32, 32}));
  EXPECT_EQ(g.outputs()[0]->shape, (Shape{2, 10}));
  EXPECT_EQ(op_histogram(g), (std::map<std::string, int>{{"Conv", 20},
                                                         {"BatchNormalization", 20},
                                                         {"Relu", 17},
                                                         {"MaxPool", 1},
                                                         {"Add", 8},
                                                         {"GlobalAveragePool", 1},
                                                         {"Flatten", 1},
                                                         {"Gemm", 1}}));
  // Stem: 3x3 stride 1 keeps 32x32, the kept max-pool halves it.
  EXPECT_EQ(node_by_path(g, "conv1", OpKind::Conv)->outputs[0]->shape, (Shape{2, 64, 32, 32}));
  EXPECT_EQ(node_by_path(g, "maxpool", OpKind::MaxPool)->outputs[0]->shape, (Shape{2, 64, 16, 16}));
  EXPECT_EQ(node_by_path(g, "layer4.1.bn2", OpKind::BatchNormalization)->outputs[0]->shape,
            (Shape{2, 512, 2, 2}));
  // Shortcuts: a 1x1 stride-2 conv + BN where the width changes, identity in layer1.
  const Node* ds = node_by_path(g, "layer3.0.downsample.0", OpKind::Conv);
  ASSERT_NE(ds, nullptr);
  EXPECT_EQ(ds->name, "/layer3/layer3.0/downsample/downsample.0/Conv");
  EXPECT_EQ(ds->input(1)->shape, (Shape{256, 128, 1, 1}));
  EXPECT_EQ(ds->attrs.ints("strides"), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(node_by_path(g, "layer1.0.downsample.0", OpKind::Conv), nullptr);
  EXPECT_NE(node_by_path(g, "layer2.0.downsample.1", OpKind::BatchNormalization), nullptr);
  // The block's relu module is called twice; both calls carry its module path.
  int relu_calls = 0;
  for (const auto& n : g.nodes())
    if (n->module_path == "layer2.1.relu") ++relu_calls;
  EXPECT_EQ(relu_calls, 2);
  EXPECT_NE(g.find_node("/layer2/layer2.1/relu_1/Relu"), nullptr);
  EXPECT_EQ(g.find_node("/layer2/layer2.1/Add")->module_path, "layer2.1");
  // Convs have no bias; BN starts at PyTorch's defaults.
  const Node* bn = node_by_path(g, "layer1.0.bn1", OpKind::BatchNormalization);
  EXPECT_EQ(node_by_path(g, "layer1.0.conv1", OpKind::Conv)->inputs.size(), 2u);
  EXPECT_EQ(bn->input(1)->constant->to_floats(), std::vector<float>(64, 1.f));
  EXPECT_EQ(bn->input(2)->constant->to_floats(), std::vector<float>(64, 0.f));
  EXPECT_EQ(bn->input(3)->constant->to_floats(), std::vector<float>(64, 0.f));
  EXPECT_EQ(bn->input(4)->constant->to_floats(), std::vector<float>(64, 1.f));
  EXPECT_EQ(bn->input(3)->name, "layer1.0.bn1.running_mean");
  // All constants = parameters + BN running statistics (2 per channel) + nothing else.
  int64_t constants = 0, bn_stats = 0;
  for (const auto& v : g.values())
    if (v->is_constant()) constants += v->constant->numel();
  for (const auto& n : g.nodes())
    if (n->op == OpKind::BatchNormalization) bn_stats += 2 * n->input(3)->constant->numel();
  EXPECT_EQ(constants, m.num_parameters + bn_stats);
}

TEST(Zoo, SeededInitIsReproducibleAndKaimingScaled) {
  ZooModel a = build_zoo_model("mnist_naive", {1, 7});
  ZooModel b = build_zoo_model("mnist_naive", {1, 7});
  ZooModel c = build_zoo_model("mnist_naive", {1, 8});
  auto w = [](const ZooModel& m, const std::string& n) {
    return m.graph->find_value(n)->constant->to_floats();
  };
  EXPECT_EQ(w(a, "conv2.weight"), w(b, "conv2.weight"));
  EXPECT_NE(w(a, "conv2.weight"), w(c, "conv2.weight"));
  // The batch size does not change the weights.
  ZooModel d = build_zoo_model("mnist_naive", {-1, 7});
  EXPECT_EQ(w(a, "fc1.weight"), w(d, "fc1.weight"));
  // Known first values pin the generator across platforms and refactors.
  // (mt19937_64 + hand-written Box-Muller: no std::normal_distribution, whose output varies.)
  std::vector<float> conv1 = w(a, "conv1.weight");
  EXPECT_NEAR(conv1[0], -0.317425668f, 1e-6f);
  EXPECT_NEAR(conv1[1], -0.247311369f, 1e-6f);
  EXPECT_NEAR(conv1[2], 0.0746539757f, 1e-6f);
  EXPECT_NEAR(w(a, "conv1.bias")[0], -0.114569023f, 1e-6f);
  // conv2: fan_in 20*5*5 = 500, 25000 weights: std close to sqrt(2/500), mean close to 0.
  std::vector<float> v = w(a, "conv2.weight");
  double sum = 0, sq = 0;
  for (float x : v) sum += x, sq += double(x) * x;
  const double mean = sum / v.size(), sd = std::sqrt(sq / v.size() - mean * mean);
  EXPECT_NEAR(sd, std::sqrt(2.0 / 500), 0.03 * std::sqrt(2.0 / 500));
  EXPECT_NEAR(mean, 0.0, 0.002);
  // Biases are uniform in +-1/sqrt(fan_in).
  for (float x : w(a, "fc1.bias")) EXPECT_LE(std::abs(x), 1.0 / std::sqrt(800.0));
}

// Loads the zoo weights into the PyTorch twin (tests/models/zoo_torch.py) and compares outputs:
// proves the structure (not just the parameter count) is PyTorch's. Skips without Debian's torch.
TEST(Zoo, MatchesPyTorchOutputs) {
  const std::string py = "/usr/bin/python3";
  if (std::system((py + " -c 'import torch, torchvision' >/dev/null 2>&1").c_str()) != 0)
    GTEST_SKIP() << "Debian's python3-torch is not installed";
  const std::vector<std::string> names = {"mnist_naive", "lenet5", "resnet18_cifar"};
  const fs::path root = fs::temp_directory_path() / str("mpq_zoo_torch_", ::getpid());
  fs::remove_all(root);
  std::string cmd = str(py, " ", MPQ_SOURCE_DIR, "/tests/models/zoo_torch.py --check");
  std::vector<Tensor> ours;
  for (const auto& name : names) {
    const fs::path dir = root / name;
    fs::create_directories(dir / "params");
    ZooModel m = build_zoo_model(name, {2, 5});
    for (const auto& v : m.graph->values())
      if (v->is_constant() && v->name[0] != '/')  // state_dict entries, not Clip bounds
        data::write_npy((dir / "params" / (v->name + ".npy")).string(), *v->constant);
    Tensor x = random_input(m.graph->inputs()[0]->shape, 9);
    data::write_npy((dir / "input.npy").string(), x);
    ours.push_back(ReferenceExecutor(*m.graph).run({x})[0]);
    cmd += str(" ", dir.string(), " ", name);
  }
  // One interpreter for all models: importing torch dominates the cost.
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  for (size_t k = 0; k < names.size(); ++k) {
    SCOPED_TRACE(names[k]);
    Tensor ref = data::read_npy((root / names[k] / "torch_out.npy").string());
    ASSERT_EQ(ours[k].shape(), ref.shape());
    std::vector<float> a = ours[k].to_floats(), b = ref.to_floats();
    float scale = 0;
    for (float v : b) scale = std::max(scale, std::abs(v));
    EXPECT_GT(scale, 1e-3f);  // a real signal, not all zeros
    for (size_t i = 0; i < a.size(); ++i)
      EXPECT_NEAR(a[i], b[i], 1e-4f * std::max(1.f, scale)) << i;
  }
  fs::remove_all(root);
}

// Exported as ONNX and imported back: same nodes, module paths, parameters and outputs.
TEST(Zoo, OnnxRoundTripKeepsModulePathsAndOutputs) {
  for (const std::string name : {"mnist_naive", "lenet5", "resnet18_cifar"}) {
    SCOPED_TRACE(name);
    ZooModel m = build_zoo_model(name, {-1, 2});
    auto back = import_onnx_bytes(export_onnx_bytes(*m.graph), name + ".onnx");
    ASSERT_EQ(back->nodes().size(), m.graph->nodes().size());
    for (const auto& n : m.graph->nodes()) {
      const Node* b = back->find_node(n->name);
      ASSERT_NE(b, nullptr) << n->name;
      EXPECT_EQ(b->module_path, n->module_path) << n->name;
      EXPECT_EQ(b->op, n->op);
    }
    EXPECT_EQ(back->inputs()[0]->shape, m.graph->inputs()[0]->shape);
    if (name == "resnet18_cifar") continue;  // its outputs are compared with PyTorch above
    Tensor x = random_input({3, 1, 28, 28}, 4);
    EXPECT_EQ(ReferenceExecutor(*back).run({x})[0].to_floats(),
              ReferenceExecutor(*m.graph).run({x})[0].to_floats());
  }
}

}  // namespace
}  // namespace mpq::zoo
