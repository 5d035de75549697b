// GraphBuilder: writes a Graph the way torch.onnx.export would name it from a PyTorch module tree.
// Each helper is one PyTorch module call: `path` is the module path ("layer1.0.conv1"); the node is
// named like the exporter's scope ("/layer1/layer1.0/conv1/Conv", "/layer1/layer1.0/relu_1/Relu"
// for a module's second call), Node::module_path is set to `path`, and parameters are initializers
// named like the state_dict ("layer1.0.conv1.weight"). Functional ops (add, flatten) take the
// scope of the module they run in ("layer1.0", or "" at the top level).
//
// Initialization is seeded and identical on every platform (core/rng.h): weights Kaiming-normal
// (std sqrt(2 / fan_in)), biases uniform in +-1/sqrt(fan_in) (PyTorch's default bias init), each
// parameter drawn from its own stream seeded by (seed, parameter name). BatchNorm starts as
// PyTorch's does: gamma 1, beta 0, running mean 0, running var 1.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "ir/graph.h"

namespace mpq::zoo {

class GraphBuilder {
 public:
  GraphBuilder(Graph& g, uint64_t seed) : g_(g), seed_(seed) {}

  Value* input(const std::string& name, Shape shape, DType dtype = DType::f32);
  void output(Value* v) { g_.add_output(v); }
  // The value produced by the next helper call gets this name (e.g. "output") instead of the
  // exporter-style "<node>_output_0".
  void name_next(std::string value_name) { next_name_ = std::move(value_name); }

  // nn.Conv2d(x.C, cout, k, stride, pad, bias=bias, groups=groups)
  Value* conv(Value* x, const std::string& path, int64_t cout, int64_t k, int64_t stride = 1,
              int64_t pad = 0, bool bias = true, int64_t groups = 1);
  // nn.BatchNorm2d(x.C) in eval mode (eps 1e-5, momentum 0.1 as torch, 0.9 in ONNX terms).
  Value* batchnorm(Value* x, const std::string& path, float eps = 1e-5f);
  Value* relu(Value* x, const std::string& path);
  Value* relu6(Value* x, const std::string& path);  // Clip(x, 0, 6)
  Value* maxpool(Value* x, const std::string& path, int64_t k, int64_t stride, int64_t pad = 0);
  // nn.AdaptiveAvgPool2d(1): GlobalAveragePool.
  Value* global_avgpool(Value* x, const std::string& path);
  // torch.flatten(x, axis) / nn.Flatten.
  Value* flatten(Value* x, const std::string& scope, int64_t axis = 1);
  // nn.Linear(x.features, out): Gemm with transB=1, weight [out, in].
  Value* linear(Value* x, const std::string& path, int64_t out, bool bias = true);
  // a + b inside the module at `scope` (a residual add).
  Value* add(Value* a, Value* b, const std::string& scope);
  Value* log_softmax(Value* x, const std::string& scope, int64_t axis = 1);

  // Trainable parameters, counted as PyTorch's sum(p.numel() for p in m.parameters()) (BatchNorm
  // running statistics are buffers, not parameters).
  int64_t num_parameters() const { return params_; }

 private:
  // Adds a node of `op` for a call of the module at `path` (or functional op in `scope`), fills
  // attribute defaults and infers its output type at once, so later helpers can read shapes.
  Node* emit(OpKind op, const std::string& path, bool is_module, const std::string& op_type,
             std::vector<Value*> inputs, Attributes attrs = {});
  Value* param(const std::string& name, Tensor t, bool trainable);
  Tensor kaiming_normal(const std::string& name, Shape shape, int64_t fan_in) const;
  Tensor bias_uniform(const std::string& name, int64_t n, int64_t fan_in) const;
  int64_t channels(Value* x, const std::string& path) const;

  Graph& g_;
  uint64_t seed_;
  int64_t params_ = 0;
  std::string next_name_;
  std::map<std::string, int> calls_;  // scope node name -> times used (for "_1" suffixes)
};

}  // namespace mpq::zoo
