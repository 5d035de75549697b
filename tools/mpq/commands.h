// Subcommand registration: each tools/mpq/cmd_<name>.cc registers itself with MPQ_REGISTER_COMMAND,
// so adding a subcommand touches no shared file. A registrar adds its CLI11 subcommand and, when it
// is the one parsed, sets `action` to the function that runs it (returning the exit code).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <vector>

namespace mpq::cli {

using Registrar = std::function<void(CLI::App& app, std::function<int()>& action)>;
std::vector<Registrar>& commands();
// Parses argv and runs the chosen subcommand; returns the process exit code.
int run_main(int argc, char** argv);
inline bool add_command(Registrar r) {
  commands().push_back(std::move(r));
  return true;
}

}  // namespace mpq::cli

#define MPQ_REGISTER_COMMAND(fn) static const bool mpq_registered_##fn = ::mpq::cli::add_command(fn)
