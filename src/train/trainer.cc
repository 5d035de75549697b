#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "core/progress.h"
#include "data/sampler.h"
#include "ir/op_def.h"

namespace mpq::train {

namespace {
using clock = std::chrono::steady_clock;
double since(clock::time_point t) {
  return std::chrono::duration<double>(clock::now() - t).count();
}

std::string fmt(double v, int prec) {
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

// Bad labels and non-finite inputs, named by their index in the dataset (batches are shuffled)
// and the data source. A NaN input would otherwise vanish in max-pooling and ReLU and train on
// garbage without the loss ever turning NaN.
// `where`: appended to the message, e.g. " (at step 3)".
void check_batch(const data::Dataset& ds, const data::Batch& b, int64_t classes,
                 const std::string& where) {
  const int64_t rows = static_cast<int64_t>(b.indices.size());
  if (classes > 0 && !b.labels.empty()) {
    const std::vector<int64_t> y = b.labels.to_int64s();
    for (int64_t r = 0; r < rows; ++r)
      if (y[r] < 0 || y[r] >= classes)
        invalid_input(str("label ", y[r], " of sample ", b.indices[r], " of ", ds.describe(),
                          " is out of range: the model has ", classes, " classes (0..", classes - 1,
                          ")", where))
            .raise();
  }
  if (b.images.dtype() != DType::f32 || rows == 0) return;
  const float* x = b.images.data<float>();
  const int64_t per = b.images.numel() / rows;
  for (int64_t i = 0; i < b.images.numel(); ++i)
    if (!std::isfinite(x[i]))
      invalid_input(str("sample ", b.indices[i / per], " of ", ds.describe(),
                        " holds a non-finite value (", x[i], " at element ", i % per, ")", where))
          .raise();
}

int64_t num_classes(Graph& g) {
  const Shape& logits = logits_value(g)->shape;
  return logits.size() == 2 ? logits[1] : -1;
}
}  // namespace

Value* logits_value(Graph& g) {
  if (g.outputs().size() != 1)
    unsupported(str("training needs a model with one output (the logits), this one has ",
                    g.outputs().size()))
        .raise();
  Value* out = g.outputs()[0];
  if (out->producer && out->producer->op == OpKind::Softmax && out->producer->inputs[0])
    return out->producer->inputs[0];
  return out;
}

Trainer::Trainer(Graph& g, TrainOptions opt) : g_(g), o_(std::move(opt)) {
  if (o_.batch_size < 1)
    invalid_input(str("batch size must be >= 1, got ", o_.batch_size)).key("batch").raise();
  ad_ = std::make_unique<Autodiff>(g_, logits_value(g_));
  opt_ = make_optimizer(o_.optimizer);
}

StepResult Trainer::train_step(const Tensor& x, const Tensor& labels) {
  const int64_t step = ad_->step() + 1;
  const Tensor& out = ad_->forward(x, true);
  LossResult lr;
  try {
    lr = softmax_cross_entropy(out, labels, &ad_->output_grad());
  } catch (const Error& e) {
    Status s = e.status();
    s.message = str(s.message, " (at step ", step, ")");
    throw Error(s);
  }
  if (!std::isfinite(lr.loss))
    invalid_input(str("the loss is ", lr.loss, " at step ", step,
                      ": training diverged (lower the learning rate, or check the data and the "
                      "model's initial weights)"))
        .raise();
  ad_->backward();
  opt_->step(ad_->params());
  ad_->set_step(step);
  for (auto& f : on_step_) f(step);
  return {lr.loss, lr.correct, lr.count};
}

const Tensor& Trainer::forward(const Tensor& x) {
  loop_output_ = &ad_->forward(x, true);
  loop_backward_done_ = false;
  return *loop_output_;
}

void Trainer::backward(const Tensor& output_grad) {
  if (!loop_output_)
    invalid_input("backward() needs a forward(x) since the last step").key("output_grad").raise();
  if (output_grad.dtype() != DType::f32 || output_grad.shape() != loop_output_->shape())
    invalid_input(str("the output gradient is ", dtype_name(output_grad.dtype()),
                      shape_str(output_grad.shape()), " but the model output is f32",
                      shape_str(loop_output_->shape()), ": pass d(loss)/d(output)"))
        .key("output_grad")
        .raise();
  const float* g = output_grad.data<float>();
  for (int64_t i = 0; i < output_grad.numel(); ++i)
    if (!std::isfinite(g[i]))
      invalid_input(str("the output gradient holds ", g[i], " at element ", i, " (at step ",
                        ad_->step() + 1, "): the loss diverged"))
          .key("output_grad")
          .raise();
  Tensor& dst = ad_->output_grad();
  if (dst.shape() != output_grad.shape())
    internal_error(str("the output's gradient buffer is ", shape_str(dst.shape()), ", not ",
                       shape_str(output_grad.shape())))
        .raise();
  std::copy(g, g + output_grad.numel(), dst.data<float>());
  ad_->backward();
  loop_backward_done_ = true;
}

void Trainer::step() {
  if (!loop_backward_done_)
    invalid_input("step() needs forward(x) and backward(grad) first").key("step").raise();
  const int64_t step = ad_->step() + 1;
  opt_->step(ad_->params());
  ad_->set_step(step);
  for (auto& f : on_step_) f(step);
  loop_output_ = nullptr;
  loop_backward_done_ = false;
}

EpochResult Trainer::train_epoch(const data::Dataset& ds, int64_t epoch, int64_t num_epochs) {
  if (!ds.has_labels())
    invalid_input(str(ds.describe(), " has no labels; training needs them (--labels)")).raise();
  data::BatchOptions bo;
  bo.batch_size = o_.batch_size;
  bo.shuffle = o_.shuffle;
  bo.seed = o_.seed;
  bo.drop_last = o_.drop_last;
  data::BatchIterator it(ds, bo);
  it.start_epoch(epoch);
  int64_t total = it.num_samples();
  const int64_t nb = it.num_batches();
  const int64_t limit = o_.max_steps_per_epoch >= 0 ? std::min(o_.max_steps_per_epoch, nb) : nb;
  if (limit < nb) total = std::min(total, limit * o_.batch_size);
  Progress bar(num_epochs > 1 ? str(o_.label, " ", epoch + 1, "/", num_epochs) : o_.label, total,
               o_.quiet);
  EpochResult r;
  r.epoch = epoch;
  double loss_sum = 0.0;
  int64_t correct = 0;
  const auto t0 = clock::now();
  LrSchedule sched = o_.schedule;
  if (sched.kind == LrSchedule::Kind::kCosine && sched.t_max <= 0)  // over the whole run
    sched.t_max = sched.per_iteration ? nb * num_epochs : num_epochs;
  const int64_t classes = num_classes(g_);
  data::Batch b;
  for (int64_t i = 0; i < limit && it.next(b); ++i) {
    opt_->set_lr(sched.at(opt_->base_lr(), epoch, i, nb));
    StepResult s;
    try {
      check_batch(ds, b, classes, str(" (at step ", ad_->step() + 1, ")"));
      s = train_step(b.images, b.labels);
    } catch (const Error& e) {
      bar.finish();
      Status st = e.status();
      st.message = str(st.message, " [epoch ", epoch + 1, ", batch ", i + 1, " of ", nb, "]");
      throw Error(st);
    }
    loss_sum += s.loss * static_cast<double>(s.count);
    correct += s.correct;
    r.samples += s.count;
    ++r.steps;
    bar.advance(s.count);
    bar.set_status(str("loss ", fmt(loss_sum / r.samples, 4), "  acc ",
                       fmt(100.0 * correct / r.samples, 2), "%"));
  }
  bar.finish();
  ad_->restore_shapes();
  r.seconds = since(t0);
  r.loss = r.samples ? loss_sum / r.samples : 0.0;
  r.accuracy = r.samples ? static_cast<double>(correct) / r.samples : 0.0;
  r.images_per_second = r.seconds > 0 ? r.samples / r.seconds : 0.0;
  return r;
}

std::vector<EpochResult> Trainer::fit(const data::Dataset& ds, int64_t epochs) {
  if (epochs < 1) invalid_input(str("epochs must be >= 1, got ", epochs)).key("epochs").raise();
  std::vector<EpochResult> out;
  for (int64_t e = 0; e < epochs; ++e) out.push_back(train_epoch(ds, e, epochs));
  return out;
}

EvalResult Trainer::evaluate(const data::Dataset& ds, int64_t batch_size, bool quiet,
                             const std::string& label) {
  if (!ds.has_labels())
    invalid_input(str(ds.describe(), " has no labels; accuracy needs them (--labels)")).raise();
  data::BatchOptions bo;
  bo.batch_size = batch_size;
  data::BatchIterator it(ds, bo);
  Progress bar(label, it.num_samples(), quiet);
  EvalResult r;
  double loss_sum = 0.0;
  const auto t0 = clock::now();
  const int64_t classes = num_classes(g_);
  data::Batch b;
  while (it.next(b)) {
    try {
      check_batch(ds, b, classes, "");
    } catch (const Error&) {
      bar.finish();
      throw;
    }
    const Tensor& out = ad_->forward(b.images, false);
    LossResult l = softmax_cross_entropy(out, b.labels, nullptr);
    loss_sum += l.loss * static_cast<double>(l.count);
    r.correct += l.correct;
    r.samples += l.count;
    bar.advance(l.count);
    bar.set_status(str("acc ", fmt(100.0 * r.correct / r.samples, 2), "%"));
  }
  bar.finish();
  ad_->restore_shapes();
  r.seconds = since(t0);
  r.loss = r.samples ? loss_sum / r.samples : 0.0;
  r.accuracy = r.samples ? static_cast<double>(r.correct) / r.samples : 0.0;
  r.images_per_second = r.seconds > 0 ? r.samples / r.seconds : 0.0;
  return r;
}

Tensor Trainer::predict(const Tensor& x) {
  Tensor y = ad_->forward(x, false).clone();
  ad_->restore_shapes();
  return y;
}

}  // namespace mpq::train
