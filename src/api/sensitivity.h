// Per-layer quantization sensitivity (`mpq sensitivity`): for every quantizable layer (a Conv,
// Gemm or MatMul with a constant weight), one engine with only that layer int8 and the rest fp32
// ("alone"), and one with every layer int8 but that one ("without"), each run on the same data and
// compared with the fp32 engine: output SQNR, top-1 agreement, and accuracy when labels exist.
// Engines are real (the backend's kernels, fusion and boundaries included), so a layer's cost of
// being int8 is what it costs in the engine, not in a fake-quantized float model.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "api/fidelity.h"
#include "core/tensor.h"
#include "ir/graph.h"
#include "quant/calibration_table.h"

namespace mpq::api {

struct SensitivityOptions {
  std::string backend = "cpu";
  int64_t batch_size = 64;
  int threads = 0;
  // Ranks the layers: "sqnr" (dB, higher is better), "agreement" (top-1 agreement with fp32) or
  // "accuracy" (needs labels). The worst layer by its "alone" figure comes first.
  std::string metric = "sqnr";
  bool force = false;      // accept a calibration table computed on another model
  std::string calib_name;  // the table's file, for messages ("" if built in memory)
};

struct LayerSensitivity {
  std::string name;         // node name
  std::string module_path;  // PyTorch module path, when the exporter kept it
  std::string op;
  Fidelity alone;    // only this layer int8
  Fidelity without;  // every layer int8 but this one
};

struct SensitivityReport {
  std::string metric;
  int64_t samples = 0;
  std::optional<double> fp32_accuracy;
  Fidelity int8;                         // every layer int8
  std::vector<LayerSensitivity> layers;  // worst first by `metric` (alone)
};

// The layers the report covers: nodes with a constant weight (Conv, Gemm, MatMul), in graph order.
std::vector<const Node*> quantizable_layers(const Graph& g);

// kInvalidInput when the data does not fit the model or the metric needs labels that are
// missing; kUnsupported when the model has no quantizable layer. `progress` (optional) is called
// after each engine with (done, total).
SensitivityReport layer_sensitivity(const Graph& g, const quant::CalibrationTable& table,
                                    const Tensor& data, const std::optional<Tensor>& labels,
                                    const SensitivityOptions& opt,
                                    const std::function<void(int, int)>& progress = {});

// The report as JSON text and as a standalone SVG bar chart (one bar per layer, alone and without).
std::string sensitivity_json(const SensitivityReport& r);
std::string sensitivity_svg(const SensitivityReport& r);

// The module path when the exporter kept it, else the node name.
std::string display_name(const LayerSensitivity& l);

// One line naming the worst layers and what keeping the worst in fp32 gives.
std::string sensitivity_verdict(const SensitivityReport& r, size_t worst = 3);

}  // namespace mpq::api
