// The QAT pass: rewrites a float graph into the graph QAT trains, following a resolved
// config_list exactly as NNI's QAT_Quantizer wraps modules (nni.md §2):
//   weight -> FakeQuantize on the layer's weight input (per output channel or per tensor)
//   input  -> FakeQuantize on the layer's input 0 (this layer only)
//   output -> FakeQuantize after the layer's output 0 (all consumers read the quantized value)
// A layer whose weight is quantized and whose input is not gets a track-only observer on input 0
// (no FakeQuantize node; the layer's own pre-forward hook observes it), as NNI v2.2-2.4 tracked
// the input range inside weight quantization: the engine builder needs that range to run the
// layer in int8.
// and, for a Conv whose only consumer is a BatchNormalization (and whose weight is quantized),
// NNI's BN folding with running statistics:
//   stats = BatchNormalization[training](Conv(x, W, b))        (updates the running statistics)
//   W_f, b_f = BatchNormFold(W, b, scale, bias, running_mean, running_var)
//   y = Conv(x, FakeQuantize(W_f), b_f)                        (the BN node is removed)
// Unlike NNI, the statistics conv uses the current float weight, not the previous step's folded
// quantized one (nni.md §2.3 "Observation"), so the running statistics describe the unfolded
// conv's output, which is what the folding formula assumes.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"
#include "quant/config_list.h"
#include "train/qat_observer.h"

namespace mpq::train {

struct FakeQuantSite {
  Node* fq = nullptr;           // the FakeQuantize node (QAT graph); the layer when track-only
  std::string layer;            // the configured node's name (same in the float and QAT graphs)
  std::string layer_key;        // its calibration key (module path or node name)
  std::string tensor;           // the observed tensor's name in the float graph ("" for weights)
  Value* scale = nullptr;       // f32 [channels] constant, rewritten by the observer (none when
  Value* zero_point = nullptr;  // i64 [channels] constant       track-only)
  QatObserver observer;
};

struct FoldedBatchNorm {
  std::string conv, bn;
};

struct QatGraphInfo {
  std::vector<FakeQuantSite> sites;
  std::vector<FoldedBatchNorm> folded;
  std::vector<std::string> notes;  // settings that had no effect (e.g. weight on a weightless op)
};

// Rewrites `g` in place. `cfg` was resolved on a graph with the same node names (the float
// graph `g` was cloned from). Node pointers in the result refer to `g`.
QatGraphInfo insert_fake_quant(Graph& g, const quant::ResolvedConfig& cfg, bool fold_bn = true);

// The per-channel axis of a layer's weight: the output-feature axis (0 for Conv and Gemm with
// transB=1 as PyTorch stores Linear; 1 for Gemm with transB=0; the last axis for MatMul).
int weight_channel_axis(const Node& n);

}  // namespace mpq::train
