// The command line. Each subcommand lives in its own file and registers itself through
// tools/mpq/commands.h; run_main only parses and maps errors to exit codes (2 bad input, 1
// internal).
#include <CLI/CLI.hpp>
#include <iostream>

#include "commands.h"
#include "core/status.h"
#include "core/temp_files.h"

namespace mpq::cli {

int run_main(int argc, char** argv) {
  CLI::App app{"mpq: mixed-precision quantization with real speedup (CPU oneDNN / CUDA)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "mpq 0.1.0");
  std::function<int()> action;
  for (const auto& reg : commands()) reg(app, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  install_temp_file_cleanup();  // an interrupted write leaves no `*.tmp.<pid>` behind
  try {
    return action ? action() : 0;
  } catch (const mpq::Error& e) {
    std::cerr << "mpq: error: " << e.status().to_string() << "\n";
    return e.status().exit_code();
  } catch (const std::exception& e) {
    std::cerr << "mpq: internal error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace mpq::cli
