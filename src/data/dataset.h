// Datasets and the one data spec every subcommand accepts (issue 2 item 10):
//   --data fashion-mnist:train|test
//   --data images.{idx,npy}[.gz] [--labels labels.{idx,npy}[.gz]] [--normalize mean,std]
//   --data DIR (a folder of .npy files, one sample or a batch each)     [--limit N]
// Images are kept in their stored dtype and converted to normalized float NCHW per batch, so a
// dataset costs its file size in memory, not 4x (or 4x3x for the 3x32x32 view).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace mpq::data {

struct DataSpec {
  std::string source;                          // "fashion-mnist:train", a file, or a folder
  std::string labels;                          // optional labels file
  std::optional<std::pair<float, float>> normalize;  // (mean, std); fashion-mnist has its own default
  int64_t limit = -1;                          // first N samples; -1 = all
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

// Opens the dataset described by `spec`, adapted to a model input of shape `model_input`
// ([N, C, H, W] with N possibly -1): 28x28 gray images feeding a 3x32x32 input are padded by 2
// black pixels per side (before normalization) and the channel replicated. Throws kInvalidInput
// naming the file when the data cannot feed the model (and names both shapes).
std::unique_ptr<Dataset> open_dataset(const DataSpec& spec, const Shape& model_input);

}  // namespace mpq::data
