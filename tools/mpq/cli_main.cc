// The command line. Each subcommand lives in its own file and registers itself through
// tools/mpq/commands.h; run_main parses, turns every error into one line on stderr
// (`mpq: error: ...`; with --json also {"error": {...}} on stdout) and maps it to the exit code
// (2 bad input, 1 internal, 130 interrupted).
#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <regex>

#include "commands.h"
#include "common_flags.h"
#include "core/status.h"
#include "core/temp_files.h"
#include "quant/name_match.h"

namespace mpq::cli {

namespace {

const char kHelp[] =
    "mpq: mixed-precision quantization with real speedup (CPU oneDNN / CUDA)\n\n"
    "Every subcommand that takes a model accepts -m/--model FILE.onnx or a zoo model name (an\n"
    "engine: -e/--engine FILE.mpqe), and all accept -q/--quiet, -v/--verbose and --json.\n"
    "Batch defaults: 128 where a batch is images per engine or executor run (build, bench, run,\n"
    "eval, search, sensitivity, demo); 64 where it is the optimizer's mini-batch (train, qat);\n"
    "32 for calibrate (the batch is part of its table; the library's default, so CLI and API\n"
    "tables agree).";

bool wants_json(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") break;
    if (a == "--json") return true;
  }
  return false;
}

// `line` on stderr; with --json also the status as {"error": {...}} on stdout.
void report(const Status& s, const std::string& line, bool json) {
  std::cerr << line << "\n";
  if (!json) return;
  auto or_null = [](const std::string& v) {
    return v.empty() ? nlohmann::json() : nlohmann::json(v);
  };
  nlohmann::ordered_json e;
  e["code"] = s.exit_code();
  e["kind"] = code_name(s.code);
  e["message"] = s.message;
  e["file"] = or_null(s.file);
  e["node"] = or_null(s.node);
  e["key"] = or_null(s.key);
  print_json({{"error", e}});
}

// "'--jsn' (did you mean '--json'?)" over `known`; without a near name, "; run `help`".
std::string with_suggestion(const std::string& what, const std::string& name,
                            const std::vector<std::string>& known, const std::string& help) {
  const std::vector<std::string> near = quant::near_matches(name, known, 1);
  if (!near.empty()) return str(what, " '", name, "' (did you mean '", near[0], "'?)");
  return str(what, " '", name, "'; run `", help, "`");
}

std::vector<std::string> option_names(const CLI::App& cmd) {
  std::vector<std::string> names;
  for (const CLI::Option* o : cmd.get_options()) {
    for (const auto& l : o->get_lnames()) names.push_back("--" + l);
    for (const auto& s : o->get_snames()) names.push_back("-" + s);
  }
  return names;
}

// CLI11's message for a failed parse, as mpq's one line: "<subcommand>: <message>".
std::string parse_message(CLI::App& app, const CLI::ParseError& e, int argc, char** argv) {
  const std::vector<CLI::App*> subs = app.get_subcommands();
  if (subs.empty()) {
    std::vector<std::string> names;
    for (const CLI::App* c : app.get_subcommands({})) names.push_back(c->get_name());
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if (a.rfind('-', 0) == 0)
        return with_suggestion("unknown option", a.substr(0, a.find('=')), {"--help", "--version"},
                               "mpq --help");
      return with_suggestion("unknown subcommand", a, names, "mpq --help");
    }
    return "a subcommand is required; run `mpq --help`";
  }
  CLI::App& sub = *subs.back();
  const std::string help = str("mpq ", sub.get_name(), " --help");
  // A misspelt option explains a missing required one too: it is reported first.
  std::vector<std::string> extras = sub.remaining();
  for (const std::string& x : app.remaining()) extras.push_back(x);
  for (const std::string& x : extras)
    if (x.rfind('-', 0) == 0 && x.size() > 1)
      return str(
          sub.get_name(), ": ",
          with_suggestion("unknown option", x.substr(0, x.find('=')), option_names(sub), help));
  if (dynamic_cast<const CLI::ExtrasError*>(&e) && !extras.empty())
    return str(sub.get_name(), ": unexpected argument '", extras[0], "'; run `", help, "`");
  std::string msg = e.what();
  for (char& c : msg)
    if (c == '\n') c = ' ';
  // CLI11's phrasings of a missing and of an unconvertible value, in mpq's words.
  msg = std::regex_replace(msg, std::regex(": [0-9]+ required [A-Z]+ missing$"), ": needs a value");
  msg = std::regex_replace(msg, std::regex("^Could not convert: (.*) = (.*)$"),
                           "$1: '$2' is not a valid value");
  return str(sub.get_name(), ": ", msg);
}

}  // namespace

int run_main(int argc, char** argv) {
  CLI::App app{kHelp, "mpq"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "mpq 0.1.0");
  app.footer("Run `mpq <subcommand> --help` for its options and an example.");
  std::function<int()> action;
  for (const auto& reg : commands()) reg(app, action);
  const bool json = wants_json(argc, argv);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    const std::string line = parse_message(app, e, argc, argv);
    Status s{Code::kInvalidInput, line, "", "", ""};
    report(s, "mpq: error: " + line, json);
    return 2;
  }
  install_temp_file_cleanup("mpq: interrupted\n");  // Ctrl-C: temps removed, exit 130
  const auto t0 = std::chrono::steady_clock::now();
  int rc = 0;
  try {
    rc = action ? action() : 0;
  } catch (const mpq::Error& e) {
    report(e.status(), "mpq: error: " + e.status().to_string(), json);
    return e.status().exit_code();
  } catch (const std::exception& e) {
    report({Code::kInternal, e.what(), "", "", ""}, str("mpq: internal error: ", e.what()), json);
    return 1;
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::vector<CLI::App*> subs = app.get_subcommands();
  detail(str(subs.empty() ? "mpq" : subs.back()->get_name(), " finished in ",
             static_cast<int>(s * 100 + 0.5) / 100.0, " s (exit ", rc, ")"));
  return rc;
}

}  // namespace mpq::cli
