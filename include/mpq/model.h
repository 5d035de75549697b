// mpq::Model — a network in memory: what QatQuantizer, Calibrator and ModelSpeedup take.
//
//   mpq::Model model = mpq::Model::load("trained.onnx");   // or Model::zoo("mnist_naive")
//   mpq::Shape input = model.input_shape();                // [-1, 1, 28, 28]: the batch is open
//   mpq::QatQuantizer q(model, config_list, mpq::SGD{.lr = 0.01});
//
// The graph itself (mpq::Graph, the library's IR) stays private: a Model converts to
// `const Graph&` wherever the API takes one. Errors are mpq::Error naming the file and node.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mpq/tensor.h"

namespace mpq {

class Graph;

class Model {
 public:
  // Imports an ONNX file: checked, shapes inferred, PyTorch module paths recovered from the
  // exporter's scopes (they are the layer names config_lists use).
  static Model load(const std::string& onnx_path);
  // A built-in network with seeded weights, no download: mnist_naive (NNI's NaiveModel), lenet5,
  // resnet18_cifar. batch -1 leaves the batch dimension open.
  static Model zoo(const std::string& name, int64_t batch = -1, uint64_t seed = 0);
  explicit Model(std::unique_ptr<Graph> graph);  // takes a graph the library made
  ~Model();
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;

  // Writes the float model as ONNX.
  void save(const std::string& onnx_path) const;
  size_t num_inputs() const;
  std::string input_name(size_t i = 0) const;
  Shape input_shape(size_t i = 0) const;  // -1 for the dims the model leaves open

  const Graph& graph() const { return *graph_; }
  Graph& graph() { return *graph_; }
  operator const Graph&() const { return *graph_; }

 private:
  std::unique_ptr<Graph> graph_;
};

}  // namespace mpq
