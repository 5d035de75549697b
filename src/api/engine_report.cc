#include "api/engine_report.h"

#include <algorithm>
#include <map>
#include <numeric>

#include "ir/op_def.h"

namespace mpq::api {

BitsSummary average_bits(const plan::Plan& p) {
  BitsSummary s;
  double sum = 0, wsum = 0;
  for (const plan::Step& st : p.steps) {
    const Node& n = *st.node;
    if (!has_constant_weight(n) || n.inputs[1]->constant->rank() < 2) continue;
    const int bits = precision_bits(st.precision);
    const int64_t np = n.inputs[1]->constant->numel();
    ++s.layers;
    s.parameters += np;
    sum += bits;
    wsum += static_cast<double>(bits) * static_cast<double>(np);
  }
  if (s.layers) s.mean_bits = sum / s.layers;
  if (s.parameters) s.weighted_bits = wsum / static_cast<double>(s.parameters);
  return s;
}

std::string executed_label(const plan::Plan& p) {
  std::map<Precision, int> n;
  for (const plan::Step& st : p.steps) {
    const Node& node = *st.node;
    if (has_constant_weight(node) && node.inputs[1]->constant->rank() >= 2) ++n[st.precision];
  }
  if (n.empty()) return "none";
  if (n.size() == 1) return precision_name(n.begin()->first);
  std::string s = "mixed (";
  for (auto it = n.rbegin(); it != n.rend(); ++it)
    s += str(it == n.rbegin() ? "" : ", ", precision_name(it->first), " x", it->second);
  return s + ")";
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const double pos = q / 100.0 * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

LatencyStats latency_stats(const std::vector<double>& ms) {
  LatencyStats s;
  if (ms.empty()) return s;
  s.median_ms = percentile(ms, 50);
  s.p10_ms = percentile(ms, 10);
  s.p90_ms = percentile(ms, 90);
  s.min_ms = *std::min_element(ms.begin(), ms.end());
  s.mean_ms = std::accumulate(ms.begin(), ms.end(), 0.0) / static_cast<double>(ms.size());
  return s;
}

}  // namespace mpq::api
