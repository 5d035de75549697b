// Helpers for op tests: run one node through the registry (schema, inference, reference executor),
// random tensors, element-wise comparison, and finite-difference gradient checks.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "backends/reference/executor.h"
#include "ir/op_def.h"

namespace mpq::testing {

inline Tensor random_tensor(std::mt19937& rng, Shape shape, float lo = -1.f, float hi = 1.f) {
  Tensor t(DType::f32, std::move(shape));
  std::uniform_real_distribution<float> u(lo, hi);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = u(rng);
  return t;
}

// Distinct values spaced 0.1 apart in random order (max pooling stays differentiable under small
// perturbations).
inline Tensor distinct_tensor(std::mt19937& rng, Shape shape) {
  Tensor t(DType::f32, std::move(shape));
  std::vector<float> v(static_cast<size_t>(t.numel()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = 0.1f * static_cast<float>(i) - 0.05f * v.size();
  std::shuffle(v.begin(), v.end(), rng);
  std::copy(v.begin(), v.end(), t.data<float>());
  return t;
}

// Builds a one-node graph (inputs become graph inputs; an empty Tensor is an omitted input), fills
// attribute defaults, infers shapes, runs the reference executor and checks the inferred output
// shapes against the computed ones.
inline std::vector<Tensor> run_node(OpKind op, const Attributes& attrs,
                                    const std::vector<Tensor>& inputs, int num_outputs = 1) {
  Graph g;
  std::vector<Value*> ins;
  std::vector<Tensor> feed;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].empty()) {
      ins.push_back(nullptr);
      continue;
    }
    ins.push_back(g.add_input("in" + std::to_string(i), inputs[i].dtype(), inputs[i].shape()));
    feed.push_back(inputs[i]);
  }
  Node* n = g.add_node(op, "node", ins, num_outputs, attrs);
  apply_attr_schema(*n);
  for (Value* o : n->outputs) g.add_output(o);
  infer_shapes(g);
  ReferenceExecutor ex(g);
  std::vector<Tensor> outs = ex.run(feed);
  for (size_t i = 0; i < outs.size(); ++i)
    EXPECT_EQ(shape_str(outs[i].shape()), shape_str(n->outputs[i]->shape)) << "output " << i;
  return outs;
}

// Inferred output types of a one-node graph whose inputs have the given shapes (throws what
// inference throws).
inline std::vector<TypeInfo> infer_node_types(OpKind op, const Attributes& attrs,
                                              const std::vector<Shape>& shapes,
                                              int num_outputs = 1) {
  Graph g;
  std::vector<Value*> ins;
  for (size_t i = 0; i < shapes.size(); ++i)
    ins.push_back(g.add_input("in" + std::to_string(i), DType::f32, shapes[i]));
  Node* n = g.add_node(op, "node", ins, num_outputs, attrs);
  apply_attr_schema(*n);
  infer_node(*n);
  std::vector<TypeInfo> r;
  for (Value* o : n->outputs) r.push_back({o->dtype, o->shape});
  return r;
}

// The op's unsupported_reason for a node whose inputs have the given shapes.
inline std::string unsupported_reason_of(OpKind op, const Attributes& attrs,
                                         const std::vector<Shape>& shapes, int num_outputs = 1) {
  Graph g;
  std::vector<Value*> ins;
  for (size_t i = 0; i < shapes.size(); ++i)
    ins.push_back(g.add_input("in" + std::to_string(i), DType::f32, shapes[i]));
  Node* n = g.add_node(op, "node", ins, num_outputs, attrs);
  const OpDef& d = op_def(op);
  return d.unsupported_reason ? d.unsupported_reason(*n) : std::string();
}

inline void expect_close(const Tensor& got, const Tensor& want, float atol, float rtol,
                         const std::string& what) {
  ASSERT_EQ(shape_str(got.shape()), shape_str(want.shape())) << what;
  const auto g = got.to_floats(), w = want.to_floats();
  int bad = 0;
  for (size_t i = 0; i < g.size() && bad < 5; ++i)
    if (g[i] != w[i] && !(std::abs(g[i] - w[i]) <= atol + rtol * std::abs(w[i]))) {
      ADD_FAILURE() << what << ": element " << i << " got " << g[i] << " want " << w[i];
      ++bad;
    }
}

// Finite-difference check of an op's backward rule. The loss is sum(Y * R) for a fixed random R,
// so dL/dY = R; the analytic gradient of each checked input is compared with central differences
// of the reference forward (accumulated in double). `check` lists the inputs to verify.
inline void gradient_check(OpKind op, const Attributes& attrs0, const std::vector<Tensor>& inputs,
                           const std::vector<size_t>& check, const std::string& what,
                           float h = 1e-2f, double atol = 2e-3, double rtol = 1e-2) {
  Graph g;
  std::vector<Value*> ins;
  for (size_t i = 0; i < inputs.size(); ++i)
    ins.push_back(g.add_input("in" + std::to_string(i), inputs[i].dtype(), inputs[i].shape()));
  Node* n = g.add_node(op, "node", ins, 1, attrs0);
  apply_attr_schema(*n);
  infer_node(*n);
  const OpDef& d = n->def();
  ASSERT_TRUE(d.backward) << what << ": no backward rule";
  std::mt19937 rng(1234);
  std::vector<Tensor> y = d.forward(*n, inputs);
  const Tensor R = random_tensor(rng, y[0].shape());
  const float* r = R.data<float>();
  auto loss = [&](const std::vector<Tensor>& x) {
    Tensor out = d.forward(*n, x)[0];
    const float* o = out.data<float>();
    double s = 0;
    for (int64_t i = 0; i < out.numel(); ++i) s += static_cast<double>(o[i]) * r[i];
    return s;
  };
  std::vector<Tensor> grads = d.backward(*n, inputs, y, {R});
  ASSERT_EQ(grads.size(), inputs.size()) << what;
  for (size_t k : check) {
    ASSERT_EQ(grads[k].shape(), inputs[k].shape()) << what << ": gradient of input " << k;
    const float* ga = grads[k].data<float>();
    int bad = 0;
    for (int64_t i = 0; i < inputs[k].numel() && bad < 5; ++i) {
      std::vector<Tensor> xp = inputs, xm = inputs;
      xp[k] = inputs[k].clone(), xm[k] = inputs[k].clone();
      xp[k].data<float>()[i] += h;
      xm[k].data<float>()[i] -= h;
      const double fd = (loss(xp) - loss(xm)) / (2.0 * h);
      if (!(std::abs(fd - ga[i]) <= atol + rtol * std::abs(fd))) {
        ADD_FAILURE() << what << ": d/d input " << k << " element " << i << ": analytic " << ga[i]
                      << ", finite difference " << fd;
        ++bad;
      }
    }
  }
}

}  // namespace mpq::testing
