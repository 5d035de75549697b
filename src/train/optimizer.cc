#include "train/optimizer.h"

#include <cmath>
#include <unordered_map>

#include "core/parallel.h"

namespace mpq {

double LrSchedule::at(double base, int64_t epoch, int64_t iter, int64_t per_epoch) const {
  switch (kind) {
    case Kind::kConstant:
      return base;
    case Kind::kStep:
      return base * std::pow(gamma, static_cast<double>(epoch / std::max<int64_t>(step_size, 1)));
    case Kind::kMultiStep: {
      int64_t k = 0;
      for (int64_t m : milestones) k += epoch >= m;
      return base * std::pow(gamma, static_cast<double>(k));
    }
    case Kind::kCosine: {
      const double t = per_iteration ? static_cast<double>(epoch * per_epoch + iter)
                                     : static_cast<double>(epoch);
      const double T = static_cast<double>(std::max<int64_t>(t_max, 1));
      const double pi = 3.14159265358979323846;
      return eta_min + (base - eta_min) * (1.0 + std::cos(pi * std::min(t, T) / T)) / 2.0;
    }
  }
  return base;
}

}  // namespace mpq

namespace mpq::train {

namespace {

void check(bool ok, const char* key, const std::string& what) {
  if (!ok) invalid_input(what).key(key).raise();
}

// Per-parameter state, keyed by the parameter's value (stable for the trainer's lifetime).
struct State {
  Tensor a, b;
  int64_t steps = 0;
};

class SgdOptimizer : public Optimizer {
 public:
  explicit SgdOptimizer(const SGD& c) : c_(c) { lr_ = base_lr_ = c.lr; }
  std::string describe() const override {
    return str("SGD(lr=", lr_, ", momentum=", c_.momentum, ", weight_decay=", c_.weight_decay,
               c_.nesterov ? ", nesterov" : "", ")");
  }
  void step(std::vector<Param>& params) override {
    ++steps_;
    for (Param& p : params) {
      if (!p.has_grad || p.frozen) continue;
      State& s = state_[p.value];
      const bool first = s.steps++ == 0;
      if (c_.momentum != 0.0 && s.a.empty()) s.a = Tensor(DType::f32, p.data.shape());
      float* w = p.data.data<float>();
      const float* g = p.grad.data<float>();
      float* buf = c_.momentum != 0.0 ? s.a.data<float>() : nullptr;
      const float lr = static_cast<float>(lr_), wd = static_cast<float>(c_.weight_decay);
      const float mom = static_cast<float>(c_.momentum),
                  damp = static_cast<float>(1.0 - c_.dampening);
      const bool nest = c_.nesterov;
      parallel_for(p.data.numel(), [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          float d = g[i];
          if (wd != 0.f) d += wd * w[i];
          if (buf) {
            buf[i] = first ? d : mom * buf[i] + damp * d;
            d = nest ? d + mom * buf[i] : buf[i];
          }
          w[i] -= lr * d;
        }
      });
    }
  }

 private:
  SGD c_;
  std::unordered_map<const Value*, State> state_;
};

class AdamOptimizer : public Optimizer {
 public:
  AdamOptimizer(double lr, double b1, double b2, double eps, double wd, bool decoupled)
      : b1_(b1), b2_(b2), eps_(eps), wd_(wd), decoupled_(decoupled) {
    lr_ = base_lr_ = lr;
  }
  std::string describe() const override {
    return str(decoupled_ ? "AdamW" : "Adam", "(lr=", lr_, ", betas=(", b1_, ", ", b2_,
               "), eps=", eps_, ", weight_decay=", wd_, ")");
  }
  void step(std::vector<Param>& params) override {
    ++steps_;
    for (Param& p : params) {
      if (!p.has_grad || p.frozen) continue;
      State& s = state_[p.value];
      if (s.a.empty())
        s.a = Tensor(DType::f32, p.data.shape()), s.b = Tensor(DType::f32, p.data.shape());
      const int64_t t = ++s.steps;
      const double bc1 = 1.0 - std::pow(b1_, static_cast<double>(t));
      const double bc2 = 1.0 - std::pow(b2_, static_cast<double>(t));
      const float step_size = static_cast<float>(lr_ / bc1);
      const float sbc2 = static_cast<float>(std::sqrt(bc2));
      const float b1 = static_cast<float>(b1_), b2 = static_cast<float>(b2_);
      const float eps = static_cast<float>(eps_), wd = static_cast<float>(wd_);
      const float decay = decoupled_ ? static_cast<float>(1.0 - lr_ * wd_) : 1.f;
      const bool l2 = !decoupled_ && wd_ != 0.0;
      float* w = p.data.data<float>();
      const float* g = p.grad.data<float>();
      float* m = s.a.data<float>();
      float* v = s.b.data<float>();
      parallel_for(p.data.numel(), [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          float d = g[i];
          if (l2) d += wd * w[i];
          w[i] *= decay;
          m[i] = b1 * m[i] + (1.f - b1) * d;
          v[i] = b2 * v[i] + (1.f - b2) * d * d;
          const float denom = std::sqrt(v[i]) / sbc2 + eps;
          w[i] -= step_size * m[i] / denom;
        }
      });
    }
  }

 private:
  double b1_, b2_, eps_, wd_;
  bool decoupled_;
  std::unordered_map<const Value*, State> state_;
};

}  // namespace

std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& cfg) {
  if (const SGD* s = std::get_if<SGD>(&cfg)) {
    check(s->lr > 0 && std::isfinite(s->lr), "lr", str("SGD lr must be > 0, got ", s->lr));
    check(s->momentum >= 0 && s->momentum < 1, "momentum",
          str("SGD momentum must be in [0, 1), got ", s->momentum));
    check(s->weight_decay >= 0, "weight_decay",
          str("weight_decay must be >= 0, got ", s->weight_decay));
    check(!s->nesterov || (s->momentum > 0 && s->dampening == 0), "nesterov",
          "Nesterov momentum needs momentum > 0 and dampening 0");
    return std::make_unique<SgdOptimizer>(*s);
  }
  auto adam_checks = [](double lr, double b1, double b2, double eps, double wd) {
    check(lr > 0 && std::isfinite(lr), "lr", str("Adam lr must be > 0, got ", lr));
    check(b1 >= 0 && b1 < 1, "beta1", str("beta1 must be in [0, 1), got ", b1));
    check(b2 >= 0 && b2 < 1, "beta2", str("beta2 must be in [0, 1), got ", b2));
    check(eps > 0, "eps", str("eps must be > 0, got ", eps));
    check(wd >= 0, "weight_decay", str("weight_decay must be >= 0, got ", wd));
  };
  if (const Adam* a = std::get_if<Adam>(&cfg)) {
    adam_checks(a->lr, a->beta1, a->beta2, a->eps, a->weight_decay);
    return std::make_unique<AdamOptimizer>(a->lr, a->beta1, a->beta2, a->eps, a->weight_decay,
                                           false);
  }
  const AdamW& a = std::get<AdamW>(cfg);
  adam_checks(a.lr, a.beta1, a.beta2, a.eps, a.weight_decay);
  return std::make_unique<AdamOptimizer>(a.lr, a.beta1, a.beta2, a.eps, a.weight_decay, true);
}

}  // namespace mpq::train
