#include "demo/svg_plot.h"

#include "core/status.h"
#include "core/svg.h"
#include "demo/table.h"

namespace mpq::demo {

std::string render_svg_plot(const DemoReport& r) {
  svg::Scatter s;
  s.title = str("mpq demo: ", r.options.model, ", latency at batch ", r.options.batch,
                " vs test accuracy");
  s.x_title = "latency (ms, median)";
  s.y_title = "test accuracy (%)";
  s.footnote = str("batch ", r.options.batch, ", ", r.threads, " threads, ", r.options.backend);
  s.series = {{"float", "#333333"}, {"QAT", "#1f77b4"}, {"PTQ", "#ff7f0e"}};
  s.y_floor = 0.0;
  s.y_ceiling = 100.0;
  s.empty_text = "no engine has both a latency and an accuracy";
  for (const DemoRow& row : r.rows) {
    if (!row.ok || row.latency_ms <= 0 || row.accuracy < 0) continue;
    const size_t series = row.method == "QAT" ? 1 : row.method == "PTQ" ? 2 : 0;
    s.points.push_back({row.latency_ms, 100.0 * row.accuracy, series,
                        row.speedup > 0 ? str(row.id, " (", fixed(row.speedup, 2), "x)") : row.id});
  }
  return svg::render_scatter(s);
}

}  // namespace mpq::demo
