// Summaries of a built engine for `mpq inspect` / `mpq bench` / the API: average weight bits and
// latency statistics.
#pragma once

#include <cstdint>
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

// Latency statistics of a list of run times (ms): median and the 10th/90th percentiles (linear
// interpolation between order statistics, as numpy.percentile).
struct LatencyStats {
  double median_ms = 0, p10_ms = 0, p90_ms = 0, min_ms = 0, mean_ms = 0;
};
double percentile(std::vector<double> v, double q);  // q in [0, 100]
LatencyStats latency_stats(const std::vector<double>& ms);

}  // namespace mpq::api
