// NNI's mixed-precision PTQ speedup example (mixed_precision_speedup_mnist.py), with mpq:
// calibrate on 1000 training images, give conv1 8, conv2 32, fc1 16, fc2 8 bits, build the
// engine, run the Fashion-MNIST test set through it (every row: 10000 is not a multiple of 128),
// save it, load it back and check the outputs are the same.
//
//   build/examples/example_model_speedup [model.onnx] [--out m.mpqe]
// Without a model it uses the zoo's mnist_naive (seeded random weights: the accuracy is then
// ~10%, the speed is real). Exit code 77 when the Fashion-MNIST package is not installed.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "data/dataset.h"
#include "mpq/mpq.h"
#include "zoo/zoo.h"

int main(int argc, char** argv) {
  std::string model, out = "mnist_mixed.mpqe";
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--out") == 0 && i + 1 < argc)
      out = argv[++i];
    else
      model = argv[i];
  }
  if (!std::filesystem::exists(mpq::data::fashion_mnist_dir())) {
    std::printf("skipped: Fashion-MNIST is not installed (%s)\n",
                mpq::data::fashion_mnist_dir().c_str());
    return 77;
  }
  try {
    std::unique_ptr<mpq::Graph> graph =
        model.empty() ? mpq::zoo::build_zoo_model("mnist_naive").graph : mpq::import_onnx(model);
    auto train = mpq::data::open_dataset({"fashion-mnist:train"}, {-1, 1, 28, 28});
    auto test = mpq::data::open_dataset({"fashion-mnist:test"}, {-1, 1, 28, 28});

    // 1. Post-training calibration (NNI: calib_data_loader), then NNI's per-layer bits.
    mpq::Calibrator calibrator(*graph, {.method = "minmax", .calib_images = 1000});
    mpq::quant::CalibrationTable table = calibrator.calibrate(*train);
    const std::pair<const char*, int> bits[] = {
        {"conv1", 8}, {"conv2", 32}, {"fc1", 16}, {"fc2", 8}};
    for (const auto& [layer, b] : bits) {
      auto it = table.layers.find(layer);
      if (it == table.layers.end()) {
        std::fprintf(stderr, "the model has no layer '%s'\n", layer);
        return 2;
      }
      it->second.weight_bits = it->second.output_bits = it->second.input_bits = b;
    }

    // 2. ModelSpeedupTensorRT(model, input_shape, config, batchsize) -> compress()
    mpq::ModelSpeedup speed(*graph, {128, 1, 28, 28}, table, {.batch_size = 128, .backend = "cpu"});
    const double build_s = speed.compress();
    std::printf("built in %.2f s\n", build_s);
    for (const auto& l : speed.manifest().layers)
      if (!l.module_path.empty() && l.op != "Reorder")
        std::printf("  %-8s %-10s requested %-5s executed %-5s %s\n", l.module_path.c_str(),
                    l.op.c_str(), mpq::precision_name(l.requested), mpq::precision_name(l.executed),
                    l.impl.c_str());

    // 3. inference(test_data): every one of the 10000 rows comes back.
    mpq::Tensor x = test->images(0, test->size());
    mpq::Tensor y = test->labels(0, test->size());
    auto [output, seconds] = speed.inference(x);
    const float* o = output.data<float>();
    const int64_t* lab = y.data<int64_t>();
    int64_t correct = 0;
    for (int64_t r = 0; r < output.dim(0); ++r) {
      int64_t best = 0;
      for (int64_t c = 1; c < output.dim(1); ++c)
        if (o[r * output.dim(1) + c] > o[r * output.dim(1) + best]) best = c;
      correct += best == lab[r];
    }
    std::printf("test set: %lld rows -> output %s, accuracy %.2f%%, %.4f s (sum over batches)\n",
                static_cast<long long>(x.dim(0)), mpq::shape_str(output.shape()).c_str(),
                100.0 * static_cast<double>(correct) / static_cast<double>(x.dim(0)), seconds);

    // 4. export_quantized_model / load_quantized_model
    speed.export_quantized_model(out);
    mpq::ModelSpeedup loaded(*graph, {128, 1, 28, 28}, table, {.batch_size = 128});
    loaded.load_quantized_model(out);
    mpq::Tensor again = loaded.inference(x).output;
    const bool same = std::memcmp(again.raw(), output.raw(), output.nbytes()) == 0;
    std::printf("saved %s, loaded in %.1f ms: outputs %s\n", out.c_str(), loaded.load_ms(),
                same ? "identical" : "DIFFER");
    return same ? 0 : 1;
  } catch (const mpq::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.status().to_string().c_str());
    return e.status().exit_code();
  }
}
