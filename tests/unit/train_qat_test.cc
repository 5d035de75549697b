// QAT as NNI's QAT_Quantizer: observers (EMA decay 0.99, first-step reset, quant_start_step),
// the fake-quant kernel against quant::fake_quantize, the clipped STE, the QAT pass with Conv->BN
// folding, training steps, export_model and load_calibration_config.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "gradcheck.h"
#include "ir/op_def.h"
#include "mpq/qat_quantizer.h"
#include "quant/calibration_table.h"
#include "quant/config_list.h"
#include "train/autodiff.h"
#include "train/loss.h"
#include "train/optimizer.h"
#include "train/qat_observer.h"
#include "train/qat_pass.h"
#include "train_nets.h"

namespace mpq::train {
namespace {

using mpq::testing::random_tensor;
using mpq::testing::small_net;

QatObserver activation_observer(int quant_start_step = 0) {
  QatObserver o;
  o.type = quant::QuantType::kOutput;
  o.setting = {true, 8, quant::QuantDtype::kUint, quant::QuantScheme::kPerTensorAffine, 1};
  o.quant_start_step = quant_start_step;
  return o;
}

TEST(TrainQat, ObserverResetsAtFirstStepThenEma) {
  QatObserver o = activation_observer();
  EXPECT_TRUE(o.observe({-1.f}, {3.f}, 1, true));
  // Every forward before the first optimizer step resets to the batch (NNI: steps == 1).
  EXPECT_TRUE(o.observe({-2.f}, {1.f}, 1, true));
  EXPECT_FLOAT_EQ(o.tracked_min[0], -2.f);
  EXPECT_FLOAT_EQ(o.tracked_max[0], 1.f);
  EXPECT_TRUE(o.observe({0.f}, {5.f}, 2, true));
  EXPECT_FLOAT_EQ(o.tracked_min[0], -2.f * 0.99f + 0.01f * 0.f);
  EXPECT_FLOAT_EQ(o.tracked_max[0], 1.f * 0.99f + 0.01f * 5.f);
  // scale/zero point from the tracked range (uint8 affine): [-1.98, 1.04]
  auto ex = quant::compute_scale_zero_point(o.tracked_min[0], o.tracked_max[0], 8,
                                            quant::QuantDtype::kUint, false);
  EXPECT_FLOAT_EQ(o.params.scale[0], ex.scale);
  EXPECT_EQ(o.params.zero_point[0], ex.zero_point);
  // Eval: nothing changes.
  const float keep = o.tracked_max[0];
  EXPECT_TRUE(o.observe({-100.f}, {100.f}, 3, false));
  EXPECT_FLOAT_EQ(o.tracked_max[0], keep);
}

TEST(TrainQat, QuantStartStepTracksButDoesNotQuantize) {
  QatObserver o = activation_observer(3);
  EXPECT_FALSE(o.observe({0.f}, {2.f}, 1, true));
  EXPECT_FALSE(o.observe({0.f}, {4.f}, 2, true));  // EMA runs before quant_start_step (NNI)
  EXPECT_FLOAT_EQ(o.tracked_max[0], 2.f * 0.99f + 0.04f);
  EXPECT_FALSE(o.has_params);
  EXPECT_FALSE(o.observe({0.f}, {4.f}, 5, false));  // eval before any quantization: float
  EXPECT_TRUE(o.observe({0.f}, {4.f}, 3, true));
  EXPECT_TRUE(o.has_params);
}

TEST(TrainQat, WeightObserverUsesCurrentWeightPerChannel) {
  QatObserver o;
  o.type = quant::QuantType::kWeight;
  o.setting = {true, 8, quant::QuantDtype::kInt, quant::QuantScheme::kPerChannelSymmetric, 0};
  o.axis = 0;
  EXPECT_TRUE(o.observe({-1.f, -0.5f}, {2.f, 0.25f}, 7, false));  // no EMA, any mode
  EXPECT_FLOAT_EQ(o.params.scale[0], 2.f / 127.f);
  EXPECT_FLOAT_EQ(o.params.scale[1], 0.5f / 127.f);
  EXPECT_EQ(o.params.zero_point[0], 0);
}

TEST(TrainQat, BufferMinMaxPerChannelNhwcAndPlain) {
  // [1,2,1,3] plain: channel 0 = {1,-2,3}, channel 1 = {4,5,-6}; NHWC interleaves them.
  std::vector<float> plain = {1, -2, 3, 4, 5, -6}, nhwc = {1, 4, -2, 5, 3, -6}, mn, mx;
  buffer_min_max(plain.data(), 6, 2, 3, &mn, &mx);
  EXPECT_EQ(mn, (std::vector<float>{-2, -6}));
  EXPECT_EQ(mx, (std::vector<float>{3, 5}));
  buffer_min_max(nhwc.data(), 6, 2, 1, &mn, &mx);
  EXPECT_EQ(mn, (std::vector<float>{-2, -6}));
  buffer_min_max(plain.data(), 6, 1, 1, &mn, &mx);
  EXPECT_EQ(mn, (std::vector<float>{-6}));
  EXPECT_EQ(mx, (std::vector<float>{5}));
}

// FakeQuantize's forward is quant::fake_quantize (the engine's function) and its backward the
// clipped straight-through estimator.
TEST(TrainQat, FakeQuantizeOpIsTheEngineFunctionWithClippedSte) {
  Graph g;
  Value* x = g.add_input("x", DType::f32, {2, 3, 4});
  Value* s = g.add_constant("s", Tensor::from<float>({3}, {0.1f, 0.05f, 0.2f}));
  Value* z = g.add_constant("z", Tensor::from<int64_t>({3}, {0, 3, -2}));
  Attributes a;
  a.set("qmin", int64_t{-7});
  a.set("qmax", int64_t{7});
  a.set("axis", int64_t{1});
  Node* n = g.add_node(OpKind::FakeQuantize, "fq", {x, s, z}, 1, a);
  infer_shapes(g);
  Tensor xv = random_tensor({2, 3, 4}, 5, 0.6f);
  xv.data<float>()[0] = 0.25f;  // an exact .5 tie at scale 0.1 -> rounds to even (2)
  std::vector<Tensor> y = n->def().forward(*n, {xv, *s->constant, *z->constant});
  quant::TensorQuant tq;
  tq.scale = {0.1f, 0.05f, 0.2f};
  tq.zero_point = {0, 3, -2};
  tq.axis = 1;
  tq.range = {-7, 7};
  EXPECT_EQ(y[0].to_floats(), quant::fake_quantize(xv, tq).to_floats());
  EXPECT_FLOAT_EQ(y[0].data<float>()[0], 0.2f);
  Tensor gy = random_tensor({2, 3, 4}, 6);
  std::vector<Tensor> gx = n->def().backward(*n, {xv, *s->constant, *z->constant}, y, {gy});
  int clipped = 0;
  for (int64_t i = 0; i < 24; ++i) {
    const int64_t c = (i / 4) % 3;
    const double q = std::nearbyint(xv.data<float>()[i] / tq.scale[c]) + tq.zero_point[c];
    const bool pass = q >= -7 && q <= 7;
    clipped += !pass;
    EXPECT_EQ(gx[0].data<float>()[i], pass ? gy.data<float>()[i] : 0.f) << i;
  }
  EXPECT_GT(clipped, 0);  // the test data reaches the clipping region
}

const char* kConfig = R"([
  {"quant_types": ["input", "weight"], "quant_bits": {"input": 8, "weight": 8}, "op_names": ["conv"]},
  {"quant_types": ["output"], "quant_bits": 8, "op_names": ["relu"]},
  {"quant_types": ["weight"], "quant_bits": 8, "op_names": ["fc"],
   "quant_dtype": "int", "quant_scheme": "per_channel_symmetric"}
])";

TEST(TrainQat, PassInsertsFakeQuantizersAndFoldsBatchNorm) {
  auto g = small_net();
  auto cfg = quant::ConfigList::parse_string(kConfig).resolve(*g);
  QatGraphInfo info = insert_fake_quant(*g, cfg, true);
  // conv: input, weight; relu: output; fc: weight, and its input tracked (not quantized).
  ASSERT_EQ(info.sites.size(), 5u);
  ASSERT_EQ(info.folded.size(), 1u);
  EXPECT_EQ(g->find_node("bn"), nullptr);  // folded away
  Node* conv = g->find_node("conv");
  EXPECT_EQ(conv->inputs[0]->producer->def().name, "FakeQuantize");
  const Node* wq = conv->inputs[1]->producer;
  EXPECT_EQ(wq->def().name, "FakeQuantize");
  EXPECT_EQ(wq->inputs[0]->producer->def().name, "BatchNormFold");
  EXPECT_EQ(conv->inputs[2]->producer->def().name, "BatchNormFold");
  // The relu output's consumers read the fake-quantized value; its float name is the relu's.
  EXPECT_EQ(g->find_node("pool")->inputs[0]->producer->def().name, "FakeQuantize");
  for (const auto& s : info.sites)
    if (s.layer == "relu") EXPECT_EQ(s.tensor, "relu_out");
  for (const auto& s : info.sites)
    if (s.layer == "fc" && !s.observer.track_only)
      EXPECT_EQ(s.fq->inputs[1]->constant->numel(), 4);  // per channel
  int tracked = 0;
  for (const auto& s : info.sites)
    if (s.observer.track_only) {
      ++tracked;
      EXPECT_EQ(s.layer, "fc");
      EXPECT_EQ(s.fq, g->find_node("fc"));  // observed by the layer's own hook
      EXPECT_EQ(s.tensor, g->find_node("flat")->outputs[0]->name);
    }
  EXPECT_EQ(tracked, 1);
  EXPECT_NE(g->find_node("fc")->inputs[0]->producer->def().name, "FakeQuantize");
}

TEST(TrainQat, FoldedGraphWithoutQuantizationMatchesFloatInEval) {
  auto ref = small_net();
  // Non-trivial running statistics.
  *ref->find_value("bn.mean")->constant = Tensor::from<float>({3}, {0.2f, -0.1f, 0.05f});
  *ref->find_value("bn.var")->constant = Tensor::from<float>({3}, {0.5f, 2.f, 1.3f});
  auto qg = ref->clone();
  auto cfg = quant::ConfigList::parse_string(
                 R"([{"quant_types": ["weight"], "quant_bits": 8, "op_names": ["conv"],
                      "quant_start_step": 1000}])")
                 .resolve(*qg);
  QatGraphInfo info = insert_fake_quant(*qg, cfg, true);
  ASSERT_EQ(info.folded.size(), 1u);
  Autodiff a(*ref), b(*qg);
  b.set_bypass(info.sites[0].fq, true);  // before quant_start_step: no quantization
  Tensor x = random_tensor({3, 2, 6, 6}, 7);
  std::vector<float> ya = a.forward(x, false).to_floats(), yb = b.forward(x, false).to_floats();
  for (size_t i = 0; i < ya.size(); ++i) EXPECT_NEAR(ya[i], yb[i], 1e-4) << i;
}

TEST(TrainQat, QuantizerTrainsExportsAndReloads) {
  auto g = small_net();
  QatOptions o;
  o.quiet = true;
  QatQuantizer q(*g, quant::ConfigList::parse_string(kConfig), SGD{.lr = 0.05, .momentum = 0.5}, o);
  q.compress();
  Tensor x = random_tensor({8, 2, 6, 6}, 9);
  Tensor y = Tensor::from<int64_t>({8}, {0, 1, 2, 3, 0, 1, 2, 3});
  double first = q.train_step(x, y).loss, last = first;
  for (int i = 0; i < 30; ++i) last = q.train_step(x, y).loss;
  EXPECT_LT(last, first);
  EXPECT_EQ(q.steps(), 31);
  // The caller's graph is untouched; the quantizer's float graph has trained weights.
  EXPECT_EQ(g->find_value("conv.w")->constant->to_floats(),
            small_net()->find_value("conv.w")->constant->to_floats());
  EXPECT_NE(q.float_graph().find_value("conv.w")->constant->to_floats(),
            g->find_value("conv.w")->constant->to_floats());
  EXPECT_NE(q.float_graph().find_value("bn.var")->constant->to_floats()[0], 1.f);

  const std::string dir = ::testing::TempDir();
  quant::CalibrationTable t = q.export_model(dir + "/qat_test.onnx", dir + "/qat_test.json");
  ASSERT_EQ(t.layers.count("conv"), 1u);
  ASSERT_EQ(t.layers.count("relu"), 1u);
  const quant::LayerPrecision& c = t.layers["conv"];
  EXPECT_EQ(c.weight_bits, 8);
  EXPECT_EQ(c.input_bits, 8);
  EXPECT_EQ(c.weight_scale.size(), 1u);
  ASSERT_TRUE(c.tracked_min_input.has_value());
  EXPECT_LT(*c.tracked_min_input, 0.f);
  EXPECT_EQ(t.layers["fc"].weight_scale.size(), 4u);
  ASSERT_EQ(t.tensors.count("x"), 1u);  // conv input
  ASSERT_EQ(t.tensors.count("relu_out"), 1u);
  EXPECT_EQ(t.tensors["relu_out"].min, 0.f);
  EXPECT_EQ(t.tensors["relu_out"].method, "qat-ema");
  // The weight scale is that of the current folded weight.
  const Tensor& wscale = *q.qat_graph().find_node("conv")->inputs[1]->producer->inputs[1]->constant;
  EXPECT_FLOAT_EQ(wscale.data<float>()[0], c.weight_scale[0]);

  // The written file reads back; a fresh quantizer that loads it predicts like the trained one.
  quant::CalibrationTable back = quant::read_calibration_table(dir + "/qat_test.json");
  EXPECT_EQ(back.layers["relu"].output_bits, 8);
  EXPECT_FLOAT_EQ(*back.layers["relu"].tracked_max_output, *t.layers["relu"].tracked_max_output);
  QatQuantizer q2(q.float_graph(), quant::ConfigList::parse_string(kConfig), SGD{}, o);
  q2.load_calibration_config(back);
  std::vector<float> p1 = q.predict(x).to_floats(), p2 = q2.predict(x).to_floats();
  for (size_t i = 0; i < p1.size(); ++i) EXPECT_NEAR(p1[i], p2[i], 1e-4) << i;
  // Bits that disagree with the config_list are rejected, naming the layer.
  back.layers["relu"].output_bits = 16;
  QatQuantizer q3(q.float_graph(), quant::ConfigList::parse_string(kConfig), SGD{}, o);
  try {
    q3.load_calibration_config(back);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.status().message.find("relu"), std::string::npos) << e.what();
  }
  std::remove((dir + "/qat_test.onnx").c_str());
  std::remove((dir + "/qat_test.json").c_str());
}

// The same through training: conv's input is the graph input, so its tracked range is known
// exactly. Step 1 takes the batch's range (NNI resets while steps == 1), later steps the EMA with
// decay 0.99, evaluation changes nothing.
TEST(TrainQat, InputRangeResetsAtFirstStepThenEmaThroughTraining) {
  auto g = small_net();
  QatOptions o;
  o.quiet = true;
  QatQuantizer q(*g, quant::ConfigList::parse_string(R"([{"quant_types": ["input"],
      "quant_bits": 8, "op_names": ["conv"]}])"),
                 SGD{.lr = 0.05}, o);
  const Tensor y = Tensor::from<int64_t>({4}, {0, 1, 2, 3});
  auto range = [](const Tensor& t) {
    std::vector<float> v = t.to_floats();
    return std::make_pair(*std::min_element(v.begin(), v.end()),
                          *std::max_element(v.begin(), v.end()));
  };
  auto tracked = [&]() {
    quant::CalibrationTable t = q.export_model("", "");
    const quant::LayerPrecision& l = t.layers.at("conv");
    return std::make_pair(*l.tracked_min_input, *l.tracked_max_input);
  };
  Tensor x1 = random_tensor({4, 2, 6, 6}, 71, 1.f), x2 = random_tensor({4, 2, 6, 6}, 72, 3.f),
         x3 = random_tensor({4, 2, 6, 6}, 73, 0.5f);
  q.predict(x2);  // eval before training tracks nothing (and runs unquantized, unlike NNI's NaN)
  EXPECT_FALSE(q.export_model("", "").layers.at("conv").tracked_min_input.has_value());
  q.train_step(x1, y);
  auto [lo, hi] = range(x1);
  EXPECT_FLOAT_EQ(tracked().first, lo);
  EXPECT_FLOAT_EQ(tracked().second, hi);
  for (const Tensor* x : {&x2, &x3}) {
    auto [blo, bhi] = range(*x);
    lo = 0.99f * lo + 0.01f * blo, hi = 0.99f * hi + 0.01f * bhi;
    q.train_step(*x, y);
    EXPECT_NEAR(tracked().first, lo, 1e-6);
    EXPECT_NEAR(tracked().second, hi, 1e-6);
  }
  q.predict(random_tensor({4, 2, 6, 6}, 74, 10.f));
  EXPECT_NEAR(tracked().second, hi, 1e-6);
}

TEST(TrainQat, QuantStartStepPassesFullGradients) {
  // Before quant_start_step the fake-quantizers are identities with full gradients (NNI's scales
  // are still 0 there and its STE zeroes almost every gradient).
  auto g = small_net();
  auto qg = g->clone();
  own_constants(*qg);
  own_constants(*g);
  QatOptions o;
  o.quiet = true;
  QatQuantizer q(*g, quant::ConfigList::parse_string(R"([{"quant_types": ["input", "weight",
      "output"], "quant_bits": 8, "op_names": ["fc"], "quant_start_step": 100}])"),
                 SGD{.lr = 0.1}, o);
  Autodiff ref(*qg, nullptr);
  Tensor x = random_tensor({4, 2, 6, 6}, 3);
  Tensor y = Tensor::from<int64_t>({4}, {0, 1, 2, 3});
  q.train_step(x, y);
  // The same SGD step on the float graph gives the same weights.
  const Tensor& out = ref.forward(x, true);
  softmax_cross_entropy(out, y, &ref.output_grad());
  ref.backward();
  auto opt = make_optimizer(SGD{.lr = 0.1});
  opt->step(ref.params());
  std::vector<float> a = q.float_graph().find_value("fc.w")->constant->to_floats();
  std::vector<float> b = qg->find_value("fc.w")->constant->to_floats();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-6) << i;
}

// NNI's eval mode quantizes the weight with the stored scale and zero point (those of the last
// training forward) and updates nothing; the weight has moved since, so recomputing would differ.
// A calibration config's weight_scale is loaded as that stored scale.
TEST(TrainQat, EvalUsesTheStoredWeightScale) {
  auto g = small_net();
  QatOptions o;
  o.quiet = true;
  QatQuantizer q(*g, quant::ConfigList::parse_string(kConfig), SGD{.lr = 0.5}, o);
  const Tensor x = random_tensor({8, 2, 6, 6}, 9);
  const Tensor y = Tensor::from<int64_t>({8}, {0, 1, 2, 3, 0, 1, 2, 3});
  q.train_step(x, y);
  auto fc_scale = [&](const QatQuantizer& qq) {
    return qq.qat_graph().find_node("fc")->inputs[1]->producer->inputs[1]->constant->to_floats();
  };
  const std::vector<float> stored = fc_scale(q);
  // The scale of the weight as it is now (after the optimizer step): per channel, symmetric.
  const Tensor& w = *q.float_graph().find_value("fc.w")->constant;
  std::vector<float> mins(4, 0.f), maxs(4, 0.f);
  for (int c = 0; c < 4; ++c)
    for (int k = 0; k < 27; ++k) {
      mins[c] = std::min(mins[c], w.data<float>()[c * 27 + k]);
      maxs[c] = std::max(maxs[c], w.data<float>()[c * 27 + k]);
    }
  const quant::TensorQuant now = quant::tensor_quant_from_ranges(
      mins, maxs, 8, quant::QuantDtype::kInt, quant::QuantScheme::kPerChannelSymmetric, 0);
  ASSERT_NE(now.scale, stored);  // lr 0.5 moved the weight
  q.predict(x);
  EXPECT_EQ(fc_scale(q), stored);
  quant::CalibrationTable t = q.export_model("", "");
  EXPECT_EQ(t.layers.at("fc").weight_scale, stored);

  // Loaded: a fresh quantizer evaluates with the config's weight scale.
  for (float& s : t.layers.at("fc").weight_scale) s *= 2.f;
  QatQuantizer q2(q.float_graph(), quant::ConfigList::parse_string(kConfig), SGD{}, o);
  q2.load_calibration_config(t);
  q2.predict(x);
  EXPECT_EQ(fc_scale(q2), t.layers.at("fc").weight_scale);
  t.layers.at("fc").weight_scale.resize(3);
  t.layers.at("fc").weight_zero_point.resize(3);
  QatQuantizer q3(q.float_graph(), quant::ConfigList::parse_string(kConfig), SGD{}, o);
  try {
    q3.load_calibration_config(t);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.status().key, "fc.weight_scale");
    EXPECT_NE(e.status().message.find("4 channel(s)"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mpq::train
