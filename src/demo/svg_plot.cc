#include "demo/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <vector>

#include "core/status.h"
#include "demo/table.h"

namespace mpq::demo {

namespace {

constexpr double kWidth = 760, kHeight = 460;
constexpr double kLeft = 70, kRight = 200, kTop = 50, kBottom = 60;  // margins (legend right)

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '&')
      out += "&amp;";
    else if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '"')
      out += "&quot;";
    else
      out += c;
  }
  return out;
}

// A tick step of 1, 2 or 5 times a power of ten giving about `target` intervals over `span`.
double tick_step(double span, int target) {
  if (!(span > 0)) return 1.0;
  const double raw = span / target;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * p >= raw) return m * p;
  return 10 * p;
}

int decimals_for(double step) {
  return step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
}

const char* color_of(const std::string& method) {
  if (method == "QAT") return "#1f77b4";
  if (method == "PTQ") return "#ff7f0e";
  return "#333333";
}

struct Point {
  double lat, acc;
  std::string label, method;
};

}  // namespace

std::string render_svg_plot(const DemoReport& r) {
  std::vector<Point> pts;
  for (const DemoRow& row : r.rows)
    if (row.ok && row.latency_ms > 0 && row.accuracy >= 0)
      pts.push_back({row.latency_ms, 100.0 * row.accuracy,
                     row.speedup > 0 ? str(row.id, " (", fixed(row.speedup, 2), "x)") : row.id,
                     row.method});
  std::ostringstream os;
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kWidth << "\" height=\"" << kHeight
     << "\" viewBox=\"0 0 " << kWidth << " " << kHeight
     << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  os << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  os << "<text x=\"" << kWidth / 2 << "\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">"
     << escape(str("mpq demo: ", r.options.model, ", latency at batch ", r.options.batch,
                   " vs test accuracy"))
     << "</text>\n";
  const double pw = kWidth - kLeft - kRight, ph = kHeight - kTop - kBottom;
  if (pts.empty()) {
    os << "<text x=\"" << kWidth / 2 << "\" y=\"" << kHeight / 2
       << "\" text-anchor=\"middle\">no engine has both a latency and an accuracy</text>\n</svg>\n";
    return os.str();
  }
  double xmax = 0, ymin = 1e9, ymax = -1e9;
  for (const Point& p : pts) {
    xmax = std::max(xmax, p.lat);
    ymin = std::min(ymin, p.acc);
    ymax = std::max(ymax, p.acc);
  }
  const double xstep = tick_step(xmax * 1.1, 5);
  xmax = std::ceil(xmax * 1.1 / xstep) * xstep;
  const double ypad = std::max(0.5, 0.15 * (ymax - ymin));
  const double ystep = tick_step(ymax - ymin + 2 * ypad, 5);
  const double y0 = std::max(0.0, std::floor((ymin - ypad) / ystep) * ystep);
  const double y1 = std::min(100.0, std::ceil((ymax + ypad) / ystep) * ystep);
  auto X = [&](double v) { return kLeft + v / xmax * pw; };
  auto Y = [&](double v) { return kTop + (y1 - v) / (y1 - y0) * ph; };

  // Grid, ticks and axis titles.
  os << "<g stroke=\"#dddddd\">\n";
  for (double v = 0; v <= xmax + 1e-9; v += xstep)
    os << "<line x1=\"" << X(v) << "\" y1=\"" << kTop << "\" x2=\"" << X(v) << "\" y2=\""
       << kTop + ph << "\"/>\n";
  for (double v = y0; v <= y1 + 1e-9; v += ystep)
    os << "<line x1=\"" << kLeft << "\" y1=\"" << Y(v) << "\" x2=\"" << kLeft + pw << "\" y2=\""
       << Y(v) << "\"/>\n";
  os << "</g>\n<rect x=\"" << kLeft << "\" y=\"" << kTop << "\" width=\"" << pw << "\" height=\""
     << ph << "\" fill=\"none\" stroke=\"#333333\"/>\n";
  for (double v = 0; v <= xmax + 1e-9; v += xstep)
    os << "<text x=\"" << X(v) << "\" y=\"" << kTop + ph + 16 << "\" text-anchor=\"middle\">"
       << fixed(v, decimals_for(xstep)) << "</text>\n";
  for (double v = y0; v <= y1 + 1e-9; v += ystep)
    os << "<text x=\"" << kLeft - 6 << "\" y=\"" << Y(v) + 4 << "\" text-anchor=\"end\">"
       << fixed(v, decimals_for(ystep)) << "</text>\n";
  os << "<text x=\"" << kLeft + pw / 2 << "\" y=\"" << kHeight - 18
     << "\" text-anchor=\"middle\">latency (ms, median)</text>\n";
  os << "<text transform=\"translate(18," << kTop + ph / 2
     << ") rotate(-90)\" text-anchor=\"middle\">test accuracy (%)</text>\n";

  // Points with labels, nudged down where they would overlap an earlier label.
  std::vector<std::pair<double, double>> placed;  // label x, y
  std::vector<size_t> order(pts.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return pts[a].acc > pts[b].acc; });
  for (size_t i : order) {
    const Point& p = pts[i];
    const double cx = X(p.lat), cy = Y(p.acc);
    double lx = cx + 8, ly = cy + 4;
    for (bool moved = true; moved;) {
      moved = false;
      for (const auto& [px, py] : placed)
        if (std::abs(px - lx) < 150 && std::abs(py - ly) < 13) {
          ly = py + 13;
          moved = true;
        }
    }
    placed.push_back({lx, ly});
    os << "<circle cx=\"" << cx << "\" cy=\"" << cy << "\" r=\"5\" fill=\"" << color_of(p.method)
       << "\"/>\n";
    if (std::abs(ly - (cy + 4)) > 1)
      os << "<line x1=\"" << cx << "\" y1=\"" << cy << "\" x2=\"" << lx - 2 << "\" y2=\"" << ly - 4
         << "\" stroke=\"#999999\"/>\n";
    os << "<text x=\"" << lx << "\" y=\"" << ly << "\">" << escape(p.label) << "</text>\n";
  }

  // Legend.
  const double lx = kLeft + pw + 20;
  double ly = kTop + 10;
  for (const char* m : {"float", "QAT", "PTQ"}) {
    os << "<circle cx=\"" << lx << "\" cy=\"" << ly << "\" r=\"5\" fill=\"" << color_of(m)
       << "\"/><text x=\"" << lx + 10 << "\" y=\"" << ly + 4 << "\">" << m << "</text>\n";
    ly += 20;
  }
  os << "<text x=\"" << lx - 5 << "\" y=\"" << ly + 10 << "\" font-size=\"10\" fill=\"#555555\">"
     << escape(str("batch ", r.options.batch, ", ", r.threads, " threads, ", r.options.backend))
     << "</text>\n";
  os << "</svg>\n";
  return os.str();
}

}  // namespace mpq::demo
