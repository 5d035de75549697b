#include "data_options.h"

#include <cmath>

#include "common_flags.h"

namespace mpq::cli {

std::pair<float, float> parse_normalize(const std::string& text) {
  const auto comma = text.find(',');
  auto bad = [&](const std::string& why) {
    throw CLI::ValidationError(
        "--normalize", str("'", text, "': ", why, " (expected MEAN,STD, e.g. 0.2860,0.3530)"));
  };
  if (comma == std::string::npos) bad("missing ','");
  auto num = [&](const std::string& s) {
    size_t used = 0;
    float v = 0.f;
    try {
      v = std::stof(s, &used);
    } catch (const std::exception&) {
      bad("not a number");
    }
    if (used != s.size() || !std::isfinite(v)) bad("not a number");
    return v;
  };
  const float mean = num(text.substr(0, comma)), stdev = num(text.substr(comma + 1));
  if (!(stdev > 0.f)) bad("std must be positive");
  return {mean, stdev};
}

CLI::Option* add_data_options(CLI::App* cmd, data::DataSpec& spec) {
  auto* data = cmd->add_option(
      "--data", spec.source,
      "Input samples: fashion-mnist:train or fashion-mnist:test (labels and normalization "
      "0.2860,0.3530 built in), an images file (.npy or IDX, optionally .gz), or a folder of .npy "
      "files (one sample or one batch each). 28x28 gray images feeding a 3x32x32 model are padded "
      "2 px per side and replicated to 3 channels.");
  cmd->add_option(
         "--labels", spec.labels,
         "Labels for --data FILE/DIR: integer class indices as .npy or IDX (optionally .gz), "
         "one per sample")
      ->needs(data);
  cmd->add_option_function<std::string>(
         "--normalize", [&spec](const std::string& v) { spec.normalize = parse_normalize(v); },
         "MEAN,STD: normalize (x - MEAN) / STD after u8 images are scaled to [0,1] "
         "(default for fashion-mnist: 0.2860,0.3530; none otherwise)")
      ->needs(data);
  cmd->add_option("--limit", spec.limit, "Use only the first N samples")
      ->check(positive())
      ->needs(data);
  return data;
}

}  // namespace mpq::cli
