// Test harness for single ops: builds a one-node graph through the registry, checks that shape
// inference agrees with what the reference forward produces, and checks backward rules against
// central finite differences.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "backends/reference/executor.h"
#include "ir/op_def.h"
#include "ir/verifier.h"

namespace mpq::testing {

struct OpCase {
  OpKind op;
  std::vector<Tensor> inputs;  // an empty Tensor() marks an omitted optional input
  Attributes attrs;
  int num_outputs = 1;
  // Inputs given as initializers (constant at graph-build time); the others are graph inputs.
  std::vector<bool> constant;
};

// A one-node graph for `c`, with the attribute schema applied (defaults filled).
inline std::unique_ptr<Graph> make_graph(const OpCase& c) {
  auto g = std::make_unique<Graph>();
  std::vector<Value*> ins;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    const Tensor& t = c.inputs[i];
    const std::string name = "in" + std::to_string(i);
    if (t.empty())
      ins.push_back(nullptr);
    else if (i < c.constant.size() && c.constant[i])
      ins.push_back(g->add_constant(name, t));
    else
      ins.push_back(g->add_input(name, t.dtype(), t.shape()));
  }
  Node* n = g->add_node(c.op, "node", ins, c.num_outputs, c.attrs);
  apply_attr_schema(*n);
  for (Value* o : n->outputs) g->add_output(o);
  return g;
}

// Graph inputs in declaration order (constants excluded).
inline std::vector<Tensor> runtime_inputs(const OpCase& c) {
  std::vector<Tensor> out;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    const Tensor& t = c.inputs[i];
    if (t.empty()) continue;
    if (i < c.constant.size() && c.constant[i]) continue;
    out.push_back(t);
  }
  return out;
}

// Runs the case through infer_shapes + ReferenceExecutor; expects the inferred dtype/shape (known
// dims) to match the computed outputs.
inline std::vector<Tensor> run_op(const OpCase& c) {
  auto g = make_graph(c);
  infer_shapes(*g);
  verify(*g);
  ReferenceExecutor ex(*g);
  auto outs = ex.run(runtime_inputs(c));
  for (size_t i = 0; i < outs.size(); ++i) {
    const Value& v = *g->outputs()[i];
    EXPECT_EQ(v.dtype, outs[i].dtype()) << "output " << i;
    EXPECT_EQ(v.shape.size(), outs[i].shape().size()) << "output " << i;
    for (size_t d = 0; d < v.shape.size() && d < outs[i].shape().size(); ++d)
      if (v.shape[d] >= 0)
        EXPECT_EQ(v.shape[d], outs[i].shape()[d]) << "output " << i << " dim " << d;
  }
  return outs;
}

// Inferred types only (for shape-inference tests with unknown dims).
inline std::vector<TypeInfo> infer_op(const OpCase& c) {
  auto g = make_graph(c);
  infer_shapes(*g);
  std::vector<TypeInfo> out;
  for (Value* v : g->outputs()) out.push_back({v->dtype, v->shape});
  return out;
}

// Code of the mpq::Error thrown by f (kOk if none).
template <typename F>
Code error_code(F&& f, std::string* message = nullptr) {
  try {
    f();
  } catch (const Error& e) {
    if (message) *message = e.what();
    return e.status().code;
  }
  return Code::kOk;
}

inline Tensor random_tensor(Shape s, std::mt19937& rng, float lo = -1.f, float hi = 1.f) {
  Tensor t(DType::f32, std::move(s));
  std::uniform_real_distribution<float> u(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

inline std::vector<float> floats(const Tensor& t) {
  return t.to_floats();
}

// Finite-difference check of OpDef::backward for the f32 inputs listed in `wrt`: the loss is
// sum(r * y0) for a fixed random r, differentiated numerically with central differences.
inline void grad_check(const OpCase& c, const std::vector<size_t>& wrt, double eps = 1e-2,
                       double atol = 2e-3, double rtol = 2e-2, unsigned seed = 7) {
  auto g = make_graph(c);
  infer_shapes(*g);
  const Node& n = *g->nodes()[0];
  const OpDef& d = n.def();
  ASSERT_TRUE(d.backward) << d.name << " has no backward rule";
  std::mt19937 rng(seed);
  auto outs = d.forward(n, c.inputs);
  Tensor r = random_tensor(outs[0].shape(), rng);
  auto loss = [&](const std::vector<Tensor>& xs) {
    auto y = d.forward(n, xs)[0].to_floats();
    double s = 0;
    for (size_t i = 0; i < y.size(); ++i) s += static_cast<double>(y[i]) * r.data<float>()[i];
    return s;
  };
  std::vector<Tensor> gys{r};
  for (size_t i = 1; i < outs.size(); ++i) gys.emplace_back();
  auto grads = d.backward(n, c.inputs, outs, gys);
  for (size_t w : wrt) {
    ASSERT_LT(w, grads.size());
    ASSERT_EQ(grads[w].shape(), c.inputs[w].shape()) << d.name << " gradient " << w << " shape";
    auto ga = grads[w].to_floats();
    for (int64_t j = 0; j < c.inputs[w].numel(); ++j) {
      std::vector<Tensor> xp = c.inputs, xm = c.inputs;
      xp[w] = c.inputs[w].clone();
      xm[w] = c.inputs[w].clone();
      xp[w].data<float>()[j] += static_cast<float>(eps);
      xm[w].data<float>()[j] -= static_cast<float>(eps);
      const double num = (loss(xp) - loss(xm)) / (2 * eps);
      EXPECT_NEAR(ga[j], num, atol + rtol * std::abs(num))
          << d.name << " d/d input " << w << " element " << j;
    }
  }
}

}  // namespace mpq::testing
