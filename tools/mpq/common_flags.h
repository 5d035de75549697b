// The flags every working subcommand shares: -q/--quiet, -v/--verbose and --json, added by
// add_common_flags and read through common_flags(). One subcommand runs per process, so the
// values live in one place; run_main (cli_main.cc) honours --json for errors as well.
//   -q: no progress bars, stage lines or notes on stderr (warnings and errors still print)
//   -v: also the resolved inputs (zoo models) and the time the command took, on stderr, and
//       per-layer detail where a command has some (build: the manifest)
//   --json: stdout holds one JSON document (the result, or {"error": {...}} on failure)
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "mpq/precision.h"

namespace mpq::cli {

// Batch defaults (`mpq --help` states the rule): images per engine or executor run, and the
// optimizer's mini-batch. calibrate keeps the library's 32: the batch is part of its table.
constexpr int64_t kInferenceBatch = 128;
constexpr int64_t kTrainingBatch = 64;

struct CommonFlags {
  bool quiet = false, verbose = false, json = false;
};

const CommonFlags& common_flags();

// Adds -q, -v and --json to `cmd` (`json_help` says what the JSON holds) and the --help footer
// with `example` (one or more command lines, newline-separated).
void add_common_flags(CLI::App* cmd, const std::string& json_help, const std::string& example);

// stderr lines: note() unless -q, detail() only with -v, warn() always.
void note(const std::string& line);
void detail(const std::string& line);
void warn(const std::string& line);

// Prints `j` on stdout (indented), the --json output of a command.
void print_json(const nlohmann::ordered_json& j);

// --default-precision: none when `text` is empty; kInvalidInput naming the flag when unknown.
std::optional<Precision> parse_default_precision(const std::string& text);

// Number checks with one-line messages ("--batch: must be positive, got 0").
const CLI::Validator& positive();
const CLI::Validator& non_negative();

}  // namespace mpq::cli
