// The engine builder (DESIGN.md §1, §5): graph passes -> precision assignment -> realized dtypes,
// layouts and quantization per tensor -> one Reorder step at each boundary -> kernel choice ->
// kernels prepared (weights packed) -> manifest.
#pragma once

#include <memory>
#include <vector>

#include "backends/backend.h"
#include "plan/plan.h"
#include "quant/calibration_table.h"

namespace mpq::plan {

// A plan with a prepared kernel per step (same order), ready for runtime::Engine.
struct PreparedPlan {
  Plan plan;
  std::vector<std::unique_ptr<Kernel>> kernels;
};

// Builds and prepares a plan for `g` (a float graph, as imported). `table` may be null (then every
// layer runs at the default precision, and int8 needs ranges, so it falls back). Throws
// kInvalidInput for a bad table (a layer that does not exist, a missing range for a layer asked
// to run int8 without --default-precision), kUnsupported under `strict` when a requested
// precision cannot be executed (naming every such layer).
PreparedPlan build_plan(const Graph& g, const quant::CalibrationTable* table,
                        const BuildOptions& opt);

// Prepares the kernels of an existing plan (an engine file being loaded): no decision is re-made;
// weights are packed for this machine. Fills the manifest's impl names.
// `tune`: kernels with several algorithms time them where the plan recorded no choice (the
// builder does; loading does not, so it stays fast). The choices are written back to the steps.
// The kernels' build notes (Kernel::build_note) go to the manifest after kMachineNote; notes with
// that prefix already there (an engine file's, from the machine that built it) are dropped first.
std::vector<std::unique_ptr<Kernel>> prepare_kernels(Plan& plan, bool tune = false);
inline constexpr const char* kMachineNote = "this machine: ";

}  // namespace mpq::plan
