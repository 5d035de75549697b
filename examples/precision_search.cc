// Automatic mixed precision with the public API: train mnist_naive briefly, calibrate, let
// mpq::precision_search choose int8 / 16-bit / fp32 per layer on timed CPU engines within an
// accuracy drop, write the chosen config_list, and build that engine with ModelSpeedup.
//
// Usage: precision_search [--limit N] [--test-limit N] [--calib-images N] [--out DIR]
//                         [--min-accuracy A]   (as the other examples; A: exit 1 below it)
#include <filesystem>
#include <fstream>
#include <iostream>

#include "example_util.h"
#include "mpq/mpq.h"

int main(int argc, char** argv) try {
  const example::Args args = example::parse_args(argc, argv, true);
  std::filesystem::create_directories(args.out);
  mpq::Model model = mpq::Model::zoo("mnist_naive");
  const mpq::Shape input = model.input_shape();
  auto train =
      mpq::data::open_dataset({.source = "fashion-mnist:train", .limit = args.limit}, input);
  auto test =
      mpq::data::open_dataset({.source = "fashion-mnist:test", .limit = args.test_limit}, input);
  mpq::Trainer trainer(model,
                       {.optimizer = mpq::SGD{.lr = 0.01, .momentum = 0.5}, .batch_size = 64});
  trainer.fit(*train, 1);
  mpq::Calibrator calibrator(model, {.method = "entropy", .calib_images = args.calib_images});
  const mpq::quant::CalibrationTable table = calibrator.calibrate(*train);
  const std::string table_path = args.out + "/calibration.json";
  mpq::Calibrator::save(table, table_path);

  // The search: accuracy within 0.5 points of the fp32 engine, one minute at most.
  const mpq::Tensor x = test->images(0, test->size());
  const mpq::Tensor labels = test->labels(0, test->size());
  const mpq::SearchReport r = mpq::precision_search(
      model, table, x, labels, {.batch_size = 64, .max_drop = 0.5, .time_budget_s = 60});
  std::cout << r.points.size() << " plans measured in " << r.seconds << " s; frontier:\n";
  for (size_t i : r.frontier)
    std::cout << "  " << r.points[i].origin << ": " << r.points[i].latency_ms << " ms, accuracy "
              << 100 * r.points[i].fidelity.accuracy.value_or(0) << "%, mean bits "
              << r.points[i].mean_bits << "\n";
  std::cout << mpq::search_verdict(r) << "\n";
  if (!r.chosen) return 3;

  const std::string config_path = args.out + "/chosen_config_list.json";
  std::ofstream(config_path) << mpq::search_config_list(r, r.points[*r.chosen]);
  mpq::ModelSpeedup engine(model, {64, 1, 28, 28}, table,
                           {.batch_size = 64, .config_list = config_path});
  engine.compress();
  const double acc = example::accuracy(engine.inference(x).output, labels);
  std::cout << "chosen engine (" << config_path << "): accuracy " << 100 * acc << "%\n";
  if (acc < args.min_accuracy) {
    std::cerr << "precision_search: accuracy " << acc << " is below --min-accuracy "
              << args.min_accuracy << "\n";
    return 1;
  }
  return 0;
} catch (const mpq::Error& e) {
  std::cerr << "precision_search: " << e.status().to_string() << "\n";
  return e.status().exit_code();
} catch (const std::exception& e) {
  std::cerr << "precision_search: " << e.what() << "\n";
  return 2;
}
