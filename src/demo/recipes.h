// What `mpq demo` does for each zoo model: the float training recipe, the QAT recipe, and the
// quantization variants (config_lists) it builds engines for. The configs are the seed's: NNI's
// mixed-precision MNIST example (QAT and PTQ) and its CIFAR ResNet-18 prototype's layer list.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mpq/optimizer.h"

namespace mpq::demo {

// One quantized engine of the table.
struct Variant {
  std::string id;           // file-name stem: "qat_mixed", "ptq_int8", ...
  std::string method;       // "QAT" or "PTQ"
  std::string strategy;     // "mixed precision" or "all in 8bit" (the seed's row names)
  std::string description;  // where the config comes from and what it selects
  std::string config_list;  // NNI config_list (JSON text); "" = mpq's default (8 bits everywhere)
};

struct TrainRecipe {
  std::string description;  // "SGD lr 0.01 momentum 0.5, batch 64 (NNI's MNIST example)"
  OptimizerConfig optimizer;
  LrSchedule schedule;
  int64_t batch_size = 64;
};

struct ModelRecipe {
  std::string model;
  TrainRecipe float_train;
  TrainRecipe qat;
  std::vector<Variant> variants;  // in table order
};

// The recipe for a zoo model. `recipe`: "nni" (the seed's optimizer settings) or "adam" (Adam lr
// 1e-3 for the float training: higher 1-epoch accuracy). Throws kInvalidInput for an unknown
// model or recipe (the message lists the known ones).
ModelRecipe model_recipe(const std::string& model, const std::string& recipe);

// The models `mpq demo --model` accepts.
std::vector<std::string> demo_models();

}  // namespace mpq::demo
