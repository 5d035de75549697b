// Plan: what the builder decided, as plain data (DESIGN.md §1, §5). It is everything an engine
// needs besides packed weights, so it can be written to an engine file and an engine rebuilt
// from it (kernels pack weights when they are prepared):
//   * the optimized graph (passes applied, Reorder nodes at precision/layout boundaries), owning
//     the f32 weights;
//   * per value: its realized TensorSpec (dtype, layout, quantization, shape at max batch);
//   * per step (= node, in order): the kernel and the executed precision;
//   * the options it was built with, and the manifest (per-layer report).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "core/precision.h"
#include "ir/graph.h"
#include "mpq/manifest.h"

namespace mpq::plan {

struct BuildOptions {
  // Precision of layers the calibration table does not name. Unset means fp32, and then an int8
  // layer without a range is an error; when set, such a layer falls back (recorded).
  std::optional<Precision> default_precision;
  bool strict = false;  // fail (kUnsupported) if any requested precision cannot be executed
  int64_t max_batch = 1;
  int threads = 0;  // 0: the library default (OMP_NUM_THREADS)
  std::string backend = "cpu";
  // Kernels with several algorithms (conv: direct or im2col+matmul) time them at build and keep
  // the faster; off, they choose by a rule. The choice is recorded in each Step::variant, so an
  // engine file that stores it reloads the same choice.
  bool tune = false;
  // Device backends (cuda): a step without a device kernel runs on the host reference executor
  // only when this is set (else the build fails naming the op and node); each such step is
  // printed to stderr and noted in the manifest.
  bool allow_host_fallback = false;

  Precision default_or_fp32() const { return default_precision.value_or(Precision::kFp32); }
};

struct Step {
  Node* node = nullptr;  // in Plan::graph
  Precision precision = Precision::kFp32;
  std::string backend;      // "cpu" or "reference"
  std::string kernel_name;  // KernelInfo::name
  std::string variant;      // the kernel's chosen algorithm (Kernel::variant()), "" = let it choose
  std::vector<int> inputs;  // tensor index per node input (-1: omitted)
  std::vector<int> outputs;
};

struct Plan {
  std::unique_ptr<Graph> graph;
  std::vector<TensorSpec> tensors;          // one per value of `graph` that is used
  std::map<std::string, int> tensor_index;  // value name -> index
  std::vector<Step> steps;
  std::vector<int> inputs, outputs;  // graph inputs/outputs as tensor indices
  BuildOptions options;
  Manifest manifest;

  const TensorSpec& tensor(const std::string& value_name) const;
  // A deep copy (graph cloned, steps pointing into the copy; constants share storage).
  Plan clone() const;
};

// What a user checks first about an engine: how many steps it has, how many of them only convert
// between precisions or layouts (Reorder), and how many run off the chosen backend (the reference
// executor on the host), with those ops counted by type.
struct StepCounts {
  int steps = 0;
  int boundaries = 0;
  int host_steps = 0;
  std::map<std::string, int> host_ops;  // op type -> steps
  std::string host_summary() const;     // "Erf x18, Pad x3"
};
StepCounts count_steps(const Plan& p);

}  // namespace mpq::plan
