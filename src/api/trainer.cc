// mpq::Trainer: the public float trainer over train::Trainer. The internal trainer resizes the
// model input to each batch; the public one gives the model its declared input shape back after
// every call, so that the model goes on to calibration or an engine as it was.
#include "mpq/trainer.h"

#include "mpq/model.h"
#include "train/trainer.h"

namespace mpq {

struct Trainer::Impl {
  train::Trainer trainer;

  static train::TrainOptions options(const TrainerOptions& o) {
    train::TrainOptions t;
    t.optimizer = o.optimizer, t.schedule = o.schedule, t.batch_size = o.batch_size;
    t.seed = o.seed, t.shuffle = o.shuffle, t.quiet = o.quiet;
    t.max_steps_per_epoch = o.max_steps_per_epoch;
    return t;
  }
  // Runs f() and gives the model its declared input shape back, whether f() returned or threw.
  template <typename F>
  auto keeping_inputs(F&& f) {
    struct Restore {
      train::Trainer& t;
      ~Restore() { t.autodiff().restore_shapes(); }
    } restore{trainer};
    return f();
  }
};

Trainer::Trainer(Model& model, TrainerOptions options)
    : impl_(new Impl{train::Trainer(model.graph(), Impl::options(options))}) {}
Trainer::~Trainer() = default;

TrainStats Trainer::train_step(const Tensor& x, const Tensor& labels) {
  return impl_->keeping_inputs([&] {
    train::StepResult r = impl_->trainer.train_step(x, labels);
    const double acc =
        r.count ? static_cast<double>(r.correct) / static_cast<double>(r.count) : 0.0;
    return TrainStats{r.loss, acc, r.count, 1, 0.0, 0.0};
  });
}

std::vector<TrainStats> Trainer::fit(const data::Dataset& train, int64_t epochs) {
  return impl_->keeping_inputs([&] {
    std::vector<TrainStats> out;
    for (const train::EpochResult& e : impl_->trainer.fit(train, epochs))
      out.push_back({e.loss, e.accuracy, e.samples, e.steps, e.seconds, e.images_per_second});
    return out;
  });
}

TrainStats Trainer::evaluate(const data::Dataset& test, int64_t batch_size) {
  return impl_->keeping_inputs([&] {
    train::EvalResult r = impl_->trainer.evaluate(test, batch_size);
    return TrainStats{r.loss, r.accuracy, r.samples, 0, r.seconds, r.images_per_second};
  });
}

Tensor Trainer::predict(const Tensor& x) {
  return impl_->keeping_inputs([&] { return impl_->trainer.predict(x); });
}

}  // namespace mpq
