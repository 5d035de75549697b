// `mpq run --engine`: runs a built engine on input files or a dataset (tools/mpq/run_engine.cc).
#pragma once

#include <string>
#include <vector>

#include "data/dataset.h"

namespace mpq::cli {

// batch 0: the engine's maximum batch. Returns the exit code.
int run_engine(const std::string& engine_path, const std::vector<std::string>& input_files,
               const data::DataSpec& data, const std::vector<std::string>& output_files,
               int64_t batch, bool json);

}  // namespace mpq::cli
