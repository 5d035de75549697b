// Steps of a device plan that run on the host (DESIGN.md §6: a CUDA engine never runs a step on
// the host unless the user asked for that fallback).
#pragma once

#include <string>
#include <vector>

#include "plan/plan.h"

namespace mpq::plan {

// One line per step of `plan` that does not run on `plan.options.backend` when that backend runs
// on a device: "<op> '<node>' on <backend>: <reason>"; empty for host backends.
std::vector<std::string> host_steps(const Plan& plan);

// Throws kUnsupported naming the first host step's op and node (and listing all of them) unless
// plan.options.allow_host_fallback; with it, notes the host steps in the manifest.
void check_host_steps(Plan& plan);

}  // namespace mpq::plan
