// Finite-difference checks of backward rules, shared by the training tests.
//   op level:    L = sum_o <y_o, r_o> for random r; d L / d x_i from OpDef::backward vs central
//                differences of the reference forward.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "ir/op_def.h"

namespace mpq::testing {

inline Tensor random_tensor(const Shape& s, uint32_t seed, float scale = 1.f, float shift = 0.f) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.f, 1.f);
  Tensor t(DType::f32, s);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = shift + scale * d(g);
  return t;
}

// Checks the gradient of every float input listed in `check` of node `n` (already typed).
// Tolerance: |fd - analytic| <= atol + rtol * |analytic|.
inline void check_op_gradients(const Node& n, const std::vector<Tensor>& inputs,
                               const std::vector<size_t>& check, double h = 1e-2,
                               double atol = 2e-3, double rtol = 1e-2) {
  const OpDef& d = n.def();
  ASSERT_TRUE(static_cast<bool>(d.backward)) << d.name << " has no backward";
  std::vector<Tensor> outs = d.forward(n, inputs);
  std::vector<Tensor> r;
  for (size_t o = 0; o < outs.size(); ++o) r.push_back(random_tensor(outs[o].shape(), 100 + o));
  auto loss = [&](const std::vector<Tensor>& xs) {
    std::vector<Tensor> ys = d.forward(n, xs);
    double l = 0;
    for (size_t o = 0; o < ys.size(); ++o)
      for (int64_t i = 0; i < ys[o].numel(); ++i)
        l += static_cast<double>(ys[o].data<float>()[i]) * r[o].data<float>()[i];
    return l;
  };
  std::vector<Tensor> g = d.backward(n, inputs, outs, r);
  for (size_t k : check) {
    ASSERT_LT(k, g.size());
    ASSERT_FALSE(g[k].empty()) << d.name << ": no gradient for input " << k;
    for (int64_t i = 0; i < inputs[k].numel(); ++i) {
      std::vector<Tensor> xp = inputs, xm = inputs;
      xp[k] = inputs[k].clone(), xm[k] = inputs[k].clone();
      xp[k].data<float>()[i] += static_cast<float>(h);
      xm[k].data<float>()[i] -= static_cast<float>(h);
      const double fd = (loss(xp) - loss(xm)) / (2 * h);
      const double an = g[k].data<float>()[i];
      EXPECT_NEAR(fd, an, atol + rtol * std::abs(an))
          << d.name << " input " << k << " element " << i;
    }
  }
}

}  // namespace mpq::testing
