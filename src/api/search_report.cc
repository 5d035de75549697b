// The precision search's outputs (api/precision_search.h): the config_list of a plan, the JSON
// report, the frontier plot and the verdict line.
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "api/precision_search.h"
#include "core/svg.h"

namespace mpq::api {

namespace {

nlohmann::json point_json(const SearchReport& r, const SearchPoint& p) {
  nlohmann::json bits = nlohmann::json::object();
  for (size_t l = 0; l < p.bits.size(); ++l) bits[r.layers[l].config_name] = p.bits[l];
  nlohmann::json j = {{"origin", p.origin},
                      {"latency_ms", p.latency_ms},
                      {"first_latency_ms", p.first_latency_ms},
                      {"remeasured", p.remeasured},
                      {"fidelity", fidelity_json(p.fidelity)},
                      {"mean_bits", p.mean_bits},
                      {"weighted_bits", p.weighted_bits},
                      {"engine_bytes", p.engine_bytes},
                      {"frontier", p.frontier},
                      {"bits", bits}};
  j["predicted_ms"] = p.predicted_ms >= 0 ? nlohmann::json(p.predicted_ms) : nlohmann::json();
  return j;
}

std::string percent(double v) {
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(2);
  os << v;
  return os.str();
}

}  // namespace

std::string config_list_for(const std::vector<SearchLayer>& layers, const std::vector<int>& bits) {
  // Ordered as NNI's documentation writes entries: quant_types, quant_bits, op_names. fp32
  // layers are left out: a layer no entry names is not quantized (NNI), which QAT accepts where
  // it refuses 32 bits.
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (int b : {8, 16}) {
    std::vector<std::string> names;
    for (size_t l = 0; l < layers.size() && l < bits.size(); ++l)
      if (bits[l] == b) names.push_back(layers[l].config_name);
    if (names.empty()) continue;
    const std::vector<std::string> types =
        b == 8 ? std::vector<std::string>{"input", "weight", "output"}
               : std::vector<std::string>{"weight"};
    nlohmann::ordered_json e;
    e["quant_types"] = types;
    e["quant_bits"] = b;
    e["op_names"] = names;
    list.push_back(std::move(e));
  }
  return list.dump(2) + "\n";
}

}  // namespace mpq::api

namespace mpq {

std::string search_config_list(const SearchReport& r, const SearchPoint& p) {
  using namespace api;
  return config_list_for(r.layers, p.bits);
}

std::string search_json(const SearchReport& r) {
  using namespace api;
  nlohmann::json j;
  j["metric"] = r.metric;
  j["backend"] = r.backend;
  j["latency"] = r.latency_source;
  j["samples"] = r.samples;
  j["batch"] = r.batch;
  j["seed"] = r.seed;
  if (r.fp32_accuracy) j["fp32_accuracy"] = *r.fp32_accuracy;
  j["target"] = r.target;
  j["layers"] = nlohmann::json::array();
  for (const SearchLayer& l : r.layers)
    j["layers"].push_back({{"name", l.name},
                           {"module_path", l.module_path},
                           {"config_name", l.config_name},
                           {"op", l.op},
                           {"params", l.params},
                           {"macs_per_sample", l.work}});
  j["points"] = nlohmann::json::array();
  for (const SearchPoint& p : r.points) j["points"].push_back(point_json(r, p));
  j["frontier"] = r.frontier;
  j["chosen"] = r.chosen ? nlohmann::json(*r.chosen) : nlohmann::json();
  j["cost_model"] = {{"predictions", r.cost_model_predictions},
                     {"median_relative_error", r.cost_model_median_error >= 0
                                                   ? nlohmann::json(r.cost_model_median_error)
                                                   : nlohmann::json()}};
  j["seconds"] = r.seconds;
  j["stopped"] = r.stopped;
  j["verdict"] = search_verdict(r);
  return j.dump(2) + "\n";
}

// Latency against fidelity: every measured plan, the frontier joined by a line, the uniform
// plans and the choice labeled.
std::string search_svg(const SearchReport& r) {
  using namespace api;
  svg::Scatter s;
  s.title = str("mpq search: latency vs ", r.metric, " (", r.backend, ", batch ", r.batch, ")");
  s.x_title = r.latency_source == "estimated" ? "estimated work (G MAC-units)" : "latency (ms)";
  s.y_title = r.metric == "sqnr" ? "output SQNR (dB)" : r.metric + " (%)";
  s.footnote = str(r.points.size(), " plans, ", r.samples, " samples, seed ", r.seed);
  s.series = {{"plan", "#bbbbbb", 3},
              {"frontier", "#1f77b4", 5, true},
              {"uniform", "#333333", 6},
              {"chosen", "#d62728", 7}};
  if (r.metric != "sqnr") s.y_floor = 0.0, s.y_ceiling = 100.0;
  // An exact match (fp32 against itself) has no SQNR: it is drawn above the best finite one.
  double top = 0;
  for (const SearchPoint& p : r.points)
    if (std::isfinite(p.fidelity.sqnr_db)) top = std::max(top, p.fidelity.sqnr_db);
  for (size_t i = 0; i < r.points.size(); ++i) {
    const SearchPoint& p = r.points[i];
    const double v = metric_value(p.fidelity, r.metric);
    const bool exact = !std::isfinite(v);
    const double y = r.metric != "sqnr" ? 100.0 * v : exact ? top + 5.0 : v;
    const bool uniform = p.origin.rfind("all-", 0) == 0;
    const size_t series = r.chosen == i ? 3 : uniform ? 2 : p.frontier ? 1 : 0;
    std::string label = uniform || r.chosen == i ? p.origin : "";
    if (exact && !label.empty()) label += " (exact)";
    s.points.push_back({p.latency_ms, y, series, label});
    if (p.frontier && series != 1) s.points.push_back({p.latency_ms, y, 1, ""});
  }
  return svg::render_scatter(s);
}

std::string search_verdict(const SearchReport& r) {
  using namespace api;
  if (r.points.empty()) return "no plan was measured";
  auto describe = [&](const SearchPoint& p) {
    return str(p.origin, " ", percent(p.latency_ms), " ms, ", metric_text(p.fidelity, r.metric));
  };
  std::ostringstream os;
  if (!r.chosen) {
    os << "no measured plan meets " << r.target;
  } else {
    const SearchPoint& c = r.points[*r.chosen];
    os << "chosen: " << percent(c.latency_ms) << " ms, " << metric_text(c.fidelity, r.metric)
       << " (" << r.target << "), mean " << percent(c.mean_bits) << " bits";
  }
  for (const SearchPoint& p : r.points)
    if (p.origin == "all-int8" || p.origin == "all-fp32") os << "; " << describe(p);
  return os.str();
}

}  // namespace mpq
