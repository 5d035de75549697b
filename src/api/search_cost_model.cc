#include "api/search_cost_model.h"

#include <cmath>

#include "core/status.h"

namespace mpq::api {

namespace {

// How much the prior weighs against one timing, per coefficient: enough to pin coefficients that
// few timings see, little enough that repeated timings override a noisy probe.
constexpr double kPriorWeight = 0.5;

// Solves A x = b for a symmetric positive definite A (row-major, n x n) by Cholesky.
std::vector<double> solve_spd(std::vector<double> a, std::vector<double> b, size_t n) {
  for (size_t j = 0; j < n; ++j) {
    double d = a[j * n + j];
    for (size_t k = 0; k < j; ++k) d -= a[j * n + k] * a[j * n + k];
    if (!(d > 0)) internal_error("cost model: the normal equations are not positive").raise();
    a[j * n + j] = std::sqrt(d);
    for (size_t i = j + 1; i < n; ++i) {
      double s = a[i * n + j];
      for (size_t k = 0; k < j; ++k) s -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = s / a[j * n + j];
    }
  }
  for (size_t i = 0; i < n; ++i) {  // L y = b
    for (size_t k = 0; k < i; ++k) b[i] -= a[i * n + k] * b[k];
    b[i] /= a[i * n + i];
  }
  for (size_t i = n; i-- > 0;) {  // L^T x = y
    for (size_t k = i + 1; k < n; ++k) b[i] -= a[k * n + i] * b[k];
    b[i] /= a[i * n + i];
  }
  return b;
}

}  // namespace

std::vector<double> SearchCostModel::features(const std::vector<int>& bits) const {
  if (bits.size() != layers_) internal_error("cost model: wrong number of layers").raise();
  std::vector<double> x(2 + 2 * layers_, 0.0);
  x[0] = 1.0;
  for (size_t l = 0; l < layers_; ++l) {
    if (bits[l] == 16) x[1 + 2 * l] = 1.0;
    if (bits[l] == 32) x[2 + 2 * l] = 1.0;
    if (l > 0 && bits[l] != bits[l - 1]) x.back() += 1.0;
  }
  return x;
}

void SearchCostModel::add(const std::vector<int>& bits, double ms) {
  xs_.push_back(features(bits));
  ys_.push_back(ms);
}

void SearchCostModel::set_prior(double base_ms, const std::vector<double>& extra16,
                                const std::vector<double>& extra32) {
  prior_.assign(2 + 2 * layers_, 0.0);  // the boundary cost's prior is 0
  prior_[0] = base_ms;
  for (size_t l = 0; l < layers_; ++l) {
    prior_[1 + 2 * l] = l < extra16.size() ? extra16[l] : 0.0;
    prior_[2 + 2 * l] = l < extra32.size() ? extra32[l] : 0.0;
  }
  w_ = prior_;
}

void SearchCostModel::fit() {
  const size_t n = w_.size();
  if (prior_.empty()) prior_.assign(n, 0.0);
  std::vector<double> a(n * n, 0.0), b(n, 0.0);
  for (size_t i = 0; i < n; ++i) {
    a[i * n + i] = kPriorWeight;
    b[i] = kPriorWeight * prior_[i];
  }
  for (size_t s = 0; s < ys_.size(); ++s) {
    const std::vector<double>& x = xs_[s];
    for (size_t i = 0; i < n; ++i) {
      if (x[i] == 0.0) continue;
      b[i] += x[i] * ys_[s];
      for (size_t j = 0; j < n; ++j) a[i * n + j] += x[i] * x[j];
    }
  }
  w_ = solve_spd(std::move(a), std::move(b), n);
}

double SearchCostModel::predict(const std::vector<int>& bits) const {
  const std::vector<double> x = features(bits);
  double y = 0.0;
  for (size_t i = 0; i < x.size(); ++i) y += x[i] * w_[i];
  return y;
}

}  // namespace mpq::api
