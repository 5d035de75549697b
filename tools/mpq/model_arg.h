// The model argument of every subcommand that takes one: -m/--model FILE, where FILE is an ONNX
// file or, when no file of that name exists, a zoo model name (built with seed 0).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "frontend/onnx/importer.h"
#include "ir/graph.h"

namespace mpq::cli {

// How -m/--model is asked for: required; or with MODEL as the first positional argument the
// alternative (as `mpq info m.onnx`); or optional (another flag can stand in, as run's --engine).
// Without kRequired, load_model_arg refuses an empty model.
enum class ModelArg { kRequired, kPositional, kOptional };
CLI::Option* add_model_option(CLI::App* cmd, std::string& model, const std::string& what,
                              ModelArg how = ModelArg::kRequired);
// Adds -e/--engine (an engine file, `mpq build`), positional ENGINE as the alternative when
// `positional` (then require_engine checks that one was given); else required unless `optional`.
CLI::Option* add_engine_option(CLI::App* cmd, std::string& engine, bool positional,
                               bool optional = false);
// kInvalidInput naming --engine when neither -e nor the positional ENGINE was given.
void require_engine(const std::string& engine);
// Imports the ONNX file, or builds the zoo model of that name; kInvalidInput naming --model when
// `arg` is empty, kNotFound with the near zoo names when it is neither a file nor a zoo model.
std::unique_ptr<Graph> load_model_arg(const std::string& arg, const ImportOptions& opts = {});

}  // namespace mpq::cli
