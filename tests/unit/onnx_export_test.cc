// ONNX exporter: import -> export -> import gives the same graph and the same outputs.
#include <gtest/gtest.h>

#include <filesystem>

#include "backends/reference/executor.h"
#include "frontend/onnx/exporter.h"
#include "frontend/onnx/importer.h"
#include "ir/op_def.h"
#include "ir/printer.h"
#include "onnx_test_util.h"

namespace mpq {
namespace {

using namespace mpq::testing;

TEST(OnnxExport, RoundTripKeepsGraphAndOutputs) {
  auto m = make_model();
  add_input(m, "x", {-1, 3});
  add_initializer(m, "b", {3}, {1.f, -2.f, 0.5f});
  add_node(m, "Add", {"x", "b"}, {"s"});  // unnamed: gets an invented name
  add_node(m, "Relu", {"s"}, {"y"}, "/block/relu/Relu");
  add_node(m, "Add", {"y", "x"}, {"z"}, "/block/Add");
  add_output(m, "z", {-1, 3});
  auto g1 = import_onnx_bytes(m.SerializeAsString(), "a.onnx");
  EXPECT_EQ(g1->find_node("/block/relu/Relu")->module_path, "block.relu");
  g1->find_node("Add_0")->module_path =
      "set.by.a.pass";  // not derivable from the file: kept by tag

  std::string dir = temp_dir("export");
  std::string path = dir + "/out.onnx";
  export_onnx(*g1, path);
  auto g2 = import_onnx(path);
  EXPECT_EQ(print_graph(*g1), print_graph(*g2));
  EXPECT_EQ(g2->find_node("Add_0")->module_path, "set.by.a.pass");
  EXPECT_EQ(g2->find_node("/block/Add")->module_path, "block");

  Tensor x = Tensor::from<float>({2, 3}, {0, 1, -1, -3, 3, 0});
  auto y1 = ReferenceExecutor(*g1).run({x});
  auto y2 = ReferenceExecutor(*g2).run({x});
  EXPECT_EQ(y1[0].to_floats(), y2[0].to_floats());
  EXPECT_EQ(y1[0].to_floats(), (std::vector<float>{1, 1, -1, -3, 4, 0.5f}));
  // Only the final file is left behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1);
  std::filesystem::remove_all(dir);
}

TEST(OnnxExport, BuiltGraphExportsWithTypesAndConstants) {
  Graph g;
  g.name = "built";
  Value* x = g.add_input("x", DType::f32, {4});
  Value* c = g.add_constant("c", Tensor::from<float>({4}, {1, 2, 3, 4}));
  Node* add = g.add_node(OpKind::Add, "add", {x, c}, 1);
  Node* relu = g.add_node(OpKind::Relu, "relu", {add->outputs[0]}, 1);
  g.add_output(relu->outputs[0]);
  infer_shapes(g);
  std::string bytes = export_onnx_bytes(g);
  onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(bytes));
  EXPECT_EQ(m.opset_import(0).version(), g.opset);
  ASSERT_EQ(m.graph().initializer_size(), 1);
  EXPECT_EQ(m.graph().initializer(0).name(), "c");
  ASSERT_EQ(m.graph().value_info_size(), 1);  // add_out (relu_out is the graph output)
  EXPECT_EQ(m.graph().value_info(0).name(), "add_out");
  auto g2 = import_onnx_bytes(bytes, "built.onnx");
  EXPECT_EQ(print_graph(g), print_graph(*g2));
}

TEST(OnnxExport, InternalOpsGoToTheMpqDomain) {
  Graph g;
  g.name = "internal";
  Value* x = g.add_input("x", DType::f32, {4});
  Node* r = g.add_node(OpKind::Reorder, "boundary", {x}, 1);
  Node* relu = g.add_node(OpKind::Relu, "relu", {r->outputs[0]}, 1);
  g.add_output(relu->outputs[0]);
  infer_shapes(g);
  std::string bytes = export_onnx_bytes(g);
  onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(bytes));
  EXPECT_EQ(m.graph().node(0).domain(), "ai.mpq");
  ASSERT_EQ(m.opset_import_size(), 2);
  EXPECT_EQ(m.opset_import(1).domain(), "ai.mpq");
  auto g2 = import_onnx_bytes(bytes, "internal.onnx");
  EXPECT_EQ(print_graph(g), print_graph(*g2));
}

TEST(OnnxExport, OldOpsetFormsComeBackAtAnOpsetThatHasThem) {
  // Clip at opset 6 has min/max attributes; mpq's canonical Clip has them as inputs (opset 11+).
  auto m = make_model(6);
  m.set_ir_version(3);
  add_input(m, "x", {4});
  auto* clip = add_node(m, "Clip", {"x"}, {"y"}, "clip");
  auto* a = clip->add_attribute();
  a->set_name("max"), a->set_type(onnx::AttributeProto::FLOAT), a->set_f(1.5f);
  add_output(m, "y", {4});
  auto g1 = import_onnx_bytes(m.SerializeAsString(), "old.onnx");
  onnx::ModelProto out;
  ASSERT_TRUE(out.ParseFromString(export_onnx_bytes(*g1)));
  EXPECT_EQ(out.opset_import(0).version(), 11);
  auto g2 = import_onnx_bytes(out.SerializeAsString(), "new.onnx");
  Tensor x = Tensor::from<float>({4}, {-1, 0.5f, 2, 3});
  EXPECT_EQ(ReferenceExecutor(*g2).run({x})[0].to_floats(),
            (std::vector<float>{-1, 0.5f, 1.5f, 1.5f}));
}

TEST(OnnxExport, MissingFolderIsNotFoundAndLeavesNoFile) {
  auto g = import_onnx_bytes(add_relu_model().SerializeAsString(), "a.onnx");
  try {
    export_onnx(*g, "/nonexistent_dir_mpq/out.onnx");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.status().code, Code::kNotFound);
    EXPECT_EQ(e.status().file, "/nonexistent_dir_mpq/out.onnx");
  }
}

}  // namespace
}  // namespace mpq
