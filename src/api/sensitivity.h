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

using mpq::layer_sensitivity;
using mpq::LayerSensitivity;
using mpq::sensitivity_json;
using mpq::sensitivity_svg;
using mpq::sensitivity_verdict;
using mpq::SensitivityOptions;
using mpq::SensitivityReport;

// The layers the report covers: nodes with a constant weight (Conv, Gemm, MatMul), in graph order.
std::vector<const Node*> quantizable_layers(const Graph& g);

// The module path when the exporter kept it, else the node name.
std::string display_name(const LayerSensitivity& l);

}  // namespace mpq::api
