// ONNX strings are UTF-8. A name that is not (an edited or corrupted file) would break every JSON
// output and every message that shows it, so the importer refuses it first, showing it escaped.
#pragma once

#include <string>
#include <string_view>

#include "frontend/onnx/model_io.h"

namespace mpq::onnx_io {

bool is_valid_utf8(std::string_view s);

// Throws kInvalidInput naming the file and the name (non-ASCII bytes as \xNN) when a graph, node,
// value, initializer or attribute name is not valid UTF-8.
void check_utf8_names(const onnx::GraphProto& g, const std::string& file);

}  // namespace mpq::onnx_io
