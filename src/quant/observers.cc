#include "quant/observers.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <thread>

namespace mpq::quant {

HistogramObserver::HistogramObserver(int bins) {
  if (bins < 2 || bins > kMaxHistogramBins || (bins & (bins - 1)) != 0)
    invalid_input(
        str("histogram bins must be a power of two in 2..", kMaxHistogramBins, ", got ", bins))
        .key("bins")
        .raise();
  bins_.assign(static_cast<size_t>(bins), 0);
}

void HistogramObserver::grow_to(float amax) {
  const size_t b = bins_.size();
  // Near FLT_MAX doubling would overflow to inf: values past the last doubling clamp into the
  // last bin instead.
  while (range_ < amax && range_ <= std::numeric_limits<float>::max() / 2) {
    for (size_t i = 0; i < b / 2; ++i) bins_[i] = bins_[2 * i] + bins_[2 * i + 1];
    std::fill(bins_.begin() + b / 2, bins_.end(), 0);
    range_ *= 2.f;
  }
}

namespace {

// One pass over the data: min, max and whether every value is finite (x * 0 is NaN exactly for
// NaN and inf). Eight independent lanes so the compiler vectorizes it; min/max are exact in any
// order, and the finiteness flag is a sum of zeros (or NaN), so the result is order-independent.
struct Scan {
  float min = std::numeric_limits<float>::infinity();
  float max = -std::numeric_limits<float>::infinity();
  bool finite = true;
};

Scan scan(const float* p, int64_t n) {
  constexpr int L = 8;
  float mn[L], mx[L], z[L];
  for (int l = 0; l < L; ++l)
    mn[l] = std::numeric_limits<float>::infinity(), mx[l] = -mn[l], z[l] = 0.f;
  int64_t i = 0;
  for (; i + L <= n; i += L)
    for (int l = 0; l < L; ++l) {
      const float x = p[i + l];
      mn[l] = x < mn[l] ? x : mn[l];
      mx[l] = x > mx[l] ? x : mx[l];
      z[l] += x * 0.f;
    }
  for (; i < n; ++i) {
    const float x = p[i];
    mn[0] = x < mn[0] ? x : mn[0];
    mx[0] = x > mx[0] ? x : mx[0];
    z[0] += x * 0.f;
  }
  Scan s;
  for (int l = 0; l < L; ++l) {
    s.min = std::min(s.min, mn[l]), s.max = std::max(s.max, mx[l]);
    s.finite = s.finite && z[l] == 0.f;
  }
  return s;
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
constexpr int64_t kMinValuesPerThread = 1 << 18;

// Counts |x| of p[0, n) into `out` (nb + 1 slots: the last one counts exact zeros). Branch-free:
// zeros land in bin 0 and are subtracted afterwards (ReLU outputs are half zeros, which would
// defeat branch prediction). Four interleaved 32-bit sub-histograms keep runs of equal bins from
// stalling on one counter; chunks of at most 2^31 values keep the counters from overflowing.
void count_bins(const float* p, int64_t n, float inv, int nb, int64_t* out) {
  thread_local std::vector<uint32_t> sub;
  const size_t stride = static_cast<size_t>(nb);
  sub.assign(4 * stride, 0u);
  uint32_t* h[4] = {sub.data(), sub.data() + stride, sub.data() + 2 * stride,
                    sub.data() + 3 * stride};
  const int last = nb - 1;
  // Compared as a float before the conversion: a product past INT_MAX must clamp, not wrap.
  const float flast = static_cast<float>(last);
  auto bin = [inv, last, flast](float x) {
    const float f = std::fabs(x) * inv;
    return f < flast ? static_cast<int>(f) : last;
  };
  for (int64_t start = 0; start < n; start += int64_t{1} << 31) {
    const int64_t end = std::min(n, start + (int64_t{1} << 31));
    int64_t zeros = 0;
    int64_t i = start;
    // Indices for 16 values at a time (a loop the compiler vectorizes), then the increments.
    for (; i + 16 <= end; i += 16) {
      int idx[16];
      int z = 0;
      for (int l = 0; l < 16; ++l) {
        const float x = p[i + l];
        idx[l] = bin(x);
        z += x == 0.f;
      }
      zeros += z;
      for (int l = 0; l < 16; l += 4)
        ++h[0][idx[l]], ++h[1][idx[l + 1]], ++h[2][idx[l + 2]], ++h[3][idx[l + 3]];
    }
    for (; i < end; ++i) zeros += p[i] == 0.f, ++h[0][bin(p[i])];
    for (size_t j = 0; j < stride; ++j) {
      out[j] += static_cast<int64_t>(h[0][j]) + h[1][j] + h[2][j] + h[3][j];
      h[0][j] = h[1][j] = h[2][j] = h[3][j] = 0;
    }
    out[0] -= zeros;
    out[nb] += zeros;
  }
}

}  // namespace

int64_t HistogramObserver::observe(const float* data, int64_t n, int threads) {
  if (n <= 0) return -1;
  const int parts =
      static_cast<int>(std::clamp<int64_t>(n / kMinValuesPerThread, 1, std::max(1, threads)));
  std::vector<Scan> sc(parts);
  parallel_slices(n, parts, [&](int64_t b, int64_t e, int t) { sc[t] = scan(data + b, e - b); });
  Scan all;
  for (const auto& e : sc) {
    all.min = std::min(all.min, e.min), all.max = std::max(all.max, e.max);
    all.finite = all.finite && e.finite;
  }
  if (!all.finite) {  // rare: find the first bad value for the message, change nothing
    for (int64_t i = 0; i < n; ++i)
      if (!std::isfinite(data[i])) return i;
  }
  if (count_ == 0) {
    min_ = all.min, max_ = all.max;
  } else {
    min_ = std::min(min_, all.min), max_ = std::max(max_, all.max);
  }
  const float amax = std::max(std::fabs(all.min), std::fabs(all.max));
  amax_ = std::max(amax_, amax);
  if (amax > range_) {
    if (range_ == 0.f)
      range_ = std::max(amax, kMinHistogramRange);  // the first non-zero batch sets the scale
    else
      grow_to(amax);
  }
  const int nb = static_cast<int>(bins_.size());
  const float inv = range_ > 0.f ? static_cast<float>(nb) / range_ : 0.f;
  // Integer counts per slice, summed afterwards: any order gives the same counts.
  std::vector<std::vector<int64_t>> local(parts, std::vector<int64_t>(bins_.size() + 1, 0));
  parallel_slices(n, parts, [&](int64_t b, int64_t e, int t) {
    count_bins(data + b, e - b, inv, nb, local[t].data());
  });
  for (int t = 0; t < parts; ++t) {
    for (int j = 0; j < nb; ++j) bins_[j] += local[t][j];
    zeros_ += local[t][nb];
  }
  count_ += n;
  return -1;
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
  // Data with few distinct values (e.g. images stored as u8: 256 levels, with a spike at the
  // background value) fits the quantization grid as it is; KL over such a comb of bins rewards
  // putting the clip right after a spike, clipping real values. Keep the whole range there.
  int64_t nonzero = 0;
  for (int64_t j = 0; j < nb; ++j) nonzero += hist[j] != 0;
  if (last <= levels || nonzero <= 2 * levels) return h.amax();
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
      r.stats["kl_threshold"] = t;
      r.stats["levels"] = o.entropy_levels;
      if (o.entropy_floor_percentile > 0.0) {
        const double floor = percentile_threshold(h, o.entropy_floor_percentile);
        r.stats["floor_threshold"] = floor;
        t = std::max(t, floor);
      }
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
  // The observed extremes clipped into [-T, T]: constant data (every value in the last bin, so T a
  // hair below it) keeps its value instead of collapsing to [0, 0].
  r.min = h.count() ? std::clamp(h.min(), -tf, tf) : 0.f;
  r.max = h.count() ? std::clamp(h.max(), -tf, tf) : 0.f;
  r.stats["observed_min"] = json_float(h.min());
  r.stats["observed_max"] = json_float(h.max());
  r.stats["count"] = static_cast<double>(h.count());
  r.stats["zero_count"] = static_cast<double>(h.zero_count());
  r.stats["bins"] = static_cast<double>(h.bins().size());
  int64_t nonzero = 0;
  for (int64_t c : h.bins()) nonzero += c != 0;
  r.stats["nonzero_bins"] = static_cast<double>(nonzero);
  r.stats["bin_width"] = h.bin_width();
  r.stats["threshold"] = t;
  return r;
}

}  // namespace mpq::quant
