// NNI's post_training_quantization_example (mixed_precision_speedup_mnist.py) in C++ with mpq:
//
//   train the float model 1 epoch (SGD lr 0.01, momentum 0.5, batch 64) -> Calibrator (entropy,
//   the seed's TensorRT default) on training images -> ModelSpeedup with the example's bits
//   {conv1: 8, conv2: 32, fc1: 16, fc2: 8} -> inference on the test set, next to the fp32 engine
//
// Usage: ptq_speedup [--limit N] [--test-limit N] [--calib-images N] [--out DIR] [--min-accuracy A]
//   --limit N         train on the first N Fashion-MNIST training images (default: all 60000)
//   --test-limit N    test on the first N test images (default: all 10000)
//   --calib-images N  calibration images sampled from the training images (default 1000)
//   --out DIR         where the calibration table and config_list go (default out/examples)
//   --min-accuracy A  exit 1 if the engine's test accuracy is below A (0..1; used by CI)
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "example_util.h"
#include "mpq/mpq.h"

using example::accuracy;

int main(int argc, char** argv) try {
  const example::Args args = example::parse_args(argc, argv, true);
  std::filesystem::create_directories(args.out);

  mpq::Model model = mpq::Model::zoo("mnist_naive");
  const mpq::Shape input = model.input_shape();
  mpq::data::DataSpec train_spec{.source = "fashion-mnist:train", .limit = args.limit};
  mpq::data::DataSpec test_spec{.source = "fashion-mnist:test", .limit = args.test_limit};
  auto train = mpq::data::open_dataset(train_spec, input);
  auto test = mpq::data::open_dataset(test_spec, input);

  // 1. Float training, the example's recipe.
  mpq::Trainer trainer(model,
                       {.optimizer = mpq::SGD{.lr = 0.01, .momentum = 0.5}, .batch_size = 64});
  for (const mpq::TrainStats& e : trainer.fit(*train, 1))
    std::cout << "float epoch: loss " << e.loss << ", train accuracy " << 100 * e.accuracy << "%, "
              << e.images_per_second << " img/s\n";

  // 2. Post-training calibration: ranges for every tensor (entropy, seeded sample of images).
  mpq::Calibrator calibrator(model, {.method = "entropy", .calib_images = args.calib_images});
  mpq::quant::CalibrationTable table = calibrator.calibrate(*train);
  const std::string table_path = args.out + "/mnist_ptq_calibration.json";
  mpq::Calibrator::save(table, table_path);
  std::cout << "calibrated on " << table.header.num_samples << " images -> " << table_path << "\n";

  // 3. The example's bits per layer, as a config_list over the calibrated ranges:
  //    {'conv1': 8, 'conv2': 32, 'fc1': 16, 'fc2': 8} (weight_bits and output_bits).
  const std::string config_path = args.out + "/mnist_ptq_config.json";
  std::ofstream(config_path) << R"([
  {"quant_types": ["weight", "output"], "quant_bits": 8, "op_names": ["conv1", "fc2"]},
  {"quant_types": ["weight", "output"], "quant_bits": 16, "op_names": ["fc1"]}
])";

  const int64_t batch_size = 32;
  const mpq::Tensor x = test->images(0, test->size());
  const mpq::Tensor labels = test->labels(0, test->size());

  mpq::ModelSpeedup fp32(model, {batch_size, 1, 28, 28}, {}, {.batch_size = batch_size});
  auto [fp32_out, fp32_s] = fp32.inference(x);
  mpq::ModelSpeedup engine(model, {batch_size, 1, 28, 28}, table,
                           {.batch_size = batch_size, .config_list = config_path});
  engine.compress();
  auto [output, seconds] = engine.inference(x);

  const double acc = accuracy(output, labels);
  std::cout << "fp32 engine:  accuracy " << 100 * accuracy(fp32_out, labels) << "%, " << fp32_s
            << " s for " << test->size() << " images\n";
  std::cout << "mixed engine: accuracy " << 100 * acc << "%, " << seconds << " s\n";
  for (const auto& layer : engine.manifest().layers)
    if (!layer.fused.empty() || layer.op == "Gemm" || layer.op == "Conv")
      std::cout << "  " << (layer.module_path.empty() ? layer.name : layer.module_path) << ": "
                << mpq::precision_name(layer.executed) << " (" << layer.kernel << ")\n";
  if (acc < args.min_accuracy) {
    std::cerr << "ptq_speedup: accuracy " << acc << " is below --min-accuracy " << args.min_accuracy
              << "\n";
    return 1;
  }
  return 0;
} catch (const mpq::Error& e) {
  std::cerr << "ptq_speedup: " << e.status().to_string() << "\n";
  return e.status().exit_code();
} catch (const std::exception& e) {
  std::cerr << "ptq_speedup: " << e.what() << "\n";
  return 2;
}
