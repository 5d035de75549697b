// NNI's quantization_aware_training_example (mixed_precision_speedup_mnist.py) in C++ with mpq:
//
//   config_list -> QatQuantizer (SGD lr 0.01, momentum 0.5) -> fit 1 epoch -> export_model
//   -> ModelSpeedup (the exported model + calibration config, batch 32) -> inference on the test
//   set -> export_quantized_model / load_quantized_model
//
// Usage: qat_speedup [--limit N] [--test-limit N] [--out DIR] [--min-accuracy A]
//   --limit N         train on the first N Fashion-MNIST training images (default: all 60000)
//   --test-limit N    test on the first N test images (default: all 10000)
//   --out DIR         where the model, calibration config and engine go (default out/examples)
//   --min-accuracy A  exit 1 if the engine's test accuracy is below A (0..1; used by CI)
#include <filesystem>
#include <iostream>
#include <string>

#include "example_util.h"
#include "mpq/mpq.h"

using example::accuracy;

int main(int argc, char** argv) try {
  const example::Args args = example::parse_args(argc, argv, false);
  std::filesystem::create_directories(args.out);
  const std::string model_path = args.out + "/mnist_model.onnx";
  const std::string calibration_path = args.out + "/mnist_calibration.json";

  // NNI's NaiveModel (from the zoo: no download) and Fashion-MNIST (Debian's package).
  const mpq::Model model = mpq::Model::zoo("mnist_naive");
  const mpq::Shape input = model.input_shape();  // [N, 1, 28, 28]
  mpq::data::DataSpec train_spec{.source = "fashion-mnist:train", .limit = args.limit};
  mpq::data::DataSpec test_spec{.source = "fashion-mnist:test", .limit = args.test_limit};
  auto train = mpq::data::open_dataset(train_spec, input);
  auto test = mpq::data::open_dataset(test_spec, input);

  // The example's configure_list, verbatim.
  const auto config_list = mpq::quant::ConfigList::parse_string(R"([
    {"quant_types": ["input", "weight"], "quant_bits": {"input": 8, "weight": 8}, "op_names": ["conv1"]},
    {"quant_types": ["output"], "quant_bits": {"output": 8}, "op_names": ["relu1"]},
    {"quant_types": ["input", "weight"], "quant_bits": {"input": 8, "weight": 8}, "op_names": ["conv2"]},
    {"quant_types": ["output"], "quant_bits": {"output": 8}, "op_names": ["relu2"]}
  ])");

  // Fine-tune with QAT (NNI's optimizer; Conv->BN folding is on by default, as with dummy_input).
  mpq::QatQuantizer quantizer(model, config_list, mpq::SGD{.lr = 0.01, .momentum = 0.5});
  quantizer.compress();
  for (const mpq::TrainStats& e : quantizer.fit(*train, 1))
    std::cout << "QAT epoch: loss " << e.loss << ", train accuracy " << 100 * e.accuracy << "%, "
              << e.images_per_second << " img/s\n";
  std::cout << "QAT model test accuracy: " << 100 * quantizer.evaluate(*test).accuracy << "%\n";

  // export_model: the float model (trained weights) + the calibration config (NNI's keys).
  quantizer.export_model(model_path, calibration_path);
  std::cout << "wrote " << model_path << " and " << calibration_path << "\n";

  // The speedup engine from the exported files, batch 32 as in the example.
  const int64_t batch_size = 32;
  mpq::ModelSpeedup engine(model_path, {batch_size, 1, 28, 28}, calibration_path,
                           {.batch_size = batch_size, .backend = "cpu"});
  std::cout << "engine built in " << engine.compress() << " s\n";

  // test_trt: the whole test set through inference() (split into batches of 32, every row back).
  const mpq::Tensor x = test->images(0, test->size());
  const mpq::Tensor labels = test->labels(0, test->size());
  auto [output, seconds] = engine.inference(x);
  const double acc = accuracy(output, labels);
  std::cout << "engine accuracy: " << 100 * acc << "% on " << test->size()
            << " test images; inference elapsed time (whole dataset): " << seconds << " s\n";

  // The engine file: save, load (no rebuild) and check the loaded engine gives the same outputs.
  const std::string engine_path = args.out + "/mnist_qat.mpqe";
  engine.export_quantized_model(engine_path);
  mpq::ModelSpeedup loaded(model_path, {batch_size, 1, 28, 28}, {}, {.batch_size = batch_size});
  loaded.load_quantized_model(engine_path);
  const mpq::Tensor again = loaded.inference(x).output;
  const std::vector<float> a = output.to_floats(), b = again.to_floats();
  if (a != b) {
    std::cerr << "qat_speedup: the loaded engine's outputs differ from the built engine's\n";
    return 1;
  }
  std::cout << "engine file " << engine_path << " loaded in " << loaded.load_ms()
            << " ms, same outputs\n";
  if (acc < args.min_accuracy) {
    std::cerr << "qat_speedup: accuracy " << acc << " is below --min-accuracy " << args.min_accuracy
              << "\n";
    return 1;
  }
  return 0;
} catch (const mpq::Error& e) {
  std::cerr << "qat_speedup: " << e.status().to_string() << "\n";
  return e.status().exit_code();
} catch (const std::exception& e) {
  std::cerr << "qat_speedup: " << e.what() << "\n";
  return 2;
}
