#include "quant/observers.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <thread>

namespace mpq::quant {

HistogramObserver::HistogramObserver(int bins) {
  if (bins < 2 || (bins & (bins - 1)) != 0)
    invalid_input(str("histogram bins must be a power of two >= 2, got ", bins))
        .key("bins")
        .raise();
  bins_.assign(static_cast<size_t>(bins), 0);
}

void HistogramObserver::grow_to(float amax) {
  const size_t b = bins_.size();
  while (range_ < amax) {
    for (size_t i = 0; i < b / 2; ++i) bins_[i] = bins_[2 * i] + bins_[2 * i + 1];
    std::fill(bins_.begin() + b / 2, bins_.end(), 0);
    range_ *= 2.f;
  }
}

namespace {

struct Extremes {
  float min = std::numeric_limits<float>::infinity();
  float max = -std::numeric_limits<float>::infinity();
};

Extremes extremes(const float* p, int64_t n) {
  Extremes e;
  for (int64_t i = 0; i < n; ++i) e.min = std::min(e.min, p[i]), e.max = std::max(e.max, p[i]);
  return e;
}

// Runs f(begin, end, part) over `parts` contiguous slices of [0, n).
template <typename F>
void parallel_slices(int64_t n, int parts, F f) {
  if (parts <= 1) {
    f(int64_t{0}, n, 0);
    return;
  }
  std::vector<std::thread> pool;
  for (int t = 0; t < parts; ++t) {
    int64_t b = n * t / parts, e = n * (t + 1) / parts;
    pool.emplace_back([=, &f] { f(b, e, t); });
  }
  for (auto& th : pool) th.join();
}

// Below this many values a batch is counted on one thread (thread start-up would dominate).
constexpr int64_t kMinValuesPerThread = 1 << 16;

}  // namespace

void HistogramObserver::observe(const float* data, int64_t n, int threads) {
  if (n <= 0) return;
  const int parts =
      static_cast<int>(std::clamp<int64_t>(n / kMinValuesPerThread, 1, std::max(1, threads)));
  std::vector<Extremes> ex(parts);
  parallel_slices(n, parts,
                  [&](int64_t b, int64_t e, int t) { ex[t] = extremes(data + b, e - b); });
  Extremes all;
  for (const auto& e : ex) all.min = std::min(all.min, e.min), all.max = std::max(all.max, e.max);
  if (count_ == 0) {
    min_ = all.min, max_ = all.max;
  } else {
    min_ = std::min(min_, all.min), max_ = std::max(max_, all.max);
  }
  const float amax = std::max(std::fabs(all.min), std::fabs(all.max));
  amax_ = std::max(amax_, amax);
  if (amax > range_) {
    if (range_ == 0.f)
      range_ = amax;  // the first non-zero batch sets the scale
    else
      grow_to(amax);
  }
  const int64_t nb = static_cast<int64_t>(bins_.size());
  const float inv = range_ > 0.f ? static_cast<float>(nb) / range_ : 0.f;
  auto count_slice = [&](int64_t b, int64_t e, int64_t* hist, int64_t* zeros) {
    for (int64_t i = b; i < e; ++i) {
      const float a = std::fabs(data[i]);
      if (a == 0.f) {
        ++*zeros;
        continue;
      }
      int64_t idx = static_cast<int64_t>(a * inv);
      hist[idx < nb ? idx : nb - 1] += 1;
    }
  };
  if (parts == 1) {
    count_slice(0, n, bins_.data(), &zeros_);
  } else {
    std::vector<std::vector<int64_t>> local(parts, std::vector<int64_t>(bins_.size(), 0));
    std::vector<int64_t> local_zeros(parts, 0);
    parallel_slices(n, parts, [&](int64_t b, int64_t e, int t) {
      count_slice(b, e, local[t].data(), &local_zeros[t]);
    });
    for (int t = 0; t < parts; ++t) {  // integer sums: any order gives the same counts
      for (size_t i = 0; i < bins_.size(); ++i) bins_[i] += local[t][i];
      zeros_ += local_zeros[t];
    }
  }
  count_ += n;
}

const char* calib_method_name(CalibMethod m) {
  switch (m) {
    case CalibMethod::kMinMax:
      return "minmax";
    case CalibMethod::kPercentile:
      return "percentile";
    case CalibMethod::kEntropy:
      return "entropy";
    case CalibMethod::kMse:
      return "mse";
  }
  return "?";
}

bool parse_calib_method(std::string_view s, CalibMethod* out) {
  for (CalibMethod m :
       {CalibMethod::kMinMax, CalibMethod::kPercentile, CalibMethod::kEntropy, CalibMethod::kMse})
    if (s == calib_method_name(m)) return *out = m, true;
  return false;
}

double percentile_threshold(const HistogramObserver& h, double percentile) {
  if (!(percentile > 0.0 && percentile <= 100.0))
    invalid_input(str("percentile must be in (0, 100], got ", percentile))
        .key("percentile")
        .raise();
  if (h.count() == 0) return 0.0;
  const double target = percentile / 100.0 * static_cast<double>(h.count());
  double cum = static_cast<double>(h.zero_count());
  if (cum >= target) return 0.0;
  const double w = h.bin_width();
  const auto& b = h.bins();
  for (size_t j = 0; j < b.size(); ++j) {
    if (b[j] == 0) continue;
    if (cum + static_cast<double>(b[j]) >= target) {
      // Linear interpolation inside the bin (values assumed uniform within it).
      const double frac = (target - cum) / static_cast<double>(b[j]);
      return std::min((static_cast<double>(j) + frac) * w, static_cast<double>(h.amax()));
    }
    cum += static_cast<double>(b[j]);
  }
  return h.amax();
}

double entropy_threshold(const HistogramObserver& h, int levels, double* best_kl) {
  if (best_kl) *best_kl = 0.0;
  const auto& hist = h.bins();
  const int64_t nb = static_cast<int64_t>(hist.size());
  int64_t last = 0;
  for (int64_t j = 0; j < nb; ++j)
    if (hist[j]) last = j + 1;
  if (levels < 2) invalid_input(str("entropy levels must be >= 2, got ", levels)).raise();
  if (last == 0) return 0.0;
  if (last <= levels) return h.amax();  // fewer occupied bins than levels: nothing to gain
  // Prefix sums make each candidate O(levels): count, non-empty bins, and sum of p*ln(p) with
  // p = count/total (P without outliers).
  std::vector<int64_t> cnt(nb + 1, 0), nz(nb + 1, 0);
  std::vector<double> plnp(nb + 1, 0.0);
  for (int64_t j = 0; j < nb; ++j) {
    cnt[j + 1] = cnt[j] + hist[j];
    nz[j + 1] = nz[j] + (hist[j] != 0);
  }
  const double total = static_cast<double>(cnt[nb]);
  for (int64_t j = 0; j < nb; ++j) {
    const double p = static_cast<double>(hist[j]) / total;
    plnp[j + 1] = plnp[j] + (hist[j] ? p * std::log(p) : 0.0);
  }
  constexpr double kEps = 1e-12;  // Q mass where P has mass but the candidate has none
  double best = std::numeric_limits<double>::infinity();
  int64_t best_i = nb;
  for (int64_t i = levels; i <= nb; ++i) {
    const double inside = static_cast<double>(cnt[i]);
    if (inside <= 0.0) continue;
    // Q: the first i bins quantized into `levels` groups, each group's mass spread evenly over
    // its non-empty bins (empty bins stay empty, as in TensorRT's calibrator), normalized.
    // P: the first i bins with the outliers (bins >= i) folded into bin i-1, normalized.
    // KL(P||Q) over a group's non-empty bins = sum p ln p - (group mass) ln q_group.
    double kl = 0.0, q_last = 0.0;
    for (int g = 0; g < levels; ++g) {
      const int64_t b = i * g / levels, e = i * (g + 1) / levels;
      const int64_t n_nz = nz[e] - nz[b];
      if (!n_nz) continue;
      const double mass = static_cast<double>(cnt[e] - cnt[b]);
      const double q = std::max(mass / static_cast<double>(n_nz) / inside, kEps);
      kl += (plnp[e] - plnp[b]) - mass / total * std::log(q);
      if (e == i) q_last = q;
    }
    const double outliers = total - inside;
    if (outliers > 0.0) {  // bin i-1 carries the outliers: replace its term
      const double c = static_cast<double>(hist[i - 1]);
      if (c > 0.0) {
        const double p = c / total;
        kl -= p * std::log(p) - p * std::log(q_last);
      }
      const double p2 = (c + outliers) / total;
      kl += p2 * std::log(p2 / (c > 0.0 ? q_last : kEps));
    }
    if (kl <= best) best = kl, best_i = i;  // ties: the wider clip
  }
  if (best_kl) *best_kl = best;
  return std::min(static_cast<double>(best_i) * h.bin_width(), static_cast<double>(h.amax()));
}

double mse_threshold(const HistogramObserver& h, int bits, double* best_mse) {
  if (best_mse) *best_mse = 0.0;
  if (bits < 2 || bits > 16) invalid_input(str("MSE bits must be in 2..16, got ", bits)).raise();
  const auto& hist = h.bins();
  const int64_t nb = static_cast<int64_t>(hist.size());
  if (h.count() == 0 || h.amax() == 0.f) return 0.0;
  const double w = h.bin_width();
  // Steps across [0, T]: a non-negative tensor uses every level, a signed one half of them.
  const double full = std::ldexp(1.0, bits) - 1.0;
  const double levels = h.min() >= 0.f ? full : full / 2.0;
  // Suffix sums of count, count*E[x], count*E[x^2] (values uniform within each bin).
  std::vector<double> s0(nb + 1, 0.0), s1(nb + 1, 0.0), s2(nb + 1, 0.0);
  for (int64_t j = nb - 1; j >= 0; --j) {
    const double a = static_cast<double>(j) * w, b = a + w, c = static_cast<double>(hist[j]);
    s0[j] = s0[j + 1] + c;
    s1[j] = s1[j + 1] + c * (a + b) / 2.0;
    s2[j] = s2[j + 1] + c * (a * a + a * b + b * b) / 3.0;
  }
  double best = std::numeric_limits<double>::infinity();
  int64_t best_i = nb;
  for (int64_t i = 1; i <= nb; ++i) {
    const double t = static_cast<double>(i) * w;
    const double step = t / levels;
    const double rounding = (s0[0] - s0[i]) * step * step / 12.0;
    const double clipping = std::max(0.0, s2[i] - 2.0 * t * s1[i] + t * t * s0[i]);
    const double err = rounding + clipping;
    if (err <= best) best = err, best_i = i;
  }
  if (best_mse) *best_mse = best / static_cast<double>(h.count());
  return std::min(static_cast<double>(best_i) * w, static_cast<double>(h.amax()));
}

TensorRange choose_range(const HistogramObserver& h, CalibMethod m, const MethodOptions& o) {
  TensorRange r;
  r.method = calib_method_name(m);
  double t = h.amax();
  switch (m) {
    case CalibMethod::kMinMax:
      break;
    case CalibMethod::kPercentile:
      t = percentile_threshold(h, o.percentile);
      r.stats["percentile"] = o.percentile;
      break;
    case CalibMethod::kEntropy: {
      double kl;
      t = entropy_threshold(h, o.entropy_levels, &kl);
      r.stats["kl_divergence"] = kl;
      r.stats["levels"] = o.entropy_levels;
      break;
    }
    case CalibMethod::kMse: {
      double mse;
      t = mse_threshold(h, o.mse_bits, &mse);
      r.stats["mse"] = mse;
      break;
    }
  }
  const float tf = static_cast<float>(t);
  r.min = h.count() ? std::max(h.min(), -tf) : 0.f;
  r.max = h.count() ? std::min(h.max(), tf) : 0.f;
  if (r.min > r.max) r.min = r.max = 0.f;  // T = 0 with data on one side of 0
  r.stats["observed_min"] = h.min();
  r.stats["observed_max"] = h.max();
  r.stats["count"] = static_cast<double>(h.count());
  r.stats["zero_count"] = static_cast<double>(h.zero_count());
  r.stats["bins"] = static_cast<double>(h.bins().size());
  r.stats["bin_width"] = h.bin_width();
  r.stats["threshold"] = t;
  return r;
}

}  // namespace mpq::quant
