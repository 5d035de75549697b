// mpq demo [--model mnist_naive|lenet5|resnet18_cifar] [--backend cpu|cuda] [--quick]
//          [--train-limit N] [--test-limit N] [--out DIR] [--recipe nni|adam] ...
// The seed's quantization-speedup tables, live: train, QAT and PTQ, build fp32 / mixed / int8
// engines, measure accuracy and latency, print the table and write results.md, results.json and
// latency_accuracy.svg. Stage lines and progress bars go to stderr, the table to stdout. Exit 0
// when every row has numbers, 1 when some stage failed (the table says which and why), 2 for bad
// options.
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <thread>
#include <vector>

#include "commands.h"
#include "common_flags.h"
#include "demo/pipeline.h"
#include "demo/recipes.h"
#include "demo/table.h"
#include "wait_policy.h"

namespace mpq::cli {
namespace {

void register_demo(CLI::App& app, std::function<int()>& action) {
  auto o = std::make_shared<demo::DemoOptions>();
  auto* cmd = app.add_subcommand(
      "demo",
      "Reproduce NNI's quantization-speedup tables live: train, QAT and PTQ, fp32/mixed/int8 "
      "engines, accuracy and latency");
  std::string models;
  for (const auto& m : demo::demo_models()) models += (models.empty() ? "" : ", ") + m;
  cmd->add_option("-m,--model", o->model, "Zoo model (" + models + ")")->capture_default_str();
  cmd->add_option("--backend", o->backend, "Engine backend: cpu (oneDNN), cuda (if compiled in)")
      ->capture_default_str();
  cmd->add_option("-o,--out", o->out_dir,
                  "Output folder: results.md/json, latency_accuracy.svg, configs, tables, models")
      ->capture_default_str();
  cmd->add_option("--recipe", o->recipe,
                  "Float training recipe: nni (the seed's SGD settings) or adam (Adam lr 1e-3)")
      ->capture_default_str();
  auto* train_limit = cmd->add_option(
      "--train-limit", o->train_limit,
      "Train (and calibrate) on the first N training images only (keeps resnet18_cifar "
      "tractable on few cores; the table header says so)");
  auto* test_limit =
      cmd->add_option("--test-limit", o->test_limit, "Measure accuracy on the first N test images");
  cmd->add_option("--train-data", o->train_data, "Training data (the shared data spec)")
      ->capture_default_str();
  cmd->add_option("--test-data", o->test_data, "Test data with labels (the shared data spec)")
      ->capture_default_str();
  cmd->add_option("--epochs", o->epochs, "Float training epochs")->capture_default_str();
  cmd->add_option("--qat-epochs", o->qat_epochs, "QAT epochs per QAT variant")
      ->capture_default_str();
  cmd->add_option("--calib-method", o->calib_method,
                  "PTQ calibration: entropy, minmax, percentile or mse")
      ->capture_default_str();
  cmd->add_option("--calib-images", o->calib_images, "PTQ calibration images (seeded sample)")
      ->capture_default_str();
  cmd->add_option("--batch", o->batch,
                  "Latency batch (the engines' maximum batch; the inference batch default). "
                  "Training runs at the recipe's mini-batch")
      ->capture_default_str()
      ->check(positive());
  auto* iters = cmd->add_option("--iters", o->iters, "Timed runs per engine (median reported)")
                    ->capture_default_str();
  auto* warmup = cmd->add_option("--warmup", o->warmup, "Untimed runs per engine first")
                     ->capture_default_str();
  cmd->add_option("--threads", o->threads, "Engine threads (0: all cores / OMP_NUM_THREADS)")
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed for weights, shuffling and calibration sampling")
      ->capture_default_str();
  cmd->add_flag("--quick", o->quick,
                "Short run for CI: 6000 training images, 2000 test images, 10 timed runs (explicit "
                "options win)");
  cmd->add_flag("--save-engines", o->save_engines, "Also write every engine as <variant>.mpqe");
  add_common_flags(cmd, "results.json's content: rows with accuracy, latency and bits",
                   "mpq demo --quick\nmpq demo -m lenet5 --train-limit 6000 --out demo_out --json");
  cmd->callback([&action, o, train_limit, test_limit, iters, warmup] {
    if (o->quick) {
      if (train_limit->count() == 0) o->train_limit = 6000;
      if (test_limit->count() == 0) o->test_limit = 2000;
      if (iters->count() == 0) o->iters = 10;
      if (warmup->count() == 0) o->warmup = 2;
    }
    o->quiet = common_flags().quiet || common_flags().json;
    action = [o] {
      rerun_with_passive_wait_if_busy();
      demo::DemoReport rep =
          demo::run_demo(*o, [](const std::string& line) { std::cerr << line << std::endl; });
      demo::write_report(rep);
      if (common_flags().json)
        std::cout << demo::render_json(rep) << "\n";
      else
        std::cout << "\n" << demo::render_terminal(rep) << std::flush;
      int failed = 0;
      for (const auto& row : rep.rows) failed += !row.ok;
      if (failed) {
        std::cerr << "mpq: " << failed << " of " << rep.rows.size()
                  << " rows have no numbers (see the table for why)\n";
        return 1;
      }
      return 0;
    };
  });
}

}  // namespace

MPQ_REGISTER_COMMAND(register_demo);

}  // namespace mpq::cli
