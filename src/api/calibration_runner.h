// The float executor calibration collects through (quant::BatchRunner).
//
// The CPU fp32 engine is built as usual (BN folded, activations and residual adds fused) and an
// ExecutionContext observer reads every tensor a step writes. Those are exactly the tensors an
// int8 engine built with the same passes quantizes. Values fused away inside a step (a Conv's
// output before its fused ReLU) are not observed; the reference executor observes every value of
// the graph, at several times the cost.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "mpq/calibrator.h"
#include "runtime/calibrator.h"

namespace mpq::api {

// Null when this build has no CPU backend (then use quant::make_reference_runner).
std::unique_ptr<quant::BatchRunner> make_cpu_calibration_runner(const Graph& g, int64_t max_batch,
                                                                int threads);

// `executor`: as resolve_executor() takes it.
// The engine is built for batches of up to `batch` (the model's fixed batch if it has one).
std::unique_ptr<quant::BatchRunner> make_calibration_runner(const Graph& g,
                                                            const std::string& executor,
                                                            int64_t batch, int threads);
// "cpu" or "reference" for "auto" / "cpu" / "reference" ("auto": cpu when this build has the
// CPU backend). kInvalidInput naming `key` for any other name, kUnsupported for "cpu" in a
// build without the CPU backend.
std::string resolve_executor(const std::string& executor, const std::string& key);

// The calibrator `opts` describe, for the public mpq::Calibrator and `mpq calibrate`: validates
// the options (errors keyed `key_prefix` + option name, e.g. "--method"), reads, hashes and
// resolves the config_list file. Its warnings (unknown keys, names matching nothing) go to
// `warnings`.
std::unique_ptr<quant::Calibrator> make_calibrator(const Graph& g, const CalibrateOptions& opts,
                                                   const std::string& key_prefix,
                                                   std::vector<std::string>* warnings);

}  // namespace mpq::api
