// ONNX importer: conversion, naming, external data, unsupported ops and every class of bad file.
#include <gtest/gtest.h>

#include <cstdint>

#include "backends/reference/executor.h"
#include "frontend/onnx/importer.h"
#include "ir/printer.h"
#include "onnx_test_util.h"
#include "passes/pass.h"

namespace mpq {
namespace {

using namespace mpq::testing;

std::unique_ptr<Graph> import_model(const onnx::ModelProto& m, const ImportOptions& o = {}) {
  return import_onnx_bytes(m.SerializeAsString(), "model.onnx", o);
}

// Runs f, expects an mpq::Error with `code`, returns its status.
template <typename F>
Status expect_error(F f, Code code) {
  try {
    f();
  } catch (const Error& e) {
    if (getenv("MPQ_PRINT_ERRORS")) fprintf(stderr, "ERR: %s\n", e.what());
    EXPECT_EQ(e.status().code, code) << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "not one line: " << e.what();
    return e.status();
  }
  ADD_FAILURE() << "no error thrown";
  return {};
}

TEST(OnnxImport, AddReluModelImportsAndRuns) {
  auto g = import_model(add_relu_model());
  EXPECT_EQ(g->opset, 13);
  ASSERT_EQ(g->nodes().size(), 2u);
  EXPECT_EQ(g->nodes()[0]->name, "add");
  EXPECT_EQ(g->nodes()[1]->name, "relu");
  ASSERT_EQ(g->inputs().size(), 1u);
  EXPECT_TRUE(g->find_value("b")->is_constant());
  EXPECT_EQ(g->outputs()[0]->shape, (Shape{2, 3}));
  auto y = ReferenceExecutor(*g).run({Tensor::from<float>({2, 3}, {0, 1, -1, -3, 3, 0})});
  EXPECT_EQ(y[0].to_floats(), (std::vector<float>{1, 0, 0, 0, 1, 0.5f}));
}

TEST(OnnxImport, InitializerListedAsGraphInputIsAConstant) {
  auto m = add_relu_model();
  add_input(m, "b", {3});  // IR < 4 style: initializers are also inputs
  auto g = import_model(m);
  ASSERT_EQ(g->inputs().size(), 1u);
  EXPECT_EQ(g->inputs()[0]->name, "x");
  EXPECT_TRUE(g->find_value("b")->is_constant());
}

TEST(OnnxImport, UnnamedNodesGetUniqueNames) {
  auto m = make_model();
  add_input(m, "x", {4});
  add_node(m, "Relu", {"x"}, {"a"});
  add_node(m, "Relu", {"a"}, {"b"}, "Relu_1");  // a real name that an invented one must avoid
  add_node(m, "Relu", {"b"}, {"c"});
  add_output(m, "c", {4});
  auto g = import_model(m);
  std::set<std::string> names;
  for (const auto& n : g->nodes()) names.insert(n->name);
  EXPECT_EQ(names.size(), 3u);
  EXPECT_TRUE(names.count("Relu_0"));
  EXPECT_TRUE(names.count("Relu_1"));
  EXPECT_TRUE(names.count("Relu_2"));
  EXPECT_EQ(g->find_node("Relu_1")->outputs[0]->name, "b");  // the named node kept its name
}

TEST(OnnxImport, DynamicDimsAreUnknown) {
  auto m = make_model();
  add_input(m, "x", {-1, 3});
  add_node(m, "Relu", {"x"}, {"y"}, "r");
  add_output(m, "y", {-1, 3});
  auto g = import_model(m);
  EXPECT_EQ(g->inputs()[0]->shape, (Shape{-1, 3}));
  EXPECT_EQ(g->outputs()[0]->shape, (Shape{-1, 3}));
}

// A 1-D int64 initializer.
void add_ints(onnx::ModelProto& m, const std::string& name, const std::vector<int64_t>& v) {
  auto* t = m.mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(7);  // int64
  t->add_dims(static_cast<int64_t>(v.size()));
  for (int64_t x : v) t->add_int64_data(x);
}

// PyTorch 2.x's unflatten(-1, (2, 3)): the Slice bounds over Shape(x) are computed ((rank + dim)
// mod rank), so the Reshape target's length is unknown until the graph is evaluated; the import
// takes it from a sample batch and the symbolic-batch pass then fixes the values.
TEST(OnnxImport, ReshapeTargetOfComputedLengthImports) {
  auto m = make_model(14);
  add_input(m, "x", {-1, 4, 6});
  auto ints = [&](const std::string& name, std::vector<int64_t> v) { add_ints(m, name, v); };
  ints("rank", {3});
  ints("dim", {-1});
  ints("one", {1});
  ints("zero", {0});
  ints("end", {INT64_MAX});
  ints("sizes", {2, 3});
  add_node(m, "Add", {"rank", "dim"}, {"d1"});
  add_node(m, "Mod", {"d1", "rank"}, {"d2"});
  add_node(m, "Shape", {"x"}, {"shape"});
  add_node(m, "Slice", {"shape", "zero", "d2"}, {"head"});
  add_node(m, "Add", {"d2", "one"}, {"d3"});
  add_node(m, "Slice", {"shape", "d3", "end"}, {"tail"});
  onnx::AttributeProto* axis =
      add_node(m, "Concat", {"head", "sizes", "tail"}, {"target"})->add_attribute();
  axis->set_name("axis");
  axis->set_type(onnx::AttributeProto::INT);
  axis->set_i(0);
  add_node(m, "Reshape", {"x", "target"}, {"y"}, "unflatten");
  add_output(m, "y", {-1, 4, 2, 3});
  auto g = import_model(m);
  EXPECT_EQ(g->find_node("unflatten")->outputs[0]->shape.size(), 4u);
  passes::PassContext ctx;
  passes::optimize(*g, ctx);
  EXPECT_EQ(g->outputs()[0]->shape, (Shape{-1, 4, 2, 3}));
}

// The same pattern in two successive layers with a ReduceMean between them whose keepdims comes
// from the attribute schema's default, applied as each node is checked: the second target's
// length is taken from a sample of the graph as checked up to it, not from the first layer's.
TEST(OnnxImport, ReshapeTargetsOfComputedLengthImportInSuccessiveLayers) {
  auto m = make_model(14);
  add_input(m, "x", {-1, 4, 6});
  auto ints = [&](const std::string& name, std::vector<int64_t> v) { add_ints(m, name, v); };
  ints("dim", {-1});
  ints("one", {1});
  ints("zero", {0});
  ints("end", {INT64_MAX});
  // unflatten(x, -1, sizes) with x of rank `rank`, the bounds computed as PyTorch 2.x does.
  auto unflatten = [&](const std::string& p, const std::string& x, int64_t rank,
                       std::vector<int64_t> sizes, const std::string& y) {
    ints(p + "rank", {rank});
    ints(p + "sizes", sizes);
    add_node(m, "Add", {p + "rank", "dim"}, {p + "d1"});
    add_node(m, "Mod", {p + "d1", p + "rank"}, {p + "d2"});
    add_node(m, "Shape", {x}, {p + "shape"});
    add_node(m, "Slice", {p + "shape", "zero", p + "d2"}, {p + "head"});
    add_node(m, "Add", {p + "d2", "one"}, {p + "d3"});
    add_node(m, "Slice", {p + "shape", p + "d3", "end"}, {p + "tail"});
    onnx::AttributeProto* axis =
        add_node(m, "Concat", {p + "head", p + "sizes", p + "tail"}, {p + "target"})
            ->add_attribute();
    axis->set_name("axis");
    axis->set_type(onnx::AttributeProto::INT);
    axis->set_i(0);
    add_node(m, "Reshape", {x, p + "target"}, {y}, p + "unflatten");
  };
  unflatten("a_", "x", 3, {2, 3}, "y1");
  onnx::AttributeProto* axes = add_node(m, "ReduceMean", {"y1"}, {"s"}, "mean")->add_attribute();
  axes->set_name("axes");
  axes->set_type(onnx::AttributeProto::INTS);
  axes->add_ints(-1);
  unflatten("b_", "s", 4, {1, 1}, "y2");
  add_output(m, "y2", {-1, 4, 2, 1, 1});
  auto g = import_model(m);
  EXPECT_EQ(g->find_node("b_unflatten")->outputs[0]->shape.size(), 5u);
  passes::PassContext ctx;
  passes::optimize(*g, ctx);
  EXPECT_EQ(g->outputs()[0]->shape, (Shape{-1, 4, 2, 1, 1}));
}

TEST(OnnxImport, OpsetsOutsideOnnx112AreAcceptedWhereOpsAllow) {
  auto g = import_model(add_relu_model(18));  // libonnx 1.12 knows 17: checks are skipped
  EXPECT_EQ(g->opset, 18);
  ModelMeta meta;
  ImportOptions o;
  o.meta = &meta;
  import_model(add_relu_model(13), o);
  EXPECT_TRUE(meta.onnx_checked);
  EXPECT_EQ(meta.producer_name, "mpq-test");
  EXPECT_EQ(meta.opsets.at(""), 13);
}

TEST(OnnxImport, ExternalDataIsReadRelativeToTheModel) {
  std::string dir = temp_dir("extdata");
  auto m = add_relu_model();
  auto* b = m.mutable_graph()->mutable_initializer(0);
  b->clear_float_data();
  b->set_data_location(onnx::TensorProto::EXTERNAL);
  auto* loc = b->add_external_data();
  loc->set_key("location"), loc->set_value("weights.bin");
  auto* off = b->add_external_data();
  off->set_key("offset"), off->set_value("4");
  float vals[4] = {99.f, 1.f, -2.f, 0.5f};  // the tensor starts at byte 4
  write_bytes(dir + "/weights.bin", std::string(reinterpret_cast<char*>(vals), sizeof vals));
  std::string path = write_model(m, dir + "/model.onnx");
  auto g = import_onnx(path);
  EXPECT_EQ(g->find_value("b")->constant->to_floats(), (std::vector<float>{1.f, -2.f, 0.5f}));

  // The data file is missing: kNotFound naming the initializer.
  std::filesystem::remove(dir + "/weights.bin");
  Status s = expect_error([&] { import_onnx(path); }, Code::kNotFound);
  EXPECT_EQ(s.file, path);
  EXPECT_EQ(s.key, "b");

  // A location outside the model's folder is refused.
  loc->set_value("../weights.bin");
  write_model(m, path);
  s = expect_error([&] { import_onnx(path); }, Code::kInvalidInput);
  EXPECT_EQ(s.key, "b");
  std::filesystem::remove_all(dir);
}

TEST(OnnxImport, UnsupportedOpsAreListedInOneError) {
  auto m = make_model();
  auto* o = m.add_opset_import();
  o->set_domain("com.example"), o->set_version(1);
  add_input(m, "x", {4});
  add_node(m, "Foo", {"x"}, {"a"}, "foo1", "com.example");
  add_node(m, "Relu", {"a"}, {"b"}, "relu");
  add_node(m, "Bar", {"b"}, {"c"}, "", "com.example");
  add_output(m, "c", {4});
  Status s = expect_error([&] { import_model(m); }, Code::kUnsupported);
  EXPECT_EQ(s.file, "model.onnx");
  EXPECT_NE(s.message.find("2 unsupported nodes"), std::string::npos) << s.message;
  EXPECT_NE(s.message.find("'foo1' (com.example::Foo, opset 1)"), std::string::npos) << s.message;
  EXPECT_NE(s.message.find("'Bar_2' (com.example::Bar, opset 1)"), std::string::npos) << s.message;

  // Collect mode: the list comes back, the graph keeps the supported nodes.
  std::vector<UnsupportedNode> list;
  ModelMeta meta;
  ImportOptions opts;
  opts.collect_unsupported = &list;
  opts.meta = &meta;
  auto g = import_model(m, opts);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name, "foo1");
  EXPECT_FALSE(list[0].op_known);
  EXPECT_FALSE(meta.complete);
  ASSERT_EQ(g->nodes().size(), 1u);
  EXPECT_EQ(g->nodes()[0]->name, "relu");
}

// Many nodes of one missing op: one entry with the count and the first node, not one per node.
TEST(OnnxImport, MissingOpsAreGroupedWithCountAndFirstNode) {
  auto m = make_model();
  auto* o = m.add_opset_import();
  o->set_domain("com.example"), o->set_version(1);
  add_input(m, "x", {4});
  std::string prev = "x";
  for (int i = 0; i < 40; ++i) {
    const std::string out = "f" + std::to_string(i);
    add_node(m, "Foo", {prev}, {out}, "foo" + std::to_string(i), "com.example");
    prev = out;
  }
  add_node(m, "Bar", {prev}, {"c"}, "bar", "com.example");
  add_output(m, "c", {4});
  Status s = expect_error([&] { import_model(m); }, Code::kUnsupported);
  EXPECT_NE(s.message.find("41 unsupported nodes (2 distinct): "), std::string::npos) << s.message;
  EXPECT_NE(s.message.find("com.example::Foo x40 (opset 1, first node 'foo0'): no op "
                           "com.example::Foo in mpq's registry"),
            std::string::npos)
      << s.message;
  EXPECT_NE(s.message.find("'bar' (com.example::Bar, opset 1)"), std::string::npos) << s.message;
  EXPECT_EQ(s.message.find("foo1'"), std::string::npos) << s.message;
  EXPECT_LT(s.message.size(), 300u) << s.message;
}

TEST(OnnxImport, UnknownAttributeIsAnUnsupportedVariant) {
  auto m = add_relu_model();
  auto* a = m.mutable_graph()->mutable_node(1)->add_attribute();
  a->set_name("alpha_extra"), a->set_type(onnx::AttributeProto::FLOAT), a->set_f(1.f);
  ImportOptions o;
  o.run_checker = false;  // onnx's checker would reject the attribute first
  o.run_shape_inference = false;
  Status s = expect_error([&] { import_model(m, o); }, Code::kUnsupported);
  EXPECT_NE(s.message.find("'relu' (Relu, opset 13): attribute 'alpha_extra'"), std::string::npos)
      << s.message;
  std::vector<UnsupportedNode> list;
  o.collect_unsupported = &list;
  import_model(m, o);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_TRUE(list[0].op_known);
}

TEST(OnnxImport, UnsupportedDtypeInputIsListed) {
  auto m = make_model();
  add_input(m, "x", {4}, /*DOUBLE*/ 11);
  add_node(m, "Relu", {"x"}, {"y"}, "r");
  add_output(m, "y", {4}, 11);
  Status s = expect_error([&] { import_model(m); }, Code::kUnsupported);
  EXPECT_NE(s.message.find("DOUBLE"), std::string::npos) << s.message;
}

// ---- bad input: one test per class of bad file

TEST(OnnxBadInput, PathDoesNotExist) {
  Status s = expect_error([] { import_onnx("/nonexistent/model.onnx"); }, Code::kNotFound);
  EXPECT_EQ(s.file, "/nonexistent/model.onnx");
}

TEST(OnnxBadInput, NotAnOnnxFile) {
  std::string dir = temp_dir("notonnx");
  std::string path = dir + "/model.onnx";
  write_bytes(path, "this is a text file, not a model\n");
  Status s = expect_error([&] { import_onnx(path); }, Code::kInvalidInput);
  EXPECT_EQ(s.file, path);
  write_bytes(path, "");
  s = expect_error([&] { import_onnx(path); }, Code::kInvalidInput);
  EXPECT_NE(s.message.find("empty"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(OnnxBadInput, TruncatedFile) {
  auto m = add_relu_model();
  add_initializer(m, "big", {256}, std::vector<float>(256, 1.f));
  std::string bytes = m.SerializeAsString();
  // Every cut point must give a clean error (or, at a field boundary, a valid smaller model).
  int errors = 0;
  for (size_t cut = 1; cut < bytes.size(); cut += 7) {
    try {
      import_onnx_bytes(bytes.substr(0, cut), "cut.onnx");
    } catch (const Error& e) {
      EXPECT_NE(e.status().code, Code::kInternal) << "cut at " << cut << ": " << e.what();
      EXPECT_EQ(e.status().file, "cut.onnx");
      ++errors;
    }
  }
  EXPECT_GT(errors, 0);
  Status s =
      expect_error([&] { import_onnx_bytes(bytes.substr(0, bytes.size() / 2), "half.onnx"); },
                   Code::kInvalidInput);
  EXPECT_EQ(s.file, "half.onnx");
}

TEST(OnnxBadInput, EmptyGraph) {
  auto m = make_model();
  add_input(m, "x", {4});
  add_output(m, "x", {4});
  Status s = expect_error([&] { import_model(m); }, Code::kInvalidInput);
  EXPECT_NE(s.message.find("no nodes"), std::string::npos) << s.message;
}

TEST(OnnxBadInput, UnknownOpset) {
  Status s = expect_error([&] { import_model(add_relu_model(99)); }, Code::kInvalidInput);
  EXPECT_EQ(s.key, "opset_import");
  EXPECT_NE(s.message.find("unknown opset 99"), std::string::npos) << s.message;
  auto m = add_relu_model();
  m.clear_opset_import();
  s = expect_error([&] { import_model(m); }, Code::kInvalidInput);
  EXPECT_EQ(s.key, "opset_import");
}

TEST(OnnxBadInput, MissingInitializer) {
  auto m = add_relu_model();
  m.mutable_graph()->clear_initializer();  // the Add reads "b", which nobody defines now
  Status s = expect_error([&] { import_model(m); }, Code::kInvalidInput);
  EXPECT_EQ(s.node, "add");
  EXPECT_NE(s.message.find("'b'"), std::string::npos) << s.message;
}

TEST(OnnxBadInput, DanglingValue) {
  auto m = add_relu_model();
  m.mutable_graph()->mutable_node(1)->set_input(0, "nowhere");
  Status s = expect_error([&] { import_model(m); }, Code::kInvalidInput);
  EXPECT_EQ(s.node, "relu");
  EXPECT_NE(s.message.find("dangling"), std::string::npos) << s.message;
  m = add_relu_model();
  m.mutable_graph()->mutable_output(0)->set_name("nothing");
  s = expect_error([&] { import_model(m); }, Code::kInvalidInput);
  EXPECT_EQ(s.key, "nothing");
}

TEST(OnnxBadInput, CyclicGraph) {
  auto m = make_model();
  add_input(m, "x", {4});
  add_node(m, "Add", {"x", "c"}, {"a"}, "first");
  add_node(m, "Relu", {"a"}, {"c"}, "second");
  add_output(m, "c", {4});
  Status s = expect_error([&] { import_model(m); }, Code::kInvalidInput);
  EXPECT_TRUE(s.node == "first" || s.node == "second") << s.node;
  EXPECT_NE(s.message.find("cycle"), std::string::npos) << s.message;
}

TEST(OnnxBadInput, ShapeMismatchAtAnOp) {
  auto m = make_model();
  add_input(m, "x", {2, 3});
  add_initializer(m, "b", {4}, {1, 2, 3, 4});
  add_node(m, "Add", {"x", "b"}, {"y"}, "bad_add");
  add_output(m, "y", {-1, -1});
  Status s = expect_error([&] { import_model(m); }, Code::kInvalidInput);
  EXPECT_EQ(s.node, "bad_add") << s.to_string();
  // mpq's own inference finds it too when onnx's is off.
  ImportOptions o;
  o.run_shape_inference = false;
  s = expect_error([&] { import_model(m, o); }, Code::kInvalidInput);
  EXPECT_EQ(s.node, "bad_add") << s.to_string();
}

TEST(OnnxBadInput, WrongDeclaredOutputShape) {
  auto m = add_relu_model();
  m.mutable_graph()
      ->mutable_output(0)
      ->mutable_type()
      ->mutable_tensor_type()
      ->mutable_shape()
      ->mutable_dim(1)
      ->set_dim_value(5);
  expect_error([&] { import_model(m); }, Code::kInvalidInput);
}

TEST(OnnxBadInput, ValueProducedTwice) {
  auto m = add_relu_model();
  add_node(m, "Relu", {"x"}, {"s"}, "again");
  Status s = expect_error([&] { import_model(m); }, Code::kInvalidInput);
  EXPECT_EQ(s.node, "again");
}

TEST(OnnxBadInput, InitializerDataSizeLies) {
  auto m = add_relu_model();
  m.mutable_graph()->mutable_initializer(0)->add_dims(2);  // [3,2] but 3 values
  Status s = expect_error([&] { import_model(m); }, Code::kInvalidInput);
  EXPECT_EQ(s.key, "b") << s.to_string();
}

// LayerNormalization with its Mean and InvStdDev outputs, on a value whose rank the file does not
// declare: onnx's inference would index X's dims from `axis` unchecked, so it is skipped and mpq's
// inference names the bad axis; a good axis imports.
TEST(OnnxBadInput, LayerNormAxisOnUndeclaredRank) {
  for (int64_t axis : {int64_t{-5}, (int64_t{1} << 32) - 1, int64_t{-1}}) {
    auto m = make_model(17);
    add_input(m, "x", {2, 4});
    add_initializer(m, "s", {4}, {1, 1, 1, 1});
    add_node(m, "Relu", {"x"}, {"r"}, "relu");
    auto* n = add_node(m, "LayerNormalization", {"r", "s"}, {"y", "mean", "inv"}, "ln");
    auto* a = n->add_attribute();
    a->set_name("axis");
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(axis);
    add_output(m, "y", {2, 4});
    if (axis == -1) {
      EXPECT_NO_THROW(import_model(m));
      continue;
    }
    Status s = expect_error([&] { import_model(m); }, Code::kInvalidInput);
    EXPECT_EQ(s.node, "ln") << s.to_string();
    EXPECT_NE(s.to_string().find("axis"), std::string::npos) << s.to_string();
  }
}

}  // namespace
}  // namespace mpq
