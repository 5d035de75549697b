// Seeded sampling and batching over a Dataset: the same seed gives the same samples and batches
// on every platform (core/rng.h), so calibration subsets and training runs are reproducible.
#pragma once

#include <cstdint>
#include <vector>

#include "data/dataset.h"

namespace mpq::data {

// `n` distinct indices drawn uniformly from [0, n_total), in ascending order (n >= n_total gives
// all indices).
std::vector<int64_t> sample_indices(int64_t n_total, int64_t n, uint64_t seed);
// A seeded permutation of [0, n_total).
std::vector<int64_t> shuffled_indices(int64_t n_total, uint64_t seed);

struct Batch {
  std::vector<int64_t> indices;  // dataset indices of the samples in this batch
  Tensor images;                 // f32 [B, sample_shape...]
  Tensor labels;                 // i64 [B]; empty when the dataset has no labels
};

struct BatchOptions {
  int64_t batch_size = 64;
  bool shuffle = false;  // reshuffle at every epoch with a seed derived from (seed, epoch)
  uint64_t seed = 0;
  bool drop_last = false;  // skip the last partial batch
  std::vector<int64_t>
      subset;  // iterate these indices only (e.g. from sample_indices); empty = all
};

class BatchIterator {
 public:
  BatchIterator(const Dataset& ds, BatchOptions opt);
  // Restarts at the beginning of `epoch` (the order depends on the epoch when shuffling).
  void start_epoch(int64_t epoch);
  // Fills `b` with the next batch; false at the end of the epoch.
  bool next(Batch& b);
  int64_t num_batches() const;
  int64_t num_samples() const { return static_cast<int64_t>(order_.size()); }

 private:
  const Dataset& ds_;
  BatchOptions opt_;
  std::vector<int64_t> base_, order_;
  size_t pos_ = 0;
};

}  // namespace mpq::data
