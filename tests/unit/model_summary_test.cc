// `mpq info`'s summary of a model, including one with unsupported ops.
#include "frontend/onnx/model_summary.h"

#include <gtest/gtest.h>

#include "onnx_test_util.h"

namespace mpq {
namespace {

using namespace mpq::testing;

TEST(ModelSummary, ReportsAModelWithUnsupportedOps) {
  auto m = make_model();
  auto* o = m.add_opset_import();
  o->set_domain("com.example"), o->set_version(1);
  add_input(m, "x", {2, 3});
  add_initializer(m, "b", {3}, {1, 2, 3});
  add_initializer(m, "block.proj.weight", {3, 3}, std::vector<float>(9, 0.5f));
  add_node(m, "Add", {"x", "b"}, {"s"}, "/block/Add");
  add_node(m, "Relu", {"s"}, {"r"}, "/block/act/Relu");
  add_node(m, "Proj", {"r", "block.proj.weight"}, {"p"}, "", "com.example");
  add_node(m, "Relu", {"p"}, {"y"}, "/head/Relu");
  add_output(m, "y", {2, 3});

  std::vector<UnsupportedNode> unsupported;
  ModelMeta meta;
  ImportOptions opts;
  opts.collect_unsupported = &unsupported;
  opts.meta = &meta;
  auto g = import_onnx_bytes(m.SerializeAsString(), "small.onnx", opts);
  ModelSummary s = summarize(*g, meta, unsupported, "small.onnx");

  ASSERT_EQ(s.inputs.size(), 1u);
  EXPECT_EQ(s.inputs[0].shape, (Shape{2, 3}));
  EXPECT_EQ(s.parameters, 12);  // b (3) + block.proj.weight (9), the latter read by Proj
  EXPECT_EQ(s.parameter_tensors, 2);
  ASSERT_EQ(s.op_histogram.size(), 3u);
  EXPECT_EQ(s.op_histogram[0], (std::pair<std::string, int64_t>{"Relu", 2}));
  ASSERT_EQ(s.unsupported.size(), 1u);
  EXPECT_EQ(s.unsupported[0].name, "Proj_2");
  EXPECT_EQ(s.unsupported[0].module_path, "block.proj");  // from its weight's name

  // The Relu after the unknown op still gets its type (from onnx's shape inference).
  ASSERT_EQ(s.nodes.size(), 3u);
  EXPECT_EQ(s.nodes[2].name, "/head/Relu");
  EXPECT_EQ(s.nodes[2].module_path, "head");
  ASSERT_TRUE(s.nodes[2].outputs[0].has_type);
  EXPECT_EQ(s.nodes[2].outputs[0].shape, (Shape{2, 3}));

  std::string text = summary_text(s);
  EXPECT_NE(text.find("ops: 4 nodes"), std::string::npos) << text;
  EXPECT_NE(text.find("block.act"), std::string::npos) << text;
  EXPECT_NE(text.find("com.example::Proj"), std::string::npos) << text;
  nlohmann::json j = summary_json(s);
  EXPECT_EQ(j["parameters"], 12);
  EXPECT_EQ(j["opsets"]["ai.onnx"], 13);
  EXPECT_EQ(j["unsupported"][0]["op_type"], "Proj");
  EXPECT_EQ(j["nodes"][1]["module_path"], "block.act");
  EXPECT_EQ(j["nodes"][0]["outputs"][0]["shape"], nlohmann::json::array({2, 3}));
}

}  // namespace
}  // namespace mpq
