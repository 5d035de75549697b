#include "frontend/onnx/exporter.h"

#include <onnx/checker.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <unordered_set>

#include "core/temp_files.h"
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

// Nodes are written in mpq's canonical form, which follows the newer opsets (e.g. Clip's bounds
// and Pad's pads as inputs, Unsqueeze's axes as an input). The lowest opset from `start` on at
// which onnx's schemas accept every default-domain node; -1 if none up to libonnx's newest, with
// the reason in `why`.
int64_t lowest_valid_opset(const onnx::GraphProto& gp, int64_t start, std::string* why) {
  for (int64_t v = start; v <= kLibOnnxMaxOpset; ++v) {
    onnx::checker::CheckerContext ctx;
    ctx.set_ir_version(onnx::IR_VERSION);
    ctx.set_opset_imports({{"", static_cast<int>(v)}});
    onnx::checker::LexicalScopeContext lex;
    bool ok = true;
    for (const auto& n : gp.node()) {
      if (!n.domain().empty()) continue;
      try {
        onnx::checker::check_node(n, ctx, lex);
      } catch (const std::exception& e) {
        *why = str("node '", n.name(), "': ", e.what());
        ok = false;
        break;
      }
    }
    if (ok) return v;
  }
  return -1;
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

  // The graph's opset, raised where a node's canonical form needs a newer one. libonnx knows
  // opsets up to 17: a graph of opset 18 is written as 17 when all its nodes are valid there.
  int64_t opset = g.opset;
  {
    std::string why;
    int64_t valid = lowest_valid_opset(*gp, std::min<int64_t>(g.opset, kLibOnnxMaxOpset), &why);
    if (valid < 0 && g.opset <= kLibOnnxMaxOpset)
      internal_error("no opset up to " + std::to_string(kLibOnnxMaxOpset) +
                     " accepts the exported nodes: " + why)
          .raise();
    if (valid >= 0) opset = std::max<int64_t>(valid, std::min<int64_t>(g.opset, kLibOnnxMaxOpset));
  }
  auto* op = m->add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  for (const auto& dom : domains) {
    auto* o = m->add_opset_import();
    o->set_domain(dom);
    o->set_version(1);
  }
  if (opset <= kLibOnnxMaxOpset) {  // onnx's checker leaves nodes of other domains alone
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
  TempFileGuard guard(temp_path_for(path));
  const std::string& tmp = guard.path();
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) invalid_input("cannot create the output file (permissions?)").file(path).raise();
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    f.flush();
    if (!f) {
      f.close();
      internal_error("writing the output file failed (disk full?)").file(path).raise();
    }
  }
  fs::rename(tmp, p, ec);
  if (ec) {
    internal_error("cannot rename the temporary file: " + ec.message()).file(path).raise();
  }
  guard.release();
}

void export_onnx(const Graph& g, const std::string& path) {
  write_file_atomic(path, export_onnx_bytes(g));
}

}  // namespace mpq
