#include "data/dataset.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "data/file_io.h"
#include "data/idx.h"
#include "data/npy.h"

namespace mpq::data {
namespace fs = std::filesystem;

Tensor read_array_file(const std::string& path) {
  auto known = [](const std::string& head) { return looks_like_npy(head) || looks_like_idx(head); };
  std::string bytes = read_file_maybe_gz(path, known, "a .npy or IDX file");
  if (looks_like_npy(bytes)) return parse_npy(bytes, path);
  if (looks_like_idx(bytes)) return parse_idx(bytes, path);
  invalid_input("neither a .npy nor an IDX file (unknown magic); give images as .npy or IDX")
      .file(path)
      .raise();
}

std::string fashion_mnist_dir() {
  const char* env = std::getenv("MPQ_FASHION_MNIST_DIR");
  return env && *env ? env : "/usr/share/datasets/fashion-mnist";
}

Tensor Dataset::images(int64_t begin, int64_t count) const {
  std::vector<int64_t> idx(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) idx[i] = begin + i;
  return images(idx);
}

Tensor Dataset::labels(int64_t begin, int64_t count) const {
  std::vector<int64_t> idx(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) idx[i] = begin + i;
  return labels(idx);
}

namespace {

// How one stored sample becomes one model sample (see open_dataset in dataset.h).
struct Layout {
  Shape stored;      // per-sample stored shape
  Shape out;         // per-sample model shape
  bool pad = false;  // gray [H,W]/[1,H,W] -> [C,H',W'] by padding + replication
  int64_t h = 0, w = 0, c_out = 0, oh = 0, ow = 0, top = 0, left = 0;
};

bool dims_match(const Shape& model, const Shape& stored) {
  if (model.size() != stored.size()) return false;
  for (size_t i = 0; i < model.size(); ++i)
    if (model[i] >= 0 && model[i] != stored[i]) return false;
  return true;
}

Layout plan_layout(const Shape& stored, const Shape& model_input, const std::string& source) {
  Layout L;
  L.stored = stored;
  if (model_input.empty()) {
    L.out = stored.size() == 2 ? Shape{1, stored[0], stored[1]} : stored;
    return L;
  }
  const Shape m(model_input.begin() + 1, model_input.end());
  if (dims_match(m, stored)) {
    L.out = stored;
    return L;
  }
  // Gray image -> [C,H',W'] (padding 0 and C 1 included).
  const bool gray = stored.size() == 2 || (stored.size() == 3 && stored[0] == 1);
  if (gray && m.size() == 3) {
    const int64_t h = stored[stored.size() - 2], w = stored[stored.size() - 1];
    const int64_t c = m[0] < 0 ? 1 : m[0];
    const int64_t oh = m[1] < 0 ? h : m[1], ow = m[2] < 0 ? w : m[2];
    // At most 2 px per side (the 28x28 -> 32x32 case): more is almost surely the wrong data.
    const int64_t dh = oh - h, dw = ow - w;
    if ((c == 1 || c == 3) && dh >= 0 && dw >= 0 && dh <= 4 && dw <= 4 && dh % 2 == 0 &&
        dw % 2 == 0) {
      L.pad = true;
      L.h = h, L.w = w, L.c_out = c, L.oh = oh, L.ow = ow;
      L.top = (oh - h) / 2, L.left = (ow - w) / 2;
      L.out = {c, oh, ow};
      return L;
    }
  }
  if (m.size() == 1 && (m[0] < 0 || m[0] == shape_numel(stored))) {
    L.out = {shape_numel(stored)};
    return L;
  }
  invalid_input(str("samples of shape ", shape_str(stored), " cannot feed the model input ",
                    shape_str(model_input), " (expected samples of shape ", shape_str(m),
                    ", or gray HxW images that pad by up to 2 px per side to it)"))
      .file(source)
      .raise();
}

// A dataset held as one tensor of stored samples [N, ...] (any dtype) plus optional labels.
class ArrayDataset final : public Dataset {
 public:
  ArrayDataset(Tensor images, std::optional<Tensor> labels, int64_t count, Layout layout,
               std::optional<std::pair<float, float>> norm, std::string desc)
      : images_(std::move(images)),
        labels_(std::move(labels)),
        count_(count),
        L_(std::move(layout)),
        desc_(std::move(desc)) {
    sample_numel_ = shape_numel(L_.stored);
    out_numel_ = shape_numel(L_.out);
    if (norm) mean_ = norm->first, inv_std_ = 1.f / norm->second;
    scale_ = images_.dtype() == DType::u8 ? 1.f / 255.f : 1.f;
    if (images_.dtype() == DType::u8)
      for (int v = 0; v < 256; ++v) lut_[v] = (v * scale_ - mean_) * inv_std_;
    pad_value_ = (0.f - mean_) * inv_std_;
  }

  int64_t size() const override { return count_; }
  Shape sample_shape() const override { return L_.out; }
  bool has_labels() const override { return labels_.has_value(); }
  std::string describe() const override { return desc_; }

  Tensor images(const std::vector<int64_t>& indices) const override {
    Shape shape{static_cast<int64_t>(indices.size())};
    shape.insert(shape.end(), L_.out.begin(), L_.out.end());
    Tensor out(DType::f32, shape);
    float* dst = out.data<float>();
    std::vector<float> tmp(static_cast<size_t>(sample_numel_));
    for (size_t k = 0; k < indices.size(); ++k) {
      const int64_t i = check_index(indices[k]);
      float* o = dst + k * out_numel_;
      if (!L_.pad) {
        convert(i, o);
        continue;
      }
      convert(i, tmp.data());
      const int64_t plane = L_.oh * L_.ow;
      std::fill(o, o + plane, pad_value_);
      for (int64_t y = 0; y < L_.h; ++y)
        std::copy(tmp.data() + y * L_.w, tmp.data() + (y + 1) * L_.w,
                  o + (y + L_.top) * L_.ow + L_.left);
      for (int64_t c = 1; c < L_.c_out; ++c) std::copy(o, o + plane, o + c * plane);
    }
    return out;
  }

  Tensor labels(const std::vector<int64_t>& indices) const override {
    if (!labels_)
      invalid_input(str(desc_, " has no labels; pass --labels FILE")).key("--labels").raise();
    Tensor out(DType::i64, {static_cast<int64_t>(indices.size())});
    const int64_t* src = labels_->data<int64_t>();
    for (size_t k = 0; k < indices.size(); ++k)
      out.data<int64_t>()[k] = src[check_index(indices[k])];
    return out;
  }

 private:
  int64_t check_index(int64_t i) const {
    if (i < 0 || i >= count_)
      internal_error(str("sample index ", i, " out of range for ", desc_)).raise();
    return i;
  }
  // Stored sample i -> scaled, normalized floats.
  void convert(int64_t i, float* o) const {
    const size_t base = static_cast<size_t>(i * sample_numel_);
    if (images_.dtype() == DType::u8) {
      const uint8_t* s = images_.data<uint8_t>() + base;
      for (int64_t j = 0; j < sample_numel_; ++j) o[j] = lut_[s[j]];
      return;
    }
    for (int64_t j = 0; j < sample_numel_; ++j) {
      float v = static_cast<float>(load_as_double(images_.raw(), images_.dtype(), base + j));
      o[j] = (v * scale_ - mean_) * inv_std_;
    }
  }

  Tensor images_;
  std::optional<Tensor> labels_;
  int64_t count_;
  Layout L_;
  std::string desc_;
  int64_t sample_numel_ = 0, out_numel_ = 0;
  float mean_ = 0.f, inv_std_ = 1.f, scale_ = 1.f, pad_value_ = 0.f;
  float lut_[256] = {};
};

// Labels as i64 [N]: integer dtype, rank 1 (or [N,1]), non-negative.
Tensor load_labels(const std::string& path) {
  Tensor t = read_array_file(path);
  if (!(t.rank() == 1 || (t.rank() == 2 && t.dim(1) == 1)))
    invalid_input(
        str("labels must be a 1-D array of class indices, got shape ", shape_str(t.shape())))
        .file(path)
        .raise();
  if (!dtype_info(t.dtype()).is_integer)
    invalid_input(str("labels must be integers (class indices), got ", dtype_name(t.dtype()),
                      "; save them with a.astype(np.int64)"))
        .file(path)
        .raise();
  Tensor l = t.cast(DType::i64).reshaped({t.dim(0)});
  const int64_t* p = l.data<int64_t>();
  for (int64_t i = 0; i < l.numel(); ++i)
    if (p[i] < 0) invalid_input(str("label ", i, " is negative (", p[i], ")")).file(path).raise();
  return l;
}

std::string norm_str(const std::optional<std::pair<float, float>>& n) {
  if (!n) return "";
  std::ostringstream os;
  os << ", normalized mean " << n->first << " std " << n->second;
  return os.str();
}

std::string layout_str(const Layout& L, DType stored) {
  std::string s = str(", ", dtype_name(stored), " ", shape_str(L.stored));
  if (L.out != L.stored) s += str(" -> ", shape_str(L.out));
  std::vector<std::string> notes;
  if (L.pad && (L.top || L.left))
    notes.push_back(L.top == L.left
                        ? str("zero-padded ", L.top, " px per side")
                        : str("zero-padded ", L.top, " px top/bottom, ", L.left, " px left/right"));
  if (L.pad && L.c_out == 3) notes.push_back("gray replicated to 3 channels");
  if (stored == DType::u8) notes.push_back("scaled to [0,1]");
  for (size_t i = 0; i < notes.size(); ++i)
    s += (i ? ", " : " (") + notes[i] + (i + 1 == notes.size() ? ")" : "");
  return s;
}

// All .npy / .npy.gz files of a folder, in name order: each one sample, or a batch when its rank
// is the model input's rank.
Tensor load_npy_folder(const std::string& dir, const Shape& model_input, int64_t limit) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    auto ends = [&](const std::string& suf) {
      return name.size() > suf.size() &&
             name.compare(name.size() - suf.size(), suf.size(), suf) == 0;
    };
    if (e.is_regular_file() && (ends(".npy") || ends(".npy.gz")))
      files.push_back(e.path().string());
  }
  if (ec) invalid_input(str("cannot list the folder: ", ec.message())).file(dir).raise();
  if (files.empty())
    invalid_input("folder holds no .npy files; put one sample or batch per .npy file")
        .file(dir)
        .raise();
  std::sort(files.begin(), files.end());
  const int model_rank = static_cast<int>(model_input.size());
  std::vector<Tensor> parts;
  Shape sample;
  DType dtype = DType::f32;
  int64_t total = 0;
  for (const auto& f : files) {
    if (limit >= 0 && total >= limit) break;
    Tensor t = read_npy(f);
    const bool batch = model_rank > 0 ? t.rank() == model_rank : t.rank() >= 4;
    if (!batch) {
      Shape s{1};
      s.insert(s.end(), t.shape().begin(), t.shape().end());
      t = t.reshaped(s);
    }
    Shape ts(t.shape().begin() + 1, t.shape().end());
    if (parts.empty()) {
      sample = ts, dtype = t.dtype();
    } else if (ts != sample || t.dtype() != dtype) {
      invalid_input(str("sample shape/dtype ", dtype_name(t.dtype()), shape_str(ts),
                        " differs from ", dtype_name(dtype), shape_str(sample), " of ",
                        files.front()))
          .file(f)
          .raise();
    }
    total += t.dim(0);
    parts.push_back(std::move(t));
  }
  Shape all{total};
  all.insert(all.end(), sample.begin(), sample.end());
  Tensor out(dtype, all);
  size_t off = 0;
  for (const auto& p : parts) {
    std::memcpy(static_cast<char*>(out.raw()) + off, p.raw(), p.nbytes());
    off += p.nbytes();
  }
  return out;
}

}  // namespace

std::unique_ptr<Dataset> open_dataset(const DataSpec& spec, const Shape& model_input) {
  if (spec.empty())
    invalid_input("no data given; pass --data fashion-mnist:test, a .npy/IDX file or a folder")
        .key("--data")
        .raise();
  if (spec.limit == 0 || spec.limit < -1)
    invalid_input(str("--limit must be a positive number of samples, got ", spec.limit))
        .key("--limit")
        .raise();
  if (spec.normalize && !(spec.normalize->second > 0.f))
    invalid_input("--normalize std must be positive").key("--normalize").raise();

  Tensor images;
  std::optional<Tensor> labels;
  std::string name = spec.source, labels_file = spec.labels;
  auto norm = spec.normalize;
  const std::string fm = "fashion-mnist";
  if (spec.source == fm || spec.source.rfind(fm + ":", 0) == 0) {
    const std::string split = spec.source.size() > fm.size() + 1 && spec.source[fm.size()] == ':'
                                  ? spec.source.substr(fm.size() + 1)
                                  : "";
    if (split != "train" && split != "test")
      invalid_input(
          str("unknown dataset '", spec.source, "'; use fashion-mnist:train or fashion-mnist:test"))
          .key("--data")
          .raise();
    if (!spec.labels.empty())
      invalid_input("fashion-mnist has its own labels; drop --labels").key("--labels").raise();
    const std::string prefix = fashion_mnist_dir() + "/" + (split == "train" ? "train" : "t10k");
    const std::string img_file = prefix + "-images-idx3-ubyte.gz";
    labels_file = prefix + "-labels-idx1-ubyte.gz";
    if (!fs::exists(img_file))
      not_found(
          "Fashion-MNIST is not installed; run scripts/setup.sh (package dataset-fashion-mnist)")
          .file(img_file)
          .raise();
    images = read_idx(img_file);
    if (images.dtype() != DType::u8 || images.rank() != 3)
      invalid_input(str("expected u8 [N,28,28] images, got ", dtype_name(images.dtype()),
                        shape_str(images.shape())))
          .file(img_file)
          .raise();
    if (!norm) norm = std::make_pair(kFashionMnistMean, kFashionMnistStd);
    name = img_file;
  } else if (fs::is_directory(spec.source)) {
    images = load_npy_folder(spec.source, model_input, spec.limit);
  } else {
    images = read_array_file(spec.source);
  }

  if (images.rank() < 2)
    invalid_input(
        str("images must be an array [N, ...] of samples, got shape ", shape_str(images.shape())))
        .file(name)
        .raise();
  const int64_t n = images.dim(0);
  if (n == 0) invalid_input("the dataset holds no samples").file(name).raise();
  if (images.dtype() == DType::boolean || images.dtype() == DType::bf16)
    unsupported(
        str("images of dtype ", dtype_name(images.dtype()), " are not supported; use u8 or f32"))
        .file(name)
        .raise();
  if (!labels_file.empty()) {
    Tensor l = load_labels(labels_file);
    // A folder read stops at --limit, so compare with what the folder would hold only then.
    const bool truncated_folder = fs::is_directory(spec.source) && spec.limit >= 0;
    if (truncated_folder ? l.dim(0) < n : l.dim(0) != n)
      invalid_input(str("labels file holds ", l.dim(0), " labels for ", n, " images in ", name))
          .file(labels_file)
          .raise();
    labels = std::move(l);
  }
  const Shape stored(images.shape().begin() + 1, images.shape().end());
  Layout layout = plan_layout(stored, model_input, name);
  const int64_t count = spec.limit > 0 ? std::min(spec.limit, n) : n;
  std::string desc = str(spec.source, " (", count, count < n ? str(" of ", n) : std::string(),
                         " samples", layout_str(layout, images.dtype()), norm_str(norm),
                         // Name a labels file the user gave: errors about a label then point at it.
                         !labels               ? ""
                         : spec.labels.empty() ? ", labeled"
                                               : str(", labels ", spec.labels),
                         ")");
  return std::make_unique<ArrayDataset>(std::move(images), std::move(labels), count,
                                        std::move(layout), norm, std::move(desc));
}

}  // namespace mpq::data
