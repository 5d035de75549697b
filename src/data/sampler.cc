#include "data/sampler.h"

#include <algorithm>
#include <unordered_set>

#include "core/rng.h"

namespace mpq::data {

std::vector<int64_t> sample_indices(int64_t n_total, int64_t n, uint64_t seed) {
  if (n_total < 0 || n < 0) internal_error(str("sample_indices(", n_total, ", ", n, ")")).raise();
  std::vector<int64_t> out;
  if (n >= n_total) {
    out.resize(static_cast<size_t>(n_total));
    for (int64_t i = 0; i < n_total; ++i) out[i] = i;
    return out;
  }
  // Floyd's algorithm: n draws, O(n) memory regardless of n_total.
  Rng rng(seed);
  std::unordered_set<int64_t> chosen;
  chosen.reserve(static_cast<size_t>(n) * 2);
  for (int64_t j = n_total - n; j < n_total; ++j) {
    const int64_t t = static_cast<int64_t>(rng.below(static_cast<uint64_t>(j) + 1));
    if (!chosen.insert(t).second) chosen.insert(j);
  }
  out.assign(chosen.begin(), chosen.end());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<int64_t> shuffled_indices(int64_t n_total, uint64_t seed) {
  std::vector<int64_t> v(static_cast<size_t>(std::max<int64_t>(n_total, 0)));
  for (int64_t i = 0; i < n_total; ++i) v[i] = i;
  Rng rng(seed);
  rng.shuffle(v);
  return v;
}

BatchIterator::BatchIterator(const Dataset& ds, BatchOptions opt) : ds_(ds), opt_(std::move(opt)) {
  if (opt_.batch_size <= 0)
    invalid_input(str("batch size must be positive, got ", opt_.batch_size)).key("--batch").raise();
  if (opt_.subset.empty()) {
    base_.resize(static_cast<size_t>(ds_.size()));
    for (int64_t i = 0; i < ds_.size(); ++i) base_[i] = i;
  } else {
    for (int64_t i : opt_.subset)
      if (i < 0 || i >= ds_.size())
        internal_error(str("subset index ", i, " out of range for ", ds_.describe())).raise();
    base_ = opt_.subset;
  }
  start_epoch(0);
}

void BatchIterator::start_epoch(int64_t epoch) {
  order_ = base_;
  if (opt_.shuffle) {
    // Mix the epoch into the seed (splitmix64 constant) so epochs get unrelated orders.
    Rng rng(opt_.seed ^ (0x9E3779B97F4A7C15ull * static_cast<uint64_t>(epoch + 1)));
    rng.shuffle(order_);
  }
  pos_ = 0;
}

int64_t BatchIterator::num_batches() const {
  const int64_t n = num_samples(), b = opt_.batch_size;
  return opt_.drop_last ? n / b : (n + b - 1) / b;
}

bool BatchIterator::next(Batch& b) {
  const size_t remaining = order_.size() - pos_;
  const size_t bs = static_cast<size_t>(opt_.batch_size);
  if (remaining == 0 || (opt_.drop_last && remaining < bs)) return false;
  const size_t take = std::min(bs, remaining);
  b.indices.assign(order_.begin() + pos_, order_.begin() + pos_ + take);
  pos_ += take;
  b.images = ds_.images(b.indices);
  b.labels = ds_.has_labels() ? ds_.labels(b.indices) : Tensor();
  return true;
}

}  // namespace mpq::data
