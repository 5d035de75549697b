#include "zoo/zoo.h"

#include "ir/verifier.h"
#include "zoo/graph_builder.h"

namespace mpq::zoo {
namespace {

// NNI examples/model_compress/models/mnist/naive.py::NaiveModel, including its final log_softmax.
ZooModel mnist_naive(const ZooOptions& o) {
  auto g = std::make_unique<Graph>();
  g->name = "mnist_naive";
  GraphBuilder b(*g, o.seed);
  Value* x = b.input("input", {o.batch, 1, 28, 28});
  x = b.relu6(b.conv(x, "conv1", 20, 5), "relu1");
  x = b.maxpool(x, "max_pool1", 2, 2);
  x = b.relu6(b.conv(x, "conv2", 50, 5), "relu2");
  x = b.maxpool(x, "max_pool2", 2, 2);
  x = b.flatten(x, "");  // x.view(-1, 800)
  x = b.relu6(b.linear(x, "fc1", 500), "relu3");
  x = b.linear(x, "fc2", 10);
  b.name_next("output");
  b.output(b.log_softmax(x, ""));
  return {std::move(g), b.num_parameters()};
}

// LeNet-5 with ReLU and max-pooling (the common modern form), padded first conv for 28x28 input.
ZooModel lenet5(const ZooOptions& o) {
  auto g = std::make_unique<Graph>();
  g->name = "lenet5";
  GraphBuilder b(*g, o.seed);
  Value* x = b.input("input", {o.batch, 1, 28, 28});
  x = b.maxpool(b.relu(b.conv(x, "conv1", 6, 5, 1, 2), "relu1"), "pool1", 2, 2);
  x = b.maxpool(b.relu(b.conv(x, "conv2", 16, 5), "relu2"), "pool2", 2, 2);
  x = b.flatten(x, "flatten");
  x = b.relu(b.linear(x, "fc1", 120), "relu3");
  x = b.relu(b.linear(x, "fc2", 84), "relu4");
  b.name_next("output");
  b.output(b.linear(x, "fc3", 10));
  return {std::move(g), b.num_parameters()};
}

// torchvision BasicBlock: conv3x3-bn-relu-conv3x3-bn, + identity or 1x1 conv-bn shortcut, relu.
// The block's relu module is called twice (torch names the second call relu_1).
Value* basic_block(GraphBuilder& b, Value* x, const std::string& p, int64_t width, int64_t stride) {
  const int64_t cin = x->shape[1];
  Value* y = b.relu(b.batchnorm(b.conv(x, p + ".conv1", width, 3, stride, 1, false), p + ".bn1"),
                    p + ".relu");
  y = b.batchnorm(b.conv(y, p + ".conv2", width, 3, 1, 1, false), p + ".bn2");
  Value* shortcut = x;
  if (stride != 1 || cin != width)
    shortcut = b.batchnorm(b.conv(x, p + ".downsample.0", width, 1, stride, 0, false),
                           p + ".downsample.1");
  return b.relu(b.add(y, shortcut, p), p + ".relu");
}

// NNI's CIFAR-10 ResNet-18
// (examples/model_compress/quantization/mixed_precision_speedup_cifar10.py): torchvision resnet18
// with conv1 3x3 stride 1 pad 1, the 3x3/2 max-pool kept, fc 512 -> 10.
ZooModel resnet18_cifar(const ZooOptions& o) {
  auto g = std::make_unique<Graph>();
  g->name = "resnet18_cifar";
  GraphBuilder b(*g, o.seed);
  Value* x = b.input("input", {o.batch, 3, 32, 32});
  x = b.relu(b.batchnorm(b.conv(x, "conv1", 64, 3, 1, 1, false), "bn1"), "relu");
  x = b.maxpool(x, "maxpool", 3, 2, 1);
  const int64_t widths[4] = {64, 128, 256, 512};
  for (int l = 0; l < 4; ++l) {
    const std::string layer = str("layer", l + 1);
    x = basic_block(b, x, layer + ".0", widths[l], l == 0 ? 1 : 2);
    x = basic_block(b, x, layer + ".1", widths[l], 1);
  }
  x = b.flatten(b.global_avgpool(x, "avgpool"), "");
  b.name_next("output");
  b.output(b.linear(x, "fc", 10));
  return {std::move(g), b.num_parameters()};
}

}  // namespace

const std::vector<ZooEntry>& zoo_models() {
  static const std::vector<ZooEntry> models = {
      {"mnist_naive",
       "NNI's NaiveModel for MNIST: conv 1->20 5x5, ReLU6, maxpool; conv 20->50 5x5, ReLU6, "
       "maxpool; "
       "fc 800->500, ReLU6; fc 500->10; log_softmax",
       {1, 28, 28},
       mnist_naive},
      {"lenet5",
       "LeNet-5: conv 1->6 5x5 pad 2, ReLU, maxpool; conv 6->16 5x5, ReLU, maxpool; fc "
       "400->120->84->10",
       {1, 28, 28},
       lenet5},
      {"resnet18_cifar",
       "NNI's CIFAR ResNet-18: BasicBlock [2,2,2,2], widths 64-512, 3x3 stride-1 stem, 3x3/2 "
       "max-pool, "
       "global average pool, fc 512->10",
       {3, 32, 32},
       resnet18_cifar},
  };
  return models;
}

ZooModel build_zoo_model(const std::string& name, const ZooOptions& opt) {
  if (opt.batch == 0 || opt.batch < -1)
    invalid_input(str("batch must be a positive number or dynamic, got ", opt.batch))
        .key("--batch")
        .raise();
  for (const auto& m : zoo_models()) {
    if (m.name != name) continue;
    ZooModel z = m.build(opt);
    verify(*z.graph);
    return z;
  }
  std::string names;
  for (const auto& m : zoo_models()) names += (names.empty() ? "" : ", ") + m.name;
  not_found(str("no zoo model named '", name, "'; available: ", names)).raise();
}

}  // namespace mpq::zoo
