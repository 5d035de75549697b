// The SSA IR: a Graph owns Values and Nodes. A Value is produced by at most one Node (or is a graph
// input / constant initializer) and knows its consumers; a Node knows its op (OpKind) and
// attributes. Node order is kept topological by sort().
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/tensor.h"
#include "ir/attribute.h"

namespace mpq {

enum class OpKind : uint16_t {
#define MPQ_OP(name) name,
#include "ir/ops.def"
#undef MPQ_OP
  kCount
};

struct OpDef;
struct Node;

struct Value {
  std::string name;
  DType dtype = DType::f32;
  Shape shape;            // -1 marks a dim unknown until run time
  bool has_type = false;  // dtype/shape known (inferred or declared)
  Node* producer = nullptr;
  int producer_index = 0;  // which output of the producer
  std::vector<Node*> consumers;
  std::optional<Tensor> constant;  // initializer or folded constant
  bool is_graph_input = false;

  bool is_constant() const { return constant.has_value(); }
  // The dim that scales with the run-time batch (after the symbolic-batch pass a value has at
  // most one, not always dim 0: torch's attention moves it), or -1 if none.
  int batch_axis() const {
    if (is_constant()) return -1;
    for (size_t d = 0; d < shape.size(); ++d)
      if (shape[d] < 0) return static_cast<int>(d);
    return -1;
  }
};

struct Node {
  std::string name;
  OpKind op;
  std::vector<Value*> inputs;  // nullptr marks an omitted optional input
  std::vector<Value*> outputs;
  Attributes attrs;
  std::string module_path;  // PyTorch module path derived from the exporter's scope, if any

  const OpDef& def() const;
  const char* op_name() const;
  Value* input(size_t i) const { return i < inputs.size() ? inputs[i] : nullptr; }
  bool has_input(size_t i) const { return input(i) != nullptr; }
  // Display name: module path if known, else node name.
  const std::string& label() const { return module_path.empty() ? name : module_path; }
};

class Graph {
 public:
  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  std::string name;
  int64_t opset = 13;  // ONNX default-domain opset the graph was imported with / exports as

  // Values. Names must be unique; add_* throws kInvalidInput on a duplicate.
  Value* add_value(const std::string& name);
  Value* add_input(const std::string& name, DType dtype, Shape shape);
  Value* add_constant(const std::string& name, Tensor t);
  void add_output(Value* v) { outputs_.push_back(v); }
  void set_outputs(std::vector<Value*> outs) { outputs_ = std::move(outs); }

  // Adds a node producing `num_outputs` new values named "<name>_out<i>" (or given names).
  Node* add_node(OpKind op, const std::string& name, std::vector<Value*> inputs,
                 std::vector<std::string> output_names, Attributes attrs = {});
  Node* add_node(OpKind op, const std::string& name, std::vector<Value*> inputs, int num_outputs,
                 Attributes attrs = {});
  // Detaches a node from its inputs and drops it (its outputs must be unused or rewired first).
  void remove_node(Node* n);
  void set_input(Node* n, size_t i, Value* v);    // rewires one input, keeping consumer lists right
  void replace_all_uses(Value* from, Value* to);  // graph outputs included
  void remove_unused();  // drops nodes whose outputs are unused (dead code) and orphan values

  // Topologically sorts nodes in place; throws kInvalidInput naming a node on a cycle.
  void sort();
  // Assigns fresh unique names derived from `base`.
  std::string unique_value_name(const std::string& base) const;
  std::string unique_node_name(const std::string& base) const;

  const std::vector<std::unique_ptr<Node>>& nodes() const { return nodes_; }
  const std::vector<std::unique_ptr<Value>>& values() const { return values_; }
  const std::vector<Value*>& inputs() const { return inputs_; }
  const std::vector<Value*>& outputs() const { return outputs_; }
  Value* find_value(const std::string& name) const;
  Node* find_node(const std::string& name) const;

  // Deep copy (constants share storage: they are immutable by convention).
  std::unique_ptr<Graph> clone() const;

 private:
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<std::unique_ptr<Value>> values_;
  std::vector<Value*> inputs_, outputs_;
  std::unordered_map<std::string, Value*> value_index_;
  std::unordered_map<std::string, Node*> node_index_;
};

}  // namespace mpq
