#include "demo/recipes.h"

#include "core/status.h"

namespace mpq::demo {

namespace {

// NNI's QAT example (examples/model_compress/quantization/mixed_precision_speedup_mnist.py):
// quantize the convolutions' inputs and weights and the ReLUs' outputs; the fully connected
// layers stay at 32 bits.
constexpr const char* kMnistQatMixed = R"([
  {"quant_types": ["input", "weight"], "quant_bits": {"input": 8, "weight": 8}, "op_names": ["conv1"]},
  {"quant_types": ["output"], "quant_bits": {"output": 8}, "op_names": ["relu1"]},
  {"quant_types": ["input", "weight"], "quant_bits": {"input": 8, "weight": 8}, "op_names": ["conv2"]},
  {"quant_types": ["output"], "quant_bits": {"output": 8}, "op_names": ["relu2"]}
]
)";

// The same pattern over every layer: all weights and activations in 8 bits.
constexpr const char* kMnistInt8 = R"([
  {"quant_types": ["input", "weight"], "quant_bits": {"input": 8, "weight": 8}, "op_types": ["Conv2d", "Linear"]},
  {"quant_types": ["output"], "quant_bits": {"output": 8}, "op_names": ["relu1", "relu2", "relu3"]}
]
)";

// NNI's PTQ example in the same file: {'conv1': 8, 'conv2': 32, 'fc1': 16, 'fc2': 8} as
// weight_bits and output_bits (conv2 at 32 bits: not listed).
constexpr const char* kMnistPtqNni = R"([
  {"quant_types": ["weight", "output"], "quant_bits": 8, "op_names": ["conv1", "fc2"]},
  {"quant_types": ["weight", "output"], "quant_bits": 16, "op_names": ["fc1"]}
]
)";

// LeNet-5 with the NNI QAT example's pattern.
constexpr const char* kLenetQatMixed = R"([
  {"quant_types": ["input", "weight"], "quant_bits": 8, "op_names": ["conv1", "conv2"]},
  {"quant_types": ["output"], "quant_bits": 8, "op_names": ["relu1", "relu2"]}
]
)";
constexpr const char* kLenetInt8 = R"([
  {"quant_types": ["input", "weight"], "quant_bits": 8, "op_types": ["Conv2d", "Linear"]},
  {"quant_types": ["output"], "quant_bits": 8, "op_names": ["relu1", "relu2", "relu3", "relu4"]}
]
)";

// NNI's CIFAR ResNet-18 prototype (mixed_precision_speedup_cifar10.py, removed in 6b56265b1): these
// 11 of its 18 configured layers at 8 bits, the others (layer1.1.conv1, layer2.0.conv2,
// layer3.0.*, layer4.0.*, fc) and the downsample convolutions at 32.
constexpr const char* kResnetMixed = R"([
  {"quant_types": ["input", "weight"], "quant_bits": 8,
   "op_names": ["conv1", "layer1.0.conv1", "layer1.0.conv2", "layer1.1.conv2", "layer2.0.conv1",
                "layer2.1.conv1", "layer2.1.conv2", "layer3.1.conv1", "layer3.1.conv2",
                "layer4.1.conv1", "layer4.1.conv2"]}
]
)";
constexpr const char* kResnetInt8 = R"([
  {"quant_types": ["input", "weight"], "quant_bits": 8, "op_types": ["Conv2d", "Linear"]}
]
)";

TrainRecipe nni_mnist_sgd() {
  return {"SGD lr 0.01, momentum 0.5, batch 64 (NNI's MNIST example)",
          SGD{.lr = 0.01, .momentum = 0.5}, LrSchedule::constant(), 64};
}

TrainRecipe adam_recipe() {
  return {"Adam lr 0.001, batch 64", Adam{.lr = 1e-3}, LrSchedule::constant(), 64};
}

void apply_recipe_choice(ModelRecipe& r, const std::string& recipe) {
  if (recipe == "nni") return;
  if (recipe == "adam") {
    r.float_train = adam_recipe();
    return;
  }
  invalid_input(str("unknown training recipe '", recipe, "' (expected nni or adam)"))
      .key("--recipe")
      .raise();
}

}  // namespace

std::vector<std::string> demo_models() {
  return {"mnist_naive", "lenet5", "resnet18_cifar"};
}

ModelRecipe model_recipe(const std::string& model, const std::string& recipe) {
  ModelRecipe r;
  r.model = model;
  if (model == "mnist_naive") {
    r.float_train = nni_mnist_sgd();
    r.qat = nni_mnist_sgd();
    r.variants = {
        {"qat_mixed", "QAT", "mixed precision",
         "NNI's QAT example: conv1, conv2 input+weight 8 bit, relu1, relu2 output 8 bit; fc1, fc2 "
         "32 bit",
         kMnistQatMixed},
        {"qat_int8", "QAT", "all in 8bit",
         "every conv/fc input+weight 8 bit, every ReLU6 output 8 bit", kMnistInt8},
        {"ptq_mixed", "PTQ", "mixed precision", "the QAT example's layers (conv 8 bit, fc 32 bit)",
         kMnistQatMixed},
        {"ptq_nni_mixed", "PTQ", "mixed precision",
         "NNI's PTQ example: conv1 8, conv2 32, fc1 16, fc2 8 bit (weight+output)", kMnistPtqNni},
        {"ptq_int8", "PTQ", "all in 8bit",
         "mpq's default: every quantizable layer's weight, input and output 8 bit", ""},
    };
  } else if (model == "lenet5") {
    r.float_train = nni_mnist_sgd();
    r.qat = nni_mnist_sgd();
    r.variants = {
        {"qat_mixed", "QAT", "mixed precision",
         "NNI's QAT example pattern: conv1, conv2 input+weight 8 bit, relu1, relu2 output 8 bit; "
         "fc "
         "32 bit",
         kLenetQatMixed},
        {"qat_int8", "QAT", "all in 8bit",
         "every conv/fc input+weight 8 bit, every ReLU output 8 bit", kLenetInt8},
        {"ptq_mixed", "PTQ", "mixed precision", "the QAT example's layers (conv 8 bit, fc 32 bit)",
         kLenetQatMixed},
        {"ptq_int8", "PTQ", "all in 8bit",
         "mpq's default: every quantizable layer's weight, input and output 8 bit", ""},
    };
  } else if (model == "resnet18_cifar") {
    r.float_train = {"SGD lr 0.1, momentum 0.9, weight decay 5e-4, batch 64 (NNI's CIFAR example)",
                     SGD{.lr = 0.1, .momentum = 0.9, .weight_decay = 5e-4}, LrSchedule::constant(),
                     64};
    r.qat = {"SGD lr 0.01, momentum 0.9, weight decay 5e-4, batch 64",
             SGD{.lr = 0.01, .momentum = 0.9, .weight_decay = 5e-4}, LrSchedule::constant(), 64};
    r.variants = {
        {"qat_mixed", "QAT", "mixed precision",
         "NNI's CIFAR prototype: 11 of 18 layers input+weight 8 bit, the rest 32 bit",
         kResnetMixed},
        {"qat_int8", "QAT", "all in 8bit", "every conv/fc input+weight 8 bit", kResnetInt8},
        {"ptq_mixed", "PTQ", "mixed precision", "NNI's CIFAR prototype layers (as the QAT row)",
         kResnetMixed},
        {"ptq_int8", "PTQ", "all in 8bit",
         "mpq's default: every quantizable layer's weight, input and output 8 bit", ""},
    };
  } else {
    std::string known;
    for (const auto& m : demo_models()) known += (known.empty() ? "" : ", ") + m;
    invalid_input(str("mpq demo has no recipe for model '", model, "' (known: ", known, ")"))
        .key("--model")
        .raise();
  }
  apply_recipe_choice(r, recipe);
  return r;
}

}  // namespace mpq::demo
