// The trainer loop: learning a separable toy problem, seeded reproducibility, and bad input
// (labels out of range, data that does not fit the model, a diverging loss) stopping with a
// message that names the step.
#include <gtest/gtest.h>

#include <cmath>

#include "train/trainer.h"
#include "train_nets.h"

namespace mpq::train {
namespace {

using mpq::testing::random_tensor;
using mpq::testing::small_net;

// Class k images: the small net's input with a bright k-th quadrant.
class ToyDataset : public data::Dataset {
 public:
  ToyDataset(int64_t n, int64_t bad_label_at = -1, int64_t nan_at = -1)
      : n_(n), bad_(bad_label_at), nan_(nan_at) {}
  int64_t size() const override { return n_; }
  Shape sample_shape() const override { return {2, 6, 6}; }
  bool has_labels() const override { return true; }
  Tensor images(const std::vector<int64_t>& idx) const override {
    const int64_t B = static_cast<int64_t>(idx.size());
    Tensor t =
        random_tensor({B, 2, 6, 6}, static_cast<uint32_t>(idx.empty() ? 0 : idx[0] + 1), 0.3f);
    float* p = t.data<float>();
    for (int64_t b = 0; b < B; ++b) {
      const int64_t k = idx[b] % 4;
      for (int c = 0; c < 2; ++c)
        for (int y = 0; y < 3; ++y)
          for (int x = 0; x < 3; ++x)
            p[((b * 2 + c) * 6 + y + 3 * (k / 2)) * 6 + x + 3 * (k % 2)] += 1.5f;
      if (idx[b] == nan_) p[b * 72 + 40] = NAN;
    }
    return t;
  }
  Tensor labels(const std::vector<int64_t>& idx) const override {
    std::vector<int64_t> l;
    for (int64_t i : idx) l.push_back(i == bad_ ? 7 : i % 4);
    return Tensor::from<int64_t>({static_cast<int64_t>(idx.size())}, l);
  }
  std::string describe() const override { return "toy"; }

 private:
  int64_t n_, bad_, nan_;
};

TrainOptions quiet(OptimizerConfig o, int64_t batch = 16) {
  TrainOptions t;
  t.optimizer = o;
  t.batch_size = batch;
  t.quiet = true;
  return t;
}

TEST(TrainTrainer, LearnsAToyProblemWithSgdAndAdam) {
  for (OptimizerConfig o :
       {OptimizerConfig{SGD{.lr = 0.05, .momentum = 0.9}}, OptimizerConfig{Adam{.lr = 0.01}}}) {
    auto g = small_net();
    Trainer t(*g, quiet(o));
    ToyDataset train(400), test(200);
    const double before = t.evaluate(test).accuracy;
    std::vector<EpochResult> r = t.fit(train, 3);
    EXPECT_EQ(r.size(), 3u);
    EXPECT_EQ(r[0].samples, 400);
    EXPECT_EQ(r[0].steps, 25);  // 400 / 16
    EXPECT_LT(r[2].loss, r[0].loss);
    const double after = t.evaluate(test).accuracy;
    EXPECT_GT(after, 0.95) << "before " << before;
    EXPECT_EQ(t.steps(), 75);
    // The graph keeps its dynamic batch (it exports as it was imported).
    EXPECT_EQ(g->inputs()[0]->shape, (Shape{-1, 2, 6, 6}));
    EXPECT_EQ(g->outputs()[0]->shape, (Shape{-1, 4}));
  }
}

TEST(TrainTrainer, SameSeedSameWeights) {
  std::vector<float> w[2];
  for (int run = 0; run < 2; ++run) {
    auto g = small_net();
    TrainOptions o = quiet(SGD{.lr = 0.05, .momentum = 0.5}, 7);  // partial last batch too
    o.seed = 42;
    Trainer t(*g, o);
    ToyDataset ds(50);
    t.fit(ds, 2);
    w[run] = g->find_value("fc.w")->constant->to_floats();
  }
  EXPECT_EQ(w[0], w[1]);
}

TEST(TrainTrainer, LabelOutOfRangeNamesTheStep) {
  auto g = small_net();
  Trainer t(*g, quiet(SGD{}, 10));
  ToyDataset ds(40, /*bad_label_at=*/25);
  TrainOptions o;
  try {
    t.train_epoch(ds, 0);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.status().code, Code::kInvalidInput);
    const std::string m = e.status().message;
    EXPECT_NE(m.find("label 7 of sample 25 of toy"), std::string::npos) << m;  // dataset index
    EXPECT_NE(m.find("4 classes"), std::string::npos) << m;
    EXPECT_NE(m.find("at step"), std::string::npos) << m;
  }
}

// A NaN pixel would vanish in max-pooling (the loss stays finite) and train on garbage.
TEST(TrainTrainer, NonFiniteInputNamesTheSample) {
  auto g = small_net();
  Trainer t(*g, quiet(SGD{}, 10));
  ToyDataset ds(40, -1, /*nan_at=*/33);
  try {
    t.train_epoch(ds, 0);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.status().code, Code::kInvalidInput);
    const std::string m = e.status().message;
    EXPECT_NE(m.find("sample 33 of toy holds a non-finite value (nan at element 40)"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("at step"), std::string::npos) << m;
  }
}

TEST(TrainTrainer, DivergingLossStopsNamingTheStep) {
  auto g = small_net();
  Trainer t(*g, quiet(SGD{.lr = 1e12}, 16));
  ToyDataset ds(400);
  try {
    t.fit(ds, 1);
    FAIL() << "expected the loss to become non-finite";
  } catch (const Error& e) {
    EXPECT_EQ(e.status().code, Code::kInvalidInput);
    const std::string m = e.status().message;
    EXPECT_NE(m.find("at step"), std::string::npos) << m;
    EXPECT_NE(m.find("diverged"), std::string::npos) << m;
    EXPECT_NE(m.find("epoch 1, batch"), std::string::npos) << m;
  }
}

TEST(TrainTrainer, DataThatDoesNotFitTheModelIsInvalidInput) {
  auto g = small_net();
  Trainer t(*g, quiet(SGD{}));
  try {
    t.train_step(Tensor(DType::f32, {4, 3, 6, 6}), Tensor::from<int64_t>({4}, {0, 1, 2, 3}));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.status().code, Code::kInvalidInput);
    EXPECT_NE(e.status().message.find("[4,3,6,6]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(
      t.train_step(Tensor(DType::f32, {4, 2, 6, 6}), Tensor::from<int64_t>({3}, {0, 1, 2})), Error);
}

TEST(TrainTrainer, FinalSoftmaxIsSkippedForTheLoss) {
  auto g = small_net();
  Node* sm = g->add_node(find_op_def("Softmax")->kind, "softmax", {g->outputs()[0]}, 1);
  apply_attr_schema(*sm);
  g->set_outputs({sm->outputs[0]});
  infer_shapes(*g);
  EXPECT_EQ(logits_value(*g)->name, "fc_out");
  Trainer t(*g, quiet(SGD{.lr = 0.05, .momentum = 0.9}));
  ToyDataset ds(200);
  std::vector<EpochResult> r = t.fit(ds, 2);
  EXPECT_LT(r[1].loss, r[0].loss);
}

}  // namespace
}  // namespace mpq::train
