// Helpers for the engine/kernel tests: small graph building, a min/max calibration table from a
// reference run, and a plan simulator — the reference forward of every step on float tensors,
// with int8 tensors and weights fake-quantized with exactly the plan's scales and bf16 tensors
// rounded to bf16 — which is what an optimized kernel must match up to 1-2 quantization steps.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "backends/reference/executor.h"
#include "core/rng.h"
#include "ir/op_def.h"
#include "plan/plan.h"
#include "quant/calibration_table.h"
#include "core/quant_math.h"
#include "runtime/engine.h"

namespace mpq::testing {

inline Tensor random_tensor(Rng& rng, Shape shape, float lo = -1.f, float hi = 1.f) {
  Tensor t(DType::f32, std::move(shape));
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<float>(rng.uniform(lo, hi));
  return t;
}

// Adds a node, fills attribute defaults, infers its output types.
inline Node* add(Graph& g, const char* op, std::vector<Value*> in, Attributes a = {},
                 const std::string& name = "") {
  const OpDef* d = find_op_def(op);
  EXPECT_NE(d, nullptr) << op;
  Node* n = g.add_node(d->kind, name, std::move(in), 1, std::move(a));
  apply_attr_schema(*n);
  infer_node(*n);
  return n;
}

inline Attributes attrs_ints(
    std::initializer_list<std::pair<const char*, std::vector<int64_t>>> l) {
  Attributes a;
  for (auto& [k, v] : l) a.set(k, v);
  return a;
}

// Per-tensor min/max of every float value over a reference run.
inline quant::CalibrationTable minmax_table(const Graph& g, const std::vector<Tensor>& inputs) {
  quant::CalibrationTable t;
  ReferenceExecutor ex(g);
  ex.run(inputs, [&](const Value& v, const Tensor& x) {
    if (x.dtype() != DType::f32) return;
    auto f = x.to_floats();
    float lo = std::numeric_limits<float>::infinity(), hi = -lo;
    for (float e : f) lo = std::min(lo, e), hi = std::max(hi, e);
    auto it = t.tensors.find(v.name);
    if (it == t.tensors.end()) {
      t.tensors[v.name] = quant::TensorRange{lo, hi, "minmax", {}};
    } else {
      it->second.min = std::min(it->second.min, lo);
      it->second.max = std::max(it->second.max, hi);
    }
  });
  return t;
}

inline Tensor fake_quant(const Tensor& x, const QuantParams& q) {
  const quant::QRange r{q.is_signed ? -128 : 0, q.is_signed ? 127 : 255};
  Tensor y(DType::f32, x.shape());
  const float* px = x.data<float>();
  float* py = y.data<float>();
  for (int64_t i = 0; i < x.numel(); ++i)
    py[i] = quant::fake_quantize_value(px[i], q.scale[0], q.zero_point[0], r);
  return y;
}

inline Tensor round_bf16(const Tensor& x) {
  Tensor y(DType::f32, x.shape());
  const float* px = x.data<float>();
  float* py = y.data<float>();
  for (int64_t i = 0; i < x.numel(); ++i) py[i] = bf16_to_float(float_to_bf16(px[i]));
  return y;
}

// Weights of an int8 step as the kernel sees them: symmetric per output channel.
inline Tensor fake_quant_weights(const Node& n, const Tensor& w) {
  int axis = 0;
  const std::string& op = n.def().name;
  if (op == "MatMul") axis = 1;
  if ((op == "Gemm" || op == "FusedGemm") && n.attrs.i("transB", 0) == 0) axis = 1;
  quant::TensorQuant q = quant::tensor_quant_from_data(
      w, 8, quant::QuantDtype::kInt, quant::QuantScheme::kPerChannelSymmetric, axis);
  return quant::fake_quantize(w, q);
}

// Runs the plan's steps with reference forwards on float tensors (see the file comment).
inline std::vector<Tensor> simulate_plan(const plan::Plan& p, const std::vector<Tensor>& inputs) {
  std::map<int, Tensor> env;
  for (size_t i = 0; i < inputs.size(); ++i) env[p.inputs[i]] = inputs[i];
  for (const plan::Step& st : p.steps) {
    const Node& n = *st.node;
    std::vector<Tensor> in;
    for (size_t i = 0; i < st.inputs.size(); ++i) {
      int t = st.inputs[i];
      if (t < 0) {
        in.emplace_back();
        continue;
      }
      const TensorSpec& s = p.tensors[t];
      if (!s.is_constant()) {
        in.push_back(env.at(t));
        continue;
      }
      Tensor c = *s.constant;
      if (st.backend != "reference" && i == 1 && c.rank() >= 2) {
        if (st.precision == Precision::kInt8) c = fake_quant_weights(n, c);
        if (st.precision == Precision::kBf16) c = round_bf16(c);
      }
      in.push_back(c);
    }
    std::vector<Tensor> out = n.def().forward(n, in);
    for (size_t k = 0; k < st.outputs.size(); ++k) {
      const TensorSpec& s = p.tensors[st.outputs[k]];
      Tensor o = out[k];
      if ((s.dtype == DType::u8 || s.dtype == DType::i8) && s.quant) o = fake_quant(o, *s.quant);
      if (s.dtype == DType::bf16) o = round_bf16(o);
      env[st.outputs[k]] = o;
    }
  }
  std::vector<Tensor> outs;
  for (int t : p.outputs) outs.push_back(env.at(t));
  return outs;
}

// The largest int8 scale in the plan: the size of "one quantization step" for tolerances.
inline float max_int8_scale(const plan::Plan& p) {
  float s = 0.f;
  for (const TensorSpec& t : p.tensors)
    if (t.quant && (t.dtype == DType::u8 || t.dtype == DType::i8))
      s = std::max(s, t.quant->scale[0]);
  return s;
}

inline float max_abs(const Tensor& t) {
  float m = 0.f;
  for (float v : t.to_floats()) m = std::max(m, std::fabs(v));
  return m;
}

// Max |a - b| over all elements.
inline float max_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  auto x = a.to_floats(), y = b.to_floats();
  float m = 0.f;
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) m = std::max(m, std::fabs(x[i] - y[i]));
  return m;
}

// Fraction of elements differing by more than `tol`.
inline double frac_above(const Tensor& a, const Tensor& b, float tol) {
  auto x = a.to_floats(), y = b.to_floats();
  size_t bad = 0;
  for (size_t i = 0; i < x.size(); ++i) bad += std::fabs(x[i] - y[i]) > tol;
  return x.empty() ? 0.0 : static_cast<double>(bad) / static_cast<double>(x.size());
}

inline std::shared_ptr<const runtime::Engine> build_engine(const Graph& g,
                                                           const quant::CalibrationTable* table,
                                                           Precision p, int64_t max_batch,
                                                           bool strict = false) {
  plan::BuildOptions o;
  o.default_precision = p;
  o.max_batch = max_batch;
  o.strict = strict;
  o.threads = 2;
  return runtime::Engine::build(g, table, o);
}

}  // namespace mpq::testing
