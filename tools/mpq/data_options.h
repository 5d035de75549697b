// The one data spec every subcommand that takes data accepts:
//   --data fashion-mnist:train|test | images.{idx,npy}[.gz] | DIR   [--labels FILE]
//   [--normalize MEAN,STD] [--limit N]
#pragma once

#include <CLI/CLI.hpp>

#include "data/dataset.h"

namespace mpq::cli {

// Adds --data, --labels, --normalize and --limit to `cmd`, filling `spec` when parsed. `spec` must
// outlive the parse (keep it in a shared_ptr captured by the command's callback). Returns the
// --data option so a command can mark it required or exclusive with its own input flags.
CLI::Option* add_data_options(CLI::App* cmd, data::DataSpec& spec);

// Parses "MEAN,STD" (e.g. "0.1307,0.3081"); throws CLI::ValidationError on a bad value.
std::pair<float, float> parse_normalize(const std::string& text);

}  // namespace mpq::cli
