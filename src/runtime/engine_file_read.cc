// Reading and verifying engine files (format in engine_file.h).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <unordered_map>

#include "core/limits.h"
#include "core/printable.h"
#include "ir/op_def.h"
#include "runtime/binary_io.h"
#include "runtime/engine_file.h"
#include "runtime/engine_file_check.h"
#include "runtime/engine_file_format.h"

namespace mpq::runtime {

using namespace detail;

namespace {

// ---------------------------------------------------------------- reading

// Text from the file as an error shows it: non-printable bytes escaped, at most 64 characters,
// so that an edited file cannot print kilobytes of raw bytes (or several lines) to stderr.
std::string shown(const std::string& s) {
  return printable(s, 64);
}

// The whole file in one 64-byte-aligned buffer; constants become views into it.
struct FileBuffer {
  std::shared_ptr<void> data;
  size_t size = 0;
  const char* bytes() const { return static_cast<const char*>(data.get()); }
};

FileBuffer aligned_buffer(size_t n) {
  // Large files go into 2 MiB-aligned memory marked for transparent huge pages: reading a 45 MB
  // engine then takes ~20 page faults instead of ~11000 (a tenth of the load time).
  constexpr size_t kHuge = size_t{2} << 20;
  const bool huge = n >= 4 * kHuge;
  const size_t align = huge ? kHuge : kAlign;
  const size_t bytes = (std::max<size_t>(n, 1) + align - 1) / align * align;
  void* p = std::aligned_alloc(align, bytes);
  if (!p) internal_error(str("out of memory allocating ", n, " bytes")).raise();
  if (huge) ::madvise(p, bytes, MADV_HUGEPAGE);  // a hint: fine if THP is off
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
  if (version < kEngineFormatVersion)
    bad(str("engine file format version ", version, " is older than this mpq reads (version ",
            kEngineFormatVersion, "); rebuild the engine from its model with `mpq build`"));
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
    const int64_t threads = r_.i64();
    if (threads < 0 || threads > kMaxThreads) r_.fail("bad thread count");
    o.threads = static_cast<int>(threads);
    o.backend = r_.text();
    o.allow_host_fallback = r_.boolean();
    if (o.max_batch < 1) r_.fail("bad maximum batch");

    read_pool();
    read_graph(c.plan);
    read_plan(c.plan);
    read_manifest(c.plan.manifest);
    r_.field("end of meta");
    if (!r_.done()) r_.fail(str(r_.remaining(), " unexpected bytes after the manifest"));
    check_loaded_plan(c.plan, name_);
    return c;
  }

 private:
  Precision precision(const std::string& s) {
    auto p = parse_precision(s);
    if (!p) r_.fail("unknown precision '" + shown(s) + "'");
    return *p;
  }
  DType dtype() {
    const std::string s = r_.text();
    DType d;
    if (!parse_dtype(s, &d)) r_.fail("unknown dtype '" + shown(s) + "'");
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
    r_.fail("unknown attribute type '" + shown(type) + "'");
  }

  // A graph value as the file records it.
  struct ValueRecord {
    std::string name;
    DType dtype;
    Shape shape;
    bool has_type;
    int64_t constant;
  };
  // A node as the file records it: its inputs and outputs are indices into the values.
  struct NodeRecord {
    std::string name, op, module_path;
    std::vector<int64_t> in, out;
    Attributes attrs;
  };

  void read_graph(plan::Plan& p) {
    r_.field("graph");
    p.graph = std::make_unique<Graph>();
    Graph& g = *p.graph;
    g.name = r_.text();
    g.opset = r_.i64();
    const uint64_t num_inputs = r_.u64();
    const uint64_t nv = r_.count(8 + 8 + 8 + 1 + 8);
    if (num_inputs > nv) r_.fail("more graph inputs than values");
    const std::vector<ValueRecord> recs = read_values(nv);
    r_.field("graph.nodes");
    std::vector<NodeRecord> nrecs(r_.count(8 * 6));
    std::vector<char> produced(nv, 0);
    for (size_t k = 0; k < nrecs.size(); ++k) {
      r_.field(str("graph.nodes[", k, "]"));
      nrecs[k] = read_node(recs, num_inputs, produced);
    }
    r_.field("graph.outputs");
    std::vector<int64_t> outs(r_.count(8));
    for (auto& o : outs) o = r_.index(nv);

    // Rebuild: inputs, then unproduced values, then the nodes in order.
    values_.assign(nv, nullptr);
    try {
      for (uint64_t i = 0; i < num_inputs; ++i)
        set_value(recs[i], i, g.add_input(recs[i].name, recs[i].dtype, recs[i].shape));
      for (uint64_t i = num_inputs; i < nv; ++i)
        if (!produced[i]) set_value(recs[i], i, g.add_value(recs[i].name));
      for (size_t k = 0; k < nrecs.size(); ++k) {
        r_.field(str("graph.nodes[", k, "]"));
        add_node(g, recs, nrecs[k]);
      }
    } catch (const Error& e) {
      if (!e.status().file.empty()) throw;
      r_.fail(e.status().to_string());  // e.g. a duplicate value name
    }
    std::vector<Value*> gouts;
    for (int64_t o : outs) gouts.push_back(values_[o]);
    g.set_outputs(gouts);
  }

  std::vector<ValueRecord> read_values(uint64_t nv) {
    std::vector<ValueRecord> recs(nv);
    for (uint64_t i = 0; i < nv; ++i) {
      r_.field(str("graph.values[", i, "]"));
      ValueRecord& v = recs[i];
      v.name = r_.text();
      v.dtype = dtype();
      v.shape = shape(true);
      v.has_type = r_.boolean();
      v.constant = r_.i64();
      if (v.constant != -1) constant(v.constant);  // range check
    }
    return recs;
  }

  // One node record; `produced` marks its outputs (a value is produced once, never an input's
  // or a constant's).
  NodeRecord read_node(const std::vector<ValueRecord>& recs, uint64_t num_inputs,
                       std::vector<char>& produced) {
    const uint64_t nv = recs.size();
    NodeRecord n;
    n.name = r_.text();
    n.op = r_.text();
    n.module_path = r_.text();
    n.in.resize(r_.count(8));
    for (auto& x : n.in) x = r_.index(nv, true);
    n.out.resize(r_.count(8));
    for (auto& x : n.out) {
      x = r_.index(nv);
      if (static_cast<uint64_t>(x) < num_inputs || produced[x] || recs[x].constant >= 0)
        r_.fail(str("value '", shown(recs[x].name), "' is produced twice"));
      produced[x] = 1;
    }
    const uint64_t na = r_.count(8 + 8);
    for (uint64_t a = 0; a < na; ++a) {
      std::string key = r_.text();
      n.attrs.set(key, attr());
    }
    return n;
  }

  void set_value(const ValueRecord& rec, uint64_t i, Value* v) {
    v->dtype = rec.dtype;
    v->shape = rec.shape;
    v->has_type = rec.has_type;
    if (rec.constant >= 0) v->constant = pool_[rec.constant];
    values_[i] = v;
  }

  void add_node(Graph& g, const std::vector<ValueRecord>& recs, NodeRecord& n) {
    const OpDef* def = find_op_def(n.op);
    if (!def)
      unsupported(str("the engine uses op '", shown(n.op),
                      "', which this mpq does not know; rebuild the engine with this mpq"))
          .file(name_)
          .node(n.name)
          .raise();
    std::vector<Value*> ins;
    for (int64_t x : n.in) {
      if (x >= 0 && !values_[x])
        r_.fail(str("node input '", shown(recs[x].name), "' is used before it is produced"));
      ins.push_back(x >= 0 ? values_[x] : nullptr);
    }
    std::vector<std::string> out_names;
    for (int64_t x : n.out) out_names.push_back(recs[x].name);
    Node* node = g.add_node(def->kind, n.name, ins, out_names, std::move(n.attrs));
    if (node->name != n.name) r_.fail(str("duplicate node name '", shown(n.name), "'"));
    node->module_path = n.module_path;
    // Required attributes present, with their types (check_loaded_plan checks the values).
    apply_attr_schema(*node);
    for (size_t j = 0; j < n.out.size(); ++j) set_value(recs[n.out[j]], n.out[j], node->outputs[j]);
    nodes_.push_back(node);
  }

  void read_plan(plan::Plan& p) {
    r_.field("plan.tensors");
    const uint64_t nt = r_.count(8 * 6);
    p.tensors.resize(nt);
    for (uint64_t i = 0; i < nt; ++i) {
      r_.field(str("plan.tensors[", i, "]"));
      TensorSpec& s = p.tensors[i];
      s.name = r_.text();
      s.dtype = dtype();
      s.shape = shape(true);
      const std::string layout = r_.text();
      if (!parse_layout(layout, &s.layout)) r_.fail("unknown layout '" + shown(layout) + "'");
      s.batched = r_.boolean();
      s.batch_dim = static_cast<int>(r_.i64());
      s.batch_mult = r_.i64();
      if (s.batched && (s.batch_dim < 0 || s.batch_dim >= static_cast<int>(s.shape.size()) ||
                        s.batch_mult < 1 || s.shape[s.batch_dim] % s.batch_mult != 0))
        r_.fail("bad batch dim or multiplier");
      s.quant = quant();
      const int64_t c = r_.i64();
      if (c != -1) s.constant = constant(c);
      if (!p.tensor_index.emplace(s.name, static_cast<int>(i)).second)
        r_.fail("duplicate tensor name '" + shown(s.name) + "'");
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
      st.variant = r_.text();
      st.inputs.resize(r_.count(8));
      for (auto& t : st.inputs) t = static_cast<int>(r_.index(nt, true));
      st.outputs.resize(r_.count(8));
      for (auto& t : st.outputs) t = static_cast<int>(r_.index(nt));
      if (st.inputs.size() != st.node->inputs.size() ||
          st.outputs.size() != st.node->outputs.size())
        r_.fail("step inputs/outputs do not match its node");
      const KernelInfo* ki = reg.by_name(st.kernel_name);
      if (!ki || ki->backend != st.backend)
        unsupported(str("the engine needs kernel '", shown(st.kernel_name), "' of backend '",
                        shown(st.backend),
                        "', which this mpq build does not have; rebuild the engine here (`mpq "
                        "build`) or use an mpq built with that backend"))
            .file(name_)
            .node(st.node->name)
            .raise();
      // A kernel is prepared on its own op's attributes and inputs: another op's node is refused.
      if (ki->op != st.node->op)
        r_.fail(str("step of node '", shown(st.node->name), "' names kernel '",
                    shown(st.kernel_name), "' of op ", op_def(ki->op).name, ", not ",
                    st.node->op_name()));
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

EngineFileContents read_engine_file(const std::string& path) {
  return parse_buffer(read_file(path), path, nullptr);
}

EngineFileContents parse_engine_bytes(const std::string& bytes, const std::string& name) {
  FileBuffer b = aligned_buffer(bytes.size());
  if (!bytes.empty()) std::memcpy(b.data.get(), bytes.data(), bytes.size());
  return parse_buffer(b, name, nullptr);
}

std::shared_ptr<const Engine> prepare_loaded_plan(plan::Plan plan, const std::string& name) {
  try {
    return Engine::from_plan(std::move(plan));
  } catch (const Error& e) {
    if (e.status().code != Code::kInternal) throw e.with_file(name);
    invalid_input(
        str("malformed engine file (", e.status().message, "); rebuild it with `mpq build`"))
        .file(name)
        .node(e.status().node)
        .raise();
  }
}

LoadedEngine load_engine(const std::string& path) {
  const auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = process_cpu_ms();
  LoadedEngine le;
  FileBuffer b = read_file(path);
  le.stats.read_ms = ms_since(t0);
  EngineFileContents c = parse_buffer(b, path, &le.stats);
  const auto t1 = std::chrono::steady_clock::now();
  le.engine = prepare_loaded_plan(std::move(c.plan), path);
  le.stats.prepare_ms = ms_since(t1);
  le.stats.total_ms = ms_since(t0);
  le.stats.cpu_ms = process_cpu_ms() - cpu0;
  le.info = std::move(c.info);
  return le;
}

}  // namespace mpq::runtime
