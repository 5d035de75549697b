// --model for the training commands: an ONNX file, or a zoo model name (built with seed 0) when
// no file of that name exists.
#pragma once

#include <memory>
#include <string>

#include "ir/graph.h"

namespace mpq::cli {

std::unique_ptr<Graph> load_model_arg(const std::string& arg);

}  // namespace mpq::cli
