// QDQ import (frontend/onnx/qdq_import.h) on hand-built graphs: per-tensor and per-channel
// weights, int8 and uint8 activations become fixed quantizations and an engine that computes what
// the Q/DQ graph computes; bad values and unhonourable patterns are refused naming the node; an
// export (qdq_export.h, mpq::export_qdq) imports back to the same scales.
#include "mpq/qdq.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "api/build_engine.h"
#include "engine_test_util.h"
#include "frontend/onnx/importer.h"
#include "frontend/onnx/qdq_export.h"
#include "frontend/onnx/qdq_import.h"
#include "quant/calibration_table.h"

namespace mpq {
namespace {

using testing::add;
using testing::random_tensor;

struct QdqSpec {
  bool signed_act = false;  // int8 activations (else uint8)
  int32_t x_zp = 120;
  float x_scale = 0.02f;
  bool per_channel = true;  // conv weights per output channel (else per tensor)
  int act_axis = -1;        // >= 0: the input quantized per channel along it (unhonourable)
};

Value* scalar_zp(Graph& g, const std::string& name, bool is_signed, int32_t zp) {
  Tensor z(is_signed ? DType::i8 : DType::u8, {});
  if (is_signed)
    z.data<int8_t>()[0] = static_cast<int8_t>(zp);
  else
    z.data<uint8_t>()[0] = static_cast<uint8_t>(zp);
  return g.add_constant(name, z);
}

// x -> Q -> DQ -> Conv(DQ(int8 w)) -> Relu -> Q -> DQ -> y.
std::unique_ptr<Graph> conv_qdq(const QdqSpec& s, std::vector<float>* w_scales) {
  auto g = std::make_unique<Graph>();
  Rng rng(3);
  Value* x = g->add_input("x", DType::f32, {2, 3, 6, 6});
  Value* xs =
      s.act_axis >= 0
          ? g->add_constant("xs", Tensor::from<float>({3}, {s.x_scale, s.x_scale, s.x_scale}))
          : g->add_constant("xs", Tensor::scalar(s.x_scale));
  Value* xz = nullptr;
  if (s.act_axis >= 0) {
    Tensor z(DType::u8, {3});
    for (int c = 0; c < 3; ++c) z.data<uint8_t>()[c] = static_cast<uint8_t>(s.x_zp);
    xz = g->add_constant("xz", z);
  } else {
    xz = scalar_zp(*g, "xz", s.signed_act, s.x_zp);
  }
  Attributes qa;
  if (s.act_axis >= 0) qa.set("axis", int64_t{s.act_axis});
  Node* q = add(*g, "QuantizeLinear", {x, xs, xz}, qa, "x_Q");
  Node* dq = add(*g, "DequantizeLinear", {q->outputs[0], xs, xz}, qa, "x_DQ");
  Tensor wq(DType::i8, {4, 3, 3, 3});
  for (int64_t i = 0; i < wq.numel(); ++i)
    wq.data<int8_t>()[i] = static_cast<int8_t>(static_cast<int>(rng.uniform(-128.f, 127.99f)));
  *w_scales =
      s.per_channel ? std::vector<float>{0.01f, 0.02f, 0.005f, 0.03f} : std::vector<float>{0.015f};
  const Shape ws = s.per_channel ? Shape{4} : Shape{};
  Tensor wz(DType::i8, ws);
  for (int64_t i = 0; i < wz.numel(); ++i) wz.data<int8_t>()[i] = 0;
  Attributes wa;
  if (s.per_channel) wa.set("axis", int64_t{0});
  Node* wdq =
      add(*g, "DequantizeLinear",
          {g->add_constant("w_q", wq), g->add_constant("w_s", Tensor::from<float>(ws, *w_scales)),
           g->add_constant("w_z", wz)},
          wa, "w_DQ");
  Node* c = add(*g, "Conv",
                {dq->outputs[0], wdq->outputs[0], g->add_constant("b", random_tensor(rng, {4}))},
                {}, "conv");
  Node* r = add(*g, "Relu", {c->outputs[0]}, {}, "relu");
  Value* ys = g->add_constant("ys", Tensor::scalar(0.05f));
  Value* yz = scalar_zp(*g, "yz", s.signed_act, s.signed_act ? -100 : 3);
  Node* yq = add(*g, "QuantizeLinear", {r->outputs[0], ys, yz}, {}, "y_Q");
  Node* ydq = add(*g, "DequantizeLinear", {yq->outputs[0], ys, yz}, {}, "y_DQ");
  g->add_output(ydq->outputs[0]);
  return g;
}

int count_qdq(const Graph& g) {
  int n = 0;
  for (const auto& node : g.nodes())
    n += node->op == OpKind::QuantizeLinear || node->op == OpKind::DequantizeLinear;
  return n;
}

// The engine built from the import computes what the Q/DQ graph computes (reference executor).
void expect_engine_matches(const Graph& qdq_graph, const QdqImport& imp) {
  Rng rng(9);
  const Tensor x = random_tensor(rng, {2, 3, 6, 6}, -2.f, 2.f);
  const Tensor want = ReferenceExecutor(qdq_graph).run({x})[0];
  auto e = testing::build_engine(*imp.graph, &imp.table, Precision::kFp32, 2, /*strict=*/true);
  const Tensor got = runtime::ExecutionContext(e).run({x})[0];
  EXPECT_LE(testing::max_diff(want, got), 1e-5f);
  EXPECT_GT(testing::max_abs(want), 0.1f);
}

TEST(QdqImport, PerChannelWeightsUint8Activations) {
  std::vector<float> ws;
  auto g = conv_qdq({}, &ws);
  QdqImport imp = strip_qdq(*g);
  EXPECT_EQ(count_qdq(*imp.graph), 0);
  const quant::TensorRange& x = imp.table.tensors.at("x");
  ASSERT_TRUE(x.fixed);
  EXPECT_EQ(x.fixed->scale, 0.02f);
  EXPECT_EQ(x.fixed->zero_point, 120);
  EXPECT_EQ(x.fixed->dtype, quant::QuantDtype::kUint);
  EXPECT_FLOAT_EQ(x.min, 0.02f * -120);
  EXPECT_FLOAT_EQ(x.max, 0.02f * 135);
  const quant::WeightRange& w = imp.table.weights.at(imp.graph->find_node("conv")->inputs[1]->name);
  EXPECT_EQ(w.scale, ws);
  EXPECT_EQ(w.axis, 0);
  const quant::LayerPrecision& l = imp.table.layers.at("conv");
  EXPECT_EQ(l.source, "qdq");
  EXPECT_EQ(l.weight_bits, 8);
  // The output pair stays the graph output's name.
  EXPECT_EQ(imp.graph->outputs()[0]->name, g->outputs()[0]->name);
  EXPECT_EQ(imp.table.tensors.at(g->outputs()[0]->name).fixed->zero_point, 3);
  expect_engine_matches(*g, imp);
}

TEST(QdqImport, PerTensorWeightsInt8Activations) {
  std::vector<float> ws;
  QdqSpec s;
  s.signed_act = true, s.x_zp = -3, s.per_channel = false;
  auto g = conv_qdq(s, &ws);
  QdqImport imp = strip_qdq(*g);
  const quant::FixedQuant& f = *imp.table.tensors.at("x").fixed;
  EXPECT_EQ(f.dtype, quant::QuantDtype::kInt);
  EXPECT_EQ(f.zero_point, -3);
  EXPECT_EQ(imp.table.weights.at(imp.graph->find_node("conv")->inputs[1]->name).scale, ws);
  expect_engine_matches(*g, imp);
  // The manifest says where the precision came from.
  auto e = testing::build_engine(*imp.graph, &imp.table, Precision::kFp32, 2);
  bool found = false;
  for (const auto& r : e->manifest().layers)
    if (r.name == "conv") found = r.source == "qdq" && r.executed == Precision::kInt8;
  EXPECT_TRUE(found);
}

void expect_error(const Graph& g, Code code, const std::string& node, const std::string& text,
                  bool lenient = false) {
  try {
    strip_qdq(g, {lenient, "m.onnx"});
    ADD_FAILURE() << "no error for " << text;
  } catch (const Error& e) {
    EXPECT_EQ(e.status().code, code) << e.status().to_string();
    EXPECT_EQ(e.status().node, node) << e.status().to_string();
    EXPECT_EQ(e.status().file, "m.onnx");
    EXPECT_NE(e.status().message.find(text), std::string::npos) << e.status().to_string();
  }
}

TEST(QdqImport, ZeroAndNegativeScalesAreBadInput) {
  for (float s : {0.f, -0.02f}) {
    std::vector<float> ws;
    QdqSpec spec;
    spec.x_scale = s;
    auto g = conv_qdq(spec, &ws);
    expect_error(*g, Code::kInvalidInput, "x_Q", "is not a positive finite number");
    expect_error(*g, Code::kInvalidInput, "x_Q", "is not a positive finite number", true);
  }
}

TEST(QdqImport, ZeroPointOutsideTheTypeIsBadInput) {
  // An int32 zero point of 300 for a uint8 quantization (a file the onnx checker did not see).
  Graph g;
  Value* x = g.add_input("x", DType::f32, {1, 4});
  Node* q = g.add_node(OpKind::QuantizeLinear, "x_Q",
                       {x, g.add_constant("s", Tensor::scalar(0.1f)),
                        g.add_constant("z", Tensor::from<int32_t>({}, {300}))},
                       1);
  q->outputs[0]->dtype = DType::u8, q->outputs[0]->shape = {1, 4}, q->outputs[0]->has_type = true;
  g.add_output(q->outputs[0]);
  expect_error(g, Code::kInvalidInput, "x_Q", "zero point 300 is outside u8's range [0, 255]");
}

TEST(QdqImport, UnhonourablePatternNamesTheNodeOrFallsBackUnderLenient) {
  std::vector<float> ws;
  QdqSpec s;
  s.act_axis = 1;
  auto g = conv_qdq(s, &ws);
  expect_error(*g, Code::kUnsupported, "x_Q", "per channel");
  QdqImport imp = strip_qdq(*g, {true, "m.onnx"});
  ASSERT_FALSE(imp.notes.empty());
  EXPECT_NE(imp.notes[0].find("x_Q"), std::string::npos);
  EXPECT_EQ(imp.table.layers.count("conv"), 0u);  // runs in float
  EXPECT_EQ(imp.table.tensors.count("x"), 0u);
  // The refused pair stays and runs as written; the conv runs in float, so the output's
  // quantization is not applied (at most half its step of 0.05 off), which the manifest says.
  EXPECT_EQ(count_qdq(*imp.graph), 2);
  Rng rng(2);
  const Tensor x = random_tensor(rng, {2, 3, 6, 6});
  auto e = testing::build_engine(*imp.graph, &imp.table, Precision::kFp32, 2);
  EXPECT_LE(testing::max_diff(ReferenceExecutor(*g).run({x})[0],
                              runtime::ExecutionContext(e).run({x})[0]),
            0.025f + 1e-4f);
  bool noted = false;
  for (const std::string& n : e->manifest().notes)
    noted |= n.find("quantization of '" + g->outputs()[0]->name + "'") != std::string::npos &&
             n.find("not applied") != std::string::npos;
  EXPECT_TRUE(noted);
}

// insert_qdq then strip_qdq: the same scales, zero points and int8 weights.
TEST(QdqRoundTrip, ExportThenImportGivesTheSameScales) {
  Graph g;
  Rng rng(4);
  Value* x = g.add_input("x", DType::f32, {2, 8});
  Attributes ga;
  ga.set("transB", int64_t{1});
  Node* fc = add(g, "Gemm",
                 {x, g.add_constant("w", random_tensor(rng, {3, 8})),
                  g.add_constant("b", random_tensor(rng, {3}))},
                 ga, "fc");
  g.add_output(fc->outputs[0]);
  NodeQdq nq;
  QuantParams a;
  a.scale = {0.03f}, a.zero_point = {17}, a.is_signed = false;
  nq.inputs[0] = a;
  QuantParams w;
  w.scale = {0.004f, 0.006f, 0.008f}, w.zero_point = {0, 0, 0}, w.axis = 0;
  nq.weight = w;
  auto exported = insert_qdq(g, {{"fc", nq}});
  EXPECT_EQ(count_qdq(*exported), 3);
  QdqImport imp = strip_qdq(*exported);
  const quant::FixedQuant& f = *imp.table.tensors.at("x").fixed;
  EXPECT_EQ(f.scale, 0.03f);
  EXPECT_EQ(f.zero_point, 17);
  EXPECT_EQ(f.dtype, quant::QuantDtype::kUint);
  const Value* wv = imp.graph->find_node("fc")->inputs[1];
  EXPECT_EQ(imp.table.weights.at(wv->name).scale, w.scale);
  // Each imported weight is its int8 value times its channel's scale.
  const float* orig = g.find_value("w")->constant->data<float>();
  const float* back = wv->constant->data<float>();
  for (int64_t i = 0; i < 24; ++i) {
    const float s = w.scale[i / 8];  // mpq's scales saturate to [-127, 127]
    EXPECT_EQ(back[i], s * std::clamp(std::nearbyint(orig[i] / s), -127.f, 127.f)) << i;
  }
}

// mpq::export_qdq on the public API: the file imports back with the scales the engine used.
TEST(QdqRoundTrip, PublicExportImportsBackToTheEngineScales) {
  Model m = Model::zoo("mnist_naive", 4);
  Rng rng(6);
  const Tensor x = random_tensor(rng, {4, 1, 28, 28});
  quant::CalibrationTable t = testing::minmax_table(m.graph(), {x});
  for (const auto& n : m.graph().nodes())
    if (n->def().weighted) t.layers[quant::layer_key(m.graph(), *n)].weight_bits = 8;
  const std::string path = ::testing::TempDir() + "/mnist_qdq.onnx";
  QdqExportResult r = export_qdq(m, t, path);
  EXPECT_EQ(r.int8_layers, 4);
  EXPECT_EQ(r.float_layers, 0);
  std::unique_ptr<Graph> back = import_onnx(path);
  QdqImport imp = strip_qdq(*back);
  EXPECT_EQ(imp.table.layers.size(), 4u);
  plan::BuildOptions o;
  o.max_batch = 4;
  auto e = runtime::Engine::build(m.graph(), &t, o);
  int checked = 0;
  for (const plan::Step& st : e->plan().steps) {
    if (st.precision != Precision::kInt8 || !st.node->def().weighted) continue;
    const TensorSpec& in = e->plan().tensors[st.inputs[0]];
    const Node* n = imp.graph->find_node(st.node->name);
    ASSERT_NE(n, nullptr) << st.node->name;
    const quant::FixedQuant& f = *imp.table.tensors.at(n->inputs[0]->name).fixed;
    EXPECT_EQ(f.scale, in.quant->scale[0]) << st.node->name;
    EXPECT_EQ(f.zero_point, in.quant->zero_point[0]) << st.node->name;
    ++checked;
  }
  EXPECT_EQ(checked, 4);
  // And mpq::ModelSpeedup builds the file as a QDQ model: same outputs, source "qdq".
  ModelSpeedup speed(path, {4, 1, 28, 28}, std::nullopt, {.batch_size = 4});
  speed.compress();
  int qdq_rows = 0;
  for (const auto& row : speed.manifest().layers)
    qdq_rows += row.source == "qdq" && row.executed == Precision::kInt8;
  EXPECT_EQ(qdq_rows, 4);
  EXPECT_LE(testing::max_diff(runtime::ExecutionContext(e).run({x})[0], speed.inference(x).output),
            1e-5f);
}

}  // namespace
}  // namespace mpq
