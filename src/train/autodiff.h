// Autodiff over a Graph: a forward pass that keeps what the backward needs, then each node's
// backward in reverse order, accumulating the gradients of the trainable initializers.
//
// A plan (plan/training_plan.h) is built once per batch size: shapes inferred, every activation
// and gradient buffer allocated, one kernel per node chosen (oneDNN training primitives where
// they exist, the op's reference rules otherwise) and layout conversions placed between them.
// Later steps at the same batch size reuse it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "backends/train_kernel.h"
#include "ir/graph.h"
#include "plan/training_plan.h"

namespace mpq::train {

// A trainable initializer: a float constant (rank >= 1) that a differentiable input of some node
// reads, e.g. Conv/Gemm weights and biases and BatchNormalization scale and bias. Its tensor is the
// graph's own initializer storage, updated in place by the optimizer.
struct Param {
  Value* value = nullptr;
  Tensor data;
  Tensor grad;
  bool has_grad = false;  // the last backward wrote a gradient
  bool frozen = false;    // excluded from gradients (set with Autodiff::freeze)
};

// Replaces nodes without inputs (ONNX Constant) by initializers, so kernels see constant
// operands (e.g. Clip bounds). Returns the number of nodes folded.
int fold_constant_nodes(Graph& g);

// Gives every initializer of `g` its own copy of the data (after Graph::clone, which shares it).
void own_constants(Graph& g);

class Autodiff {
 public:
  // `g` must outlive this object; it must have one float input and one output. Its trainable
  // initializers are updated in place: Graph::clone shares constant storage, so call
  // own_constants() on a clone first when the original must not change.
  // `output`: the value to differentiate (default: the graph's output), e.g. the logits feeding
  // a final Softmax.
  explicit Autodiff(Graph& g, Value* output = nullptr);
  ~Autodiff();

  Graph& graph() { return g_; }
  std::vector<Param>& params() { return params_; }
  Param* find_param(const std::string& value_name);
  void freeze(const std::string& value_name);

  // Runs the graph on `x` ([B, ...], any B). In training mode BatchNormalization uses batch
  // statistics and updates its running statistics. Returns output 0 in plain layout.
  const Tensor& forward(const Tensor& x, bool training);
  // The gradient of output 0, for the loss to fill after forward(..., true).
  Tensor& output_grad();
  // Backpropagates output_grad() into the parameters' grads (overwriting the previous ones).
  void backward();

  // Optimizer steps taken so far (kernels and hooks see it as StepContext::step).
  void set_step(int64_t s) { step_ = s; }
  int64_t step() const { return step_; }

  // Called before the node's kernel runs forward (training and eval): QAT observers use it.
  void add_pre_forward_hook(const Node* n, std::function<void(StepContext&)> hook);
  // While set, the node (one input, one output) forwards its input unchanged and passes the
  // gradient through (a fake-quantizer before its quant_start_step).
  void set_bypass(const Node* n, bool on);

  // Cumulative time per kernel implementation (forward and backward), for profiling.
  std::map<std::string, double> timing() const;
  bool profiling() const { return profiling_; }
  void set_profiling(bool on) { profiling_ = on; }

  // Plans infer the graph's shapes at their batch size; this puts the declared input shape (e.g.
  // a dynamic batch) and its inferred shapes back. Done by the destructor, and by the Trainer
  // after each epoch, evaluation and prediction, so a trained graph exports as it was imported.
  void restore_shapes();

  // Invalidates the plans (after the graph was rewritten).
  void reset_plans();

 private:
  plan::TrainingPlan& plan_for(int64_t batch);
  std::unique_ptr<plan::TrainingPlan> build_plan(int64_t batch);
  void ensure_shapes(int64_t batch);
  void collect_params();

  Graph& g_;
  Value* out_value_;
  std::vector<Param> params_;
  std::unordered_set<std::string> frozen_;
  std::map<int64_t, std::unique_ptr<plan::TrainingPlan>> plans_;
  plan::TrainingPlan* current_ = nullptr;
  int64_t shapes_batch_ = -1;
  Shape declared_;  // the model input's declared shape (dim 0 is replaced by the batch)
  int64_t step_ = 0;
  bool last_training_ = false;
  std::unordered_map<const Node*, std::vector<std::function<void(StepContext&)>>> hooks_;
  std::unordered_set<const Node*> bypass_;
  bool profiling_ = false;
  std::map<std::string, double> timing_;
};

}  // namespace mpq::train
