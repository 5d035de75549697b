#include "quant/nni_keys.h"

#include <utility>

namespace mpq::quant {

namespace {

const std::vector<std::string> kV25 = {
    "weight_bits",         "weight_scale",       "weight_zero_point",  "input_bits",
    "tracked_min_input",   "tracked_max_input",  "output_bits",        "tracked_min_output",
    "tracked_max_output",  "tracked_min_weight", "tracked_max_weight", "tracked_qmin_weight",
    "tracked_qmax_weight", "tracked_qmin_input", "tracked_qmax_input", "tracked_qmin_output",
    "tracked_qmax_output"};

// v2.2-v2.4 name -> v2.5+ name (NNI PR #3990 renamed them).
const std::vector<std::pair<std::string, std::string>> kOld = {
    {"weight_bit", "weight_bits"},
    {"input_bit", "input_bits"},
    {"activation_bit", "output_bits"},
    {"tracked_min_activation", "tracked_min_output"},
    {"tracked_max_activation", "tracked_max_output"},
    {"tracked_weight_qmin", "tracked_qmin_weight"},
    {"tracked_weight_qmax", "tracked_qmax_weight"},
    {"tracked_input_qmin", "tracked_qmin_input"},
    {"tracked_input_qmax", "tracked_qmax_input"},
    {"tracked_activation_qmin", "tracked_qmin_output"},
    {"tracked_activation_qmax", "tracked_qmax_output"}};

}  // namespace

std::string nni_v25_key(const std::string& key, bool* renamed) {
  *renamed = false;
  for (const auto& k : kV25)
    if (k == key) return k;
  for (const auto& [old_name, v25] : kOld)
    if (old_name == key) return *renamed = true, v25;
  return "";
}

const std::vector<std::string>& nni_key_names() {
  static const std::vector<std::string> all = [] {
    std::vector<std::string> v = kV25;
    for (const auto& [old_name, _] : kOld) v.push_back(old_name);
    return v;
  }();
  return all;
}

}  // namespace mpq::quant
