// Engine file (.mpqe): round trip (same outputs bit for bit, same bytes when saved again),
// truncation at many offsets, every byte flipped, future format version, foreign files, crafted
// files with a valid checksum, and wrong inputs to a loaded engine.
#include "runtime/engine_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "backends/backend.h"
#include "backends/reference/executor.h"
#include "core/rng.h"
#include "engine_test_util.h"
#include "runtime/binary_io.h"
#include "zoo/graph_builder.h"
#include "zoo/zoo.h"

namespace mpq::runtime {
namespace {

namespace fs = std::filesystem;

Tensor random_input(Shape shape, uint64_t seed) {
  Tensor t(DType::f32, std::move(shape));
  Rng rng(seed);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(rng.normal());
  return t;
}

// conv-bn-relu, maxpool, conv + residual add, relu, flatten, linear: small, but it exercises BN
// folding, activation and residual fusion, int8 boundaries and every section of the file.
std::unique_ptr<Graph> tiny_net() {
  auto g = std::make_unique<Graph>();
  g->name = "tiny";
  zoo::GraphBuilder b(*g, 7);
  Value* x = b.input("input", {-1, 1, 8, 8});
  Value* c1 = b.relu(b.batchnorm(b.conv(x, "conv1", 4, 3, 1, 1, false), "bn1"), "relu1");
  Value* p = b.maxpool(c1, "pool", 2, 2);
  Value* c2 = b.conv(p, "conv2", 4, 3, 1, 1);
  Value* r = b.relu(b.add(c2, p, ""), "relu2");
  Value* f = b.flatten(r, "", 1);
  b.name_next("output");
  b.output(b.linear(f, "fc", 10));
  return g;
}

// Per-tensor min/max over a reference run (what `mpq calibrate --method minmax` computes).
quant::CalibrationTable minmax_table(const Graph& g, const Tensor& x) {
  return testing::minmax_table(g, {x});
}

std::shared_ptr<const Engine> build(const Graph& g, const quant::CalibrationTable* t, Precision p,
                                    int64_t batch = 4) {
  plan::BuildOptions o;
  o.default_precision = p;
  o.max_batch = batch;
  o.threads = 1;
  o.backend = "cpu";
  return Engine::build(g, t, o);
}

EngineFileInfo test_info() {
  EngineFileInfo i;
  i.producer = "mpq test";
  i.model_name = "tiny";
  i.model_hash = "fnv1a64:0000000000000001";
  return i;
}

std::vector<Tensor> run(const std::shared_ptr<const Engine>& e, const Tensor& x) {
  ExecutionContext ctx(e);
  return ctx.run({x});
}

void expect_bit_exact(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].dtype(), b[i].dtype());
    ASSERT_EQ(a[i].shape(), b[i].shape());
    EXPECT_EQ(std::memcmp(a[i].raw(), b[i].raw(), a[i].nbytes()), 0) << "output " << i;
  }
}

// The Error a parse throws (fails the test if it does not throw one).
Status parse_error(const std::string& bytes, const std::string& name = "e.mpqe") {
  try {
    parse_engine_bytes(bytes, name);
  } catch (const Error& e) {
    return e.status();
  }
  ADD_FAILURE() << "parse did not fail";
  return {};
}

void rechecksum(std::string& f) {
  const uint64_t c = checksum64(f.data(), f.size() - 16, kEngineChecksumSeed);
  std::memcpy(&f[f.size() - 16], &c, 8);
}

class EngineFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_ = tiny_net();
    x_ = random_input({4, 1, 8, 8}, 1);
    table_ = minmax_table(*g_, x_);
  }
  std::unique_ptr<Graph> g_;
  Tensor x_;
  quant::CalibrationTable table_;
};

TEST_F(EngineFileTest, RoundTripIsBitExactAndStable) {
  for (Precision p : {Precision::kFp32, Precision::kBf16, Precision::kInt8}) {
    SCOPED_TRACE(precision_name(p));
    auto e = build(*g_, &table_, p);
    const std::string bytes = serialize_engine(*e, test_info());
    EngineFileContents c = parse_engine_bytes(bytes, "tiny.mpqe");
    EXPECT_EQ(c.info.model_hash, "fnv1a64:0000000000000001");
    EXPECT_EQ(c.info.producer, "mpq test");
    EXPECT_EQ(c.info.file_bytes, bytes.size());
    EXPECT_EQ(c.plan.options.max_batch, 4);
    ASSERT_EQ(c.plan.manifest.layers.size(), e->manifest().layers.size());
    for (size_t i = 0; i < c.plan.manifest.layers.size(); ++i) {
      EXPECT_EQ(c.plan.manifest.layers[i].name, e->manifest().layers[i].name);
      EXPECT_EQ(c.plan.manifest.layers[i].executed, e->manifest().layers[i].executed);
      EXPECT_EQ(c.plan.manifest.layers[i].reason, e->manifest().layers[i].reason);
    }
    ASSERT_EQ(c.plan.steps.size(), e->plan().steps.size());
    for (size_t i = 0; i < c.plan.steps.size(); ++i) {  // same kernels and chosen algorithms
      EXPECT_EQ(c.plan.steps[i].kernel_name, e->plan().steps[i].kernel_name);
      EXPECT_EQ(c.plan.steps[i].variant, e->plan().steps[i].variant);
      EXPECT_EQ(c.plan.steps[i].node->name, e->plan().steps[i].node->name);
    }
    auto loaded = Engine::from_plan(std::move(c.plan));
    expect_bit_exact(run(e, x_), run(loaded, x_));
    // A smaller batch than the maximum too.
    Tensor x2 = random_input({3, 1, 8, 8}, 2);
    expect_bit_exact(run(e, x2), run(loaded, x2));
    // Saving the loaded engine gives the same bytes.
    EXPECT_EQ(serialize_engine(*loaded, test_info()), bytes);
  }
}

TEST_F(EngineFileTest, Int8EngineRunsInt8AfterLoad) {
  auto e = build(*g_, &table_, Precision::kInt8);
  int int8_layers = 0;
  for (const auto& l : e->manifest().layers) int8_layers += l.executed == Precision::kInt8;
  EXPECT_GE(int8_layers, 3);  // both convs and the linear layer at least
  auto c = parse_engine_bytes(serialize_engine(*e, test_info()), "x");
  auto loaded = Engine::from_plan(std::move(c.plan));
  int after = 0;
  for (const auto& l : loaded->manifest().layers) {
    after += l.executed == Precision::kInt8;
    if (l.backend == "cpu") EXPECT_FALSE(l.impl.empty()) << l.name;  // prepared on this machine
  }
  EXPECT_EQ(after, int8_layers);
}

TEST_F(EngineFileTest, SaveIsAtomicAndLoadChecksTheFile) {
  const fs::path dir = fs::temp_directory_path() / str("mpq_engine_file_", ::getpid());
  fs::create_directories(dir);
  const std::string path = (dir / "tiny.mpqe").string();
  auto e = build(*g_, &table_, Precision::kInt8);
  EngineFileInfo saved = save_engine(*e, test_info(), path);
  EXPECT_EQ(saved.file_bytes, fs::file_size(path));
  EXPECT_EQ(saved.checksum.rfind("c64:", 0), 0u);
  for (const auto& ent : fs::directory_iterator(dir))
    EXPECT_EQ(ent.path().filename(), "tiny.mpqe");  // no temp file left behind
  LoadedEngine le = load_engine(path);
  EXPECT_EQ(le.info.checksum, saved.checksum);
  EXPECT_GT(le.stats.total_ms, 0.0);
  expect_bit_exact(run(e, x_), run(le.engine, x_));

  // Saving into a folder that does not exist fails naming the file and leaves nothing.
  try {
    save_engine(*e, test_info(), (dir / "no" / "x.mpqe").string());
    FAIL();
  } catch (const Error& err) {
    EXPECT_EQ(err.status().code, Code::kInvalidInput);
    EXPECT_NE(err.status().file.find("x.mpqe"), std::string::npos);
  }
  try {
    load_engine((dir / "missing.mpqe").string());
    FAIL();
  } catch (const Error& err) {
    EXPECT_EQ(err.status().code, Code::kNotFound);
    EXPECT_NE(err.status().to_string().find("missing.mpqe"), std::string::npos);
  }
  fs::remove_all(dir);
}

TEST_F(EngineFileTest, TruncatedAtAnyOffsetIsRejected) {
  const std::string f = serialize_engine(*build(*g_, &table_, Precision::kInt8), test_info());
  std::vector<size_t> cuts = {0,
                              1,
                              7,
                              8,
                              12,
                              63,
                              64,
                              65,
                              f.size() / 2,
                              f.size() - 17,
                              f.size() - 16,
                              f.size() - 9,
                              f.size() - 8,
                              f.size() - 1};
  for (size_t k = 100; k < f.size(); k += 97) cuts.push_back(k);
  for (size_t k : cuts) {
    SCOPED_TRACE(k);
    Status s = parse_error(f.substr(0, k), "cut.mpqe");
    EXPECT_EQ(s.code, Code::kInvalidInput);
    EXPECT_EQ(s.file, "cut.mpqe");
    const std::string m = s.message;
    EXPECT_TRUE(m.find("truncated") != std::string::npos ||
                m.find("not an mpq engine file") != std::string::npos)
        << m;
  }
  // Trailing garbage is refused too.
  Status s = parse_error(f + "xx");
  EXPECT_NE(s.message.find("header says"), std::string::npos) << s.message;
}

TEST_F(EngineFileTest, EveryByteFlipIsRejected) {
  const std::string f = serialize_engine(*build(*g_, &table_, Precision::kInt8), test_info());
  ASSERT_LT(f.size(), 64u * 1024);  // small enough to flip every byte
  for (size_t i = 0; i < f.size(); ++i) {
    std::string b = f;
    b[i] = static_cast<char>(b[i] ^ (1 << (i % 8)));
    try {
      parse_engine_bytes(b, "flip.mpqe");
      ADD_FAILURE() << "byte " << i << " flipped was accepted";
    } catch (const Error& e) {
      ASSERT_EQ(e.status().code, Code::kInvalidInput) << i << ": " << e.what();
      ASSERT_EQ(e.status().file, "flip.mpqe");
    }
  }
}

TEST_F(EngineFileTest, FutureAndBadVersionsAreRejected) {
  std::string f = serialize_engine(*build(*g_, &table_, Precision::kFp32), test_info());
  const uint32_t future = kEngineFormatVersion + 1;
  std::memcpy(&f[8], &future, 4);
  rechecksum(f);
  Status s = parse_error(f, "future.mpqe");
  EXPECT_EQ(s.code, Code::kInvalidInput);
  EXPECT_NE(s.message.find(str("format version ", future, " is newer than this mpq reads")),
            std::string::npos)
      << s.message;
  EXPECT_NE(s.to_string().find("future.mpqe"), std::string::npos);
  const uint32_t zero = 0;
  std::memcpy(&f[8], &zero, 4);
  rechecksum(f);
  EXPECT_NE(parse_error(f).message.find("is older than this mpq reads"), std::string::npos);
}

TEST_F(EngineFileTest, ForeignFilesAreRejected) {
  for (const std::string& junk :
       {std::string(), std::string("hello"), std::string(200, 'x'),
        std::string("\x08\x07\x12\x07pytorch", 11) + std::string(100, '\0')}) {
    Status s = parse_error(junk, "model.onnx");
    EXPECT_EQ(s.code, Code::kInvalidInput);
    EXPECT_NE(s.message.find("not an mpq engine file"), std::string::npos) << s.message;
  }
}

// A file whose checksum was recomputed after tampering (not an accident: a crafted file) is
// still parsed safely: any failure is an mpq::Error, never a crash or a huge allocation.
TEST_F(EngineFileTest, CraftedFilesWithValidChecksumFailCleanly) {
  const std::string f = serialize_engine(*build(*g_, &table_, Precision::kInt8), test_info());
  uint64_t meta_size;
  std::memcpy(&meta_size, &f[32], 8);
  int rejected = 0;
  for (size_t i = 64; i < 64 + meta_size; i += 3) {
    std::string b = f;
    b[i] = static_cast<char>(b[i] ^ 0xff);
    rechecksum(b);
    try {
      parse_engine_bytes(b, "crafted.mpqe");
    } catch (const Error& e) {
      ++rejected;
      EXPECT_NE(e.status().code, Code::kInternal) << i << ": " << e.what();
    }
  }
  EXPECT_GT(rejected, 0);
  // A huge count right after the header.
  std::string b = f;
  const uint64_t huge = ~uint64_t{0} >> 1;
  std::memcpy(&b[64], &huge, 8);
  rechecksum(b);
  EXPECT_NE(parse_error(b).message.find("malformed engine file"), std::string::npos);
}

// OpenMP ends the process when it cannot start the threads asked for: a file asking for more
// than mpq's cap is refused while it is read, and so are such options at build and run time.
TEST_F(EngineFileTest, HugeThreadCountIsRefused) {
  const std::string f = serialize_engine(*build(*g_, &table_, Precision::kInt8), test_info());
  int64_t pair[2] = {4, 1};  // the build options' maximum batch and thread count, as written
  const std::string needle(reinterpret_cast<const char*>(pair), sizeof(pair));
  const size_t at = f.find(needle);
  ASSERT_NE(at, std::string::npos);
  std::string b = f;
  const int64_t threads = 100000;
  std::memcpy(&b[at + 8], &threads, 8);
  rechecksum(b);
  EXPECT_NE(parse_error(b).message.find("bad thread count"), std::string::npos);

  plan::BuildOptions o;
  o.max_batch = 4;
  o.threads = 100000;
  try {
    Engine::build(*g_, &table_, o);
    ADD_FAILURE() << "built with 100000 threads";
  } catch (const Error& e) {
    EXPECT_EQ(e.status().code, Code::kInvalidInput);
    EXPECT_EQ(e.status().key, "threads");
  }
  auto e = build(*g_, &table_, Precision::kInt8);
  EXPECT_THROW({ ExecutionContext c(e, 100000); }, Error);
}

// A step naming a kernel of another op (the same length of name, so the file stays well formed)
// is refused at load, before that kernel reads attributes its op does not have.
TEST_F(EngineFileTest, StepWithAnotherOpsKernelIsRefused) {
  auto e = build(*g_, &table_, Precision::kFp32);
  const std::string f = serialize_engine(*e, test_info());
  const plan::Step& st = e->plan().steps.back();
  const KernelInfo* other = nullptr;
  for (const KernelInfo& k : KernelRegistry::instance().all())
    if (k.op != st.node->op && k.backend == st.backend && k.name.size() == st.kernel_name.size())
      other = &k;
  ASSERT_NE(other, nullptr) << "no kernel name of " << st.kernel_name.size() << " characters";
  std::string b = f;
  int replaced = 0;
  for (size_t at = b.find(st.kernel_name); at != std::string::npos;
       at = b.find(st.kernel_name, at + 1), ++replaced)
    b.replace(at, other->name.size(), other->name);
  ASSERT_GT(replaced, 0);
  rechecksum(b);
  const Status s = parse_error(b);
  EXPECT_EQ(s.code, Code::kInvalidInput) << s.message;
  EXPECT_NE(s.message.find("of op"), std::string::npos) << s.message;
}

// Offsets of every record of `shape` (its count, then its dims) in a serialized engine.
std::vector<size_t> shape_records(const std::string& f, const Shape& shape) {
  std::string pat(8 * (shape.size() + 1), '\0');
  const uint64_t n = shape.size();
  std::memcpy(&pat[0], &n, 8);
  std::memcpy(&pat[8], shape.data(), 8 * shape.size());
  std::vector<size_t> at;
  for (size_t i = f.find(pat); i != std::string::npos; i = f.find(pat, i + 1)) at.push_back(i);
  return at;
}

// A weight's dims are recorded in the constant pool, the graph's values and the plan's tensors;
// editing any one of them (and re-sealing the checksum) must fail the load, before a kernel
// packs or quantizes the weight with the wrong sizes.
TEST_F(EngineFileTest, EditedWeightDimsFailBeforeAnyKernel) {
  for (Precision p : {Precision::kFp32, Precision::kInt8}) {
    SCOPED_TRACE(precision_name(p));
    const std::string f = serialize_engine(*build(*g_, &table_, p), test_info());
    const std::vector<size_t> at = shape_records(f, {4, 4, 3, 3});  // conv2's weight
    ASSERT_GE(at.size(), 3u);
    for (size_t pos : at)
      for (int64_t d : {int64_t{0}, int64_t{2}, int64_t{8}, int64_t{1} << 40}) {
        SCOPED_TRACE(::testing::Message() << "record at " << pos << ", dim 0 = " << d);
        std::string b = f;
        std::memcpy(&b[pos + 8], &d, 8);
        rechecksum(b);
        const Status s = parse_error(b);
        EXPECT_EQ(s.code, Code::kInvalidInput) << s.to_string();
        EXPECT_NE(s.message.find("malformed engine file"), std::string::npos) << s.to_string();
        EXPECT_EQ(s.to_string().find('\n'), std::string::npos);
      }
  }
}

// A fused post-op whose name was edited is refused while the file is read.
TEST_F(EngineFileTest, UnknownPostOpNameIsRefused) {
  const std::string f = serialize_engine(*build(*g_, &table_, Precision::kInt8), test_info());
  const std::string relu = std::string("\x04\0\0\0\0\0\0\0", 8) + "Relu";
  int refused = 0;
  for (size_t i = f.find(relu); i != std::string::npos; i = f.find(relu, i + 1)) {
    std::string b = f;
    b[i + 11] = 'x';  // "Relx"
    rechecksum(b);
    try {
      Engine::from_plan(parse_engine_bytes(b, "e.mpqe").plan);
    } catch (const Error& e) {
      EXPECT_EQ(e.status().code, Code::kInvalidInput) << e.what();
      EXPECT_EQ(e.status().file, "e.mpqe");
      if (e.status().message.find("'Relx' is not an op that can be fused") != std::string::npos) {
        ++refused;
        EXPECT_FALSE(e.status().node.empty());
      }
    }
  }
  EXPECT_GT(refused, 0);
}

// Text the file holds is shown escaped in errors: an edited name cannot print raw bytes or
// break the one-line message.
TEST_F(EngineFileTest, ErrorsShowFileTextEscaped) {
  const std::string f = serialize_engine(*build(*g_, &table_, Precision::kFp32), test_info());
  const std::string f32 = std::string("\x03\0\0\0\0\0\0\0", 8) + "f32";
  const size_t at = f.find(f32);
  ASSERT_NE(at, std::string::npos);
  std::string b = f;
  b.replace(at + 8, 3, "\n\x01z");
  rechecksum(b);
  const Status s = parse_error(b);
  EXPECT_NE(s.message.find("unknown dtype '\\x0a\\x01z'"), std::string::npos) << s.message;
  EXPECT_EQ(s.to_string().find('\n'), std::string::npos);
}

TEST_F(EngineFileTest, LoadedEngineRejectsWrongInputs) {
  auto c = parse_engine_bytes(serialize_engine(*build(*g_, &table_, Precision::kInt8), test_info()),
                              "x");
  auto e = Engine::from_plan(std::move(c.plan));
  ExecutionContext ctx(e);
  auto expect_invalid = [&](const Tensor& t) {
    try {
      ctx.run({t});
      ADD_FAILURE() << "accepted " << shape_str(t.shape());
    } catch (const Error& err) {
      EXPECT_EQ(err.status().code, Code::kInvalidInput);
      EXPECT_EQ(err.status().key, "input");
    }
  };
  expect_invalid(random_input({4, 1, 8, 9}, 1));    // wrong shape
  expect_invalid(random_input({5, 1, 8, 8}, 1));    // batch above the maximum
  expect_invalid(Tensor(DType::u8, {4, 1, 8, 8}));  // wrong dtype
  expect_invalid(random_input({4, 8, 8}, 1));       // wrong rank
}

TEST(EngineFileZoo, MnistNaiveMixedRoundTrip) {
  zoo::ZooModel m = zoo::build_zoo_model("mnist_naive");
  Tensor x = random_input({8, 1, 28, 28}, 3);
  quant::CalibrationTable t = minmax_table(*m.graph, x);
  // NNI's PTQ example: conv1 8, conv2 32, fc1 16, fc2 8 bits.
  for (auto [layer, bits] : {std::pair{"conv1", 8}, {"conv2", 32}, {"fc1", 16}, {"fc2", 8}}) {
    quant::LayerPrecision l;
    l.weight_bits = l.output_bits = bits;
    t.layers[layer] = l;
  }
  plan::BuildOptions o;
  o.max_batch = 8;
  o.threads = 1;
  auto e = Engine::build(*m.graph, &t, o);
  std::map<std::string, Precision> exec;
  for (const auto& l : e->manifest().layers) exec[l.module_path] = l.executed;
  EXPECT_EQ(exec["conv1"], Precision::kInt8);
  EXPECT_EQ(exec["conv2"], Precision::kFp32);
  EXPECT_EQ(exec["fc1"], Precision::kBf16);
  EXPECT_EQ(exec["fc2"], Precision::kInt8);
  const std::string bytes = serialize_engine(*e, test_info());
  auto loaded = Engine::from_plan(parse_engine_bytes(bytes, "m").plan);
  expect_bit_exact(run(e, x), run(loaded, x));
  EXPECT_EQ(serialize_engine(*loaded, test_info()), bytes);
}

TEST(Checksum64, DependsOnEveryByteAndLength) {
  std::string s(1000, 'a');
  const uint64_t h = checksum64(s.data(), s.size());
  EXPECT_EQ(h, checksum64(s.data(), s.size()));
  EXPECT_NE(h, checksum64(s.data(), s.size() - 1));
  EXPECT_NE(h, checksum64(s.data(), s.size(), 1));
  for (size_t i = 0; i < s.size(); i += 37) {
    std::string b = s;
    b[i] ^= 1;
    EXPECT_NE(checksum64(b.data(), b.size()), h) << i;
  }
  EXPECT_NE(checksum64("", 0), checksum64("\0", 1));
}

}  // namespace
}  // namespace mpq::runtime
