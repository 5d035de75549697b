// mpq qat: NNI-style quantization-aware training from a config_list; writes the trained float
// ONNX model and the calibration config (NNI v2.5 per-layer keys + mpq's tensor table).
#include <algorithm>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "core/staged_outputs.h"
#include "data/file_io.h"
#include "data/npy.h"
#include "data_options.h"
#include "model_arg.h"
#include "mpq/qat_quantizer.h"
#include "quant/calibration_table.h"
#include "quant/config_list.h"
#include "train_options.h"

namespace mpq::cli {

namespace {

struct QatArgs {
  std::string model, config, output, calib, predictions;
  data::DataSpec data, eval;
  TrainFlags flags;
  bool no_fold_bn = false, lenient = false;
};

// The QAT model's outputs, row for row, to compare with an engine built from the export.
Tensor predict_all(QatQuantizer& q, const data::Dataset& es) {
  const int64_t n = es.size(), bs = kInferenceBatch;
  Tensor all;
  for (int64_t b = 0; b < n; b += bs) {
    const Tensor y = q.predict(es.images(b, std::min(bs, n - b)));
    if (all.empty()) {
      Shape s = y.shape();
      s[0] = n;
      all = Tensor(y.dtype(), s);
    }
    const size_t row = y.nbytes() / static_cast<size_t>(y.dim(0));
    std::memcpy(static_cast<char*>(all.raw()) + b * row, y.raw(), y.nbytes());
  }
  return all;
}

int run_qat(const QatArgs& a) {
  // Every output is checked before training: a missing folder must not cost a training run, nor
  // leave the model written and the calibration not.
  for (const std::string* p : {&a.output, &a.calib, &a.predictions})
    if (!p->empty()) data::check_output_path(*p);
  // The three outputs are written to temp files and renamed together at the end: all or nothing.
  StagedOutputs staged;
  const std::string& model_tmp = staged.stage(a.output);
  const std::string& calib_tmp = staged.stage(a.calib);
  const std::string& predictions_tmp = staged.stage(a.predictions);
  apply_threads(a.flags.threads);
  std::unique_ptr<Graph> g = load_model_arg(a.model);
  if (g->inputs().size() != 1)
    unsupported(str("QAT needs a model with one input, this one has ", g->inputs().size()))
        .file(a.model)
        .raise();
  quant::ConfigList cfg = quant::ConfigList::parse_file(a.config, {.lenient = a.lenient});
  QatOptions o;
  o.batch_size = a.flags.batch;
  o.seed = a.flags.seed;
  const CommonFlags& f = common_flags();
  o.quiet = f.quiet || f.json;
  o.schedule = lr_schedule(a.flags);
  o.fold_bn = !a.no_fold_bn;
  o.max_steps_per_epoch = a.flags.max_steps;
  QatQuantizer q(*g, cfg, optimizer_config(a.flags), o);  // checks the config_list
  for (const auto& w : q.warnings()) warn(w);             // they name the file
  auto ds = data::open_dataset(a.data, g->inputs()[0]->shape);
  q.compress();
  if (!f.json) std::cerr << "fake-quantizers:\n" << q.summary();
  nlohmann::json out = {{"model", a.model}, {"config", a.config}, {"data", ds->describe()}};
  nlohmann::json epochs = nlohmann::json::array();
  std::vector<TrainStats> st = q.fit(*ds, a.flags.epochs);
  for (size_t e = 0; e < st.size(); ++e) {
    epochs.push_back({{"epoch", e + 1},
                      {"loss", st[e].loss},
                      {"train_accuracy", st[e].accuracy},
                      {"samples", st[e].samples},
                      {"seconds", st[e].seconds},
                      {"images_per_s", st[e].images_per_second}});
    if (!f.json)
      std::printf("qat epoch %zu/%zu: loss %.4f  acc %.2f%%  %lld img in %.1f s (%.0f img/s)\n",
                  e + 1, st.size(), st[e].loss, 100.0 * st[e].accuracy,
                  static_cast<long long>(st[e].samples), st[e].seconds, st[e].images_per_second);
  }
  out["epochs"] = epochs;
  if (!a.eval.empty()) {
    auto es = data::open_dataset(a.eval, g->inputs()[0]->shape);
    if (es->has_labels() || a.predictions.empty()) {  // unlabeled data: predictions only
      TrainStats r = q.evaluate(*es);
      out["eval"] = {
          {"data", es->describe()}, {"qat_accuracy", r.accuracy}, {"samples", r.samples}};
      if (!f.json)
        std::printf("QAT model on %s: accuracy %.2f%%\n", es->describe().c_str(),
                    100.0 * r.accuracy);
    }
    if (!a.predictions.empty()) {
      data::write_npy(predictions_tmp, predict_all(q, *es));
      out["predictions"] = a.predictions;
    }
  }
  quant::CalibrationTable t = q.export_model(model_tmp, calib_tmp);
  staged.commit();
  out["output"] = a.output;
  out["calibration"] = a.calib;
  out["layers"] = t.layers.size();
  if (f.json)
    std::cout << out.dump(2) << "\n";
  else
    std::cout << "wrote " << a.output << (a.calib.empty() ? "" : " and " + a.calib) << "\n";
  return 0;
}

void register_qat(CLI::App& app, std::function<int()>& action) {
  auto* cmd = app.add_subcommand(
      "qat", "Quantization-aware training (NNI QAT_Quantizer semantics) from a config_list");
  auto a = std::make_shared<QatArgs>();
  add_model_option(cmd, a->model, "Trained float ONNX model");
  cmd->add_option("--config,-c", a->config, "config_list JSON (NNI's format)")->required();
  add_data_options(cmd, a->data)->required();
  cmd->add_option("--eval", a->eval.source, "Also report the QAT model's accuracy on this data");
  cmd->add_option("--output,-o", a->output, "Float ONNX model to write (trained weights)")
      ->required();
  cmd->add_option("--calib", a->calib, "Calibration config to write (JSON)");
  cmd->add_option("--predictions", a->predictions,
                  "With --eval: write the QAT model's outputs on that data (.npy, one row per "
                  "sample), e.g. to compare with `mpq run --engine ... -o`")
      ->needs("--eval");
  add_train_flags(cmd, a->flags);
  cmd->add_flag("--no-fold-bn", a->no_fold_bn, "Do not fold Conv->BatchNormalization during QAT");
  cmd->add_flag("--lenient", a->lenient,
                "Warn instead of failing where NNI's schema refuses the config_list (unknown keys, "
                "op_names matching no layer, op_types 'default', 32 bits)");
  add_common_flags(cmd, "keys: model, config, epochs[].loss/train_accuracy, eval, layers, output",
                   "mpq qat -m trained.onnx -c config_list.json --data fashion-mnist:train "
                   "--epochs 1 -o qat.onnx --calib qat_calib.json");
  cmd->callback([&action, a] { action = [a] { return run_qat(*a); }; });
}

}  // namespace

MPQ_REGISTER_COMMAND(register_qat);

}  // namespace mpq::cli
