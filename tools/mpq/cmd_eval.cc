// mpq eval: float top-1 accuracy of an ONNX model on the shared data spec (the trainer's forward
// in inference mode: oneDNN kernels, BatchNormalization with running statistics).
#include <omp.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "common_flags.h"
#include "data_options.h"
#include "model_arg.h"
#include "train/trainer.h"

namespace mpq::cli {

namespace {

struct EvalArgs {
  std::string model;
  data::DataSpec data;
  int64_t batch = kInferenceBatch;
  int threads = 0;
};

int run_eval(const EvalArgs& a) {
  if (a.threads > 0) omp_set_num_threads(a.threads);
  std::unique_ptr<Graph> g = load_model_arg(a.model);
  if (g->inputs().size() != 1)
    unsupported(str("eval needs a model with one input, this one has ", g->inputs().size()))
        .file(a.model)
        .raise();
  auto ds = data::open_dataset(a.data, g->inputs()[0]->shape);
  train::TrainOptions o;
  o.quiet = true;
  train::Trainer t(*g, o);
  const CommonFlags& f = common_flags();
  train::EvalResult r = t.evaluate(*ds, a.batch, f.quiet || f.json, "eval");
  if (f.json) {
    nlohmann::ordered_json j = {{"model", a.model},       {"data", ds->describe()},
                                {"accuracy", r.accuracy}, {"loss", r.loss},
                                {"correct", r.correct},   {"samples", r.samples},
                                {"seconds", r.seconds},   {"images_per_s", r.images_per_second}};
    print_json(j);
  } else {
    std::printf("%s on %s: accuracy %.2f%% (%lld/%lld), loss %.4f, %.0f img/s\n", a.model.c_str(),
                ds->describe().c_str(), 100.0 * r.accuracy, static_cast<long long>(r.correct),
                static_cast<long long>(r.samples), r.loss, r.images_per_second);
  }
  return 0;
}

void register_eval(CLI::App& app, std::function<int()>& action) {
  auto* cmd = app.add_subcommand("eval", "Top-1 accuracy of a float model on labeled data");
  auto a = std::make_shared<EvalArgs>();
  add_model_option(cmd, a->model, "ONNX model (float)");
  add_data_options(cmd, a->data)->required();
  cmd->add_option("--batch", a->batch, "Images per forward run (the inference batch default)")
      ->capture_default_str()
      ->check(positive());
  cmd->add_option("--threads", a->threads, "Threads (default: OMP_NUM_THREADS, else all cores)")
      ->check(non_negative());
  add_common_flags(cmd, "keys: model, data, accuracy, loss, correct, samples, images_per_s",
                   "mpq eval -m trained.onnx --data fashion-mnist:test --json");
  cmd->callback([&action, a] { action = [a] { return run_eval(*a); }; });
}

}  // namespace

MPQ_REGISTER_COMMAND(register_eval);

}  // namespace mpq::cli
