#include "frontend/onnx/exporter.h"

#include <onnx/checker.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <unordered_set>

#include "frontend/onnx/attributes.h"
#include "frontend/onnx/model_io.h"
#include "frontend/onnx/module_path.h"
#include "frontend/onnx/tensor_proto.h"
#include "ir/op_def.h"

namespace mpq {

using namespace onnx_io;

namespace {
constexpr const char* kInternalDomain = "ai.mpq";

void value_info(const Value& v, onnx::ValueInfoProto* out) {
  out->set_name(v.name);
  if (!v.has_type)
    internal_error("cannot export a value whose type is unknown (run infer_shapes first)")
        .key(v.name)
        .raise();
  type_to_proto(v.dtype, v.shape, out->mutable_type());
}
}  // namespace

void graph_to_model(const Graph& g, onnx::ModelProto* m) {
  m->Clear();
  m->set_ir_version(onnx::IR_VERSION);
  m->set_producer_name("mpq");
  m->set_producer_version("0.1.0");
  std::set<std::string> domains;
  auto* gp = m->mutable_graph();
  gp->set_name(g.name.empty() ? "mpq" : g.name);

  std::unordered_set<const Value*> outputs(g.outputs().begin(), g.outputs().end());
  for (const Value* v : g.inputs()) value_info(*v, gp->add_input());
  for (const auto& v : g.values())
    if (v->is_constant() && !v->producer && (!v->consumers.empty() || outputs.count(v.get())))
      tensor_to_proto(*v->constant, v->name, gp->add_initializer());

  for (const auto& n : g.nodes()) {
    const OpDef& d = n->def();
    auto* np = gp->add_node();
    np->set_name(n->name);
    if (d.onnx.op_type.empty()) {  // mpq-internal op: its own domain
      np->set_op_type(d.name);
      np->set_domain(kInternalDomain);
      domains.insert(kInternalDomain);
    } else {
      np->set_op_type(d.onnx.op_type);
      if (!d.onnx.domain.empty()) np->set_domain(d.onnx.domain), domains.insert(d.onnx.domain);
    }
    size_t nin = n->inputs.size();
    while (nin > 0 && !n->inputs[nin - 1]) --nin;  // trailing omitted optional inputs
    for (size_t i = 0; i < nin; ++i) np->add_input(n->inputs[i] ? n->inputs[i]->name : "");
    for (const Value* o : n->outputs) np->add_output(o->name);
    for (const auto& [key, val] : n->attrs.all()) {
      bool internal = false;
      for (const auto& k : d.onnx.internal_attrs) internal |= k == key;
      if (!internal) attr_to_proto(key, val, np->add_attribute());
    }
    if (!n->module_path.empty()) np->set_doc_string(module_path_tag(n->module_path));
    for (const Value* o : n->outputs)
      if (o->has_type && !outputs.count(o)) value_info(*o, gp->add_value_info());
  }
  for (const Value* v : g.outputs()) value_info(*v, gp->add_output());

  auto* op = m->add_opset_import();
  op->set_domain("");
  op->set_version(g.opset);
  for (const auto& dom : domains) {
    auto* o = m->add_opset_import();
    o->set_domain(dom);
    o->set_version(1);
  }
  if (g.opset <= kLibOnnxMaxOpset && domains.empty()) {
    try {
      onnx::checker::check_model(*m);
    } catch (const std::exception& e) {
      std::string msg = e.what();
      for (char& c : msg)
        if (c == '\n') c = ' ';
      internal_error("exported model fails onnx's checker: " + msg).raise();
    }
  }
}

std::string export_onnx_bytes(const Graph& g) {
  onnx::ModelProto m;
  graph_to_model(g, &m);
  std::string bytes;
  if (!m.SerializeToString(&bytes))
    internal_error("cannot serialize the model (protobuf's 2 GiB limit?)").raise();
  return bytes;
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  namespace fs = std::filesystem;
  fs::path p(path);
  std::error_code ec;
  if (!p.parent_path().empty() && !fs::is_directory(p.parent_path(), ec))
    not_found("output folder does not exist").file(path).raise();
  std::string tmp = str(path, ".tmp-", ::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) invalid_input("cannot create the output file (permissions?)").file(path).raise();
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    f.flush();
    if (!f) {
      f.close();
      std::remove(tmp.c_str());
      internal_error("writing the output file failed (disk full?)").file(path).raise();
    }
  }
  fs::rename(tmp, p, ec);
  if (ec) {
    std::remove(tmp.c_str());
    internal_error("cannot rename the temporary file: " + ec.message()).file(path).raise();
  }
}

void export_onnx(const Graph& g, const std::string& path) {
  write_file_atomic(path, export_onnx_bytes(g));
}

}  // namespace mpq
