// Streaming statistics of one tensor for calibration, and the range-selection methods that read
// them (minmax, percentile, entropy, MSE).
//
// HistogramObserver keeps a fixed number of bins over |x| in [0, range) plus the exact signed
// min/max, the value count and the count of exact zeros (kept out of the histogram: 0 is exact in
// every quantized range, so the mass of ReLU zeros must not steer the clip). Memory is fixed
// whatever the number of images. When a value beyond the range arrives the range doubles as many
// times as needed and adjacent bin pairs merge: exact, deterministic re-binning.
//
// A method picks a clip threshold T on |x|; the tensor's range is [max(min, -T), min(max, T)].
// All arithmetic on counts is integer, and every floating-point sum runs in a fixed order, so the
// result depends only on the data and its order, never on the thread count.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "quant/calibration_table.h"

namespace mpq::quant {

constexpr int kDefaultHistogramBins = 2048;

// Bins of a histogram: at most 2^20, so that bins / kMinHistogramRange stays a finite float.
constexpr int kMaxHistogramBins = 1 << 20;
// The smallest range a histogram covers: data whose largest |x| is below it (subnormal floats)
// all falls into the first bin, which keeps bin indices finite.
constexpr float kMinHistogramRange = 1e-30f;

class HistogramObserver {
 public:
  explicit HistogramObserver(int bins = kDefaultHistogramBins);  // bins: a power of two >= 2

  // Adds n values. Returns -1, or the index of the first NaN/inf (then nothing is added).
  // Counting runs on up to `threads` threads with private integer histograms summed afterwards:
  // the result is independent of `threads`.
  int64_t observe(const float* data, int64_t n, int threads = 1);

  int64_t count() const { return count_; }       // values seen, zeros included
  int64_t zero_count() const { return zeros_; }  // exact zeros (not in the histogram)
  float min() const { return min_; }             // signed extremes (0 if nothing seen)
  float max() const { return max_; }
  float amax() const { return amax_; }    // max |x|
  float range() const { return range_; }  // histogram covers |x| in [0, range)
  double bin_width() const { return range_ > 0 ? static_cast<double>(range_) / bins_.size() : 0.0; }
  const std::vector<int64_t>& bins() const { return bins_; }
  // Bytes held (fixed at construction: independent of how many values were observed).
  size_t memory_bytes() const { return sizeof(*this) + bins_.capacity() * sizeof(int64_t); }

 private:
  void grow_to(float amax);  // doubles range_ until it covers amax, merging bin pairs

  std::vector<int64_t> bins_;
  float range_ = 0.f;
  float min_ = 0.f, max_ = 0.f, amax_ = 0.f;
  int64_t count_ = 0, zeros_ = 0;
};

enum class CalibMethod { kMinMax, kPercentile, kEntropy, kMse };
const char* calib_method_name(CalibMethod m);
// Parses "minmax", "percentile", "entropy", "mse"; false when unknown.
bool parse_calib_method(std::string_view s, CalibMethod* out);

struct MethodOptions {
  double percentile = 99.99;  // percentile of |x| kept, in (0, 100]
  int entropy_levels = 128;   // quantization levels the KL search quantizes |x| into (TensorRT)
  // Entropy never clips below this percentile of |x| (0 = TensorRT's plain KL choice). KL weighs
  // every value alike, so it readily clips the rare large activations that carry the signal
  // (measured: resnet18_cifar on Fashion-MNIST loses 1.9 points with plain KL, 0 with the floor).
  double entropy_floor_percentile = 99.99;
  int mse_bits = 8;  // bit width whose rounding noise MSE weighs against clipping
};

// The range `m` picks from `h`, with the statistics that chose it in TensorRange::stats:
// observed_min, observed_max, count, zero_count, bins, bin_width, threshold and, per method,
// percentile, kl_divergence (entropy) or mse (relative to the unclipped value power).
TensorRange choose_range(const HistogramObserver& h, CalibMethod m, const MethodOptions& o);

// The individual searches, exposed for tests: each returns the clip threshold T on |x|.
// entropy_threshold keeps the whole range (T = max|x|) when at most 2*levels bins are occupied:
// data with that few distinct values (u8 images) fits the grid, and KL over a comb of bins
// favours clipping right after a spike (e.g. the background value).
double percentile_threshold(const HistogramObserver& h, double percentile);
double entropy_threshold(const HistogramObserver& h, int levels, double* best_kl = nullptr);
double mse_threshold(const HistogramObserver& h, int bits, double* best_mse = nullptr);

}  // namespace mpq::quant
