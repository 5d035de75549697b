#include "common_flags.h"

#include <iostream>

#include "core/status.h"

namespace mpq::cli {

namespace {

CommonFlags& flags() {
  static CommonFlags f;
  return f;
}

// A number above 0 (`strict`) or at least 0; `what` names the rule in messages and --help.
CLI::Validator sign_check(bool strict, const char* what, const char* help_name) {
  return CLI::Validator(
      [strict, what](std::string& in) -> std::string {
        double v = 0;
        if (!CLI::detail::lexical_cast(in, v)) return str("'", in, "' is not a number");
        if (strict ? v > 0 : v >= 0) return "";
        return str("must be ", what, ", got ", in);
      },
      help_name);
}

}  // namespace

const CommonFlags& common_flags() {
  return flags();
}

void add_common_flags(CLI::App* cmd, const std::string& json_help, const std::string& example) {
  CommonFlags& f = flags();
  cmd->add_flag("-q,--quiet", f.quiet,
                "No progress bars, stage lines or notes on stderr (warnings and errors still "
                "print)");
  cmd->add_flag("-v,--verbose", f.verbose,
                "Also print the resolved inputs (zoo models), per-layer detail where the command "
                "has some, and the time taken");
  cmd->add_flag("--json", f.json,
                "Print one JSON document on stdout" +
                    (json_help.empty() ? "" : " (" + json_help + ")") +
                    "; errors too, as {\"error\": {\"code\", \"message\", \"file\", \"node\", "
                    "\"key\"}}");
  std::string footer = "Example:";
  size_t begin = 0;
  while (begin <= example.size()) {
    const size_t end = std::min(example.find('\n', begin), example.size());
    footer += "\n  " + example.substr(begin, end - begin);
    begin = end + 1;
  }
  cmd->footer(footer + "\n");
}

void note(const std::string& line) {
  if (!flags().quiet) std::cerr << "mpq: " << line << std::endl;
}

void detail(const std::string& line) {
  if (flags().verbose) std::cerr << "mpq: " << line << std::endl;
}

void warn(const std::string& line) {
  std::cerr << "mpq: warning: " << line << std::endl;
}

void print_json(const nlohmann::ordered_json& j) {
  std::cout << j.dump(2) << "\n";
}

std::optional<Precision> parse_default_precision(const std::string& text) {
  if (text.empty()) return std::nullopt;
  auto p = parse_precision(text);
  if (!p)
    invalid_input(str("unknown precision '", text, "' (expected fp32, bf16, fp16 or int8)"))
        .key("--default-precision")
        .raise();
  return p;
}

const CLI::Validator& positive() {
  static const CLI::Validator v = sign_check(true, "positive", "POSITIVE");
  return v;
}

const CLI::Validator& non_negative() {
  static const CLI::Validator v = sign_check(false, "non-negative", "NONNEGATIVE");
  return v;
}

}  // namespace mpq::cli
