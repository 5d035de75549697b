#include "model_arg.h"

#include <filesystem>

#include "common_flags.h"
#include "quant/name_match.h"
#include "zoo/zoo.h"

namespace mpq::cli {

CLI::Option* add_model_option(CLI::App* cmd, std::string& model, const std::string& what,
                              ModelArg how) {
  const std::string help = what + ", or a zoo model name (`mpq zoo --list`)";
  CLI::Option* opt = cmd->add_option("-m,--model", model, help);
  if (how == ModelArg::kRequired) return opt->required();
  if (how == ModelArg::kPositional)
    cmd->add_option("model", model, "The same as --model")->excludes(opt);
  return opt;
}

CLI::Option* add_engine_option(CLI::App* cmd, std::string& engine, bool positional, bool optional) {
  CLI::Option* opt = cmd->add_option("-e,--engine", engine, "Engine file (.mpqe, `mpq build`)");
  if (!positional) return optional ? opt : opt->required();
  cmd->add_option("engine", engine, "The same as --engine")->excludes(opt);
  return opt;
}

void require_engine(const std::string& engine) {
  if (engine.empty())
    invalid_input("give the engine file with -e/--engine (`mpq build` writes one)")
        .key("--engine")
        .raise();
}

std::unique_ptr<Graph> load_model_arg(const std::string& arg, const ImportOptions& opts) {
  if (arg.empty())
    invalid_input("give the model with -m/--model (an ONNX file or a zoo model name)")
        .key("--model")
        .raise();
  if (std::filesystem::exists(arg)) return import_onnx(arg, opts);
  std::vector<std::string> names;
  for (const auto& m : zoo::zoo_models()) {
    if (m.name == arg) {
      detail(str("model '", arg, "' is the zoo model (seed 0, dynamic batch)"));
      return zoo::build_zoo_model(arg).graph;
    }
    names.push_back(m.name);
  }
  const std::vector<std::string> near = quant::near_matches(arg, names);
  // A path-like argument is a missing file; a bare name may be a misspelt zoo model.
  if (!near.empty() && arg.find('/') == std::string::npos && arg.find('.') == std::string::npos)
    not_found(
        str("no such file, and not a zoo model (did you mean ", quant::quoted_list(near), "?)"))
        .file(arg)
        .key("--model")
        .raise();
  return import_onnx(arg, opts);
}

}  // namespace mpq::cli
