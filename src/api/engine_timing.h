// Wall-clock timing of engines at their maximum batch on seeded random inputs, shared by the
// builder's "fastest float" choice and the precision search. The fastest run counts: load from
// other processes inflates single runs, never shortens them.
#pragma once

#include <memory>
#include <utility>

#include "runtime/engine.h"

namespace mpq::api {

// The fastest of `iters` runs (after one warm-up run), in ms.
double time_engine_ms(std::shared_ptr<const runtime::Engine> e, int iters);

// The fastest wall time of each engine over `iters` runs, alternated, so that load that comes
// and goes slows both alike (after one warm-up run each).
std::pair<double, double> time_engines_ms(std::shared_ptr<const runtime::Engine> a,
                                          std::shared_ptr<const runtime::Engine> b, int iters);

}  // namespace mpq::api
