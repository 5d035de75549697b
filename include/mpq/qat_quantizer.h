// Quantization-aware training in the shape of NNI's QAT_Quantizer (v2.10):
//
//   auto model = mpq::import_onnx("trained.onnx");
//   auto cfg = mpq::quant::ConfigList::parse_file("config_list.json");
//   mpq::QatQuantizer q(*model, cfg, mpq::SGD{.lr = 0.01, .momentum = 0.5});
//   q.compress();                      // inserts the fake-quantizers (and folds Conv->BN)
//   q.fit(*train_data, 1);             // or q.train_step(x, y) in your own loop
//   auto calib = q.export_model("qat.onnx", "calib.json");
//
// The semantics are NNI's (docs/qat.md lists them and the NNI bugs mpq does not reproduce): weight
// ranges from the current weights at every step, activation ranges tracked with an EMA (decay
// 0.99) reset to the batch at the first step, clipped straight-through gradients, quant_start_step,
// Conv->BatchNorm folding with running statistics. The fake-quantization is the engine's own
// quantize function (core/quant_math.h). export_model writes the float model (trained weights,
// BN not folded) and the calibration config: NNI's v2.5 per-layer keys plus mpq's tensor table.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "mpq/losses.h"
#include "mpq/optimizer.h"
#include "mpq/trainer.h"

namespace mpq {

class Graph;
class Tensor;
namespace quant {
class ConfigList;
struct CalibrationTable;
}  // namespace quant
namespace data {
class Dataset;
}

struct QatOptions {
  int64_t batch_size = 64;  // fit()
  uint64_t seed = 0;        // shuffling
  bool shuffle = true;
  bool quiet = false;  // no progress bar
  LrSchedule schedule;
  bool fold_bn = true;               // NNI folds Conv->BatchNorm when given a dummy input
  int64_t max_steps_per_epoch = -1;  // stop epochs early (quick runs)
};

class QatQuantizer {
 public:
  // `model` is copied (with its weights); the original is never modified.
  QatQuantizer(const Graph& model, const quant::ConfigList& config_list, OptimizerConfig optimizer,
               QatOptions options = {});
  ~QatQuantizer();
  QatQuantizer(const QatQuantizer&) = delete;
  QatQuantizer& operator=(const QatQuantizer&) = delete;

  // Inserts the fake-quantizers. Called by the training functions if you do not.
  void compress();
  // One optimizer step on a batch (x: f32 [N, ...], labels: integer [N]), softmax cross-entropy.
  TrainStats train_step(const Tensor& x, const Tensor& labels);
  // A training step with any loss, in the user's own loop (NNI wraps the user's loop and patches
  // optimizer.step; here the step is explicit):
  //   const Tensor& y = q.forward(x);               // training forward, observers updated
  //   mpq::Loss l = mpq::mse_loss(y, target);       // or any loss: d(loss)/d(y) as a tensor
  //   q.backward(l.grad);                           // same shape as y (else kInvalidInput)
  //   q.step();                                     // optimizer step; NNI's step counter + 1
  // forward returns the model output (the logits before a final Softmax).
  const Tensor& forward(const Tensor& x);
  void backward(const Tensor& output_grad);
  void step();
  std::vector<TrainStats> fit(const data::Dataset& train, int64_t epochs);
  // Accuracy of the QAT (fake-quantized) model in eval mode.
  TrainStats evaluate(const data::Dataset& test, int64_t batch_size = 500);
  // Eval-mode logits of the fake-quantized model.
  Tensor predict(const Tensor& x);

  // Writes the float ONNX model (model_path) and the calibration config (calibration_path, JSON;
  // skipped when empty), and returns the calibration table. Files are written atomically.
  quant::CalibrationTable export_model(const std::string& model_path,
                                       const std::string& calibration_path = "");
  // Loads tracked ranges from a calibration config (NNI's load_calibration_config): bits must
  // match the config_list; activation scales are derived at once (NNI waits for the next training
  // step) and weight_scale / weight_zero_point, when given, become the weights' stored scale.
  void load_calibration_config(const quant::CalibrationTable& table);

  // What the config_list check let through: unknown keys, names matching nothing and QAT's
  // refusals when the config_list was parsed lenient (else they are errors), op_types matching
  // nothing.
  const std::vector<std::string>& warnings() const;
  const Graph& float_graph() const;  // the trained float model (what export_model writes)
  const Graph& qat_graph() const;    // the graph with fake-quantizers (after compress())
  int64_t steps() const;             // optimizer steps taken
  // One line per fake-quantizer and per folded BatchNormalization.
  std::string summary() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mpq
