// Summaries of a built engine for `mpq inspect` / `mpq bench` / the API: average weight bits and
// latency statistics.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "plan/plan.h"

namespace mpq::api {

// Average executed weight bits over the quantizable weighted layers (Conv/Gemm/MatMul steps with
// a constant weight): the plain mean over layers (NNI's "average bit" of a config) and the mean
// weighted by parameter count.
struct BitsSummary {
  int layers = 0;
  int64_t parameters = 0;
  double mean_bits = 0.0;
  double weighted_bits = 0.0;
};
BitsSummary average_bits(const plan::Plan& p);

// What an engine's weighted layers really ran, from its plan (not what was asked for): "int8"
// when every one ran int8, else e.g. "mixed (int8 x20, fp32 x1)". A calibration table with
// per-layer bits can make an engine built "at fp32" run int8 layers: benchmarks label by this.
std::string executed_label(const plan::Plan& p);

// Latency statistics of a list of run times (ms): median and the 10th/90th percentiles (linear
// interpolation between order statistics, as numpy.percentile).
struct LatencyStats {
  double median_ms = 0, p10_ms = 0, p90_ms = 0, min_ms = 0, mean_ms = 0;
};
double percentile(std::vector<double> v, double q);  // q in [0, 100]
LatencyStats latency_stats(const std::vector<double>& ms);

}  // namespace mpq::api
