#include "model_arg.h"

#include <filesystem>

#include "frontend/onnx/importer.h"
#include "zoo/zoo.h"

namespace mpq::cli {

std::unique_ptr<Graph> load_model_arg(const std::string& arg) {
  if (!std::filesystem::exists(arg))
    for (const auto& m : zoo::zoo_models())
      if (m.name == arg) return zoo::build_zoo_model(arg).graph;
  return import_onnx(arg);
}

}  // namespace mpq::cli
