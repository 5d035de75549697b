// Training kernels: how one node (or one layout conversion) runs forward and backward inside a
// training plan. They live in the kernel registry beside the inference kernels
// (KernelRegistry::add_train): the reference backend's run the op's OpDef forward/backward rules
// (backends/reference/train_*.cc), the cpu backend's run oneDNN (backends/cpu/train/) and may
// decline a node they do not handle (then the next one, finally the reference rule, runs).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "core/tensor.h"
#include "ir/graph.h"

namespace mpq::train {

// Slots use the plans' Layout (backends/backend.h). Shapes are always logical (NCHW); a kNHWC
// buffer stores the same tensor as [N,H,W,C]. oneDNN's training primitives are fastest on NHWC,
// so they chain in it, and the plan converts where a reference op needs plain NCHW.
// [N,H,W,C] for kNHWC (rank 4), else the shape itself.
Shape physical_shape(const Shape& logical, Layout l);
// True when both layouts hold the same bytes (rank != 4, C == 1 or H*W == 1).
bool same_bytes(const Shape& logical, Layout a, Layout b);

// One tensor of a plan: a graph value (or a layout-converted copy of one) at one batch size.
struct Slot {
  std::string name;
  const Value* value = nullptr;
  Shape shape;  // logical
  Layout layout = Layout::kPlain;
  Tensor data;  // physical buffer
  Tensor grad;  // same physical shape; allocated when requires_grad
  bool requires_grad = false;
  bool is_param = false;
  bool is_constant = false;
  bool has_grad = false;  // a gradient was written in the current backward pass
  Tensor scratch;         // second gradient buffer for accumulation (lazily allocated)
};

class Autodiff;

// What a kernel sees of its step.
struct StepContext {
  const Node* node = nullptr;  // null for layout conversions
  std::vector<Slot*> in;       // nullptr for an omitted optional input
  std::vector<Slot*> out;
  std::vector<bool> want_grad;  // per input: it requires a gradient and the kernel gives one
  bool training = true;
  int64_t step = 0;  // optimizer steps taken so far

  bool need_grad(size_t i) const { return i < want_grad.size() && want_grad[i]; }
  // Gradient of output o; zero-filled when nothing flowed into it.
  const Tensor& grad_out(size_t o);
  // Buffer to write the whole gradient of input i into; call grad_in_done(i) afterwards, which
  // adds it to earlier contributions when the input has several consumers.
  Tensor& grad_in_begin(size_t i);
  void grad_in_done(size_t i);
  // Adds `g` (same physical shape) to input i's gradient.
  void accumulate_grad(size_t i, const Tensor& g);
};

class TrainKernel {
 public:
  virtual ~TrainKernel() = default;
  virtual const char* name() const = 0;
  // Layout this kernel wants for input i when its producer gives `given` (ctx.in holds the
  // inputs before i, already placed).
  virtual Layout input_layout(size_t i, Layout given, const StepContext& ctx) const {
    return Layout::kPlain;
  }
  // Whether input i can receive a gradient (false for running statistics, scales, shapes).
  virtual bool differentiable(size_t i) const { return true; }
  // Layout of output o once the inputs' layouts are fixed.
  virtual Layout output_layout(size_t o, const StepContext& ctx) const { return Layout::kPlain; }
  // Whether inference-mode forward reads input i (BatchNormalization whose normalized output is
  // unused only copies its running statistics: QAT's statistics branch is skipped in eval).
  virtual bool eval_reads_input(size_t i, const StepContext& ctx) const { return true; }
  // Called once per plan, after every buffer of the step is allocated.
  virtual void prepare(StepContext& ctx) {}
  virtual void forward(StepContext& ctx) = 0;
  // Writes the gradient of every input with need_grad(i).
  virtual void backward(StepContext& ctx) = 0;
};

// The kernel for `n`: the first registered training kernel that accepts it (cpu before
// reference), else the reference rule.
std::unique_ptr<TrainKernel> make_kernel(const Node& n);
// Kernels that convert between layouts (used by the planner).
std::unique_ptr<TrainKernel> make_layout_kernel(Layout from, Layout to);
// Tests: when set, the cpu backend's training kernels are skipped, so the reference rules (and
// the reference BatchNormalization training kernel) run instead.
void set_skip_cpu_train_kernels(bool on);

}  // namespace mpq::train
