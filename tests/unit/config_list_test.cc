// config_list: NNI's matching rules (last match wins, exclude by presence, op_types AND op_names)
// plus globs, and one test per class of bad input.
#include "quant/config_list.h"

#include <gtest/gtest.h>

#include "ir/op_def.h"

namespace mpq::quant {
namespace {

// x -> relu1 (module "features.relu1") -> add (x + relu1) -> relu2 ("features.relu2")
//   -> add2 ("head.add") -> output
struct TinyGraph {
  Graph g;
  Node *relu1, *add, *relu2, *add2;
  TinyGraph() {
    Value* x = g.add_input("x", DType::f32, {-1, 4});
    relu1 = g.add_node(OpKind::Relu, "Relu_0", {x}, 1);
    relu1->module_path = "features.relu1";
    add = g.add_node(OpKind::Add, "Add_1", {x, relu1->outputs[0]}, 1);
    relu2 = g.add_node(OpKind::Relu, "Relu_2", {add->outputs[0]}, 1);
    relu2->module_path = "features.relu2";
    add2 = g.add_node(OpKind::Add, "Add_3", {relu2->outputs[0], x}, 1);
    add2->module_path = "head.add";
    g.add_output(add2->outputs[0]);
    infer_shapes(g);
  }
};

Status parse_error(const std::string& json) {
  try {
    ConfigList::parse_string(json, "cfg.json");
  } catch (const Error& e) {
    return e.status();
  }
  return Status::Ok();
}

TEST(ConfigList, LastMatchWinsWithoutMerging) {
  TinyGraph t;
  auto c = ConfigList::parse_string(R"([
    {"quant_types": ["output"], "quant_bits": 8, "op_types": ["ReLU"]},
    {"quant_types": ["input"], "quant_bits": {"input": 16}, "op_names": ["features.relu2"]}
  ])");
  auto r = c.resolve(t.g);
  ASSERT_EQ(r.nodes.size(), 2u);
  const auto* s1 = r.find(t.relu1);
  ASSERT_TRUE(s1);
  EXPECT_TRUE(s1->output().enabled);
  EXPECT_EQ(s1->output().bits, 8);
  EXPECT_EQ(s1->entry, 0);
  const auto* s2 = r.find(t.relu2);
  ASSERT_TRUE(s2);
  EXPECT_EQ(s2->entry, 1);
  EXPECT_FALSE(s2->output().enabled);  // entry 1 replaces entry 0 entirely: no merging
  EXPECT_TRUE(s2->input().enabled);
  EXPECT_EQ(s2->input().bits, 16);
  EXPECT_TRUE(r.warnings.empty());
}

TEST(ConfigList, ExcludeByPresenceEvenWhenFalse) {
  TinyGraph t;
  auto c = ConfigList::parse_string(R"([
    {"quant_types": ["output"], "quant_bits": 8, "op_types": ["Relu", "Add"]},
    {"exclude": false, "op_names": ["Add_1"]}
  ])");
  ASSERT_EQ(c.warnings().size(), 1u);  // we warn about the NNI quirk
  auto r = c.resolve(t.g);
  EXPECT_TRUE(r.find(t.relu1));
  EXPECT_FALSE(r.find(t.add));
  EXPECT_TRUE(r.find(t.add2));
  // An exclude earlier in the list is overridden by a later match.
  auto c2 = ConfigList::parse_string(R"([
    {"exclude": true, "op_names": ["Add_1"]},
    {"quant_types": ["output"], "quant_bits": 8, "op_types": ["Add"]}
  ])");
  EXPECT_TRUE(c2.resolve(t.g).find(t.add));
}

TEST(ConfigList, OpTypesAndOpNamesMustBothMatch) {
  TinyGraph t;
  auto c = ConfigList::parse_string(R"([
    {"quant_types": ["output"], "quant_bits": 8, "op_types": ["ReLU"], "op_names": ["features.relu1", "head.add"]}
  ])");
  auto r = c.resolve(t.g);
  ASSERT_EQ(r.nodes.size(), 1u);  // head.add is named but is not a ReLU
  EXPECT_EQ(r.nodes[0].node, t.relu1);
}

TEST(ConfigList, OnnxNodeNamesModulePathsAndGlobs) {
  TinyGraph t;
  auto c = ConfigList::parse_string(R"([
    {"quant_types": ["output"], "quant_bits": 8, "op_names": ["features.*"]},
    {"quant_types": ["output"], "quant_bits": 16, "op_names": ["Add_?"]}
  ])");
  auto r = c.resolve(t.g);
  ASSERT_EQ(r.nodes.size(), 4u);
  EXPECT_EQ(r.find(t.relu1)->output().bits, 8);
  EXPECT_EQ(r.find(t.relu2)->output().bits, 8);
  EXPECT_EQ(r.find(t.add)->output().bits, 16);   // ONNX node name
  EXPECT_EQ(r.find(t.add2)->output().bits, 16);  // glob on the node name, module path differs
  // Results come in graph order.
  EXPECT_EQ(r.nodes[0].node, t.relu1);
  EXPECT_EQ(r.nodes[3].node, t.add2);
}

TEST(ConfigList, DtypeSchemeDefaultsAndPerTypeDicts) {
  TinyGraph t;
  auto c = ConfigList::parse_string(R"([
    {"quant_types": ["input", "output"], "quant_bits": {"input": 8, "output": 4},
     "quant_dtype": {"input": "int"}, "quant_scheme": {"output": "per_channel_symmetric"},
     "op_names": ["Add_1"], "quant_start_step": 100}
  ])");
  const auto resolved = c.resolve(t.g);  // find() points into it: it must outlive `s`
  const auto* s = resolved.find(t.add);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->input().dtype, QuantDtype::kInt);
  EXPECT_EQ(s->input().scheme, QuantScheme::kPerTensorAffine);  // NNI's default
  EXPECT_EQ(s->input().axis, -1);
  EXPECT_EQ(s->output().dtype, QuantDtype::kUint);  // NNI's default
  EXPECT_EQ(s->output().scheme, QuantScheme::kPerChannelSymmetric);
  EXPECT_EQ(s->output().axis, 1);  // activations: channel axis 1
  EXPECT_EQ(s->output().bits, 4);
  EXPECT_FALSE(s->weight().enabled);
  EXPECT_EQ(s->quant_start_step, 100);
}

TEST(ConfigList, DefaultConfigQuantizesRequantOps) {
  TinyGraph t;
  auto r = default_8bit_config(t.g);
  // Add is a requant op, Relu passes int8 through.
  ASSERT_EQ(r.nodes.size(), 2u);
  EXPECT_EQ(r.nodes[0].node, t.add);
  EXPECT_EQ(r.nodes[0].input().bits, 8);
  EXPECT_EQ(r.nodes[0].output().bits, 8);
  EXPECT_FALSE(r.nodes[0].weight().enabled);  // no constant weight
}

TEST(ConfigList, NotAListIsAnError) {
  Status s = parse_error(R"({"quant_types": ["weight"]})");
  EXPECT_EQ(s.code, Code::kInvalidInput);
  EXPECT_EQ(s.file, "cfg.json");
  EXPECT_NE(s.message.find("list"), std::string::npos);
  EXPECT_EQ(parse_error("[{").code, Code::kInvalidInput);  // not JSON
  EXPECT_EQ(parse_error(R"([{"quant_bits": 1e999}])").code, Code::kInvalidInput);
}

// NNI's schema refuses unknown keys ("Wrong keys"): an error naming the entry and the key, with
// a suggestion; lenient, a warning and the key is ignored.
TEST(ConfigList, UnknownKeysAreErrorsOrLenientWarningsWithSuggestion) {
  const char* json =
      R"([{"quant_types": ["output"], "quant_bits": 8, "op_types": ["ReLU"], "quant_bit": 4}])";
  Status s = parse_error(json);
  EXPECT_EQ(s.code, Code::kInvalidInput);
  EXPECT_EQ(s.file, "cfg.json");
  EXPECT_EQ(s.key, "[0].quant_bit");
  EXPECT_NE(s.message.find("did you mean 'quant_bits'"), std::string::npos) << s.message;
  EXPECT_NE(s.message.find("--lenient"), std::string::npos) << s.message;
  auto c = ConfigList::parse_string(json, "cfg.json", {.lenient = true});
  EXPECT_EQ(c.entries().at(0).types[2].bits, 8);
  ASSERT_EQ(c.warnings().size(), 1u);
  EXPECT_NE(c.warnings()[0].find("quant_bit'"), std::string::npos);
  EXPECT_NE(c.warnings()[0].find("did you mean 'quant_bits'"), std::string::npos);
  EXPECT_NE(c.warnings()[0].find("entry 0"), std::string::npos);
}

TEST(ConfigList, WrongValueTypesAreErrorsNamingEntryAndKey) {
  const char* base = R"({"quant_types": ["output"], "quant_bits": 8, "op_types": ["ReLU"]})";
  struct Case {
    std::string json, key;
  } cases[] = {
      {R"([{"quant_types": "output", "quant_bits": 8, "op_types": ["ReLU"]}])", "[0].quant_types"},
      {R"([{"quant_types": ["outputs"], "quant_bits": 8, "op_types": ["ReLU"]}])",
       "[0].quant_types"},
      {R"([{"quant_types": ["output"], "quant_bits": "8", "op_types": ["ReLU"]}])",
       "[0].quant_bits"},
      {R"([{"quant_types": ["output"], "quant_bits": 8.5, "op_types": ["ReLU"]}])",
       "[0].quant_bits"},
      {R"([{"quant_types": ["output"], "quant_bits": 8, "op_types": "ReLU"}])", "[0].op_types"},
      {R"([{"quant_types": ["output"], "quant_bits": 8, "op_names": [3]}])", "[0].op_names"},
      {R"([{"quant_types": ["output"], "quant_bits": 8, "op_types": ["ReLU"], "quant_dtype": "int8"}])",
       "[0].quant_dtype"},
      {R"([{"quant_types": ["output"], "quant_bits": 8, "op_types": ["ReLU"],
            "quant_scheme": {"output": "per_layer"}}])",
       "[0].quant_scheme.output"},
      {R"([{"quant_types": ["output"], "quant_bits": 8, "op_types": ["ReLU"], "exclude": "yes"}])",
       "[0].exclude"},
      {R"([{"quant_types": ["output"], "quant_bits": 8, "op_types": ["ReLU"], "quant_start_step": -1}])",
       "[0].quant_start_step"},
      {str("[", base, R"(, {"quant_types": ["output"], "op_types": ["ReLU"]}])"), "[1].quant_bits"},
      {str("[", base, R"(, {"quant_types": ["output"], "quant_bits": 8}])"), "[1]"},
      {str("[", base, ", 7]"), "[1]"},
  };
  for (const auto& c : cases) {
    Status s = parse_error(c.json);
    EXPECT_EQ(s.code, Code::kInvalidInput) << c.json;
    EXPECT_EQ(s.key, c.key) << c.json;
    EXPECT_EQ(s.file, "cfg.json");
  }
}

TEST(ConfigList, BitsOutsideOneToThirtyTwo) {
  for (const char* bits : {"0", "33", "-8", R"({"output": 64})"}) {
    Status s = parse_error(
        str(R"([{"quant_types": ["output"], "op_types": ["ReLU"], "quant_bits": )", bits, "}]"));
    EXPECT_EQ(s.code, Code::kInvalidInput) << bits;
    EXPECT_NE(s.message.find("1..32"), std::string::npos) << s.message;
  }
  EXPECT_EQ(
      parse_error(R"([{"quant_types": ["output"], "op_types": ["ReLU"], "quant_bits": 32}])").code,
      Code::kOk);
}

TEST(ConfigList, BitsDictMustCoverListedTypes) {
  Status s = parse_error(
      R"([{"quant_types": ["weight", "input"], "quant_bits": {"weight": 8}, "op_types": ["Conv2d"]}])");
  EXPECT_EQ(s.code, Code::kInvalidInput);
  EXPECT_EQ(s.key, "[0].quant_bits");
  EXPECT_NE(s.message.find("'input'"), std::string::npos);
}

// An op_names entry that matches no layer: an error naming the entry, the key and the near
// matches (NNI warns and the layer silently stays float); lenient, a warning. op_types that match
// nothing stay warnings, as in NNI.
TEST(ConfigList, OpNamesMatchingNothingAreErrorsWithNearMatches) {
  TinyGraph t;
  const char* json = R"([
    {"quant_types": ["output"], "quant_bits": 8, "op_names": ["features.relu1"]},
    {"quant_types": ["output"], "quant_bits": 8, "op_names": ["features.relu3", "nothing.*"]},
    {"quant_types": ["output"], "quant_bits": 8, "op_types": ["Conv2d", "ReLu"]}
  ])";
  try {
    ConfigList::parse_string(json, "cfg.json").resolve(t.g);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.status().file, "cfg.json");
    EXPECT_EQ(e.status().key, "[1].op_names");
    EXPECT_NE(e.status().message.find("'features.relu3' matches no layer"), std::string::npos);
    EXPECT_NE(e.status().message.find("near matches: 'features.relu1'"), std::string::npos)
        << e.status().message;
  }
  auto c = ConfigList::parse_string(json, "cfg.json", {.lenient = true});
  auto r = c.resolve(t.g);
  ASSERT_EQ(r.nodes.size(), 1u);  // the first entry still applies
  EXPECT_EQ(r.nodes[0].node->module_path, "features.relu1");
  ASSERT_EQ(r.warnings.size(), 4u);
  EXPECT_NE(r.warnings[0].find("'features.relu3' matches no layer"), std::string::npos);
  EXPECT_NE(r.warnings[0].find("'features.relu1'"), std::string::npos);  // near match listed
  EXPECT_NE(r.warnings[1].find("'nothing.*'"), std::string::npos);
  EXPECT_NE(r.warnings[2].find("op_types 'Conv2d' matches no layer"), std::string::npos);
  EXPECT_NE(r.warnings[3].find("unknown op_types 'ReLu'"), std::string::npos);
  EXPECT_NE(r.warnings[3].find("'ReLU'"), std::string::npos);
}

}  // namespace
}  // namespace mpq::quant

namespace mpq::quant {
namespace {

// x[N,1,4,4] -> Conv "features.0" -> Clip(0,6) "features.1" -> Clip(0,1) "clamp" -> Flatten
//   -> Gemm "fc" ; plus a MaxPool-free path kept small.
struct TorchLike {
  Graph g;
  Node *conv, *relu6, *clamp, *flat, *fc;
  TorchLike() {
    Value* x = g.add_input("x", DType::f32, {-1, 1, 4, 4});
    Value* w = g.add_constant("features.0.weight", Tensor(DType::f32, {2, 1, 3, 3}));
    conv = g.add_node(OpKind::Conv, "/features/features.0/Conv", {x, w}, {"c"});
    conv->attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
    conv->module_path = "features.0";
    Value* zero = g.add_constant("zero", Tensor::scalar(0.f));
    Value* six = g.add_constant("six", Tensor::scalar(6.f));
    Value* one = g.add_constant("one", Tensor::scalar(1.f));
    relu6 =
        g.add_node(OpKind::Clip, "/features/features.1/Clip", {conv->outputs[0], zero, six}, {"r"});
    relu6->module_path = "features.1";
    clamp = g.add_node(OpKind::Clip, "clamp", {relu6->outputs[0], zero, one}, {"k"});
    flat = g.add_node(OpKind::Flatten, "flatten", {clamp->outputs[0]}, {"f"});
    Value* fw = g.add_constant("fc.weight", Tensor(DType::f32, {3, 32}));
    fc = g.add_node(OpKind::Gemm, "/fc/Gemm", {flat->outputs[0], fw}, {"y"});
    fc->attrs.set("transB", int64_t{1});
    fc->module_path = "fc";
    g.add_output(fc->outputs[0]);
    for (auto& n : g.nodes()) apply_attr_schema(*n);
    infer_shapes(g);
  }
};

TEST(ConfigList, PyTorchOpTypesMapOntoOnnxOps) {
  TorchLike t;
  auto c = ConfigList::parse_string(R"([
    {"quant_types": ["weight", "input"], "quant_bits": 8, "op_types": ["Conv2d"]},
    {"quant_types": ["output"], "quant_bits": 8, "op_types": ["ReLU6"]},
    {"quant_types": ["weight"], "quant_bits": 16, "op_types": ["Linear"]}
  ])");
  auto r = c.resolve(t.g);
  EXPECT_TRUE(r.warnings.empty());
  ASSERT_EQ(r.nodes.size(), 3u);
  EXPECT_EQ(r.nodes[0].node, t.conv);
  EXPECT_EQ(r.nodes[1].node, t.relu6);  // Clip(0, 6) only: "clamp" is Clip(0, 1)
  EXPECT_EQ(r.nodes[2].node, t.fc);
  EXPECT_EQ(r.nodes[2].weight().bits, 16);
  // `default` is NNI's weighted modules; Conv1d does not match a 2-d conv; ONNX names work too.
  auto d = ConfigList::parse_string(R"([
    {"quant_types": ["weight"], "quant_bits": 8, "op_types": ["default"]},
    {"quant_types": ["weight"], "quant_bits": 4, "op_types": ["Conv1d"]},
    {"quant_types": ["output"], "quant_bits": 8, "op_types": ["Clip"], "op_names": ["clamp"]}
  ])");
  auto rd = d.resolve(t.g);
  ASSERT_EQ(rd.nodes.size(), 3u);
  EXPECT_EQ(rd.nodes[0].node, t.conv);
  EXPECT_EQ(rd.nodes[0].weight().bits, 8);
  EXPECT_EQ(rd.nodes[1].node, t.clamp);
  EXPECT_EQ(rd.nodes[2].node, t.fc);
  ASSERT_EQ(rd.warnings.size(), 1u);
  EXPECT_NE(rd.warnings[0].find("'Conv1d' matches no layer"), std::string::npos);
}

TEST(ConfigList, DefaultConfigGivesWeightedLayersPerChannelWeights) {
  TorchLike t;
  auto r = default_8bit_config(t.g);
  ASSERT_EQ(r.nodes.size(), 2u);  // Conv and Gemm; Clip passes int8 through
  for (const auto& s : r.nodes) {
    EXPECT_TRUE(s.weight().enabled);
    EXPECT_EQ(s.weight().dtype, QuantDtype::kInt);
    EXPECT_EQ(s.weight().scheme, QuantScheme::kPerChannelSymmetric);
    EXPECT_EQ(s.weight().axis, 0);
    EXPECT_EQ(s.input().dtype, QuantDtype::kUint);
  }
}

// QAT_Quantizer's schema: op_types from its supported list (no 'default') and bits 1..31.
// Calibration and builds accept both ('default' = NNI's weighted modules, 32 = fp32).
TEST(ConfigList, QatRefusesDefaultOpTypesAnd32Bits) {
  auto qat_error = [](const char* json) {
    try {
      ConfigList::parse_string(json, "cfg.json").check_qat();
    } catch (const Error& e) {
      return e.status();
    }
    return Status::Ok();
  };
  Status s =
      qat_error(R"([{"quant_types": ["weight"], "quant_bits": 8, "op_types": ["default"]}])");
  EXPECT_EQ(s.code, Code::kInvalidInput);
  EXPECT_EQ(s.key, "[0].op_types");
  EXPECT_NE(s.message.find("'default'"), std::string::npos) << s.message;
  s = qat_error(R"([{"quant_types": ["weight"], "quant_bits": 8, "op_names": ["fc"]},
                    {"quant_types": ["input", "weight"], "quant_bits": {"input": 8, "weight": 32},
                     "op_names": ["conv"]}])");
  EXPECT_EQ(s.key, "[1].quant_bits");
  EXPECT_NE(s.message.find("weight bits must be in 1..31 for QAT, got 32"), std::string::npos)
      << s.message;
  EXPECT_TRUE(
      qat_error(R"([{"quant_types": ["weight"], "quant_bits": 31, "op_names": ["c"]}])").ok());
  auto lenient = ConfigList::parse_string(
      R"([{"quant_types": ["weight"], "quant_bits": 32, "op_types": ["default"]}])", "cfg.json",
      {.lenient = true});
  EXPECT_EQ(lenient.check_qat().size(), 2u);
  // Outside QAT both are accepted.
  TinyGraph t;
  EXPECT_NO_THROW(ConfigList::parse_string(
                      R"([{"quant_types": ["output"], "quant_bits": 32, "op_types": ["default"]}])")
                      .resolve(t.g));
}

}  // namespace
}  // namespace mpq::quant
