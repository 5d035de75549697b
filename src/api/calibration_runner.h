// Calibration collection on the CPU fp32 engine (quant::BatchRunner): much faster than the
// reference executor. Every float value calibration observes is made an engine output, so the
// engine materializes it (those values stay unfused; the rest of the engine is as built).
#pragma once

#include <memory>

#include "ir/graph.h"
#include "quant/calibrator.h"

namespace mpq::api {

// Null when this build has no CPU backend (then use quant::make_reference_runner).
std::unique_ptr<quant::BatchRunner> make_cpu_calibration_runner(const Graph& g, int64_t max_batch,
                                                                int threads);

}  // namespace mpq::api
