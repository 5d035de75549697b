// Small graphs shared by the training tests.
#pragma once

#include <omp.h>

#include <memory>

#include "gradcheck.h"
#include "ir/op_def.h"

namespace mpq::testing {

// The test graphs are tiny: one thread avoids OpenMP hand-offs that dominate (and, on a loaded
// machine, stall) such small kernels. Each ctest entry is its own process.
inline void one_thread() {
  omp_set_num_threads(1);
}

inline Attributes ints_attr(
    std::initializer_list<std::pair<const char*, std::vector<int64_t>>> kv) {
  Attributes a;
  for (auto& [k, v] : kv) a.set(k, v);
  return a;
}

// x[N,2,6,6] -> Conv(3,3x3,pad1) -> BN -> Relu -> MaxPool2 -> Flatten -> Gemm(27->4)
inline std::unique_ptr<Graph> small_net() {
  one_thread();
  auto g = std::make_unique<Graph>();
  Value* x = g->add_input("x", DType::f32, {-1, 2, 6, 6});
  Value* w = g->add_constant("conv.w", random_tensor({3, 2, 3, 3}, 11, 0.4f));
  Value* b = g->add_constant("conv.b", random_tensor({3}, 12, 0.1f));
  Node* conv = g->add_node(OpKind::Conv, "conv", {x, w, b}, 1,
                           ints_attr({{"kernel_shape", {3, 3}}, {"pads", {1, 1, 1, 1}}}));
  Value* gamma = g->add_constant("bn.scale", Tensor::from<float>({3}, {1.2f, 0.8f, 1.5f}));
  Value* beta = g->add_constant("bn.bias", Tensor::from<float>({3}, {0.1f, -0.2f, 0.3f}));
  Value* rm = g->add_constant("bn.mean", Tensor::from<float>({3}, {0.f, 0.f, 0.f}));
  Value* rv = g->add_constant("bn.var", Tensor::from<float>({3}, {1.f, 1.f, 1.f}));
  Node* bn =
      g->add_node(OpKind::BatchNormalization, "bn", {conv->outputs[0], gamma, beta, rm, rv}, 1);
  Node* relu = g->add_node(OpKind::Relu, "relu", {bn->outputs[0]}, 1);
  Node* pool = g->add_node(OpKind::MaxPool, "pool", {relu->outputs[0]}, 1,
                           ints_attr({{"kernel_shape", {2, 2}}, {"strides", {2, 2}}}));
  Attributes fa;
  fa.set("axis", int64_t{1});
  Node* flat = g->add_node(OpKind::Flatten, "flat", {pool->outputs[0]}, 1, fa);
  Value* fw = g->add_constant("fc.w", random_tensor({4, 27}, 13, 0.3f));
  Value* fb = g->add_constant("fc.b", random_tensor({4}, 14, 0.1f));
  Attributes ga;
  ga.set("transB", int64_t{1});
  Node* fc = g->add_node(OpKind::Gemm, "fc", {flat->outputs[0], fw, fb}, 1, ga);
  g->add_output(fc->outputs[0]);
  for (const auto& n : g->nodes()) apply_attr_schema(*n);
  infer_shapes(*g);
  return g;
}

// Every other op with a training rule, on one graph (x[N,4,5,5]):
//   BN(x) [training] -> Conv(group 2, dilation 2) -> Clip -> AveragePool; Softmax(conv, axis 1);
//   Mul, Add (residual), Sub, Concat -> Conv 1x1 -> GlobalAveragePool -> Reshape -> MatMul -> Add.
inline std::unique_ptr<Graph> mixed_net() {
  one_thread();
  auto g = std::make_unique<Graph>();
  auto node = [&](OpKind k, const char* name, std::vector<Value*> in, Attributes a = {}) {
    return g->add_node(k, name, std::move(in), 1, std::move(a))->outputs[0];
  };
  Value* x = g->add_input("x", DType::f32, {-1, 4, 5, 5});
  Value* bn = node(OpKind::BatchNormalization, "bn",
                   {x, g->add_constant("bn.scale", random_tensor({4}, 51, 0.3f, 1.f)),
                    g->add_constant("bn.bias", random_tensor({4}, 52, 0.2f)),
                    g->add_constant("bn.mean", Tensor::from<float>({4}, {0.5f, 0.f, -1.f, 2.f})),
                    g->add_constant("bn.var", Tensor::from<float>({4}, {1.f, 2.f, 0.5f, 1.f}))});
  Attributes ca =
      ints_attr({{"kernel_shape", {3, 3}}, {"pads", {2, 2, 2, 2}}, {"dilations", {2, 2}}});
  ca.set("group", int64_t{2});
  Value* c1 = node(OpKind::Conv, "conv1",
                   {bn, g->add_constant("conv1.w", random_tensor({4, 2, 3, 3}, 53, 0.4f)),
                    g->add_constant("conv1.b", random_tensor({4}, 54, 0.1f))},
                   ca);
  Value* clip = node(OpKind::Clip, "clip",
                     {c1, g->add_constant("clip.min", Tensor::scalar(-0.6f)),
                      g->add_constant("clip.max", Tensor::scalar(0.6f))});
  Attributes pa = ints_attr({{"kernel_shape", {3, 3}}, {"pads", {1, 1, 1, 1}}});
  Value* avg = node(OpKind::AveragePool, "avg", {clip}, pa);
  Attributes sa;
  sa.set("axis", int64_t{1});
  Value* sm = node(OpKind::Softmax, "softmax", {c1}, sa);
  Value* mul = node(OpKind::Mul, "mul", {avg, sm});
  Value* add = node(OpKind::Add, "add", {clip, mul});
  Value* sub = node(OpKind::Sub, "sub", {add, avg});
  Attributes cat_a;
  cat_a.set("axis", int64_t{1});
  Value* cat = node(OpKind::Concat, "concat", {sub, mul}, cat_a);
  Value* c2 = node(OpKind::Conv, "conv2",
                   {cat, g->add_constant("conv2.w", random_tensor({6, 8, 1, 1}, 55, 0.4f)),
                    g->add_constant("conv2.b", random_tensor({6}, 56, 0.1f))},
                   ints_attr({{"kernel_shape", {1, 1}}}));
  Value* gap = node(OpKind::GlobalAveragePool, "gap", {c2});
  Value* flat = node(OpKind::Reshape, "reshape",
                     {gap, g->add_constant("reshape.shape", Tensor::from<int64_t>({2}, {-1, 6}))});
  Value* mm = node(OpKind::MatMul, "matmul",
                   {flat, g->add_constant("fc.w", random_tensor({6, 5}, 57, 0.5f))});
  Value* out = node(OpKind::Add, "fc_bias", {mm, g->add_constant("fc.b", random_tensor({5}, 58))});
  g->add_output(out);
  for (const auto& n : g->nodes()) apply_attr_schema(*n);
  infer_shapes(*g);
  return g;
}

}  // namespace mpq::testing
