#include "zoo/graph_builder.h"

#include <cctype>
#include <cmath>
#include <sstream>

#include "core/rng.h"
#include "ir/op_def.h"

namespace mpq::zoo {
namespace {

// torch.onnx scope of a module path: "layer1.0.conv1" -> "/layer1/layer1.0/conv1"; a numeric
// component (a Sequential child) is named "<parent>.<index>", as the exporter does.
std::string scope_of(const std::string& path) {
  std::string out, prev, part;
  std::istringstream parts(path);
  while (std::getline(parts, part, '.')) {
    out.push_back('/');
    if (!part.empty() && std::isdigit(static_cast<unsigned char>(part[0])) && !prev.empty())
      out.append(prev).push_back('.');
    out.append(part);
    prev = part;
  }
  return out;
}

// FNV-1a of the parameter name mixed with the seed: each parameter gets its own stream, so adding
// a layer does not change the values of the others.
uint64_t param_seed(uint64_t seed, const std::string& name) {
  uint64_t h = 1469598103934665603ull ^ (seed * 0x9E3779B97F4A7C15ull);
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace

Value* GraphBuilder::input(const std::string& name, Shape shape, DType dtype) {
  return g_.add_input(name, dtype, std::move(shape));
}

Node* GraphBuilder::emit(OpKind op, const std::string& path, bool is_module,
                         const std::string& op_type, std::vector<Value*> inputs, Attributes attrs) {
  // A module called again gets "_1", "_2"... on its last scope component (torch's naming).
  std::string scope = scope_of(path);
  if (is_module) {
    int n = calls_[scope]++;
    if (n > 0) scope += str("_", n);
  }
  std::string base = scope + "/" + op_type;
  if (!is_module) {
    int n = calls_[base]++;
    if (n > 0) base += str("_", n);
  }
  std::string out = next_name_.empty() ? base + "_output_0" : next_name_;
  next_name_.clear();
  Node* node =
      g_.add_node(op, base, std::move(inputs), std::vector<std::string>{out}, std::move(attrs));
  node->module_path = path;
  apply_attr_schema(*node);
  infer_node(*node);
  return node;
}

Value* GraphBuilder::param(const std::string& name, Tensor t, bool trainable) {
  if (trainable) params_ += t.numel();
  return g_.add_constant(name, std::move(t));
}

Tensor GraphBuilder::kaiming_normal(const std::string& name, Shape shape, int64_t fan_in) const {
  Tensor t(DType::f32, std::move(shape));
  Rng rng(param_seed(seed_, name));
  const double stddev = std::sqrt(2.0 / static_cast<double>(fan_in));
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<float>(rng.normal(0.0, stddev));
  return t;
}

Tensor GraphBuilder::bias_uniform(const std::string& name, int64_t n, int64_t fan_in) const {
  Tensor t(DType::f32, {n});
  Rng rng(param_seed(seed_, name));
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  float* p = t.data<float>();
  for (int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(rng.uniform(-bound, bound));
  return t;
}

int64_t GraphBuilder::channels(Value* x, const std::string& path) const {
  if (x->shape.size() < 2 || x->shape[1] <= 0)
    internal_error(
        str("GraphBuilder: ", path, " needs a known channel count, input is ", shape_str(x->shape)))
        .raise();
  return x->shape[1];
}

Value* GraphBuilder::conv(Value* x, const std::string& path, int64_t cout, int64_t k,
                          int64_t stride, int64_t pad, bool bias, int64_t groups) {
  const int64_t cin = channels(x, path);
  const int64_t fan_in = cin / groups * k * k;
  std::vector<Value*> ins{
      x, param(path + ".weight",
               kaiming_normal(path + ".weight", {cout, cin / groups, k, k}, fan_in), true)};
  if (bias) ins.push_back(param(path + ".bias", bias_uniform(path + ".bias", cout, fan_in), true));
  Attributes a;
  a.set("kernel_shape", std::vector<int64_t>{k, k});
  a.set("strides", std::vector<int64_t>{stride, stride});
  a.set("pads", std::vector<int64_t>{pad, pad, pad, pad});
  a.set("dilations", std::vector<int64_t>{1, 1});
  a.set("group", groups);
  return emit(OpKind::Conv, path, true, "Conv", std::move(ins), std::move(a))->outputs[0];
}

Value* GraphBuilder::batchnorm(Value* x, const std::string& path, float eps) {
  const int64_t c = channels(x, path);
  auto fill = [c](float v) { return Tensor::from<float>({c}, std::vector<float>(c, v)); };
  std::vector<Value*> ins{x, param(path + ".weight", fill(1.f), true),
                          param(path + ".bias", fill(0.f), true),
                          param(path + ".running_mean", fill(0.f), false),
                          param(path + ".running_var", fill(1.f), false)};
  Attributes a;
  a.set("epsilon", eps);
  a.set("momentum", 0.9f);
  return emit(OpKind::BatchNormalization, path, true, "BatchNormalization", std::move(ins),
              std::move(a))
      ->outputs[0];
}

Value* GraphBuilder::relu(Value* x, const std::string& path) {
  return emit(OpKind::Relu, path, true, "Relu", {x})->outputs[0];
}

Value* GraphBuilder::relu6(Value* x, const std::string& path) {
  // torch exports ReLU6 as Clip with min/max Constant nodes; here they are initializers named
  // after those constants' outputs.
  std::string scope = scope_of(path);
  const int n = calls_.count(scope) ? calls_[scope] : 0;
  if (n > 0) scope += str("_", n);
  Value* lo = g_.add_constant(scope + "/Constant_output_0", Tensor::scalar(0.f));
  Value* hi = g_.add_constant(scope + "/Constant_1_output_0", Tensor::scalar(6.f));
  return emit(OpKind::Clip, path, true, "Clip", {x, lo, hi})->outputs[0];
}

Value* GraphBuilder::maxpool(Value* x, const std::string& path, int64_t k, int64_t stride,
                             int64_t pad) {
  Attributes a;
  a.set("kernel_shape", std::vector<int64_t>{k, k});
  a.set("strides", std::vector<int64_t>{stride, stride});
  a.set("pads", std::vector<int64_t>{pad, pad, pad, pad});
  a.set("ceil_mode", int64_t{0});
  return emit(OpKind::MaxPool, path, true, "MaxPool", {x}, std::move(a))->outputs[0];
}

Value* GraphBuilder::global_avgpool(Value* x, const std::string& path) {
  return emit(OpKind::GlobalAveragePool, path, true, "GlobalAveragePool", {x})->outputs[0];
}

Value* GraphBuilder::flatten(Value* x, const std::string& scope, int64_t axis) {
  Attributes a;
  a.set("axis", axis);
  return emit(OpKind::Flatten, scope, false, "Flatten", {x}, std::move(a))->outputs[0];
}

Value* GraphBuilder::linear(Value* x, const std::string& path, int64_t out, bool bias) {
  if (x->shape.size() != 2 || x->shape[1] <= 0)
    internal_error(
        str("GraphBuilder: ", path, " needs [N, features], input is ", shape_str(x->shape)))
        .raise();
  const int64_t in = x->shape[1];
  std::vector<Value*> ins{
      x, param(path + ".weight", kaiming_normal(path + ".weight", {out, in}, in), true)};
  if (bias) ins.push_back(param(path + ".bias", bias_uniform(path + ".bias", out, in), true));
  Attributes a;
  a.set("alpha", 1.f);
  a.set("beta", 1.f);
  a.set("transB", int64_t{1});
  return emit(OpKind::Gemm, path, true, "Gemm", std::move(ins), std::move(a))->outputs[0];
}

Value* GraphBuilder::add(Value* a, Value* b, const std::string& scope) {
  return emit(OpKind::Add, scope, false, "Add", {a, b})->outputs[0];
}

Value* GraphBuilder::log_softmax(Value* x, const std::string& scope, int64_t axis) {
  Attributes a;
  a.set("axis", axis);
  return emit(OpKind::LogSoftmax, scope, false, "LogSoftmax", {x}, std::move(a))->outputs[0];
}

}  // namespace mpq::zoo
