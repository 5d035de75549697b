// The state NNI's QAT_Quantizer keeps per quantized tensor, and its per-step rules (nni.md §2.3):
//   * weight:     min/max of the current weight at every forward (no EMA), per tensor or per
//                 output channel; scale/zero point recomputed, then fake-quantized.
//   * input/output: tracked min/max reset to the batch while NNI's step counter is 1 (before the
//                 first optimizer step), then an EMA with decay 0.99 on every training forward,
//                 including before quant_start_step; from quant_start_step on, scale/zero point
//                 come from the tracked range. Eval mode uses the stored parameters unchanged.
//   * before quant_start_step the tensor passes through unquantized with its full gradient (NNI
//     zeroes the gradient there because its scales are still 0; mpq does not).
// NNI's step counter starts at 1 and counts optimizer steps: nni_step = optimizer_steps + 1.
#pragma once

#include <string>
#include <vector>

#include "quant/config_list.h"
#include "core/quant_math.h"

namespace mpq::train {

constexpr float kQatEmaDecay = 0.99f;  // NNI hard-codes it

struct QatObserver {
  quant::QuantType type = quant::QuantType::kWeight;
  quant::TypeSetting setting;
  int quant_start_step = 0;
  int axis = -1;  // per-channel axis of the observed tensor (logical), -1 per tensor
  // Tracks the range without quantizing: the input of a layer whose weight is quantized and whose
  // input is not (NNI v2.2-2.4 tracked it inside weight quantization for the engine builder).
  bool track_only = false;

  std::vector<float> tracked_min, tracked_max;  // activations: EMA state
  bool tracked = false;
  quant::TensorQuant params;  // last scale/zero point
  bool has_params = false;

  bool is_weight() const { return type == quant::QuantType::kWeight; }
  bool active(int64_t nni_step) const { return nni_step >= quant_start_step; }

  // One training (or, for weights, any) forward with the batch's per-channel min/max. Returns
  // true when the tensor is to be fake-quantized at this step (params updated).
  bool observe(const std::vector<float>& mins, const std::vector<float>& maxs, int64_t nni_step,
               bool training);
  // Sets the tracked range (load_calibration_config) and derives the parameters from it.
  void load_range(float min, float max);
  // Overall range of the tracked (activation) or last observed (weight) values.
  float range_min() const;
  float range_max() const;
};

// Per-channel min/max of a buffer whose element i belongs to channel (i / inner) % channels
// (channels = 1: the whole tensor). NaNs are ignored; an all-NaN channel gives NaN.
void buffer_min_max(const float* x, int64_t n, int64_t channels, int64_t inner,
                    std::vector<float>* mins, std::vector<float>* maxs);

}  // namespace mpq::train
