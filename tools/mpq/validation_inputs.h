// What `mpq sensitivity` and `mpq search` both start from: a one-input model, its calibration
// table and the validation samples (with labels when the data has them), all checked before any
// engine is built.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/tensor.h"
#include "data/dataset.h"
#include "ir/graph.h"
#include "quant/calibration_table.h"

namespace mpq::cli {

struct ValidationInputs {
  std::unique_ptr<Graph> graph;
  quant::CalibrationTable table;
  Tensor images;
  std::optional<Tensor> labels;
};

// `command` names the subcommand in the one-input refusal (kUnsupported naming the model file).
ValidationInputs load_validation_inputs(const std::string& model, const std::string& calib,
                                        const data::DataSpec& data, const char* command);

}  // namespace mpq::cli
