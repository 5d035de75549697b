// Builders for small ONNX models used by the importer/exporter tests (no python needed).
#pragma once

#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace mpq::testing {

inline onnx::ModelProto make_model(int64_t opset = 13) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("mpq-test");
  auto* o = m.add_opset_import();
  o->set_domain("");
  o->set_version(opset);
  m.mutable_graph()->set_name("test");
  return m;
}

inline void add_value_info(onnx::ValueInfoProto* v, const std::string& name,
                           const std::vector<int64_t>& dims, int elem = 1) {
  v->set_name(name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem);
  auto* s = tt->mutable_shape();
  for (int64_t d : dims) {
    auto* dim = s->add_dim();
    if (d >= 0)
      dim->set_dim_value(d);
    else
      dim->set_dim_param("N");
  }
}

inline void add_input(onnx::ModelProto& m, const std::string& name, std::vector<int64_t> dims,
                      int elem = 1) {
  add_value_info(m.mutable_graph()->add_input(), name, dims, elem);
}
inline void add_output(onnx::ModelProto& m, const std::string& name, std::vector<int64_t> dims,
                       int elem = 1) {
  add_value_info(m.mutable_graph()->add_output(), name, dims, elem);
}
// An output declared without a shape (its type is elem only).
inline void add_output_untyped(onnx::ModelProto& m, const std::string& name, int elem = 1) {
  auto* v = m.mutable_graph()->add_output();
  v->set_name(name);
  v->mutable_type()->mutable_tensor_type()->set_elem_type(elem);
}

inline onnx::TensorProto* add_initializer(onnx::ModelProto& m, const std::string& name,
                                          std::vector<int64_t> dims, std::vector<float> vals) {
  auto* t = m.mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(1);
  for (int64_t d : dims) t->add_dims(d);
  for (float v : vals) t->add_float_data(v);
  return t;
}

inline onnx::NodeProto* add_node(onnx::ModelProto& m, const std::string& op,
                                 std::vector<std::string> ins, std::vector<std::string> outs,
                                 const std::string& name = "", const std::string& domain = "") {
  auto* n = m.mutable_graph()->add_node();
  n->set_op_type(op);
  if (!name.empty()) n->set_name(name);
  if (!domain.empty()) n->set_domain(domain);
  for (auto& i : ins) n->add_input(i);
  for (auto& o : outs) n->add_output(o);
  return n;
}

// x[2,3] -> Add(x, b) -> Relu -> y[2,3]
inline onnx::ModelProto add_relu_model(int64_t opset = 13) {
  auto m = make_model(opset);
  add_input(m, "x", {2, 3});
  add_initializer(m, "b", {3}, {1.f, -2.f, 0.5f});
  add_node(m, "Add", {"x", "b"}, {"s"}, "add");
  add_node(m, "Relu", {"s"}, {"y"}, "relu");
  add_output(m, "y", {2, 3});
  return m;
}

inline std::string temp_dir(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() / ("mpq_test_" + name);
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

inline std::string write_model(const onnx::ModelProto& m, const std::string& path) {
  std::ofstream f(path, std::ios::binary);
  m.SerializeToOstream(&f);
  return path;
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace mpq::testing
