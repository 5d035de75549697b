// The sensitivity report's JSON and SVG forms (api/sensitivity.h).
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "api/sensitivity.h"
#include "core/svg.h"

namespace mpq {

std::string sensitivity_json(const SensitivityReport& r) {
  using namespace api;
  nlohmann::json j;
  j["metric"] = r.metric;
  j["samples"] = r.samples;
  if (r.fp32_accuracy) j["fp32_accuracy"] = *r.fp32_accuracy;
  j["int8"] = fidelity_json(r.int8);
  j["layers"] = nlohmann::json::array();
  for (size_t i = 0; i < r.layers.size(); ++i) {
    const LayerSensitivity& l = r.layers[i];
    j["layers"].push_back({{"rank", i + 1},
                           {"name", l.name},
                           {"module_path", l.module_path},
                           {"op", l.op},
                           {"alone", fidelity_json(l.alone)},
                           {"without", fidelity_json(l.without)}});
  }
  j["verdict"] = sensitivity_verdict(r);
  return j.dump(2) + "\n";
}

// Horizontal bars, one row per layer (worst first): the metric with only that layer int8
// (dark) and with every layer int8 but that one (light), and the all-int8 figure as a line.
std::string sensitivity_svg(const SensitivityReport& r) {
  using namespace api;
  const double row = 22, left = 260, width = 420, top = 40;
  const double height = top + row * static_cast<double>(r.layers.size()) + 40;
  auto finite = [](double v) { return std::isfinite(v) ? v : 0.0; };
  double hi = finite(metric_value(r.int8, r.metric));
  for (const auto& l : r.layers)
    hi = std::max(
        {hi, finite(metric_value(l.alone, r.metric)), finite(metric_value(l.without, r.metric))});
  if (hi <= 0) hi = 1;
  auto bar = [&](double v) { return std::isinf(v) ? width : std::clamp(v / hi, 0.0, 1.0) * width; };
  std::ostringstream os;
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << left + width + 90 << "\" height=\""
     << height << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  os << "<text x=\"10\" y=\"20\" font-size=\"14\">Layer sensitivity (" << svg::escape_xml(r.metric)
     << "; dark: only this layer int8, light: all int8 but this layer)</text>\n";
  for (size_t i = 0; i < r.layers.size(); ++i) {
    const LayerSensitivity& l = r.layers[i];
    const double y = top + row * static_cast<double>(i);
    os << "<text x=\"" << left - 6 << "\" y=\"" << y + 14 << "\" text-anchor=\"end\">"
       << svg::escape_xml(display_name(l)) << "</text>\n";
    os << "<rect x=\"" << left << "\" y=\"" << y + 2 << "\" width=\""
       << bar(metric_value(l.without, r.metric)) << "\" height=\"16\" fill=\"#9ecae1\"/>\n";
    os << "<rect x=\"" << left << "\" y=\"" << y + 6 << "\" width=\""
       << bar(metric_value(l.alone, r.metric)) << "\" height=\"8\" fill=\"#08519c\"/>\n";
    os << "<text x=\"" << left + width + 6 << "\" y=\"" << y + 14 << "\">"
       << svg::escape_xml(metric_text(l.alone, r.metric)) << "</text>\n";
  }
  const double x = left + bar(metric_value(r.int8, r.metric));
  os << "<line x1=\"" << x << "\" y1=\"" << top - 4 << "\" x2=\"" << x << "\" y2=\"" << height - 30
     << "\" stroke=\"#d62728\" stroke-dasharray=\"4 3\"/>\n";
  os << "<text x=\"" << x << "\" y=\"" << height - 14
     << "\" fill=\"#d62728\" text-anchor=\"middle\">"
     << "all int8 " << svg::escape_xml(metric_text(r.int8, r.metric)) << "</text>\n";
  os << "</svg>\n";
  return os.str();
}

}  // namespace mpq
