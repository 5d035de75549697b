// The precision search's latency model: latency = base + the sum over layers of the cost of
// running that layer at 16 or 32 bits instead of int8 + a cost per precision change between
// consecutive layers (in graph order). The last term lets a run of float layers cost less than the
// sum of its layers' probes, which each paid for two conversions. Fitted by ridge regression to
// every whole-engine timing, pulled toward the per-layer probe figures (all int8 but that layer)
// where timings are few.
#pragma once

#include <cstddef>
#include <vector>

namespace mpq::api {

class SearchCostModel {
 public:
  explicit SearchCostModel(size_t layers) : layers_(layers), w_(2 + 2 * layers, 0.0) {}

  // One timed plan: bits per layer (8, 16, 32) and its latency.
  void add(const std::vector<int>& bits, double ms);
  // The prior: the all-int8 latency and each layer's extra cost at 16 and 32 bits.
  void set_prior(double base_ms, const std::vector<double>& extra16,
                 const std::vector<double>& extra32);
  // Refits the weights to every timing added (ridge toward the prior).
  void fit();
  double predict(const std::vector<int>& bits) const;
  size_t samples() const { return ys_.size(); }

 private:
  std::vector<double> features(const std::vector<int>& bits) const;

  size_t layers_;
  std::vector<double> w_, prior_;
  std::vector<std::vector<double>> xs_;
  std::vector<double> ys_;
};

}  // namespace mpq::api
