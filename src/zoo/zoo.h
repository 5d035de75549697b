// The model zoo: small reference networks built in C++ (no download), with PyTorch's module paths
// and parameter names, so that configs written for the PyTorch models select the same layers.
//   mnist_naive     NNI's NaiveModel (MNIST), input [N,1,28,28], 431,080 parameters
//   lenet5          classic LeNet-5 (ReLU, max-pool), input [N,1,28,28], 61,706 parameters
//   resnet18_cifar  NNI's CIFAR ResNet-18, input [N,3,32,32], 11,173,962 parameters
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace mpq::zoo {

struct ZooOptions {
  int64_t batch = -1;  // input batch dimension; -1 = dynamic
  uint64_t seed = 0;   // weight init seed (same seed, same weights on every platform)
};

struct ZooModel {
  std::unique_ptr<Graph> graph;
  int64_t num_parameters = 0;  // as PyTorch counts them (BatchNorm running stats excluded)
};

struct ZooEntry {
  std::string name;
  std::string description;
  Shape input;  // per-sample shape, e.g. {1,28,28}
  ZooModel (*build)(const ZooOptions&);
};

const std::vector<ZooEntry>& zoo_models();
// Builds a zoo model (shapes inferred). Throws kNotFound listing the known names.
ZooModel build_zoo_model(const std::string& name, const ZooOptions& opt = {});

}  // namespace mpq::zoo
