// Cross-checks of a parsed engine file, before any kernel sees it: a file whose checksum is valid
// but whose contents were edited (a weight's dims, a tensor's shape, a per-channel scale count,
// an attribute, a post-op name) must fail with a clear error, never make a kernel read out of
// bounds. The reader (engine_file_read.cc) checks each field on its own; this checks that the
// fields agree with each other.
#pragma once

#include <string>

#include "plan/plan.h"

namespace mpq::runtime {

// Throws kInvalidInput naming `file`, the node and the tensor on the first inconsistency.
void check_loaded_plan(const plan::Plan& p, const std::string& file);

}  // namespace mpq::runtime
