// `mpq zoo`, `mpq list-zoo` and `mpq run` end to end through the built binary: exit codes, output
// files (none left behind on error) and the values `mpq run` writes.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "backends/reference/executor.h"
#include "core/rng.h"
#include "data/dataset.h"
#include "data/npy.h"
#include "frontend/onnx/importer.h"

namespace mpq {
namespace {

namespace fs = std::filesystem;

struct CmdResult {
  int rc = -1;
  std::string out;  // stdout and stderr together
};

CmdResult mpq_cli(const std::string& args) {
  const std::string bin = std::string(MPQ_BINARY_DIR) + "/mpq";
  CmdResult r;
  if (!fs::exists(bin)) {
    r.out = "the mpq binary is not built (cmake --build build --target mpq)";
    return r;
  }
  FILE* p = popen((bin + " " + args + " 2>&1").c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int status = pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class CliZooRun : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           str("mpq_cli_", ::testing::UnitTest::GetInstance()->current_test_info()->name(), "_",
               ::getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string f(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(CliZooRun, ZooWritesModelsAndRejectsBadArguments) {
  CmdResult list = mpq_cli("list-zoo");
  ASSERT_EQ(list.rc, 0) << list.out;
  EXPECT_NE(list.out.find("resnet18_cifar  input [N,3,32,32]"), std::string::npos) << list.out;
  EXPECT_EQ(mpq_cli("zoo --list").out, list.out);

  CmdResult ok = mpq_cli(str("zoo mnist_naive -o ", f("m.onnx"), " --batch 16 --seed 3"));
  ASSERT_EQ(ok.rc, 0) << ok.out;
  EXPECT_NE(ok.out.find("431080 parameters"), std::string::npos) << ok.out;
  auto g = import_onnx(f("m.onnx"));
  EXPECT_EQ(g->inputs()[0]->shape, (Shape{16, 1, 28, 28}));
  EXPECT_EQ(g->find_node("/fc1/Gemm")->module_path, "fc1");

  const std::string out = f("bad.onnx");
  for (const std::string args :
       {"zoo lenet5 --batch 0 -o " + out, "zoo lenet5 --batch many -o " + out,
        "zoo resnet50 -o " + out, std::string("zoo lenet5"), "zoo -o " + out}) {
    CmdResult r = mpq_cli(args);
    EXPECT_EQ(r.rc, 2) << args << "\n" << r.out;
    EXPECT_NE(r.out.find("mpq: error: "), std::string::npos) << r.out;
  }
  EXPECT_FALSE(fs::exists(f("bad.onnx")));
}

TEST_F(CliZooRun, RunWritesTheExecutorsOutputs) {
  ASSERT_EQ(mpq_cli(str("zoo lenet5 -o ", f("l.onnx"), " --seed 1")).rc, 0);
  Tensor x(DType::f32, {5, 1, 28, 28});
  Rng rng(2);
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(rng.normal());
  data::write_npy(f("x.npy"), x);
  CmdResult r =
      mpq_cli(str("run --model ", f("l.onnx"), " --input ", f("x.npy"), " -o ", f("y.npy")));
  ASSERT_EQ(r.rc, 0) << r.out;
  auto g = import_onnx(f("l.onnx"));
  EXPECT_EQ(data::read_npy(f("y.npy")).to_floats(), ReferenceExecutor(*g).run({x})[0].to_floats());

  // Without -o the output is printed.
  data::write_npy(f("x1.npy"), x.reshaped({5, 1, 28, 28}));
  CmdResult printed = mpq_cli(str("run --model ", f("l.onnx"), " --input ", f("x1.npy")));
  EXPECT_NE(printed.out.find("output: f32[5,10]"), std::string::npos) << printed.out;

  // Wrong shape, wrong dtype, missing file: exit 2 naming the file, no output file.
  data::write_npy(f("wrong.npy"), Tensor(DType::f32, {5, 3, 28, 28}));
  data::write_npy(f("u8.npy"), Tensor(DType::u8, {5, 1, 28, 28}));
  for (const std::string in : {"wrong.npy", "u8.npy", "absent.npy"}) {
    CmdResult e =
        mpq_cli(str("run --model ", f("l.onnx"), " --input ", f(in), " -o ", f("out.npy")));
    EXPECT_EQ(e.rc, 2) << e.out;
    EXPECT_NE(e.out.find(f(in)), std::string::npos) << e.out;
  }
  EXPECT_FALSE(fs::exists(f("out.npy")));
  CmdResult both = mpq_cli(
      str("run --model ", f("l.onnx"), " --input ", f("x.npy"), " --data fashion-mnist:test"));
  EXPECT_EQ(both.rc, 2) << both.out;
  EXPECT_EQ(mpq_cli(str("run --model ", f("l.onnx"))).rc, 2);
}

TEST_F(CliZooRun, RunOnDataPrintsAccuracy) {
  ASSERT_EQ(mpq_cli(str("zoo mnist_naive -o ", f("m.onnx"), " --batch 32")).rc, 0);
  // 70 samples with a static batch of 32: the last batch is padded, and the outputs trimmed.
  CmdResult r = mpq_cli(
      str("run --model ", f("m.onnx"), " --data fashion-mnist:test --limit 70 -o ", f("y.npy")));
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("ran 70 samples in batches of 32"), std::string::npos) << r.out;
  Tensor y = data::read_npy(f("y.npy"));
  ASSERT_EQ(y.shape(), (Shape{70, 10}));
  // The accuracy printed is the argmax agreement with fashion-mnist's labels.
  data::DataSpec spec{"fashion-mnist:test"};
  spec.limit = 70;
  std::vector<int64_t> labels =
      data::open_dataset(spec, {32, 1, 28, 28})->labels(0, 70).to_int64s();
  std::vector<float> v = y.to_floats();
  int correct = 0;
  for (int i = 0; i < 70; ++i) {
    int best = 0;
    for (int c = 1; c < 10; ++c)
      if (v[i * 10 + c] > v[i * 10 + best]) best = c;
    correct += best == labels[i];
  }
  EXPECT_NE(r.out.find(str("(", correct, "/70)")), std::string::npos) << r.out;

  // The 3x32x32 model takes fashion-mnist padded; a labels file for fashion-mnist is refused.
  ASSERT_EQ(mpq_cli(str("zoo resnet18_cifar -o ", f("r.onnx"))).rc, 0);
  CmdResult rr =
      mpq_cli(str("run --model ", f("r.onnx"), " --data fashion-mnist:test --limit 4 --batch 4"));
  EXPECT_EQ(rr.rc, 0) << rr.out;
  EXPECT_NE(rr.out.find("gray replicated to 3 channels"), std::string::npos) << rr.out;
  data::write_npy(f("l.npy"), Tensor::from<int64_t>({2}, {1, 2}));
  CmdResult bad =
      mpq_cli(str("run --model ", f("m.onnx"), " --data fashion-mnist:test --labels ", f("l.npy")));
  EXPECT_EQ(bad.rc, 2) << bad.out;
  CmdResult norm =
      mpq_cli(str("run --model ", f("m.onnx"), " --data fashion-mnist:test --normalize 0.5"));
  EXPECT_EQ(norm.rc, 2) << norm.out;
  EXPECT_NE(norm.out.find("MEAN,STD"), std::string::npos) << norm.out;
  // Images that cannot feed the model: both shapes named.
  data::write_npy(f("img.npy"), Tensor(DType::u8, {3, 20, 20}));
  CmdResult shape =
      mpq_cli(str("run --model ", f("m.onnx"), " --data ", f("img.npy"), " -o ", f("z.npy")));
  EXPECT_EQ(shape.rc, 2) << shape.out;
  EXPECT_NE(shape.out.find("[20,20] cannot feed the model input [32,1,28,28]"), std::string::npos)
      << shape.out;
  EXPECT_FALSE(fs::exists(f("z.npy")));
}

}  // namespace
}  // namespace mpq
