// Datasets and the one data spec every subcommand accepts:
//   --data fashion-mnist:train|test
//   --data images.{idx,npy}[.gz] [--labels labels.{idx,npy}[.gz]] [--normalize mean,std]
//   --data DIR (a folder of .npy files, one sample or a batch each)     [--limit N]
// Images are kept in their stored dtype and converted to normalized float NCHW per batch, so a
// dataset costs its file size in memory, not 4x (or 4x3x for the 3x32x32 view).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mpq/tensor.h"

namespace mpq::data {

struct DataSpec {
  std::string source;  // "fashion-mnist:train", a file, or a folder
  std::string labels;  // optional labels file
  std::optional<std::pair<float, float>>
      normalize;       // (mean, std); fashion-mnist has its own default
  int64_t limit = -1;  // first N samples; -1 = all
  bool empty() const { return source.empty(); }
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // Shape of one sample as the model sees it, e.g. {1,28,28} or {3,32,32}.
  virtual Shape sample_shape() const = 0;
  virtual bool has_labels() const = 0;
  // Normalized float batch [N, sample_shape...] of the samples with these indices.
  virtual Tensor images(const std::vector<int64_t>& indices) const = 0;
  // i64 [N] labels of these samples (throws kInvalidInput if the dataset has none).
  virtual Tensor labels(const std::vector<int64_t>& indices) const = 0;
  // A human-readable name for messages ("fashion-mnist:test (10000 samples)").
  virtual std::string describe() const = 0;

  // Contiguous range helpers.
  Tensor images(int64_t begin, int64_t count) const;
  Tensor labels(int64_t begin, int64_t count) const;
};

// Reads an array file by content: NPY (magic \x93NUMPY) or IDX, either possibly gzipped.
Tensor read_array_file(const std::string& path);

// Where fashion-mnist:train|test is read from: $MPQ_FASHION_MNIST_DIR if set, else the
// dataset-fashion-mnist package's /usr/share/datasets/fashion-mnist.
std::string fashion_mnist_dir();
constexpr float kFashionMnistMean = 0.2860f;
constexpr float kFashionMnistStd = 0.3530f;

// Opens the dataset described by `spec`, adapted to a model input of shape `model_input`
// ([N, C, H, W] with N possibly -1): 28x28 gray images feeding a 3x32x32 input are padded by 2
// black pixels per side (before normalization) and the channel replicated. Throws kInvalidInput
// naming the file when the data cannot feed the model (and names both shapes).
// How stored samples map onto the model input:
//  - same shape (unknown model dims accept any size);
//  - gray samples [H,W] or [1,H,W] feeding [C,H',W'] with C in {1,3} and H'-H, W'-W in {0,2,4}:
//    zero-padded equally on each side, then the channel replicated (torchvision Pad +
//    Grayscale(3));
//  - any sample feeding a 1-D input of the same element count: flattened.
// u8 images are scaled to [0,1] first (as ToTensor does); other dtypes are used as stored. Then
// (x - mean) / std if normalization is set. An empty `model_input` keeps the stored sample shape
// ([H,W] samples become [1,H,W]).
std::unique_ptr<Dataset> open_dataset(const DataSpec& spec, const Shape& model_input);

}  // namespace mpq::data
