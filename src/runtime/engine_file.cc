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

#include "ir/op_def.h"
#include "runtime/binary_io.h"

namespace mpq::runtime {

namespace {

constexpr char kMagic[8] = {'M', 'P', 'Q', 'E', '\r', '\n', '\x1a', '\n'};
constexpr char kEndMagic[8] = {'M', 'P', 'Q', 'E', 'E', 'N', 'D', '\n'};
constexpr size_t kAlign = 64;

size_t align_up(size_t n) {
  return (n + kAlign - 1) / kAlign * kAlign;
}

std::string hex64(uint64_t v) {
  char b[32];
  std::snprintf(b, sizeof b, "c64:%016llx", static_cast<unsigned long long>(v));
  return b;
}

double process_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

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

void put64(std::string& s, size_t at, uint64_t v) {
  std::memcpy(&s[at], &v, 8);
}
void put32(std::string& s, size_t at, uint32_t v) {
  std::memcpy(&s[at], &v, 4);
}
uint64_t get64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
uint32_t get32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// ---------------------------------------------------------------- reading

// The whole file in one 64-byte-aligned buffer; constants become views into it.
struct FileBuffer {
  std::shared_ptr<void> data;
  size_t size = 0;
  const char* bytes() const { return static_cast<const char*>(data.get()); }
};

FileBuffer aligned_buffer(size_t n) {
  void* p = std::aligned_alloc(kAlign, align_up(std::max<size_t>(n, 1)));
  if (!p) internal_error(str("out of memory allocating ", n, " bytes")).raise();
  return FileBuffer{std::shared_ptr<void>(p, std::free), n};
}

FileBuffer read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    not_found(str("cannot open the engine file: ", std::strerror(errno))).file(path).raise();
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    invalid_input("not a regular file (expected an engine written by `mpq build`)")
        .file(path)
        .raise();
  }
  FileBuffer b = aligned_buffer(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < b.size) {
    const ssize_t r = ::read(fd, static_cast<char*>(b.data.get()) + got, b.size - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      ::close(fd);
      invalid_input(
          str("cannot read the engine file: ", r < 0 ? std::strerror(errno) : "short read"))
          .file(path)
          .raise();
    }
    got += static_cast<size_t>(r);
  }
  ::close(fd);
  return b;
}

// Checks everything but the meta's contents; returns the info fields the header holds.
void verify(const FileBuffer& b, const std::string& name, EngineFileInfo* info) {
  const char* p = b.bytes();
  const size_t n = b.size;
  auto bad = [&](const std::string& msg) { invalid_input(msg).file(name).raise(); };
  if (n < 8 || std::memcmp(p, kMagic, 8) != 0)
    bad(n < 8 ? str("not an mpq engine file (", n,
                    " bytes; expected an engine written by `mpq build`)")
              : "not an mpq engine file (wrong magic bytes; expected an engine written by `mpq "
                "build`)");
  if (n < kEngineHeaderBytes)
    bad(str("engine file is truncated: ", n, " bytes, shorter than its ", kEngineHeaderBytes,
            "-byte header; rebuild it with `mpq build`"));
  const uint32_t version = get32(p + 8);
  if (version > kEngineFormatVersion)
    bad(str("engine file format version ", version, " is newer than this mpq reads (version ",
            kEngineFormatVersion,
            "); rebuild the engine with this mpq (`mpq build`) or use a newer mpq"));
  if (version < 1)
    bad(str("engine file format version ", version, " is not supported (this mpq reads version ",
            kEngineFormatVersion, "); rebuild it with `mpq build`"));
  const uint64_t file_size = get64(p + 16);
  if (file_size != n)
    bad(file_size > n ? str("engine file is truncated: ", n, " bytes, its header says ", file_size,
                            "; rebuild it with `mpq build`")
                      : str("engine file has ", n, " bytes, its header says ", file_size,
                            " (trailing or corrupted data); rebuild it with `mpq build`"));
  if (n < kEngineHeaderBytes + kEngineTrailerBytes || std::memcmp(p + n - 8, kEndMagic, 8) != 0)
    bad("engine file is corrupted (its end marker is missing); rebuild it with `mpq build`");
  const uint64_t want = get64(p + n - 16);
  const uint64_t have = checksum64(p, n - 16, kEngineChecksumSeed);
  if (want != have)
    bad(str("engine file is corrupted (checksum ", hex64(have), " does not match the recorded ",
            hex64(want), "); rebuild it with `mpq build`"));
  const uint32_t flags = get32(p + 12);
  const uint64_t meta_off = get64(p + 24), meta_size = get64(p + 32);
  const uint64_t data_off = get64(p + 40), data_size = get64(p + 48);
  const uint64_t body_end = n - kEngineTrailerBytes;
  if (flags != 0 || get64(p + 56) != 0 || meta_off != kEngineHeaderBytes || meta_size > body_end ||
      meta_off + meta_size > data_off || data_off % kAlign != 0 || data_off > body_end ||
      data_size != body_end - data_off)
    bad("malformed engine file (inconsistent section table); rebuild it with `mpq build`");
  info->format_version = version;
  info->file_bytes = n;
  info->weight_bytes = data_size;
  info->checksum = hex64(want);
}

// Parses the meta section of a verified file into a plan (constants become views of the file
// buffer). Every count and index is checked, so even a well-checksummed but crafted file cannot
// make it read out of bounds.
class MetaReader {
 public:
  MetaReader(const FileBuffer& b, std::string name)
      : buf_(b),
        r_(b.bytes() + get64(b.bytes() + 24), get64(b.bytes() + 32), name),
        data_off_(get64(b.bytes() + 40)),
        data_size_(get64(b.bytes() + 48)),
        name_(std::move(name)) {}

  EngineFileContents read(EngineFileInfo info) {
    EngineFileContents c;
    r_.field("build info");
    info.producer = r_.text(), info.model_name = r_.text(), info.model_hash = r_.text();
    info.calib_name = r_.text(), info.calib_hash = r_.text(), info.config_name = r_.text();
    c.info = std::move(info);

    r_.field("build options");
    plan::BuildOptions& o = c.plan.options;
    const bool has_default = r_.boolean();
    const std::string dp = r_.text();
    if (has_default) o.default_precision = precision(dp);
    o.strict = r_.boolean();
    o.max_batch = r_.i64();
    o.threads = static_cast<int>(r_.i64());
    o.backend = r_.text();
    if (o.max_batch < 1 || o.threads < 0) r_.fail("bad maximum batch or thread count");

    read_pool();
    read_graph(c.plan);
    read_plan(c.plan);
    read_manifest(c.plan.manifest);
    r_.field("end of meta");
    if (!r_.done()) r_.fail(str(r_.remaining(), " unexpected bytes after the manifest"));
    return c;
  }

 private:
  Precision precision(const std::string& s) {
    auto p = parse_precision(s);
    if (!p) r_.fail("unknown precision '" + s + "'");
    return *p;
  }
  DType dtype() {
    const std::string s = r_.text();
    DType d;
    if (!parse_dtype(s, &d)) r_.fail("unknown dtype '" + s + "'");
    return d;
  }
  Shape shape(bool allow_unknown) {
    Shape s = r_.i64s();
    for (int64_t d : s)
      if (d < (allow_unknown ? -1 : 0) || d > (int64_t{1} << 40)) r_.fail(str("bad dimension ", d));
    return s;
  }
  const Tensor& constant(int64_t i) {
    if (i < 0 || static_cast<uint64_t>(i) >= pool_.size())
      r_.fail(str("constant index ", i, " is outside the pool"));
    return pool_[i];
  }

  std::optional<QuantParams> quant() {
    if (!r_.boolean()) return std::nullopt;
    QuantParams q;
    q.scale.resize(r_.count(4));
    for (auto& s : q.scale) s = r_.f32();
    q.zero_point.resize(r_.count(4));
    for (auto& z : q.zero_point) z = static_cast<int32_t>(r_.u32());
    q.axis = static_cast<int>(r_.i64());
    q.bits = static_cast<int>(r_.i64());
    q.is_signed = r_.boolean();
    if (q.bits < 1 || q.bits > 32 || q.zero_point.size() != q.scale.size())
      r_.fail("bad quantization parameters");
    return q;
  }

  void read_pool() {
    r_.field("constant pool");
    pool_.resize(r_.count(8 * 4));
    for (size_t i = 0; i < pool_.size(); ++i) {
      r_.field(str("constant pool[", i, "]"));
      const DType d = dtype();
      const Shape s = shape(false);
      uint64_t numel = 1;
      for (int64_t x : s) {
        if (x > 0 && numel > (uint64_t{1} << 40) / static_cast<uint64_t>(x))
          r_.fail("constant is too large");
        numel *= static_cast<uint64_t>(x);
      }
      const uint64_t off = r_.u64(), nbytes = r_.u64();
      std::optional<QuantParams> q = quant();
      if (nbytes != numel * dtype_size(d) || off % kAlign != 0 || off > data_size_ ||
          nbytes > data_size_ - off)
        r_.fail("constant lies outside the data section");
      char* at = static_cast<char*>(buf_.data.get()) + data_off_ + off;
      pool_[i] = Tensor::view(d, s, at, buf_.data);
      pool_[i].set_quant(q);
    }
  }

  AttrValue attr() {
    const std::string type = r_.text();
    if (type == attr_type_name(AttrType::kInt)) return r_.i64();
    if (type == attr_type_name(AttrType::kFloat)) return r_.f32();
    if (type == attr_type_name(AttrType::kString)) return r_.text();
    if (type == attr_type_name(AttrType::kInts)) return r_.i64s();
    if (type == attr_type_name(AttrType::kFloats)) {
      std::vector<float> v(r_.count(4));
      for (auto& f : v) f = r_.f32();
      return v;
    }
    if (type == attr_type_name(AttrType::kStrings)) {
      std::vector<std::string> v(r_.count(8));
      for (auto& s : v) s = r_.text();
      return v;
    }
    if (type == attr_type_name(AttrType::kTensor)) return constant(r_.i64());
    r_.fail("unknown attribute type '" + type + "'");
  }

  void read_graph(plan::Plan& p) {
    r_.field("graph");
    p.graph = std::make_unique<Graph>();
    Graph& g = *p.graph;
    g.name = r_.text();
    g.opset = r_.i64();
    const uint64_t num_inputs = r_.u64();
    const uint64_t nv = r_.count(8 + 8 + 8 + 1 + 8);
    if (num_inputs > nv) r_.fail("more graph inputs than values");
    struct VRec {
      std::string name;
      DType dtype;
      Shape shape;
      bool has_type;
      int64_t constant;
    };
    std::vector<VRec> recs(nv);
    for (uint64_t i = 0; i < nv; ++i) {
      r_.field(str("graph.values[", i, "]"));
      VRec& v = recs[i];
      v.name = r_.text();
      v.dtype = dtype();
      v.shape = shape(true);
      v.has_type = r_.boolean();
      v.constant = r_.i64();
      if (v.constant != -1) constant(v.constant);  // range check
    }
    struct NRec {
      std::string name, op, module_path;
      std::vector<int64_t> in, out;
      Attributes attrs;
    };
    r_.field("graph.nodes");
    std::vector<NRec> nrecs(r_.count(8 * 6));
    std::vector<char> produced(nv, 0);
    for (size_t k = 0; k < nrecs.size(); ++k) {
      r_.field(str("graph.nodes[", k, "]"));
      NRec& n = nrecs[k];
      n.name = r_.text();
      n.op = r_.text();
      n.module_path = r_.text();
      n.in.resize(r_.count(8));
      for (auto& x : n.in) x = r_.index(nv, true);
      n.out.resize(r_.count(8));
      for (auto& x : n.out) {
        x = r_.index(nv);
        if (static_cast<uint64_t>(x) < num_inputs || produced[x] || recs[x].constant >= 0)
          r_.fail(str("value '", recs[x].name, "' is produced twice"));
        produced[x] = 1;
      }
      const uint64_t na = r_.count(8 + 8);
      for (uint64_t a = 0; a < na; ++a) {
        std::string key = r_.text();
        n.attrs.set(key, attr());
      }
    }
    r_.field("graph.outputs");
    std::vector<int64_t> outs(r_.count(8));
    for (auto& o : outs) o = r_.index(nv);

    // Rebuild: inputs, then unproduced values, then the nodes in order.
    values_.assign(nv, nullptr);
    auto set = [&](uint64_t i, Value* v) {
      v->dtype = recs[i].dtype;
      v->shape = recs[i].shape;
      v->has_type = recs[i].has_type;
      if (recs[i].constant >= 0) v->constant = pool_[recs[i].constant];
      values_[i] = v;
    };
    try {
      for (uint64_t i = 0; i < num_inputs; ++i)
        set(i, g.add_input(recs[i].name, recs[i].dtype, recs[i].shape));
      for (uint64_t i = num_inputs; i < nv; ++i)
        if (!produced[i]) set(i, g.add_value(recs[i].name));
      for (size_t k = 0; k < nrecs.size(); ++k) {
        r_.field(str("graph.nodes[", k, "]"));
        NRec& n = nrecs[k];
        const OpDef* def = find_op_def(n.op);
        if (!def)
          unsupported(str("the engine uses op '", n.op,
                          "', which this mpq does not know; rebuild the engine with this mpq"))
              .file(name_)
              .node(n.name)
              .raise();
        std::vector<Value*> ins;
        for (int64_t x : n.in) {
          if (x >= 0 && !values_[x])
            r_.fail(str("node input '", recs[x].name, "' is used before it is produced"));
          ins.push_back(x >= 0 ? values_[x] : nullptr);
        }
        std::vector<std::string> out_names;
        for (int64_t x : n.out) out_names.push_back(recs[x].name);
        Node* node = g.add_node(def->kind, n.name, ins, out_names, std::move(n.attrs));
        if (node->name != n.name) r_.fail(str("duplicate node name '", n.name, "'"));
        node->module_path = n.module_path;
        for (size_t j = 0; j < n.out.size(); ++j) set(n.out[j], node->outputs[j]);
        nodes_.push_back(node);
      }
    } catch (const Error& e) {
      if (!e.status().file.empty()) throw;
      r_.fail(e.status().to_string());  // e.g. a duplicate value name
    }
    std::vector<Value*> gouts;
    for (int64_t o : outs) gouts.push_back(values_[o]);
    g.set_outputs(gouts);
  }

  void read_plan(plan::Plan& p) {
    r_.field("plan.tensors");
    const uint64_t nt = r_.count(8 * 4);
    p.tensors.resize(nt);
    for (uint64_t i = 0; i < nt; ++i) {
      r_.field(str("plan.tensors[", i, "]"));
      TensorSpec& s = p.tensors[i];
      s.name = r_.text();
      s.dtype = dtype();
      s.shape = shape(true);
      const std::string layout = r_.text();
      if (!parse_layout(layout, &s.layout)) r_.fail("unknown layout '" + layout + "'");
      s.batched = r_.boolean();
      s.quant = quant();
      const int64_t c = r_.i64();
      if (c != -1) s.constant = constant(c);
      if (!p.tensor_index.emplace(s.name, static_cast<int>(i)).second)
        r_.fail("duplicate tensor name '" + s.name + "'");
    }
    r_.field("plan.steps");
    const uint64_t ns = r_.count(8 * 5);
    const KernelRegistry& reg = KernelRegistry::instance();
    for (uint64_t k = 0; k < ns; ++k) {
      r_.field(str("plan.steps[", k, "]"));
      plan::Step st;
      st.node = nodes_[r_.index(nodes_.size())];
      st.precision = precision(r_.text());
      st.backend = r_.text();
      st.kernel_name = r_.text();
      st.inputs.resize(r_.count(8));
      for (auto& t : st.inputs) t = static_cast<int>(r_.index(nt, true));
      st.outputs.resize(r_.count(8));
      for (auto& t : st.outputs) t = static_cast<int>(r_.index(nt));
      if (st.inputs.size() != st.node->inputs.size() ||
          st.outputs.size() != st.node->outputs.size())
        r_.fail("step inputs/outputs do not match its node");
      const KernelInfo* ki = reg.by_name(st.kernel_name);
      if (!ki || ki->backend != st.backend)
        unsupported(str("the engine needs kernel '", st.kernel_name, "' of backend '", st.backend,
                        "', which this mpq build does not have; rebuild the engine here (`mpq "
                        "build`) or use an mpq built with that backend"))
            .file(name_)
            .node(st.node->name)
            .raise();
      p.steps.push_back(std::move(st));
    }
    r_.field("plan.inputs");
    p.inputs.resize(r_.count(8));
    for (auto& t : p.inputs) t = static_cast<int>(r_.index(nt));
    r_.field("plan.outputs");
    p.outputs.resize(r_.count(8));
    for (auto& t : p.outputs) t = static_cast<int>(r_.index(nt));
  }

  void read_manifest(plan::Manifest& m) {
    r_.field("manifest");
    m.layers.resize(r_.count(8 * 13));
    for (plan::LayerReport& l : m.layers) {
      l.name = r_.text(), l.module_path = r_.text(), l.op = r_.text();
      l.requested = precision(r_.text()), l.source = r_.text(), l.executed = precision(r_.text());
      l.backend = r_.text(), l.kernel = r_.text(), l.impl = r_.text();
      l.fused.resize(r_.count(8));
      for (auto& f : l.fused) f = r_.text();
      l.input_dtype = r_.text(), l.output_dtype = r_.text(), l.reason = r_.text();
    }
    m.notes.resize(r_.count(8));
    for (auto& n : m.notes) n = r_.text();
    m.average_bits = r_.f64();
  }

  const FileBuffer& buf_;
  BinaryReader r_;
  uint64_t data_off_, data_size_;
  std::string name_;
  std::vector<Tensor> pool_;
  std::vector<Value*> values_;
  std::vector<Node*> nodes_;
};

EngineFileContents parse_buffer(const FileBuffer& b, const std::string& name, LoadStats* stats) {
  auto t0 = std::chrono::steady_clock::now();
  EngineFileInfo info;
  verify(b, name, &info);
  if (stats) stats->verify_ms = ms_since(t0);
  t0 = std::chrono::steady_clock::now();
  EngineFileContents c = MetaReader(b, name).read(std::move(info));
  if (stats) stats->parse_ms = ms_since(t0);
  return c;
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
  const std::string tmp = str(path, ".tmp.", ::getpid());
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f)
    invalid_input(str("cannot write the engine file: ", std::strerror(errno))).file(path).raise();
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  const bool closed = std::fclose(f) == 0;
  if (!ok || !closed || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    invalid_input("cannot write the engine file: " + why).file(path).raise();
  }
  EngineFileInfo out = info;
  out.format_version = kEngineFormatVersion;
  out.file_bytes = bytes.size();
  out.weight_bytes = get64(bytes.data() + 48);
  out.checksum = hex64(get64(bytes.data() + bytes.size() - 16));
  return out;
}

EngineFileContents read_engine_file(const std::string& path) {
  return parse_buffer(read_file(path), path, nullptr);
}

EngineFileContents parse_engine_bytes(const std::string& bytes, const std::string& name) {
  FileBuffer b = aligned_buffer(bytes.size());
  if (!bytes.empty()) std::memcpy(b.data.get(), bytes.data(), bytes.size());
  return parse_buffer(b, name, nullptr);
}

LoadedEngine load_engine(const std::string& path) {
  const auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = process_cpu_ms();
  LoadedEngine le;
  FileBuffer b = read_file(path);
  le.stats.read_ms = ms_since(t0);
  EngineFileContents c = parse_buffer(b, path, &le.stats);
  const auto t1 = std::chrono::steady_clock::now();
  try {
    le.engine = Engine::from_plan(std::move(c.plan));
  } catch (const Error& e) {
    throw e.with_file(path);
  }
  le.stats.prepare_ms = ms_since(t1);
  le.stats.total_ms = ms_since(t0);
  le.stats.cpu_ms = process_cpu_ms() - cpu0;
  le.info = std::move(c.info);
  return le;
}

}  // namespace mpq::runtime
