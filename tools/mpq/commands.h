// Subcommand registration: each tools/mpq/cmd_*.cc defines one registrar and adds it to the list
// in commands.cc. A registrar adds its CLI11 subcommand and, when it is the one parsed, sets
// `action` to the function that runs it.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <vector>

namespace mpq::cli {

using Registrar = std::function<void(CLI::App& app, std::function<int()>& action)>;
const std::vector<Registrar>& commands();

}  // namespace mpq::cli
