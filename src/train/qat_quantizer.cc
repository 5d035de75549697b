// mpq::QatQuantizer: NNI's QAT_Quantizer over mpq's Graph (include/mpq/qat_quantizer.h).
#include "mpq/qat_quantizer.h"

#include <algorithm>
#include <cstring>

#include "core/staged_outputs.h"
#include "frontend/onnx/exporter.h"
#include "quant/calibration_table.h"
#include "quant/config_list.h"
#include "quant/model_hash.h"
#include "train/qat_pass.h"
#include "train/trainer.h"

namespace mpq {

using train::FakeQuantSite;

struct QatQuantizer::Impl {
  std::unique_ptr<Graph> float_graph;  // own weights; shares them with qat_graph
  std::unique_ptr<Graph> qat_graph;
  quant::ResolvedConfig config;
  OptimizerConfig optimizer;
  QatOptions options;
  train::QatGraphInfo info;
  std::unique_ptr<train::Trainer> trainer;
  int64_t samples_seen = 0;
  std::vector<std::string> warnings;

  void compress() {
    if (trainer) return;
    qat_graph = float_graph->clone();  // constants shared: training updates the float weights
    info = train::insert_fake_quant(*qat_graph, config, options.fold_bn);
    train::TrainOptions to;
    to.optimizer = optimizer;
    to.schedule = options.schedule;
    to.batch_size = options.batch_size;
    to.seed = options.seed;
    to.shuffle = options.shuffle;
    to.quiet = options.quiet;
    to.label = "qat";
    to.max_steps_per_epoch = options.max_steps_per_epoch;
    trainer = std::make_unique<train::Trainer>(*qat_graph, to);
    train::Autodiff& ad = trainer->autodiff();
    for (FakeQuantSite& s : info.sites) {
      FakeQuantSite* site = &s;
      ad.add_pre_forward_hook(s.fq,
                              [site, &ad](train::StepContext& ctx) { observe(*site, ad, ctx); });
    }
  }

  // NNI's per-step observer update before the fake-quantizer runs (train/qat_observer.h).
  static void observe(FakeQuantSite& s, train::Autodiff& ad, train::StepContext& ctx) {
    train::QatObserver& ob = s.observer;
    const int64_t nni_step = ctx.step + 1;
    // Eval updates nothing: weights too are quantized with the stored scale and zero point (those
    // of the last training step, or loaded), as NNI's QAT_Quantizer does.
    bool quantize = ob.has_params;
    if (ctx.training) {
      const train::Slot& x = *ctx.in[0];
      int64_t channels = 1, inner = 1;
      if (ob.axis >= 0) {
        channels = x.shape[ob.axis];
        if (x.layout == Layout::kNHWC && x.shape.size() == 4 && ob.axis == 1) {
          inner = 1;
        } else {
          for (size_t d = ob.axis + 1; d < x.shape.size(); ++d) inner *= x.shape[d];
        }
      }
      std::vector<float> mins, maxs;
      train::buffer_min_max(x.data.data<float>(), x.data.numel(), channels, inner, &mins, &maxs);
      try {
        quantize = ob.observe(mins, maxs, nni_step, ctx.training);
      } catch (const Error& e) {
        Status st = e.status();
        st.message = str("cannot quantize the ", quant::quant_type_name(ob.type), " of '", s.layer,
                         "' at step ", nni_step, ": ", st.message,
                         " (the values are not finite: training diverged?)");
        throw Error(st);
      }
    }
    if (ob.track_only) return;  // the hook is the layer's own: nothing to quantize or bypass
    if (quantize) {
      std::copy(ob.params.scale.begin(), ob.params.scale.end(), ctx.in[1]->data.data<float>());
      std::copy(ob.params.zero_point.begin(), ob.params.zero_point.end(),
                ctx.in[2]->data.data<int64_t>());
    }
    ad.set_bypass(s.fq, !quantize);
  }

  static TrainStats stats(const train::EpochResult& e) {
    return {e.loss, e.accuracy, e.samples, e.steps, e.seconds, e.images_per_second};
  }
};

namespace {

// A stored weight scale from a calibration config (NNI exports weight_scale/weight_zero_point):
// eval quantizes the weight with it until a training step recomputes it.
void load_weight_params(train::FakeQuantSite& s, const quant::LayerPrecision& lp) {
  train::QatObserver& ob = s.observer;
  const int64_t channels = s.scale->constant->numel();
  if (static_cast<int64_t>(lp.weight_scale.size()) != channels ||
      lp.weight_zero_point.size() != lp.weight_scale.size())
    invalid_input(str("layer '", s.layer_key, "': weight_scale has ", lp.weight_scale.size(),
                      " value(s) and weight_zero_point ", lp.weight_zero_point.size(),
                      ", the config_list's weight quantization has ", channels, " channel(s)"))
        .key(str(s.layer_key, ".weight_scale"))
        .raise();
  const quant::QRange r = quant::quant_range(ob.setting.bits, ob.setting.dtype);
  for (size_t c = 0; c < lp.weight_zero_point.size(); ++c)
    if (lp.weight_zero_point[c] < r.qmin || lp.weight_zero_point[c] > r.qmax)
      invalid_input(str("layer '", s.layer_key, "': weight_zero_point ", lp.weight_zero_point[c],
                        " is outside [", r.qmin, ", ", r.qmax, "] of its ", ob.setting.bits,
                        "-bit ", quant::quant_dtype_name(ob.setting.dtype), " quantization"))
          .key(str(s.layer_key, ".weight_zero_point"))
          .raise();
  ob.params.scale = lp.weight_scale;
  ob.params.zero_point.assign(lp.weight_zero_point.begin(), lp.weight_zero_point.end());
  ob.params.axis = ob.axis;
  ob.params.bits = ob.setting.bits;
  ob.params.dtype = ob.setting.dtype;
  ob.params.range = r;
  ob.has_params = true;
  std::copy(ob.params.scale.begin(), ob.params.scale.end(), s.scale->constant->data<float>());
  std::copy(ob.params.zero_point.begin(), ob.params.zero_point.end(),
            s.zero_point->constant->data<int64_t>());
}

}  // namespace

QatQuantizer::QatQuantizer(const Graph& model, const quant::ConfigList& config_list,
                           OptimizerConfig optimizer, QatOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->float_graph = model.clone();
  train::own_constants(*impl_->float_graph);
  impl_->warnings = config_list.warnings();
  for (const auto& w : config_list.check_qat()) impl_->warnings.push_back(w);
  impl_->config = config_list.resolve(*impl_->float_graph);
  for (const auto& w : impl_->config.warnings) impl_->warnings.push_back(w);
  impl_->optimizer = optimizer;
  impl_->options = options;
  train::make_optimizer(optimizer);  // validate now
}

QatQuantizer::~QatQuantizer() = default;

void QatQuantizer::compress() {
  impl_->compress();
}

TrainStats QatQuantizer::train_step(const Tensor& x, const Tensor& labels) {
  compress();
  train::StepResult r = impl_->trainer->train_step(x, labels);
  impl_->samples_seen += r.count;
  return {r.loss, r.count ? static_cast<double>(r.correct) / r.count : 0.0, r.count, 1, 0.0, 0.0};
}

const Tensor& QatQuantizer::forward(const Tensor& x) {
  compress();
  const Tensor& y = impl_->trainer->forward(x);
  impl_->samples_seen += x.rank() ? x.dim(0) : 0;
  return y;
}

void QatQuantizer::backward(const Tensor& output_grad) {
  compress();
  impl_->trainer->backward(output_grad);
}

void QatQuantizer::step() {
  compress();
  impl_->trainer->step();
}

std::vector<TrainStats> QatQuantizer::fit(const data::Dataset& train, int64_t epochs) {
  compress();
  std::vector<TrainStats> out;
  for (const train::EpochResult& e : impl_->trainer->fit(train, epochs)) {
    impl_->samples_seen += e.samples;
    out.push_back(Impl::stats(e));
  }
  return out;
}

TrainStats QatQuantizer::evaluate(const data::Dataset& test, int64_t batch_size) {
  compress();
  train::EvalResult r =
      impl_->trainer->evaluate(test, batch_size, impl_->options.quiet, "qat eval");
  return {r.loss, r.accuracy, r.samples, 0, r.seconds, r.images_per_second};
}

Tensor QatQuantizer::predict(const Tensor& x) {
  compress();
  return impl_->trainer->predict(x);
}

quant::CalibrationTable QatQuantizer::export_model(const std::string& model_path,
                                                   const std::string& calibration_path) {
  compress();
  quant::CalibrationTable t;
  t.header.method = "qat";
  t.header.options_json =
      str("{\"ema_decay\": ", train::kQatEmaDecay, ", \"steps\": ", impl_->trainer->steps(), "}");
  t.header.model_hash = quant::model_hash(*impl_->float_graph);
  t.header.num_samples = impl_->samples_seen;
  for (const FakeQuantSite& s : impl_->info.sites) {
    const train::QatObserver& ob = s.observer;
    quant::LayerPrecision& lp = t.layers[s.layer_key];
    lp.source = "qat";
    const quant::TypeQuantSpec spec{ob.setting.dtype, ob.setting.scheme};
    switch (ob.type) {
      case quant::QuantType::kWeight:
        lp.weight_bits = ob.setting.bits;
        lp.weight_quant = spec;
        if (ob.has_params) {
          lp.weight_scale = ob.params.scale;
          lp.weight_zero_point.assign(ob.params.zero_point.begin(), ob.params.zero_point.end());
        }
        break;
      case quant::QuantType::kInput:
        if (!ob.track_only) {  // a tracked-only input has a range and no bits, as in NNI v2.4
          lp.input_bits = ob.setting.bits;
          lp.input_quant = spec;
        }
        if (ob.tracked)
          lp.tracked_min_input = ob.range_min(), lp.tracked_max_input = ob.range_max();
        break;
      case quant::QuantType::kOutput:
        lp.output_bits = ob.setting.bits;
        lp.output_quant = spec;
        if (ob.tracked)
          lp.tracked_min_output = ob.range_min(), lp.tracked_max_output = ob.range_max();
        break;
    }
    if (!ob.is_weight() && ob.tracked) {
      quant::TensorRange& r = t.tensors[s.tensor];
      r.min = ob.range_min();
      r.max = ob.range_max();
      r.method = "qat-ema";
    }
  }
  StagedOutputs out;  // the model and its calibration table are written both, or neither
  if (!model_path.empty()) export_onnx(*impl_->float_graph, out.stage(model_path));
  if (!calibration_path.empty()) quant::write_calibration_table(t, out.stage(calibration_path));
  out.commit();
  return t;
}

void QatQuantizer::load_calibration_config(const quant::CalibrationTable& table) {
  compress();
  for (FakeQuantSite& s : impl_->info.sites) {
    auto it = table.layers.find(s.layer_key);
    if (it == table.layers.end())
      invalid_input(str("the calibration config has no entry for layer '", s.layer_key,
                        "', which the config_list quantizes"))
          .key(s.layer_key)
          .raise();
    const quant::LayerPrecision& lp = it->second;
    train::QatObserver& ob = s.observer;
    const char* tn = quant::quant_type_name(ob.type);
    const int bits = ob.type == quant::QuantType::kWeight  ? lp.weight_bits
                     : ob.type == quant::QuantType::kInput ? lp.input_bits
                                                           : lp.output_bits;
    if (bits != ob.setting.bits && !ob.track_only)
      invalid_input(str("layer '", s.layer_key, "': ", tn, "_bits is ", bits,
                        " in the calibration config but ", ob.setting.bits, " in the config_list"))
          .key(str(s.layer_key, ".", tn, "_bits"))
          .raise();
    if (ob.is_weight() && !lp.weight_scale.empty()) load_weight_params(s, lp);
    if (ob.type == quant::QuantType::kInput && lp.tracked_min_input && lp.tracked_max_input)
      ob.load_range(*lp.tracked_min_input, *lp.tracked_max_input);
    if (ob.type == quant::QuantType::kOutput && lp.tracked_min_output && lp.tracked_max_output)
      ob.load_range(*lp.tracked_min_output, *lp.tracked_max_output);
    if (ob.has_params && !ob.is_weight() && s.scale) {
      std::copy(ob.params.scale.begin(), ob.params.scale.end(), s.scale->constant->data<float>());
      std::copy(ob.params.zero_point.begin(), ob.params.zero_point.end(),
                s.zero_point->constant->data<int64_t>());
    }
  }
}

const std::vector<std::string>& QatQuantizer::warnings() const {
  return impl_->warnings;
}

const Graph& QatQuantizer::float_graph() const {
  return *impl_->float_graph;
}

const Graph& QatQuantizer::qat_graph() const {
  if (!impl_->qat_graph) internal_error("qat_graph() before compress()").raise();
  return *impl_->qat_graph;
}

int64_t QatQuantizer::steps() const {
  return impl_->trainer ? impl_->trainer->steps() : 0;
}

std::string QatQuantizer::summary() const {
  std::string s;
  for (const FakeQuantSite& site : impl_->info.sites) {
    const train::QatObserver& ob = site.observer;
    if (ob.track_only)
      s += str(site.layer_key, ": input range tracked for the engine (not quantized)");
    else
      s += str(site.layer_key, ": ", quant::quant_type_name(ob.type), " ", ob.setting.bits, "-bit ",
               quant::quant_dtype_name(ob.setting.dtype), " ",
               quant::quant_scheme_name(ob.setting.scheme));
    if (ob.quant_start_step > 0) s += str(" from step ", ob.quant_start_step);
    if (!site.tensor.empty()) s += str(" (tensor ", site.tensor, ")");
    s += "\n";
  }
  for (const auto& f : impl_->info.folded) s += str(f.bn, ": folded into ", f.conv, "\n");
  for (const auto& n : impl_->info.notes) s += n + "\n";
  return s;
}

}  // namespace mpq
