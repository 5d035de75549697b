#include "core/debug_options.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <sstream>

namespace mpq {

namespace {

bool to_number(const std::string& text, double* v) {
  char* end = nullptr;
  *v = std::strtod(text.c_str(), &end);
  return !text.empty() && end && *end == '\0';
}

bool set_entry(DebugOptions& o, const std::string& key, const std::string& value, bool has_value) {
  double v = 0;
  if (key == "cuda-tile" && has_value && !value.empty()) return o.cuda_tile = value, true;
  if (key == "cuda-splitk" && has_value && to_number(value, &v) && v >= 1)
    return o.cuda_splitk = static_cast<int>(v), true;
  if (key == "cuda-warmup-ms" && has_value && to_number(value, &v) && v >= 0)
    return o.cuda_warmup_ms = v, true;
  if (has_value) return false;
  if (key == "cuda-no-splitk") return o.cuda_no_splitk = true;
  if (key == "cuda-no-direct") return o.cuda_no_direct = true;
  if (key == "cuda-no-depthwise") return o.cuda_no_depthwise = true;
  if (key == "cuda-no-depthwise-row") return o.cuda_no_depthwise_row = true;
  if (key == "cuda-no-wgmma") return o.cuda_no_wgmma = true;
  if (key == "cuda-no-pdl") return o.cuda_no_pdl = true;
  if (key == "cuda-profile") return o.cuda_profile = true;
  return false;
}

}  // namespace

DebugOptions parse_debug_options(const std::string& spec, std::string* rejected) {
  DebugOptions o;
  std::stringstream ss(spec);
  std::string entry;
  while (std::getline(ss, entry, ',')) {
    if (entry.empty()) continue;
    const size_t eq = entry.find('=');
    const bool has_value = eq != std::string::npos;
    const std::string key = entry.substr(0, eq), value = has_value ? entry.substr(eq + 1) : "";
    if (!set_entry(o, key, value, has_value) && rejected)
      *rejected += (rejected->empty() ? "" : ",") + entry;
  }
  return o;
}

DebugOptions debug_options() {
  const char* env = std::getenv("MPQ_DEBUG");
  if (!env) return {};
  std::string rejected;
  DebugOptions o = parse_debug_options(env, &rejected);
  static std::once_flag warned;
  if (!rejected.empty())
    std::call_once(warned, [&] {
      std::fprintf(stderr,
                   "mpq: warning: MPQ_DEBUG entries ignored: %s (docs/cuda.md lists them)\n",
                   rejected.c_str());
    });
  return o;
}

}  // namespace mpq
