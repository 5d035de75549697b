#include "quant/torch_op_types.h"

#include "ir/op_def.h"

namespace mpq::quant {

namespace {

// Scalar value of a constant input, if the input is a one-element f32 constant.
bool const_scalar(const Node& n, size_t i, float* out) {
  const Value* v = n.input(i);
  if (!v || !v->is_constant() || v->constant->numel() != 1) return false;
  *out = v->constant->to_floats()[0];
  return true;
}

// Rank of the constant weight (input 1), or -1.
int weight_rank(const Node& n) {
  const Value* w = n.input(1);
  return w && w->is_constant() ? w->constant->rank() : -1;
}

// Spatial rank from a weight (Conv: [O, I, k...]) or, failing that, from the input shape.
int spatial_rank(const Node& n) {
  int r = weight_rank(n);
  if (r >= 2) return r - 2;
  const Value* x = n.input(0);
  return x && x->has_type ? static_cast<int>(x->shape.size()) - 2 : -1;
}

bool spatial_1d(const Node& n) {
  return spatial_rank(n) == 1;
}
bool spatial_2d(const Node& n) {
  return spatial_rank(n) == 2;
}
bool spatial_3d(const Node& n) {
  return spatial_rank(n) == 3;
}

bool relu6(const Node& n) {
  float lo, hi;
  return const_scalar(n, 1, &lo) && const_scalar(n, 2, &hi) && lo == 0.f && hi == 6.f;
}

// Linear: Gemm, or a MatMul whose second operand is a constant matrix (PyTorch's export for
// inputs of rank > 2).
bool linear(const Node& n) {
  if (n.op == OpKind::MatMul) return weight_rank(n) == 2;
  return true;
}

}  // namespace

const std::vector<TorchOpType>& torch_op_types() {
  static const std::vector<TorchOpType> table = {
      {"Conv1d", {"Conv"}, true, "1-d convolution", spatial_1d},
      {"Conv2d", {"Conv"}, true, "2-d convolution", spatial_2d},
      {"Conv3d", {"Conv"}, true, "3-d convolution", spatial_3d},
      {"ConvTranspose1d", {"ConvTranspose"}, true, "", spatial_1d},
      {"ConvTranspose2d", {"ConvTranspose"}, true, "", spatial_2d},
      {"ConvTranspose3d", {"ConvTranspose"}, true, "", spatial_3d},
      {"Linear", {"Gemm", "MatMul"}, true, "MatMul only with a constant 2-d weight", linear},
      {"PReLU", {"PRelu"}, true, "", nullptr},
      {"Embedding", {"Gather"}, true, "", nullptr},
      {"ReLU", {"Relu"}, false, "", nullptr},
      {"ReLU6", {"Clip"}, false, "Clip with min 0 and max 6", relu6},
      {"LeakyReLU", {"LeakyRelu"}, false, "", nullptr},
      {"Sigmoid", {"Sigmoid"}, false, "", nullptr},
      {"Tanh", {"Tanh"}, false, "", nullptr},
      {"Hardtanh", {"Clip"}, false, "", nullptr},
      {"MaxPool1d", {"MaxPool"}, false, "", spatial_1d},
      {"MaxPool2d", {"MaxPool"}, false, "", spatial_2d},
      {"MaxPool3d", {"MaxPool"}, false, "", spatial_3d},
      {"AvgPool2d", {"AveragePool"}, false, "", spatial_2d},
      {"AdaptiveAvgPool2d", {"GlobalAveragePool", "AveragePool"}, false, "", nullptr},
      {"BatchNorm1d", {"BatchNormalization"}, false, "", nullptr},
      {"BatchNorm2d", {"BatchNormalization"}, false, "", spatial_2d},
      {"BatchNorm3d", {"BatchNormalization"}, false, "", spatial_3d},
      {"Flatten", {"Flatten"}, false, "", nullptr},
      {"Softmax", {"Softmax"}, false, "", nullptr},
  };
  return table;
}

const TorchOpType* find_torch_op_type(std::string_view name) {
  for (const auto& t : torch_op_types())
    if (t.torch_name == name) return &t;
  return nullptr;
}

bool node_is_torch_type(const Node& node, const TorchOpType& t) {
  const std::string& op = node.def().name;
  bool op_ok = false;
  for (const auto& m : t.mpq_ops) op_ok |= m == op;
  return op_ok && (!t.matches || t.matches(node));
}

bool node_is_weighted_default(const Node& node) {
  for (const auto& t : torch_op_types())
    if (t.weighted && node_is_torch_type(node, t)) return true;
  return false;
}

}  // namespace mpq::quant
