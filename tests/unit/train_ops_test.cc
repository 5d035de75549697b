// Backward rules of the mpq-internal training ops against central differences.
#include <gtest/gtest.h>

#include "gradcheck.h"
#include "ir/op_def.h"

namespace mpq {
namespace {

using testing::check_op_gradients;
using testing::random_tensor;

TEST(TrainOps, BatchNormFoldForwardAndGradients) {
  for (bool with_bias : {true, false}) {
    Graph g;
    Value* w = g.add_input("w", DType::f32, {3, 2, 2, 2});
    Value* b = with_bias ? g.add_input("b", DType::f32, {3}) : nullptr;
    Value* gamma = g.add_input("gamma", DType::f32, {3});
    Value* beta = g.add_input("beta", DType::f32, {3});
    Value* mean = g.add_input("mean", DType::f32, {3});
    Value* var = g.add_input("var", DType::f32, {3});
    Attributes a;
    a.set("epsilon", 1e-3f);
    Node* n = g.add_node(OpKind::BatchNormFold, "fold", {w, b, gamma, beta, mean, var}, 2, a);
    infer_shapes(g);
    EXPECT_EQ(n->outputs[1]->shape, (Shape{3}));
    Tensor vw = random_tensor({3, 2, 2, 2}, 1), vb = random_tensor({3}, 2);
    Tensor vg = Tensor::from<float>({3}, {1.5f, -0.5f, 0.8f}), vbeta = random_tensor({3}, 3);
    Tensor vm = random_tensor({3}, 4), vv = Tensor::from<float>({3}, {0.5f, 2.f, 1.f});
    std::vector<Tensor> xs = {vw, with_bias ? vb : Tensor(), vg, vbeta, vm, vv};
    std::vector<Tensor> y = n->def().forward(*n, xs);
    // Hand-computed channel 1: k = -0.5 / sqrt(2.001)
    const double k1 = -0.5 / std::sqrt(2.001);
    EXPECT_NEAR(y[0].data<float>()[8], vw.data<float>()[8] * k1, 1e-6);
    const double b1 = with_bias ? vb.data<float>()[1] : 0.0;
    EXPECT_NEAR(y[1].data<float>()[1], vbeta.data<float>()[1] + (b1 - vm.data<float>()[1]) * k1,
                1e-6);
    std::vector<size_t> check = {0, 2, 3};
    if (with_bias) check.push_back(1);
    check_op_gradients(*n, xs, check);
  }
}

}  // namespace
}  // namespace mpq
