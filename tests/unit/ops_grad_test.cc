// Finite-difference checks of the backward rules of the activation, element-wise, shape,
// softmax and reduction ops (central differences on loss = sum(r * y) for a random r).
#include "op_harness.h"

namespace mpq {
namespace {

using testing::grad_check;
using testing::OpCase;
using testing::random_tensor;

Attributes attrs(std::initializer_list<std::pair<const char*, AttrValue>> kv) {
  Attributes a;
  for (const auto& [k, v] : kv) a.set(k, v);
  return a;
}

Tensor i64(std::vector<int64_t> v) {
  return Tensor::from<int64_t>({static_cast<int64_t>(v.size())}, v);
}

// Random values kept at least `gap` away from each kink, so that finite differences do not cross
// it.
Tensor away_from(Tensor t, std::vector<float> kinks, float gap = 0.05f) {
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i)
    for (float k : kinks)
      if (std::abs(p[i] - k) < gap) p[i] = k + (p[i] < k ? -gap : gap);
  return t;
}

class OpsGrad : public ::testing::Test {
 protected:
  std::mt19937 rng{11};
};

TEST_F(OpsGrad, Activations) {
  Tensor x = away_from(random_tensor({3, 4}, rng, -2.f, 2.f), {0.f});
  grad_check({OpKind::Relu, {x}}, {0});
  grad_check({OpKind::LeakyRelu, {x}, attrs({{"alpha", 0.1f}})}, {0});
  grad_check({OpKind::Sigmoid, {x}}, {0});
  grad_check({OpKind::Tanh, {x}}, {0});
  grad_check({OpKind::Neg, {x}}, {0});
  grad_check({OpKind::Exp, {x}}, {0});
  grad_check({OpKind::Sqrt, {random_tensor({5}, rng, 0.5f, 3.f)}}, {0});
  // ReLU6 as Clip(0, 6): inputs spread over both bounds.
  Tensor c = away_from(random_tensor({4, 5}, rng, -2.f, 8.f), {0.f, 6.f});
  grad_check(
      {OpKind::Clip, {c, Tensor::scalar(0.f), Tensor::scalar(6.f)}, {}, 1, {false, true, true}},
      {0});
  grad_check({OpKind::Clip, {c, Tensor(), Tensor::scalar(6.f)}, {}, 1, {false, false, true}}, {0});
}

TEST_F(OpsGrad, BinaryWithBroadcasting) {
  Tensor a = random_tensor({2, 3, 4}, rng);
  Tensor b = random_tensor({3, 1}, rng);
  Tensor s = random_tensor({}, rng);
  for (OpKind k : {OpKind::Add, OpKind::Sub, OpKind::Mul}) {
    grad_check({k, {a, b}}, {0, 1});
    grad_check({k, {b, a}}, {0, 1});
    grad_check({k, {a, s}}, {0, 1});
  }
  Tensor den = away_from(random_tensor({3, 1}, rng, -2.f, 2.f), {0.f}, 0.5f);
  grad_check({OpKind::Div, {a, den}}, {0, 1});
  grad_check({OpKind::Div, {den, away_from(random_tensor({4}, rng, -2.f, 2.f), {0.f}, 0.5f)}},
             {0, 1});
}

TEST_F(OpsGrad, ShapeOps) {
  Tensor x = random_tensor({2, 3, 1, 2}, rng);
  grad_check({OpKind::Flatten, {x}, attrs({{"axis", int64_t{2}}})}, {0});
  grad_check({OpKind::Reshape, {x, i64({3, -1})}, {}, 1, {false, true}}, {0});
  grad_check({OpKind::Squeeze, {x, i64({2})}, {}, 1, {false, true}}, {0});
  grad_check({OpKind::Unsqueeze, {x, i64({0})}, {}, 1, {false, true}}, {0});
  grad_check({OpKind::Identity, {x}}, {0});
  grad_check({OpKind::Dropout, {x}, {}, 2}, {0});
  grad_check({OpKind::Transpose, {x}, attrs({{"perm", std::vector<int64_t>{2, 0, 3, 1}}})}, {0});
  Tensor y = random_tensor({2, 2, 1, 2}, rng);
  grad_check({OpKind::Concat, {x, y, x}, attrs({{"axis", int64_t{1}}})}, {0, 1, 2});
  grad_check({OpKind::Concat, {x, x}, attrs({{"axis", int64_t{-1}}})}, {0, 1});
}

TEST_F(OpsGrad, SoftmaxAndReduceMean) {
  Tensor x = random_tensor({2, 3, 4}, rng, -2.f, 2.f);
  for (int64_t axis : {-1, 1, 0}) {
    grad_check({OpKind::Softmax, {x}, attrs({{"axis", axis}})}, {0}, 1e-2, 1e-3);
    grad_check({OpKind::LogSoftmax, {x}, attrs({{"axis", axis}})}, {0}, 1e-2, 1e-3);
  }
  grad_check({OpKind::ReduceMean, {x}, attrs({{"axes", std::vector<int64_t>{0, 2}}})}, {0});
  grad_check({OpKind::ReduceMean,
              {x},
              attrs({{"axes", std::vector<int64_t>{-1}}, {"keepdims", int64_t{0}}})},
             {0});
  grad_check({OpKind::ReduceMean, {x}, attrs({{"keepdims", int64_t{0}}})}, {0});
}

}  // namespace
}  // namespace mpq
