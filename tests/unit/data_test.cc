// Data readers (NPY, IDX, gzip), datasets, sampling and batching.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "data/dataset.h"
#include "data/file_io.h"
#include "data/idx.h"
#include "data/npy.h"
#include "data/sampler.h"

namespace mpq::data {
namespace {

namespace fs = std::filesystem;

// A fresh folder per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            str("mpq_data_", info->test_suite_name(), "_", info->name(), "_", ::getpid());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), bytes.size());
}

std::string gzip(const std::string& raw) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, raw.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  zs.avail_in = raw.size();
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = out.size();
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// An IDX file: magic, big-endian dims, payload.
std::string idx_bytes(uint8_t code, const std::vector<uint32_t>& dims, const std::string& payload) {
  std::string b{'\0', '\0', static_cast<char>(code), static_cast<char>(dims.size())};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) b += static_cast<char>((d >> s) & 0xff);
  return b + payload;
}

// Expects `f` to throw mpq::Error with `code` whose message names `file` and contains `needle`.
template <typename F>
void expect_error(F&& f, Code code, const std::string& file, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "expected an error containing '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.status().code, code) << e.what();
    if (!file.empty()) EXPECT_EQ(e.status().file, file) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Npy, RoundTripEveryDtype) {
  TempDir tmp;
  const std::vector<Tensor> tensors = {
      Tensor::from<float>({2, 3}, {1.5f, -2.f, 0.f, 3.25f, 1e-8f, -7.f}),
      Tensor::from<uint8_t>({4}, {0, 1, 128, 255}),
      Tensor::from<int8_t>({2, 1, 2}, {-128, -1, 0, 127}),
      Tensor::from<int32_t>({3}, {-5, 0, 2147483647}),
      Tensor::from<int64_t>({2}, {-1, int64_t{1} << 40}),
      Tensor::scalar(42.f),
      Tensor(DType::f32, {0, 5}),
  };
  for (size_t i = 0; i < tensors.size(); ++i) {
    const std::string f = tmp.file(str("t", i, ".npy"));
    write_npy(f, tensors[i]);
    Tensor back = read_npy(f);
    EXPECT_EQ(back.dtype(), tensors[i].dtype());
    EXPECT_EQ(back.shape(), tensors[i].shape());
    EXPECT_EQ(back.to_floats(), tensors[i].to_floats());
    // The data starts on a 64-byte boundary, as NumPy requires.
    EXPECT_EQ((fs::file_size(f) - tensors[i].nbytes()) % 64, 0u);
  }
  Tensor h(DType::f16, {2});
  static_cast<uint16_t*>(h.raw())[0] = float_to_half(1.5f);
  static_cast<uint16_t*>(h.raw())[1] = float_to_half(-0.25f);
  write_npy(tmp.file("h.npy"), h);
  EXPECT_EQ(read_npy(tmp.file("h.npy")).to_floats(), (std::vector<float>{1.5f, -0.25f}));
  EXPECT_FALSE(fs::exists(tmp.file("t0.npy.tmp." + std::to_string(::getpid()))));
}

TEST(Npy, HeaderMatchesNumPy) {
  // Byte for byte what numpy 1.24 writes for np.save(f, np.zeros((2,3), np.float32)) and
  // np.zeros((7,), np.uint8): 128-byte headers padded with spaces, ending in '\n'.
  auto numpy_header = [](const std::string& dict) {
    return std::string("\x93NUMPY\x01\x00\x76\x00", 10) + dict +
           std::string(117 - dict.size(), ' ') + "\n";
  };
  std::string b = encode_npy(Tensor(DType::f32, {2, 3}));
  EXPECT_EQ(b.substr(0, 128),
            numpy_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"));
  EXPECT_EQ(b.size(), 128u + 24u);
  std::string one = encode_npy(Tensor(DType::u8, {7}));
  EXPECT_EQ(one.substr(0, 128),
            numpy_header("{'descr': '|u1', 'fortran_order': False, 'shape': (7,), }"));
}

TEST(Npy, ReadsVersion2And3Headers) {
  for (int major : {2, 3}) {
    std::string dict = "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }";
    std::string h = dict + std::string(64 - (12 + dict.size() + 1) % 64, ' ') + "\n";
    std::string b = std::string("\x93NUMPY", 6) + static_cast<char>(major) + '\0';
    for (int i = 0; i < 4; ++i) b += static_cast<char>((h.size() >> (8 * i)) & 0xff);
    b += h;
    const int64_t v[2] = {7, -9};
    b.append(reinterpret_cast<const char*>(v), 16);
    Tensor t = parse_npy(b, "v.npy");
    EXPECT_EQ(t.to_int64s(), (std::vector<int64_t>{7, -9}));
  }
}

TEST(Npy, GzippedFileReads) {
  TempDir tmp;
  write_bytes(tmp.file("a.npy.gz"), gzip(encode_npy(Tensor::from<float>({2}, {3.f, 4.f}))));
  EXPECT_EQ(read_npy(tmp.file("a.npy.gz")).to_floats(), (std::vector<float>{3.f, 4.f}));
}

TEST(Npy, BadFilesAreInvalidInputNamingTheFile) {
  TempDir tmp;
  const std::string good = encode_npy(Tensor::from<float>({2, 2}, {1, 2, 3, 4}));
  const std::string f = tmp.file("bad.npy");
  auto check = [&](const std::string& bytes, Code code, const std::string& needle) {
    write_bytes(f, bytes);
    expect_error([&] { read_npy(f); }, code, f, needle);
  };
  check(good.substr(0, good.size() - 3), Code::kInvalidInput, "truncated .npy file");
  check(good.substr(0, 20), Code::kInvalidInput, "truncated");
  check(good + "xyz", Code::kInvalidInput, "oversized");
  std::string lying = good;
  lying.replace(lying.find("(2, 2)"), 6, "(9, 9)");
  check(lying, Code::kInvalidInput, "header says <f4 [9,9]");
  check("PK\x03\x04 this is a zip", Code::kInvalidInput, "not a .npy file");
  std::string fortran = good;
  fortran.replace(fortran.find("False"), 5, "True ");
  check(fortran, Code::kUnsupported, "Fortran-order");
  std::string big = good;
  big.replace(big.find("<f4"), 3, ">f4");
  check(big, Code::kUnsupported, "big-endian");
  std::string f8 = good;
  f8.replace(f8.find("<f4"), 3, "<f8");
  check(f8, Code::kUnsupported, "dtype '<f8' is not supported");
  std::string broken = good;
  broken.replace(broken.find("'shape'"), 7, "'shap' ");
  check(broken, Code::kInvalidInput, "unknown key");
  // A header broken across lines is shown on one line, control bytes escaped.
  std::string split = good;
  split.replace(split.find("'shape'"), 7, "\n?shape");
  write_bytes(f, split);
  try {
    read_npy(f);
    ADD_FAILURE() << "accepted a header with a newline";
  } catch (const Error& e) {
    EXPECT_NE(e.status().message.find("malformed .npy header"), std::string::npos) << e.what();
    EXPECT_EQ(e.status().to_string().find('\n'), std::string::npos) << e.what();
  }
  expect_error([&] { read_npy(tmp.file("missing.npy")); }, Code::kNotFound, tmp.file("missing.npy"),
               "does not exist");
  // A truncated gzip stream is caught by the inflater, not mistaken for a short array.
  std::string gz = gzip(good);
  write_bytes(tmp.file("cut.npy.gz"), gz.substr(0, gz.size() / 2));
  expect_error([&] { read_npy(tmp.file("cut.npy.gz")); }, Code::kInvalidInput,
               tmp.file("cut.npy.gz"), "gzip stream is truncated");
}

TEST(Npy, FailedWriteLeavesNoFile) {
  TempDir tmp;
  const std::string f = tmp.file("no_such_dir/out.npy");
  expect_error([&] { write_npy(f, Tensor::scalar(1.f)); }, Code::kInvalidInput, f,
               "directory does not exist");
  // bf16 has no NumPy dtype: refused before anything is written.
  EXPECT_THROW(write_npy(tmp.file("b.npy"), Tensor(DType::bf16, {2})), Error);
  EXPECT_FALSE(fs::exists(tmp.file("b.npy")));
  EXPECT_TRUE(fs::is_empty(tmp.path()));
}

TEST(Idx, ReadsEveryTypeBigEndian) {
  Tensor u8 = parse_idx(idx_bytes(0x08, {2, 2}, "\x01\x02\x03\xff"), "u8");
  EXPECT_EQ(u8.dtype(), DType::u8);
  EXPECT_EQ(u8.shape(), (Shape{2, 2}));
  EXPECT_EQ(u8.to_floats(), (std::vector<float>{1, 2, 3, 255}));
  Tensor i32 =
      parse_idx(idx_bytes(0x0C, {2}, std::string("\xff\xff\xff\xfe\x00\x00\x01\x00", 8)), "i32");
  EXPECT_EQ(i32.to_int64s(), (std::vector<int64_t>{-2, 256}));
  Tensor f32 = parse_idx(idx_bytes(0x0D, {1}, std::string("\x3f\xc0\x00\x00", 4)), "f32");
  EXPECT_EQ(f32.to_floats(), (std::vector<float>{1.5f}));
  Tensor i16 = parse_idx(idx_bytes(0x0B, {1}, std::string("\xff\xfd", 2)), "i16");
  EXPECT_EQ(i16.to_int64s(), (std::vector<int64_t>{-3}));
  Tensor f64 =
      parse_idx(idx_bytes(0x0E, {1}, std::string("\xc0\x04\x00\x00\x00\x00\x00\x00", 8)), "f64");
  EXPECT_EQ(f64.to_floats(), (std::vector<float>{-2.5f}));
}

TEST(Idx, BadFilesAreInvalidInputNamingTheFile) {
  TempDir tmp;
  const std::string f = tmp.file("bad-idx3-ubyte");
  auto check = [&](const std::string& bytes, const std::string& needle) {
    write_bytes(f, bytes);
    expect_error([&] { read_idx(f); }, Code::kInvalidInput, f, needle);
  };
  check(idx_bytes(0x08, {2, 3}, "12345"),
        "truncated IDX file: header says unsigned byte [2,3] = 6");
  check(idx_bytes(0x08, {2, 3}, "1234567"), "oversized IDX file");
  check(idx_bytes(0x08, {60000, 28, 28}, std::string(784, 'x')),
        "header says unsigned byte [60000,28,28]");
  check(std::string("\x01\x02\x08\x01", 4), "first two bytes must be zero");
  check(idx_bytes(0x07, {1}, "x"), "unknown data type code 0x7");
  check(std::string("\x00\x00\x08\x03\x00\x00", 6), "truncated IDX header");
  check(idx_bytes(0x08, {}, ""), "0 dimensions");
  expect_error([&] { read_idx(tmp.file("nope.gz")); }, Code::kNotFound, tmp.file("nope.gz"),
               "does not exist");
}

TEST(FashionMnist, TrainAndTestLoadWithKnownLabels) {
  auto train = open_dataset({"fashion-mnist:train"}, {-1, 1, 28, 28});
  EXPECT_EQ(train->size(), 60000);
  EXPECT_EQ(train->sample_shape(), (Shape{1, 28, 28}));
  // First labels, as numpy reads them from train-labels-idx1-ubyte.gz.
  EXPECT_EQ(train->labels(0, 10).to_int64s(), (std::vector<int64_t>{9, 0, 0, 3, 0, 2, 7, 2, 5, 5}));
  Tensor x = train->images(0, 2);
  EXPECT_EQ(x.shape(), (Shape{2, 1, 28, 28}));
  // Pixel (14,14) of image 0 is 217; image 0's corner is 0.
  EXPECT_NEAR(x.data<float>()[14 * 28 + 14], (217 / 255.f - 0.2860f) / 0.3530f, 1e-6);
  EXPECT_NEAR(x.data<float>()[0], -0.2860f / 0.3530f, 1e-6);

  DataSpec spec{"fashion-mnist:test"};
  spec.limit = 5;
  auto test = open_dataset(spec, {-1, 1, 28, 28});
  EXPECT_EQ(test->size(), 5);
  EXPECT_EQ(test->labels(0, 5).to_int64s(), (std::vector<int64_t>{9, 2, 1, 1, 6}));
  EXPECT_NE(test->describe().find("5 of 10000 samples"), std::string::npos) << test->describe();
}

TEST(FashionMnist, PaddedTo3x32x32BeforeNormalization) {
  DataSpec spec{"fashion-mnist:test"};
  spec.limit = 1;
  auto ds = open_dataset(spec, {128, 3, 32, 32});
  EXPECT_EQ(ds->sample_shape(), (Shape{3, 32, 32}));
  Tensor x = ds->images(0, 1);
  ASSERT_EQ(x.shape(), (Shape{1, 3, 32, 32}));
  const float* p = x.data<float>();
  const float black = (0.f - 0.2860f) / 0.3530f;
  for (int c = 0; c < 3; ++c) {
    const float* plane = p + c * 32 * 32;
    for (int i = 0; i < 32; ++i) {  // the 2-px border is normalized black
      for (int b : {0, 1, 30, 31}) {
        EXPECT_FLOAT_EQ(plane[b * 32 + i], black);
        EXPECT_FLOAT_EQ(plane[i * 32 + b], black);
      }
    }
    // Stored pixel (14,14) = 110 lands at (16,16) in every channel.
    EXPECT_NEAR(plane[16 * 32 + 16], (110 / 255.f - 0.2860f) / 0.3530f, 1e-6);
  }
  // Same stored image through the 1x28x28 path: the interior is identical.
  Tensor y = open_dataset(spec, {1, 1, 28, 28})->images(0, 1);
  for (int r = 0; r < 28; ++r)
    for (int c = 0; c < 28; ++c) ASSERT_EQ(p[(r + 2) * 32 + c + 2], y.data<float>()[r * 28 + c]);
}

TEST(FashionMnist, ErrorsNameTheProblem) {
  expect_error(
      [] {
        open_dataset({"fashion-mnist:val"}, {-1, 1, 28, 28});
      },
      Code::kInvalidInput, "", "use fashion-mnist:train or fashion-mnist:test");
  expect_error(
      [] {
        open_dataset({"fashion-mnist:test"}, {-1, 3, 64, 64});
      },
      Code::kInvalidInput, "", "samples of shape [28,28] cannot feed the model input [?,3,64,64]");
  expect_error(
      [] {
        open_dataset({"fashion-mnist:test"}, {-1, 2, 28, 28});
      },
      Code::kInvalidInput, "", "[?,2,28,28]");
  expect_error(
      [] {
        open_dataset({"fashion-mnist"}, {-1, 1, 28, 28});
      },
      Code::kInvalidInput, "", "use fashion-mnist:train or fashion-mnist:test");
  // Not installed (the folder is overridable): kNotFound naming the file and the package.
  ::setenv("MPQ_FASHION_MNIST_DIR", "/nonexistent/fmnist", 1);
  expect_error(
      [] {
        open_dataset({"fashion-mnist:train"}, {-1, 1, 28, 28});
      },
      Code::kNotFound, "/nonexistent/fmnist/train-images-idx3-ubyte.gz", "dataset-fashion-mnist");
  ::unsetenv("MPQ_FASHION_MNIST_DIR");
  DataSpec with_labels{"fashion-mnist:test", "x.npy"};
  expect_error(
      [&] {
        open_dataset(with_labels, {-1, 1, 28, 28});
      },
      Code::kInvalidInput, "", "drop --labels");
}

TEST(Dataset, NpyImagesWithLabelsAndNormalize) {
  TempDir tmp;
  Tensor imgs = Tensor::from<float>({3, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  write_npy(tmp.file("x.npy"), imgs);
  write_npy(tmp.file("y.npy"), Tensor::from<int64_t>({3}, {2, 0, 1}));
  DataSpec spec{tmp.file("x.npy"), tmp.file("y.npy")};
  spec.normalize = std::make_pair(1.f, 2.f);
  auto ds = open_dataset(spec, {-1, 1, 2, 2});
  EXPECT_TRUE(ds->has_labels());
  // f32 images are not scaled by 1/255; only normalized.
  EXPECT_EQ(ds->images({2, 0}).to_floats(),
            (std::vector<float>{3.5f, 4, 4.5f, 5, -0.5f, 0, 0.5f, 1}));
  EXPECT_EQ(ds->labels({2, 0}).to_int64s(), (std::vector<int64_t>{1, 2}));
  // Flattened for a 1-D model input of the same size.
  auto flat = open_dataset({tmp.file("x.npy")}, {-1, 4});
  EXPECT_EQ(flat->images(1, 1).shape(), (Shape{1, 4}));
  EXPECT_EQ(flat->images(1, 1).to_floats(), (std::vector<float>{4, 5, 6, 7}));
}

TEST(Dataset, IdxGzImagesAndLabels) {
  TempDir tmp;
  write_bytes(tmp.file("img.gz"),
              gzip(idx_bytes(0x08, {2, 2, 2}, std::string("\x00\xff\x33\x66\x99\xcc\xff\x00", 8))));
  write_bytes(tmp.file("lab"), idx_bytes(0x08, {2}, std::string("\x03\x07", 2)));
  auto ds = open_dataset({tmp.file("img.gz"), tmp.file("lab")}, {-1, 1, 2, 2});
  EXPECT_EQ(ds->labels(0, 2).to_int64s(), (std::vector<int64_t>{3, 7}));
  std::vector<float> v = ds->images(0, 1).to_floats();
  EXPECT_FLOAT_EQ(v[1], 1.f);
  EXPECT_FLOAT_EQ(v[2], 0.2f);
}

TEST(Dataset, FolderOfNpySamplesAndBatches) {
  TempDir tmp;
  fs::create_directories(tmp.file("d"));
  write_npy(tmp.file("d/a.npy"), Tensor::from<float>({1, 2, 2}, {1, 2, 3, 4}));  // one sample
  write_npy(tmp.file("d/b.npy"),
            Tensor::from<float>({2, 1, 2, 2}, {5, 6, 7, 8, 9, 10, 11, 12}));  // batch
  write_bytes(tmp.file("d/notes.txt"), "ignored");
  auto ds = open_dataset({tmp.file("d")}, {-1, 1, 2, 2});
  EXPECT_EQ(ds->size(), 3);
  EXPECT_EQ(ds->images(2, 1).to_floats(), (std::vector<float>{9, 10, 11, 12}));
  DataSpec limited{tmp.file("d")};
  limited.limit = 1;
  EXPECT_EQ(open_dataset(limited, {-1, 1, 2, 2})->size(), 1);
  write_npy(tmp.file("d/c.npy"), Tensor::from<float>({1, 3, 3}, std::vector<float>(9, 0.f)));
  expect_error(
      [&] {
        open_dataset({tmp.file("d")}, {-1, 1, 2, 2});
      },
      Code::kInvalidInput, tmp.file("d/c.npy"), "differs from");
  fs::create_directories(tmp.file("empty"));
  expect_error(
      [&] {
        open_dataset({tmp.file("empty")}, {-1, 1, 2, 2});
      },
      Code::kInvalidInput, tmp.file("empty"), "no .npy files");
}

TEST(Dataset, BadInputClasses) {
  TempDir tmp;
  write_npy(tmp.file("x.npy"), Tensor(DType::u8, {4, 28, 28}));
  write_npy(tmp.file("y3.npy"), Tensor::from<int64_t>({3}, {0, 1, 2}));
  write_npy(tmp.file("yf.npy"), Tensor::from<float>({4}, {0, 1, 2, 3}));
  write_npy(tmp.file("yneg.npy"), Tensor::from<int64_t>({4}, {0, 1, -2, 3}));
  write_npy(tmp.file("empty.npy"), Tensor(DType::u8, {0, 28, 28}));
  const Shape model{-1, 1, 28, 28};
  expect_error(
      [&] {
        open_dataset({tmp.file("x.npy"), tmp.file("y3.npy")}, model);
      },
      Code::kInvalidInput, tmp.file("y3.npy"), "holds 3 labels for 4 images");
  expect_error(
      [&] {
        open_dataset({tmp.file("x.npy"), tmp.file("yf.npy")}, model);
      },
      Code::kInvalidInput, tmp.file("yf.npy"), "labels must be integers");
  expect_error(
      [&] {
        open_dataset({tmp.file("x.npy"), tmp.file("yneg.npy")}, model);
      },
      Code::kInvalidInput, tmp.file("yneg.npy"), "negative");
  expect_error(
      [&] {
        open_dataset({tmp.file("x.npy"), tmp.file("missing.npy")}, model);
      },
      Code::kNotFound, tmp.file("missing.npy"), "does not exist");
  expect_error([&] { open_dataset({tmp.file("empty.npy")}, model); }, Code::kInvalidInput,
               tmp.file("empty.npy"), "holds no samples");
  expect_error(
      [&] {
        open_dataset({tmp.file("x.npy")}, {-1, 3, 31, 28});
      },
      Code::kInvalidInput, tmp.file("x.npy"),
      "samples of shape [28,28] cannot feed the model input [?,3,31,28]");
  expect_error([&] { open_dataset({tmp.file("nothing.npy")}, model); }, Code::kNotFound,
               tmp.file("nothing.npy"), "does not exist");
  auto unlabeled = open_dataset({tmp.file("x.npy")}, model);
  EXPECT_FALSE(unlabeled->has_labels());
  EXPECT_THROW(unlabeled->labels(0, 1), Error);
  write_bytes(tmp.file("junk.bin"), "hello world");
  expect_error([&] { open_dataset({tmp.file("junk.bin")}, model); }, Code::kInvalidInput,
               tmp.file("junk.bin"), "neither a .npy nor an IDX file");
}

TEST(Sampler, SeededSampleIsDistinctSortedAndReproducible) {
  auto a = sample_indices(60000, 500, 7);
  auto b = sample_indices(60000, 500, 7);
  auto c = sample_indices(60000, 500, 8);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  ASSERT_EQ(a.size(), 500u);
  for (size_t i = 1; i < a.size(); ++i) EXPECT_LT(a[i - 1], a[i]);
  EXPECT_GE(a.front(), 0);
  EXPECT_LT(a.back(), 60000);
  // Spread over the whole range, not clustered at one end.
  EXPECT_LT(a.front(), 2000);
  EXPECT_GT(a.back(), 58000);
  EXPECT_EQ(sample_indices(5, 10, 1), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  auto p = shuffled_indices(100, 3);
  EXPECT_EQ(p, shuffled_indices(100, 3));
  std::vector<int64_t> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 100; ++i) EXPECT_EQ(sorted[i], i);
  EXPECT_NE(p, sorted);
}

TEST(Sampler, BatchIteratorCoversEpochsWithSeededShuffle) {
  TempDir tmp;
  std::vector<float> v(10);
  std::vector<int64_t> l(10);
  for (int i = 0; i < 10; ++i) v[i] = static_cast<float>(i), l[i] = i % 3;
  write_npy(tmp.file("x.npy"), Tensor::from<float>({10, 1}, v));
  write_npy(tmp.file("y.npy"), Tensor::from<int64_t>({10}, l));
  auto ds = open_dataset({tmp.file("x.npy"), tmp.file("y.npy")}, {-1, 1});
  BatchOptions opt;
  opt.batch_size = 4;
  opt.shuffle = true;
  opt.seed = 11;
  BatchIterator it(*ds, opt);
  EXPECT_EQ(it.num_batches(), 3);
  auto epoch = [&](int64_t e) {
    it.start_epoch(e);
    std::vector<int64_t> seen;
    Batch b;
    std::vector<size_t> sizes;
    while (it.next(b)) {
      sizes.push_back(b.indices.size());
      std::vector<float> x = b.images.to_floats();
      std::vector<int64_t> y = b.labels.to_int64s();
      for (size_t k = 0; k < b.indices.size(); ++k) {
        EXPECT_EQ(x[k], static_cast<float>(b.indices[k]));  // images follow the indices
        EXPECT_EQ(y[k], b.indices[k] % 3);
        seen.push_back(b.indices[k]);
      }
    }
    EXPECT_EQ(sizes, (std::vector<size_t>{4, 4, 2}));
    return seen;
  };
  auto e0 = epoch(0), e0again = epoch(0), e1 = epoch(1);
  EXPECT_EQ(e0, e0again);
  EXPECT_NE(e0, e1);
  std::vector<int64_t> s = e1;
  std::sort(s.begin(), s.end());
  EXPECT_EQ(s, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  opt.drop_last = true;
  opt.shuffle = false;
  opt.subset = {1, 3, 5, 7, 9};
  BatchIterator sub(*ds, opt);
  Batch b;
  ASSERT_TRUE(sub.next(b));
  EXPECT_EQ(b.indices, (std::vector<int64_t>{1, 3, 5, 7}));
  EXPECT_FALSE(sub.next(b));
}

}  // namespace
}  // namespace mpq::data
