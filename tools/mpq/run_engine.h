// `mpq run --engine`: runs a built engine on input files or a dataset (tools/mpq/run_engine.cc).
#pragma once

#include <string>
#include <vector>

#include "data/dataset.h"

namespace mpq::cli {

// Top-1 hits among the first `rows` rows of logits `y` [N, classes] against `labels` (int64).
int64_t count_correct(const Tensor& y, const Tensor& labels, int64_t rows);
// batch 0: the engine's maximum batch. Returns the exit code; --json (common_flags) prints JSON.
int run_engine(const std::string& engine_path, const std::vector<std::string>& input_files,
               const data::DataSpec& data, const std::vector<std::string>& output_files,
               int64_t batch);

}  // namespace mpq::cli
