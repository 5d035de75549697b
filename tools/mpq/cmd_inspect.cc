// mpq inspect m.mpqe [--json] [--no-prepare]
// Shows how an engine runs each layer: requested precision (and where the request came from),
// executed precision, kernel (oneDNN's implementation on this machine), fused ops and the reason
// for any difference; plus the average weight bits, the build info and the load time.
#include <algorithm>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "api/engine_report.h"
#include "backends/backend.h"
#include "commands.h"
#include "common_flags.h"
#include "model_arg.h"
#include "runtime/engine_file.h"

namespace mpq::cli {
namespace {

struct InspectArgs {
  std::string engine;
  bool no_prepare = false;
};

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

// One row of the table: layer, op, requested, executed, kernel, fused (the reason follows).
std::vector<std::string> row_of(const plan::LayerReport& r) {
  return {r.module_path.empty() ? r.name : r.module_path,
          r.op,
          str(precision_name(r.requested), " (", r.source, ")"),
          precision_name(r.executed),
          r.impl.empty() ? r.kernel : r.impl,
          join(r.fused, ",")};
}

// Columns as wide as their longest entry: names are never cut (module paths and CUDA kernel
// names with their tile run long).
void print_table(const plan::Manifest& m) {
  std::vector<std::vector<std::string>> rows{
      {"layer", "op", "requested", "executed", "kernel", "fused"}};
  std::vector<std::string> reasons{"reason"};
  for (const plan::LayerReport& r : m.layers) {
    rows.push_back(row_of(r));
    reasons.push_back(r.reason);
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size() + 2);
  std::ostringstream os;
  for (size_t i = 0; i < rows.size(); ++i) {
    for (size_t c = 0; c < rows[i].size(); ++c)
      os << std::left << std::setw(static_cast<int>(width[c])) << rows[i][c];
    os << reasons[i] << "\n";
  }
  std::cout << os.str();
}

nlohmann::ordered_json inspect_json(const InspectArgs& a, const plan::Plan& plan,
                                    const runtime::EngineFileInfo& info,
                                    const runtime::LoadStats& stats) {
  const plan::Plan* p = &plan;
  const plan::Manifest& m = p->manifest;
  const api::BitsSummary bits = api::average_bits(*p);
  const plan::BuildOptions& o = p->options;
  const std::string dp = o.default_precision ? precision_name(*o.default_precision) : "fp32";
  nlohmann::ordered_json j;
  j["engine"] = a.engine;
  j["format_version"] = info.format_version;
  j["producer"] = info.producer;
  j["model"] = info.model_name;
  j["model_hash"] = info.model_hash;
  j["calibration"] = info.calib_name;
  j["calibration_hash"] = info.calib_hash;
  j["config_list"] = info.config_name;
  j["checksum"] = info.checksum;
  j["file_bytes"] = info.file_bytes;
  j["weight_bytes"] = info.weight_bytes;
  if (const Backend* b = find_backend(o.backend)) j["backend_info"] = b->describe();
  j["options"] = {{"backend", o.backend}, {"max_batch", o.max_batch},
                  {"threads", o.threads}, {"default_precision", dp},
                  {"strict", o.strict},   {"allow_host_fallback", o.allow_host_fallback}};
  if (!a.no_prepare) {
    j["load_ms"] = stats.total_ms;
    j["load_cpu_ms"] = stats.cpu_ms;
    j["load"] = {{"read_ms", stats.read_ms},
                 {"verify_ms", stats.verify_ms},
                 {"parse_ms", stats.parse_ms},
                 {"prepare_ms", stats.prepare_ms}};
  }
  j["average_bits"] = {{"mean", bits.mean_bits},
                       {"parameter_weighted", bits.weighted_bits},
                       {"layers", bits.layers},
                       {"parameters", bits.parameters}};
  nlohmann::ordered_json man = nlohmann::ordered_json::parse(m.to_json());
  j["layers"] = man["layers"];
  j["notes"] = man["notes"];
  const plan::StepCounts sc = plan::count_steps(*p);
  j["steps"] = {{"total", sc.steps},
                {"boundaries", sc.boundaries},
                {"reference", sc.host_steps},
                {"reference_ops", sc.host_ops}};
  return j;
}

int run_inspect(const InspectArgs& a) {
  require_engine(a.engine);
  plan::Plan loaded_plan;
  const plan::Plan* p = nullptr;
  runtime::EngineFileInfo info;
  runtime::LoadStats stats;
  std::shared_ptr<const runtime::Engine> engine;
  if (a.no_prepare) {
    runtime::EngineFileContents c = runtime::read_engine_file(a.engine);
    loaded_plan = std::move(c.plan);
    info = std::move(c.info);
    p = &loaded_plan;
  } else {
    runtime::LoadedEngine le = runtime::load_engine(a.engine);
    engine = le.engine;
    info = le.info;
    stats = le.stats;
    p = &engine->plan();
  }
  if (common_flags().json) {
    print_json(inspect_json(a, *p, info, stats));
    return 0;
  }
  const plan::Manifest& m = p->manifest;
  const api::BitsSummary bits = api::average_bits(*p);
  const plan::BuildOptions& o = p->options;
  const std::string dp = o.default_precision ? precision_name(*o.default_precision) : "fp32";
  std::cout << "engine " << a.engine << ": format " << info.format_version << ", " << info.producer
            << ", " << info.file_bytes << " bytes (weights " << info.weight_bytes << "), "
            << info.checksum << "\n";
  std::cout << "model " << info.model_name << " (" << info.model_hash << ")";
  if (!info.calib_name.empty()) std::cout << ", calibration " << info.calib_name;
  if (!info.config_name.empty()) std::cout << ", config_list " << info.config_name;
  std::cout << "\nbuilt for backend " << o.backend << ", batch 1.." << o.max_batch
            << ", default precision " << dp << (o.strict ? ", strict" : "")
            << (o.allow_host_fallback ? ", host fallback allowed" : "") << "\n";
  if (const Backend* b = find_backend(o.backend))
    std::cout << "backend here: " << b->describe() << "\n";
  if (!a.no_prepare)
    std::printf(
        "loaded in %.1f ms (read %.1f, verify %.1f, parse %.1f, prepare %.1f; %.1f ms of CPU "
        "time)\n",
        stats.total_ms, stats.read_ms, stats.verify_ms, stats.parse_ms, stats.prepare_ms,
        stats.cpu_ms);
  std::cout << "\n";
  print_table(m);
  std::printf(
      "\naverage weight bits over %d quantizable layers: %.2f (mean over layers), %.2f "
      "(weighted by %lld parameters)\n",
      bits.layers, bits.mean_bits, bits.weighted_bits, static_cast<long long>(bits.parameters));
  const plan::StepCounts sc = plan::count_steps(*p);
  std::printf(
      "%d steps: %d precision/layout boundaries (Reorder), %d on the reference executor%s%s\n",
      sc.steps, sc.boundaries, sc.host_steps, sc.host_steps ? ": " : "", sc.host_summary().c_str());
  for (const auto& n : m.notes) std::cout << "note: " << n << "\n";
  return 0;
}

void register_inspect(CLI::App& app, std::function<int()>& action) {
  auto a = std::make_shared<InspectArgs>();
  auto* cmd = app.add_subcommand(
      "inspect", "Show an engine's per-layer precision, kernels, fusions and average bits");
  add_engine_option(cmd, a->engine, true);
  add_common_flags(cmd,
                   "keys: layers[].name/op/requested/executed/kernel/reason, average_bits, "
                   "load_ms, ...",
                   "mpq inspect m.mpqe\nmpq inspect -e m.mpqe --no-prepare --json");
  cmd->add_flag("--no-prepare", a->no_prepare,
                "Only read and verify the file (kernel names as recorded at build time)");
  cmd->callback([&action, a] { action = [a] { return run_inspect(*a); }; });
}

}  // namespace

MPQ_REGISTER_COMMAND(register_inspect);

}  // namespace mpq::cli
