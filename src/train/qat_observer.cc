#include "train/qat_observer.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/parallel.h"

namespace mpq::train {

bool QatObserver::observe(const std::vector<float>& mins, const std::vector<float>& maxs,
                          int64_t nni_step, bool training) {
  if (is_weight()) {
    if (!active(nni_step)) return false;
    params = quant::tensor_quant_from_ranges(mins, maxs, setting.bits, setting.dtype,
                                             setting.scheme, axis);
    tracked_min = mins, tracked_max = maxs;
    has_params = true;
    return true;
  }
  if (training) {
    if (nni_step <= 1 || !tracked) {
      tracked_min = mins, tracked_max = maxs;
      tracked = true;
    } else {
      for (size_t c = 0; c < mins.size(); ++c) {
        tracked_min[c] = tracked_min[c] * kQatEmaDecay + (1.f - kQatEmaDecay) * mins[c];
        tracked_max[c] = tracked_max[c] * kQatEmaDecay + (1.f - kQatEmaDecay) * maxs[c];
      }
    }
    if (!active(nni_step)) return false;
    params = quant::tensor_quant_from_ranges(tracked_min, tracked_max, setting.bits, setting.dtype,
                                             setting.scheme, axis);
    has_params = true;
    return true;
  }
  return has_params;  // eval: the stored parameters, unchanged
}

void QatObserver::load_range(float mn, float mx) {
  const size_t c = std::max<size_t>(1, tracked_min.size());
  tracked_min.assign(c, mn);
  tracked_max.assign(c, mx);
  tracked = true;
  params = quant::tensor_quant_from_ranges(tracked_min, tracked_max, setting.bits, setting.dtype,
                                           setting.scheme, tracked_min.size() > 1 ? axis : -1);
  has_params = true;
}

float QatObserver::range_min() const {
  return tracked_min.empty() ? 0.f : *std::min_element(tracked_min.begin(), tracked_min.end());
}
float QatObserver::range_max() const {
  return tracked_max.empty() ? 0.f : *std::max_element(tracked_max.begin(), tracked_max.end());
}

void buffer_min_max(const float* x, int64_t n, int64_t channels, int64_t inner,
                    std::vector<float>* mins, std::vector<float>* maxs) {
  const float inf = std::numeric_limits<float>::infinity();
  if (channels == 1) {
    // Per-thread partial results, then a serial merge.
    const int64_t grain = 1 << 16;
    const int64_t chunks = std::max<int64_t>(1, (n + grain - 1) / grain);
    std::vector<float> lo(chunks, inf), hi(chunks, -inf);
    parallel_for(
        chunks,
        [&](int64_t b, int64_t e) {
          for (int64_t c = b; c < e; ++c) {
            float l = inf, h = -inf;
            for (int64_t i = c * grain, end = std::min(n, (c + 1) * grain); i < end; ++i) {
              l = std::min(l, x[i]);  // std::min keeps l when x[i] is NaN
              h = std::max(h, x[i]);
            }
            lo[c] = l, hi[c] = h;
          }
        },
        1);
    float l = inf, h = -inf;
    for (int64_t c = 0; c < chunks; ++c) l = std::min(l, lo[c]), h = std::max(h, hi[c]);
    if (l > h) l = h = std::nanf("");
    *mins = {l};
    *maxs = {h};
    return;
  }
  mins->assign(channels, inf);
  maxs->assign(channels, -inf);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = (i / inner) % channels;
    (*mins)[c] = std::min((*mins)[c], x[i]);
    (*maxs)[c] = std::max((*maxs)[c], x[i]);
  }
  for (int64_t c = 0; c < channels; ++c)
    if ((*mins)[c] > (*maxs)[c]) (*mins)[c] = (*maxs)[c] = std::nanf("");
}

}  // namespace mpq::train
