#include "runtime/engine_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <unordered_map>

#include "core/temp_files.h"
#include "ir/op_def.h"
#include "runtime/binary_io.h"
#include "runtime/engine_file_format.h"

namespace mpq::runtime {

using namespace detail;

namespace {

// ---------------------------------------------------------------- writing

// Constants are stored once each (a weight is shared by its graph value and its TensorSpec).
class ConstantPool {
 public:
  int64_t add(const Tensor& t) {
    auto it = index_.find(t.raw());
    if (it != index_.end() && same(tensors_[it->second], t)) return it->second;
    tensors_.push_back(t);
    const int64_t i = static_cast<int64_t>(tensors_.size()) - 1;
    if (t.raw()) index_[t.raw()] = i;
    return i;
  }
  const std::vector<Tensor>& tensors() const { return tensors_; }

 private:
  static bool same(const Tensor& a, const Tensor& b) {
    return a.dtype() == b.dtype() && a.shape() == b.shape();
  }
  std::vector<Tensor> tensors_;
  std::unordered_map<const void*, int64_t> index_;
};

void write_quant(BinaryWriter& w, const std::optional<QuantParams>& q) {
  w.boolean(q.has_value());
  if (!q) return;
  w.u64(q->scale.size());
  for (float s : q->scale) w.f32(s);
  w.u64(q->zero_point.size());
  for (int32_t z : q->zero_point) w.u32(static_cast<uint32_t>(z));
  w.i64(q->axis);
  w.i64(q->bits);
  w.boolean(q->is_signed);
}

void write_attr(BinaryWriter& w, const AttrValue& v, ConstantPool& pool) {
  w.text(attr_type_name(attr_value_type(v)));
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, int64_t>) {
          w.i64(x);
        } else if constexpr (std::is_same_v<T, float>) {
          w.f32(x);
        } else if constexpr (std::is_same_v<T, std::string>) {
          w.text(x);
        } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
          w.i64s(x);
        } else if constexpr (std::is_same_v<T, std::vector<float>>) {
          w.u64(x.size());
          for (float f : x) w.f32(f);
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          w.u64(x.size());
          for (const auto& s : x) w.text(s);
        } else {
          w.i64(pool.add(x));
        }
      },
      v);
}

// Nodes in a topological order that keeps the graph's order where it already is one (the
// builder appends boundary Reorder nodes at the end of the node list).
std::vector<const Node*> topo_nodes(const Graph& g) {
  std::vector<const Node*> out;
  std::unordered_map<const Node*, bool> placed;
  std::vector<const Node*> pending;
  for (const auto& n : g.nodes()) pending.push_back(n.get());
  while (!pending.empty()) {
    std::vector<const Node*> rest;
    for (const Node* n : pending) {
      bool ready = true;
      for (const Value* v : n->inputs)
        if (v && v->producer && !placed[v->producer]) ready = false;
      if (ready) {
        out.push_back(n);
        placed[n] = true;
      } else {
        rest.push_back(n);
      }
    }
    if (rest.size() == pending.size())
      internal_error("cannot save the engine: its graph has a cycle").node(rest[0]->name).raise();
    pending.swap(rest);
  }
  return out;
}

void write_manifest(BinaryWriter& w, const plan::Manifest& m) {
  w.u64(m.layers.size());
  for (const plan::LayerReport& r : m.layers) {
    w.text(r.name), w.text(r.module_path), w.text(r.op);
    w.text(precision_name(r.requested)), w.text(r.source), w.text(precision_name(r.executed));
    w.text(r.backend), w.text(r.kernel), w.text(r.impl);
    w.u64(r.fused.size());
    for (const auto& f : r.fused) w.text(f);
    w.text(r.input_dtype), w.text(r.output_dtype), w.text(r.reason);
  }
  w.u64(m.notes.size());
  for (const auto& n : m.notes) w.text(n);
  w.f64(m.average_bits);
}

// The graph, the plan and the manifest; fills `pool` with every constant they use.
std::string write_body(const plan::Plan& p, ConstantPool& pool) {
  BinaryWriter w;
  // Graph: values in a canonical order (inputs, other unproduced values, node outputs in node
  // order), so that a loaded engine saves to the same bytes.
  const Graph& g = *p.graph;
  const std::vector<const Node*> nodes = topo_nodes(g);
  std::vector<const Value*> values;
  std::unordered_map<const Value*, int64_t> vix;
  auto add_value = [&](const Value* v) {
    if (vix.count(v)) return;
    vix[v] = static_cast<int64_t>(values.size());
    values.push_back(v);
  };
  for (const Value* v : g.inputs()) add_value(v);
  for (const auto& v : g.values())
    if (!v->producer && !v->is_graph_input) add_value(v.get());
  for (const Node* n : nodes)
    for (const Value* v : n->outputs) add_value(v);
  for (const auto& v : g.values())
    if (!vix.count(v.get()))
      internal_error("cannot save the engine: a value's producer is not in the graph")
          .key(v->name)
          .raise();

  w.text(g.name);
  w.i64(g.opset);
  w.u64(g.inputs().size());
  w.u64(values.size());
  for (const Value* v : values) {
    w.text(v->name);
    w.text(dtype_name(v->dtype));
    w.i64s(v->shape);
    w.boolean(v->has_type);
    w.i64(v->is_constant() ? pool.add(*v->constant) : -1);
  }
  std::unordered_map<const Node*, int64_t> nix;
  w.u64(nodes.size());
  for (const Node* n : nodes) {
    nix[n] = static_cast<int64_t>(nix.size());
    w.text(n->name);
    w.text(n->op_name());
    w.text(n->module_path);
    w.u64(n->inputs.size());
    for (const Value* v : n->inputs) w.i64(v ? vix.at(v) : -1);
    w.u64(n->outputs.size());
    for (const Value* v : n->outputs) w.i64(vix.at(v));
    w.u64(n->attrs.all().size());
    for (const auto& [k, v] : n->attrs.all()) {
      w.text(k);
      write_attr(w, v, pool);
    }
  }
  w.u64(g.outputs().size());
  for (const Value* v : g.outputs()) w.i64(vix.at(v));

  // Plan.
  w.u64(p.tensors.size());
  for (const TensorSpec& s : p.tensors) {
    w.text(s.name);
    w.text(dtype_name(s.dtype));
    w.i64s(s.shape);
    w.text(layout_name(s.layout));
    w.boolean(s.batched);
    w.i64(s.batch_dim);
    w.i64(s.batch_mult);
    write_quant(w, s.quant);
    w.i64(s.constant ? pool.add(*s.constant) : -1);
  }
  w.u64(p.steps.size());
  for (const plan::Step& st : p.steps) {
    auto it = nix.find(st.node);
    if (it == nix.end()) internal_error("a plan step's node is not in the graph").raise();
    w.i64(it->second);
    w.text(precision_name(st.precision));
    w.text(st.backend);
    w.text(st.kernel_name);
    w.text(st.variant);  // the algorithm prepare() chose: a load re-uses it without timing
    w.u64(st.inputs.size());
    for (int t : st.inputs) w.i64(t);
    w.u64(st.outputs.size());
    for (int t : st.outputs) w.i64(t);
  }
  w.u64(p.inputs.size());
  for (int t : p.inputs) w.i64(t);
  w.u64(p.outputs.size());
  for (int t : p.outputs) w.i64(t);
  write_manifest(w, p.manifest);
  return w.take();
}

// Offsets of the pooled constants in the data section (each 64-byte aligned).
std::vector<uint64_t> data_offsets(const ConstantPool& pool, uint64_t* total) {
  std::vector<uint64_t> off;
  uint64_t at = 0;
  for (const Tensor& t : pool.tensors()) {
    off.push_back(at);
    at = align_up(at + t.nbytes());
  }
  *total = at;
  return off;
}

// Build info, build options, the constant pool table, then the body.
std::string write_meta(const plan::Plan& p, const EngineFileInfo& info, const ConstantPool& pool,
                       const std::vector<uint64_t>& offsets, const std::string& body) {
  BinaryWriter w;
  w.text(info.producer), w.text(info.model_name), w.text(info.model_hash);
  w.text(info.calib_name), w.text(info.calib_hash), w.text(info.config_name);
  const plan::BuildOptions& o = p.options;
  w.boolean(o.default_precision.has_value());
  w.text(o.default_precision ? precision_name(*o.default_precision) : "");
  w.boolean(o.strict);
  w.i64(o.max_batch);
  w.i64(o.threads);
  w.text(o.backend);
  w.boolean(o.allow_host_fallback);
  w.u64(pool.tensors().size());
  for (size_t i = 0; i < pool.tensors().size(); ++i) {
    const Tensor& t = pool.tensors()[i];
    w.text(dtype_name(t.dtype()));
    w.i64s(t.shape());
    w.u64(offsets[i]);
    w.u64(t.nbytes());
    write_quant(w, t.quant());
  }
  w.raw(body.data(), body.size());
  return w.take();
}

}  // namespace

std::string serialize_engine(const Engine& e, const EngineFileInfo& info) {
  const plan::Plan& p = e.plan();
  if (!p.graph) internal_error("cannot save an engine without a graph").raise();
  ConstantPool pool;
  const std::string body = write_body(p, pool);
  uint64_t data_bytes = 0;
  const std::vector<uint64_t> offsets = data_offsets(pool, &data_bytes);
  const std::string meta = write_meta(p, info, pool, offsets, body);
  const size_t data_off = align_up(kEngineHeaderBytes + meta.size());
  const size_t total = data_off + data_bytes + kEngineTrailerBytes;
  std::string f(total, '\0');
  std::memcpy(&f[0], kMagic, 8);
  put32(f, 8, kEngineFormatVersion);
  put32(f, 12, 0);
  put64(f, 16, total);
  put64(f, 24, kEngineHeaderBytes);
  put64(f, 32, meta.size());
  put64(f, 40, data_off);
  put64(f, 48, data_bytes);
  put64(f, 56, 0);
  std::memcpy(&f[kEngineHeaderBytes], meta.data(), meta.size());
  for (size_t i = 0; i < pool.tensors().size(); ++i) {
    const Tensor& t = pool.tensors()[i];
    if (t.nbytes()) std::memcpy(&f[data_off + offsets[i]], t.raw(), t.nbytes());
  }
  put64(f, total - 16, checksum64(f.data(), total - 16, kEngineChecksumSeed));
  std::memcpy(&f[total - 8], kEndMagic, 8);
  return f;
}

EngineFileInfo save_engine(const Engine& e, const EngineFileInfo& info, const std::string& path) {
  const std::string bytes = serialize_engine(e, info);
  TempFileGuard guard(temp_path_for(path));
  const std::string& tmp = guard.path();
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f)
    invalid_input(str("cannot write the engine file: ", std::strerror(errno))).file(path).raise();
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  const bool closed = std::fclose(f) == 0;
  if (!ok || !closed || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    invalid_input("cannot write the engine file: " + why).file(path).raise();
  }
  guard.release();
  EngineFileInfo out = info;
  out.format_version = kEngineFormatVersion;
  out.file_bytes = bytes.size();
  out.weight_bytes = get64(bytes.data() + 48);
  out.checksum = hex64(get64(bytes.data() + bytes.size() - 16));
  return out;
}

}  // namespace mpq::runtime
