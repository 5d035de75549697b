// What the examples share: their few command-line options and top-1 accuracy. Kept out of the
// library on purpose: an example should show the API calls, not hide them.
#pragma once

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "mpq/tensor.h"

namespace example {

struct Args {
  int64_t limit = -1;                // --limit N: first N training images (-1: all 60000)
  int64_t test_limit = -1;           // --test-limit N: first N test images (-1: all 10000)
  int64_t calib_images = 1000;       // --calib-images N (PTQ): images sampled for calibration
  std::string out = "out/examples";  // --out DIR: where the files the example writes go
  double min_accuracy = 0.0;         // --min-accuracy A: exit 1 below it (0..1; used by CI)
};

inline Args parse_args(int argc, char** argv, bool calibrates) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (i + 1 >= argc) throw std::runtime_error("missing value after " + k);
    const std::string v = argv[++i];
    if (k == "--limit")
      a.limit = std::stoll(v);
    else if (k == "--test-limit")
      a.test_limit = std::stoll(v);
    else if (k == "--calib-images" && calibrates)
      a.calib_images = std::stoll(v);
    else if (k == "--out")
      a.out = v;
    else if (k == "--min-accuracy")
      a.min_accuracy = std::stod(v);
    else
      throw std::runtime_error("unknown option " + k);
  }
  return a;
}

// Top-1 accuracy of `logits` [N, classes] against i64 `labels` [N].
inline double accuracy(const mpq::Tensor& logits, const mpq::Tensor& labels) {
  const std::vector<float> y = logits.to_floats(), l = labels.to_floats();
  const int64_t n = logits.dim(0), classes = logits.numel() / n;
  int64_t correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* row = y.data() + i * classes;
    correct += std::max_element(row, row + classes) - row == static_cast<int64_t>(l[i]);
  }
  return static_cast<double>(correct) / static_cast<double>(n);
}

}  // namespace example
