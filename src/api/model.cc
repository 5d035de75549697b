// mpq::Model: the public handle over an imported or built-in graph.
#include "mpq/model.h"

#include "frontend/onnx/exporter.h"
#include "frontend/onnx/importer.h"
#include "ir/graph.h"
#include "zoo/zoo.h"

namespace mpq {

Model Model::load(const std::string& onnx_path) {
  return Model(import_onnx(onnx_path));
}

Model Model::zoo(const std::string& name, int64_t batch, uint64_t seed) {
  return Model(zoo::build_zoo_model(name, {.batch = batch, .seed = seed}).graph);
}

Model::Model(std::unique_ptr<Graph> graph) : graph_(std::move(graph)) {
  if (!graph_) internal_error("Model: no graph").raise();
}
Model::~Model() = default;
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;

void Model::save(const std::string& onnx_path) const {
  export_onnx(*graph_, onnx_path);
}

size_t Model::num_inputs() const {
  return graph_->inputs().size();
}

static const Value& input_at(const Graph& g, size_t i) {
  if (i >= g.inputs().size())
    invalid_input(
        str("model input ", i, " does not exist: the model has ", g.inputs().size(), " input(s)"))
        .raise();
  return *g.inputs()[i];
}

std::string Model::input_name(size_t i) const {
  return input_at(*graph_, i).name;
}
Shape Model::input_shape(size_t i) const {
  return input_at(*graph_, i).shape;
}

}  // namespace mpq
