// Quantization-aware training of a regression model in your own training loop, with your own
// loss, then its int8 engine. NNI's QAT_Quantizer wraps the user's PyTorch loop; with mpq the
// loop calls forward, backward (from d(loss)/d(output)) and step:
//
//   QatQuantizer q(model, config_list, SGD{...});
//   for each batch: y = q.forward(x); loss = mse_loss(y, target); q.backward(loss.grad); q.step();
//   q.export_model(...) -> ModelSpeedup -> inference
//
// The model (8 inputs -> Linear 32 -> ReLU -> Linear 1) learns y = sin(x0) + x1 * x2 - 0.5 x3 on
// random inputs, QAT quantizes both Linear layers (input and weight) and the ReLU's output to 8
// bits, and the CPU engine runs them in int8.
//
// Usage: qat_regression [--steps N] [--out DIR] [--max-mse M]
//   --steps N    training steps of 64 samples (default 600)
//   --out DIR    where the model, calibration config and engine go (default out/examples)
//   --max-mse M  exit 1 if the engine's test MSE is above M (used by CI)
#include <cmath>
#include <filesystem>
#include <iostream>
#include <string>

#include "core/rng.h"
#include "mpq/losses.h"
#include "mpq/model_speedup.h"
#include "mpq/qat_quantizer.h"
#include "quant/config_list.h"
#include "zoo/graph_builder.h"

namespace {

// Random inputs and the function to learn.
void make_batch(mpq::Rng& rng, int64_t n, mpq::Tensor* x, mpq::Tensor* y) {
  *x = mpq::Tensor(mpq::DType::f32, {n, 8});
  *y = mpq::Tensor(mpq::DType::f32, {n, 1});
  for (int64_t i = 0; i < n; ++i) {
    float* r = x->data<float>() + i * 8;
    for (int k = 0; k < 8; ++k) r[k] = static_cast<float>(rng.normal());
    y->data<float>()[i] = std::sin(r[0]) + r[1] * r[2] - 0.5f * r[3];
  }
}

}  // namespace

int main(int argc, char** argv) try {
  int64_t steps = 600;
  std::string out = "out/examples";
  double max_mse = -1.0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--steps")
      steps = std::stoll(v);
    else if (k == "--out")
      out = v;
    else if (k == "--max-mse")
      max_mse = std::stod(v);
    else
      throw std::runtime_error("unknown option " + k);
  }
  std::filesystem::create_directories(out);

  // The model, as torch.onnx.export would name nn.Sequential-like modules fc1, relu, fc2.
  mpq::Graph model;
  mpq::zoo::GraphBuilder b(model, 0);
  mpq::Value* x = b.input("x", {-1, 8});
  mpq::Value* h = b.relu(b.linear(x, "fc1", 32), "relu");
  b.name_next("y");
  b.output(b.linear(h, "fc2", 1));

  const auto config_list = mpq::quant::ConfigList::parse_string(R"([
    {"quant_types": ["input", "weight"], "quant_bits": 8, "op_types": ["Linear"]},
    {"quant_types": ["output"], "quant_bits": 8, "op_names": ["relu"]}
  ])");
  mpq::QatQuantizer q(model, config_list, mpq::SGD{.lr = 0.02, .momentum = 0.9});

  // Your own loop: forward, your loss, backward from its gradient, step.
  mpq::Rng rng(7);
  mpq::Tensor bx, by;
  double running = 0.0;
  for (int64_t s = 1; s <= steps; ++s) {
    make_batch(rng, 64, &bx, &by);
    const mpq::Tensor& pred = q.forward(bx);
    const mpq::Loss loss = mpq::mse_loss(pred, by);
    q.backward(loss.grad);
    q.step();
    running = s == 1 ? loss.value : 0.98 * running + 0.02 * loss.value;
    if (s % 200 == 0) std::cout << "step " << s << ": mse " << running << "\n";
  }

  const std::string model_path = out + "/regression.onnx", calib_path = out + "/regression.json";
  q.export_model(model_path, calib_path);

  // The int8 engine, checked on held-out data against the QAT model it came from.
  mpq::Tensor tx, ty;
  make_batch(rng, 2048, &tx, &ty);
  mpq::ModelSpeedup speed(model_path, {256, 8}, calib_path, {.batch_size = 256});
  speed.compress();
  int int8 = 0;
  for (const auto& l : speed.manifest().layers) int8 += l.executed == mpq::Precision::kInt8;
  const auto [engine_out, seconds] = speed.inference(tx);
  const double engine_mse = mpq::mse_loss(engine_out, ty).value;
  const double qat_mse = mpq::mse_loss(q.predict(tx), ty).value;
  const double variance = mpq::mse_loss(mpq::Tensor(mpq::DType::f32, {2048, 1}), ty).value;
  std::cout << "test MSE: QAT model " << qat_mse << ", int8 engine " << engine_mse << " (" << int8
            << " int8 layers, " << seconds * 1e3 << " ms); predicting 0 gives " << variance << "\n";
  speed.export_quantized_model(out + "/regression.mpqe");
  if (max_mse >= 0 && !(engine_mse <= max_mse)) {
    std::cerr << "engine MSE " << engine_mse << " is above --max-mse " << max_mse << "\n";
    return 1;
  }
  return 0;
} catch (const std::exception& e) {
  std::cerr << "qat_regression: " << e.what() << "\n";
  return 2;
}
