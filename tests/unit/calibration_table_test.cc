// CalibrationTable JSON: mpq's full table round trip, NNI v2.5+ and v2.2-2.4 configs, one test
// per class of bad value, layer-key resolution and model-hash checks.
#include "quant/calibration_table.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "ir/op_def.h"
#include "quant/model_hash.h"

namespace mpq::quant {
namespace {

Status parse_status(const std::string& text) {
  try {
    parse_calibration_table(text, "calib.json");
  } catch (const Error& e) {
    return e.status();
  }
  return Status::Ok();
}

CalibrationTable sample_table() {
  CalibrationTable t;
  t.header.method = "entropy";
  t.header.options_json = R"({"bins": 2048, "seed": 7})";
  t.header.model_hash = "fnv1a64:0000000000000001";
  t.header.data_hash = "fnv1a64:0000000000000002";
  t.header.num_samples = 1000;
  t.tensors["x"] = {
      -0.8102f, 2.0227f, "entropy", {{"observed_max", 2.0227}, {"kl_divergence", 0.0123}}};
  t.tensors["relu1_out"] = {0.f, 0.1f, "entropy", {}};
  t.weights["conv1.weight"] = {0, {-0.5f, -0.25f}, {0.5f, 0.25f}, "minmax"};
  LayerPrecision l;
  l.weight_bits = 8;
  l.weight_scale = {0.5f / 127.f, 0.25f / 127.f};
  l.weight_zero_point = {0, 0};
  l.input_bits = 8;
  l.tracked_min_input = -0.8102f;
  l.tracked_max_input = 2.0227f;
  l.output_bits = 16;
  l.tracked_min_output = 0.f;
  l.tracked_max_output = 1e-7f;
  l.weight_quant = TypeQuantSpec{QuantDtype::kInt, QuantScheme::kPerChannelSymmetric};
  t.layers["conv1"] = l;
  return t;
}

TEST(CalibrationTable, FullTableRoundTripIsByteIdentical) {
  CalibrationTable t = sample_table();
  std::string a = calibration_table_to_json(t);
  CalibrationTable u = parse_calibration_table(a, "calib.json");
  EXPECT_EQ(calibration_table_to_json(u), a);
  EXPECT_EQ(u.origin, "mpq");
  EXPECT_EQ(u.header.method, "entropy");
  EXPECT_EQ(u.header.num_samples, 1000);
  EXPECT_EQ(u.tensors.at("x").min, -0.8102f);  // floats are exact
  EXPECT_EQ(u.tensors.at("x").stats.at("kl_divergence"), 0.0123);
  EXPECT_EQ(u.weights.at("conv1.weight").max[1], 0.25f);
  const LayerPrecision& l = u.layers.at("conv1");
  EXPECT_EQ(l.weight_scale[0], 0.5f / 127.f);
  EXPECT_EQ(*l.tracked_max_output, 1e-7f);
  EXPECT_EQ(l.output_bits, 16);
  ASSERT_TRUE(l.weight_quant.has_value());
  EXPECT_EQ(l.weight_quant->scheme, QuantScheme::kPerChannelSymmetric);
  EXPECT_FALSE(l.input_quant.has_value());
  // Readable numbers: 0.1f is written as 0.1, not 0.10000000149011612.
  EXPECT_NE(a.find("\"max\": 0.1,"), std::string::npos);
  // NNI's keys are there for NNI users.
  for (const char* k :
       {"weight_bits", "input_bits", "output_bits", "tracked_min_input", "tracked_max_input",
        "tracked_min_output", "tracked_max_output", "weight_scale", "weight_zero_point"})
    EXPECT_NE(a.find(str("\"", k, "\"")), std::string::npos) << k;
}

TEST(CalibrationTable, WriteIsAtomicAndReadsBack) {
  const std::string path = testing::TempDir() + "/calib_rt.json";
  write_calibration_table(sample_table(), path);
  CalibrationTable u = read_calibration_table(path);
  EXPECT_EQ(u.layers.size(), 1u);
  std::remove(path.c_str());
  EXPECT_THROW(write_calibration_table(sample_table(), "/nonexistent-dir/x.json"), Error);
  try {
    read_calibration_table("/nonexistent-dir/x.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.status().code, Code::kNotFound);
    EXPECT_EQ(e.status().file, "/nonexistent-dir/x.json");
  }
}

TEST(CalibrationTable, ReadsNniV25Config) {
  // The shape of NNI v2.10's tutorial export (tensors converted to lists).
  auto t = parse_calibration_table(R"({
    "conv1": {"weight_bits": 8, "weight_scale": [0.0029], "weight_zero_point": [97.0],
              "input_bits": 8, "tracked_min_input": -0.4242, "tracked_max_input": 2.8215},
    "relu1": {"output_bits": 8, "tracked_min_output": 0.0, "tracked_max_output": 7.8974},
    "fc2": {"weight_bits": 16, "output_bits": 32}
  })",
                                   "calib.json");
  EXPECT_EQ(t.origin, "nni-v2.5");
  ASSERT_EQ(t.layers.size(), 3u);
  const auto& c = t.layers.at("conv1");
  EXPECT_EQ(c.weight_bits, 8);
  EXPECT_EQ(c.weight_scale, std::vector<float>{0.0029f});
  EXPECT_EQ(c.weight_zero_point, std::vector<int32_t>{97});
  EXPECT_EQ(*c.tracked_min_input, -0.4242f);
  EXPECT_FALSE(c.tracked_min_output);
  EXPECT_EQ(c.source, "nni-config");
  EXPECT_EQ(*t.layers.at("relu1").tracked_max_output, 7.8974f);
  EXPECT_EQ(t.layers.at("fc2").output_bits, 32);
  EXPECT_TRUE(t.header.model_hash.empty());
}

TEST(CalibrationTable, ReadsNniV22Names) {
  auto t = parse_calibration_table(R"({
    "conv1": {"weight_bit": 8, "tracked_min_input": -1, "tracked_max_input": 1},
    "relu1": {"activation_bit": 8, "tracked_min_activation": 0, "tracked_max_activation": 6}
  })",
                                   "old.json");
  EXPECT_EQ(t.origin, "nni-v2.2");
  EXPECT_EQ(t.layers.at("conv1").weight_bits, 8);
  EXPECT_EQ(t.layers.at("relu1").output_bits, 8);
  EXPECT_EQ(*t.layers.at("relu1").tracked_max_output, 6.f);
}

TEST(CalibrationTable, BadBitsAreErrorsNamingFileAndKey) {
  for (const char* b : {"6", "0", "64", "-8", "1"}) {
    Status s = parse_status(str(R"({"conv1": {"weight_bits": )", b, "}}"));
    EXPECT_EQ(s.code, Code::kInvalidInput) << b;
    EXPECT_EQ(s.file, "calib.json");
    EXPECT_EQ(s.key, "conv1.weight_bits");
    EXPECT_NE(s.message.find("4, 8, 16 or 32"), std::string::npos);
  }
  EXPECT_EQ(parse_status(R"({"l": {"weight_bits": 4}})").code, Code::kOk);
  EXPECT_EQ(parse_status(R"({"l": {"activation_bit": 12}})").key, "l.activation_bit");
}

TEST(CalibrationTable, MinGreaterThanMaxIsAnError) {
  Status s = parse_status(
      R"({"conv1": {"input_bits": 8, "tracked_min_input": 3, "tracked_max_input": 1}})");
  EXPECT_EQ(s.code, Code::kInvalidInput);
  EXPECT_EQ(s.key, "conv1.tracked_min_input");
  EXPECT_NE(s.message.find("min 3 > max 1"), std::string::npos);
  Status s2 = parse_status(R"({"format": "mpq-calibration", "format_version": 1,
                               "tensors": {"x": {"min": 1, "max": 0}}})");
  EXPECT_EQ(s2.key, "tensors.x.min");
}

TEST(CalibrationTable, NonFiniteRangesAreErrors) {
  // Python's json.dump writes NaN / Infinity literals.
  Status s = parse_status(
      R"({"conv1": {"input_bits": 8, "tracked_min_input": NaN, "tracked_max_input": 1}})");
  EXPECT_EQ(s.code, Code::kInvalidInput);
  EXPECT_EQ(s.key, "conv1.tracked_min_input");
  EXPECT_NE(s.message.find("NaN/inf"), std::string::npos);
  Status s2 = parse_status(
      R"({"relu": {"output_bits": 8, "tracked_min_output": 0, "tracked_max_output": Infinity}})");
  EXPECT_EQ(s2.key, "relu.tracked_max_output");
  Status s3 = parse_status(
      R"({"relu": {"output_bits": 8, "tracked_min_output": -1e999, "tracked_max_output": 0}})");
  EXPECT_EQ(s3.key, "relu.tracked_min_output");
  Status s4 = parse_status(R"({"c": {"weight_bits": 8, "weight_scale": [0.1, 1e40]}})");
  EXPECT_EQ(s4.key, "c.weight_scale[1]");
}

TEST(CalibrationTable, WrongTypesAreErrors) {
  struct Case {
    const char* json;
    const char* key;
  } cases[] = {
      {R"({"conv1": {"weight_bits": "8"}})", "conv1.weight_bits"},
      {R"({"conv1": {"weight_bits": 8.0}})", "conv1.weight_bits"},
      {R"({"conv1": {"input_bits": 8, "tracked_min_input": "0", "tracked_max_input": 1}})",
       "conv1.tracked_min_input"},
      {R"({"conv1": {"weight_bits": 8, "weight_scale": {"a": 1}}})", "conv1.weight_scale"},
      {R"({"conv1": {"weight_bits": 8, "weight_scale": [0.1], "weight_zero_point": [0.5]}})",
       "conv1.weight_zero_point[0]"},
      {R"({"conv1": {"weight_bits": 8, "weight_scale": [0.1, 0.2], "weight_zero_point": [0]}})",
       "conv1.weight_zero_point"},
      {R"({"conv1": {"weight_bits": 8, "weight_scale": [0]}})", "conv1.weight_scale[0]"},
      {R"({"conv1": 8})", "conv1"},
      {R"({"conv1": {}})", "conv1"},
      {R"({"conv1": {"input_bits": 8, "tracked_min_input": 0}})", "conv1.tracked_min_input"},
      {R"({"conv1": {"weight_bits": 8, "weight_bit": 8}})", "conv1.weight_bits"},
      {R"({"conv1": {"weight_bitz": 8}})", "conv1.weight_bitz"},
      {R"({"format": "onnx"})", "format"},
      {R"({"format": "mpq-calibration", "format_version": 2})", "format_version"},
      {R"({"format": "mpq-calibration", "format_version": 1, "extra": 1})", "extra"},
      {R"({"format": "mpq-calibration", "format_version": 1, "layers": {"c": {"output_bits": 3}}})",
       "layers.c.output_bits"},
      {R"({"format": "mpq-calibration", "format_version": 1,
           "weights": {"w": {"axis": 0, "min": [-1, -2], "max": [1]}}})",
       "weights.w.max"},
  };
  for (const auto& c : cases) {
    Status s = parse_status(c.json);
    EXPECT_EQ(s.code, Code::kInvalidInput) << c.json;
    EXPECT_EQ(s.key, c.key) << c.json << " -> " << s.to_string();
    EXPECT_EQ(s.file, "calib.json");
  }
  EXPECT_NE(
      parse_status(R"({"conv1": {"weight_bitz": 8}})").message.find("did you mean 'weight_bits'"),
      std::string::npos);
  EXPECT_NE(parse_status(R"([{"op_types": ["Conv2d"]}])").message.find("config_list"),
            std::string::npos);
  EXPECT_NE(parse_status(R"({"format": "mpq-calibration", "format_version": 2})")
                .message.find("newer mpq"),
            std::string::npos);
  EXPECT_EQ(parse_status("{\"a\": ").code, Code::kInvalidInput);
}

// x -> Conv-like Add "add" (module features.0) -> relu (module act, called twice) -> relu_2 -> out
struct NamedGraph {
  Graph g;
  Node *add, *relu1, *relu2;
  NamedGraph() {
    Value* x = g.add_input("x", DType::f32, {-1, 2});
    Value* b = g.add_constant("bias", Tensor::from<float>({2}, {1.f, 2.f}));
    add = g.add_node(OpKind::Add, "Add_0", {x, b}, {"h0"});
    add->module_path = "features.0";
    relu1 = g.add_node(OpKind::Relu, "Relu_1", {add->outputs[0]}, {"h1"});
    relu1->module_path = "act";
    relu2 = g.add_node(OpKind::Relu, "Relu_2", {relu1->outputs[0]}, {"h2"});
    relu2->module_path = "act";
    g.add_output(relu2->outputs[0]);
    infer_shapes(g);
  }
};

CalibrationTable layers_table(std::initializer_list<const char*> keys) {
  CalibrationTable t;
  for (const char* k : keys) t.layers[k].output_bits = 8;
  return t;
}

TEST(CalibrationTable, ResolveLayersByModulePathNodeNameAndOutputName) {
  NamedGraph m;
  auto r = resolve_layers(layers_table({"features.0", "act"}), m.g);
  ASSERT_EQ(r.size(), 3u);  // "act" names both calls of the module
  EXPECT_EQ(r[0].node, m.add);
  EXPECT_EQ(r[0].matched_by, "module_path");
  EXPECT_EQ(r[1].node, m.relu1);
  EXPECT_EQ(r[2].node, m.relu2);
  auto r2 = resolve_layers(layers_table({"Relu_2", "h0"}), m.g);
  ASSERT_EQ(r2.size(), 2u);
  EXPECT_EQ(r2[0].node, m.add);
  EXPECT_EQ(r2[0].matched_by, "output_name");
  EXPECT_EQ(r2[1].node, m.relu2);
  EXPECT_EQ(r2[1].matched_by, "node_name");
  EXPECT_EQ(layer_key(m.g, *m.add), "features.0");
  EXPECT_EQ(layer_key(m.g, *m.relu1), "Relu_1");  // module shared by two nodes
}

TEST(CalibrationTable, UnknownLayerListsNearMatches) {
  NamedGraph m;
  try {
    resolve_layers(layers_table({"features.1"}), m.g, "calib.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.status().code, Code::kNotFound);
    EXPECT_EQ(e.status().file, "calib.json");
    EXPECT_EQ(e.status().key, "features.1");
    EXPECT_NE(e.status().message.find("'features.0'"), std::string::npos) << e.what();
  }
  try {
    resolve_layers(layers_table({"act", "Relu_1"}), m.g, "calib.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.status().code, Code::kInvalidInput);
    EXPECT_NE(e.status().message.find("both name node 'Relu_1'"), std::string::npos) << e.what();
  }
}

TEST(CalibrationTable, ModelHashIsStableAndSeesWeights) {
  NamedGraph a, b;
  EXPECT_EQ(model_hash(a.g), model_hash(b.g));
  EXPECT_EQ(model_hash(a.g), model_hash(*a.g.clone()));
  EXPECT_EQ(model_hash(a.g).rfind("fnv1a64:", 0), 0u);
  b.g.find_value("bias")->constant = Tensor::from<float>({2}, {1.f, 2.0000002f});
  EXPECT_NE(model_hash(a.g), model_hash(b.g));
  NamedGraph c;
  c.relu2->module_path = "act2";
  EXPECT_NE(model_hash(a.g), model_hash(c.g));
}

TEST(CalibrationTable, TableForAnotherModelIsRejectedUnlessForced) {
  NamedGraph a, b;
  b.g.find_value("bias")->constant = Tensor::from<float>({2}, {0.f, 0.f});
  CalibrationTable t;
  t.header.model_hash = model_hash(a.g);
  t.tensors["h1"] = {0.f, 1.f, "minmax", {}};
  EXPECT_TRUE(check_table_matches(t, a.g, false).empty());
  try {
    check_table_matches(t, b.g, false, "calib.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.status().code, Code::kInvalidInput);
    EXPECT_EQ(e.status().key, "model_hash");
    EXPECT_NE(e.status().message.find("another model"), std::string::npos);
    EXPECT_NE(e.status().message.find("--force"), std::string::npos);
  }
  auto w = check_table_matches(t, b.g, true, "calib.json");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("--force"), std::string::npos);
  // NNI configs carry no hash: they pass; a tensor the model lacks does not.
  CalibrationTable nni = layers_table({"act"});
  EXPECT_TRUE(check_table_matches(nni, b.g, false).empty());
  t.header.model_hash.clear();
  t.tensors["nope"] = {0.f, 1.f, "minmax", {}};
  EXPECT_THROW(check_table_matches(t, a.g, false), Error);
}

}  // namespace
}  // namespace mpq::quant
