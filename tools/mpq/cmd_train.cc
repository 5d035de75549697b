// mpq train: float training of an ONNX model (softmax cross-entropy, SGD/Adam/AdamW) on the
// shared data spec; writes the trained float ONNX model.
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "data/file_io.h"
#include "data_options.h"
#include "frontend/onnx/exporter.h"
#include "model_arg.h"
#include "train/trainer.h"
#include "train_options.h"

namespace mpq::cli {

namespace {

struct TrainArgs {
  std::string model, output;
  data::DataSpec data, eval;
  TrainFlags flags;
};

int run_train(const TrainArgs& a) {
  data::check_output_path(a.output);  // before training, not after it
  apply_threads(a.flags.threads);
  std::unique_ptr<Graph> g = load_model_arg(a.model);
  train::own_constants(*g);
  if (g->inputs().size() != 1)
    unsupported(str("training needs a model with one input, this one has ", g->inputs().size()))
        .file(a.model)
        .raise();
  auto ds = data::open_dataset(a.data, g->inputs()[0]->shape);
  train::Trainer t(*g, train_options(a.flags, "train"));
  const CommonFlags& f = common_flags();
  t.autodiff().set_profiling(a.flags.profile);
  nlohmann::json out = {{"model", a.model},
                        {"data", ds->describe()},
                        {"optimizer", t.optimizer().describe()},
                        {"batch", a.flags.batch},
                        {"seed", a.flags.seed}};
  if (!f.json)
    note(str("training ", a.model, " on ", ds->describe(), " with ", t.optimizer().describe(),
             ", batch ", a.flags.batch));
  nlohmann::json epochs = nlohmann::json::array();
  for (int64_t e = 0; e < a.flags.epochs; ++e) {
    train::EpochResult r = t.train_epoch(*ds, e, a.flags.epochs);
    epochs.push_back({{"epoch", e + 1},
                      {"loss", r.loss},
                      {"train_accuracy", r.accuracy},
                      {"samples", r.samples},
                      {"seconds", r.seconds},
                      {"images_per_s", r.images_per_second}});
    if (!f.json)
      std::cout << "epoch " << e + 1 << "/" << a.flags.epochs << ": " << describe_epoch(r) << "\n";
  }
  out["epochs"] = epochs;
  if (a.flags.profile) print_profile(t.autodiff());
  if (!a.eval.empty()) {
    auto es = data::open_dataset(a.eval, g->inputs()[0]->shape);
    train::EvalResult r = t.evaluate(*es, kInferenceBatch, f.quiet || f.json, "eval");
    out["eval"] = {{"data", es->describe()},
                   {"accuracy", r.accuracy},
                   {"loss", r.loss},
                   {"samples", r.samples}};
    if (!f.json)
      std::cout << "eval on " << es->describe() << ": accuracy " << 100.0 * r.accuracy << "%\n";
  }
  export_onnx(*g, a.output);
  out["output"] = a.output;
  if (f.json)
    std::cout << out.dump(2) << "\n";
  else
    std::cout << "wrote " << a.output << "\n";
  return 0;
}

void register_train(CLI::App& app, std::function<int()>& action) {
  auto* cmd =
      app.add_subcommand("train", "Train a float model (softmax cross-entropy) and save it");
  auto a = std::make_shared<TrainArgs>();
  add_model_option(cmd, a->model, "ONNX model to train (its weights are the start)");
  add_data_options(cmd, a->data)->required();
  cmd->add_option("--eval", a->eval.source,
                  "Also report accuracy on this data (e.g. fashion-mnist:test)");
  cmd->add_option("--output,-o", a->output, "Trained ONNX model to write")->required();
  add_train_flags(cmd, a->flags);
  add_common_flags(cmd, "keys: model, data, optimizer, epochs[].loss/train_accuracy, eval, output",
                   "mpq train -m lenet5 --data fashion-mnist:train --epochs 2 --eval "
                   "fashion-mnist:test -o lenet5.onnx");
  cmd->callback([&action, a] { action = [a] { return run_train(*a); }; });
}

}  // namespace

MPQ_REGISTER_COMMAND(register_train);

}  // namespace mpq::cli
