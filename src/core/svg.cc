#include "core/svg.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace mpq::svg {

namespace {

constexpr double kWidth = 760, kHeight = 460;
constexpr double kLeft = 70, kRight = 200, kTop = 50, kBottom = 60;  // margins (legend right)

// A tick step of 1, 2 or 5 times a power of ten giving about `target` intervals over `span`.
double tick_step(double span, int target) {
  if (!(span > 0)) return 1.0;
  const double raw = span / target;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * p >= raw) return m * p;
  return 10 * p;
}

std::string tick_text(double v, double step) {
  const int digits = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(digits);
  os << v;
  return os.str();
}

struct Axes {
  double xmax, xstep, y0, y1, ystep;
  double pw = kWidth - kLeft - kRight, ph = kHeight - kTop - kBottom;
  double X(double v) const { return kLeft + v / xmax * pw; }
  double Y(double v) const { return kTop + (y1 - v) / (y1 - y0) * ph; }
};

Axes axes_for(const Scatter& s) {
  double xmax = 0, ymin = 1e300, ymax = -1e300;
  for (const Point& p : s.points) {
    xmax = std::max(xmax, p.x);
    ymin = std::min(ymin, p.y);
    ymax = std::max(ymax, p.y);
  }
  Axes a{};
  a.pw = kWidth - kLeft - kRight;
  a.ph = kHeight - kTop - kBottom;
  if (!(xmax > 0)) xmax = 1;
  a.xstep = tick_step(xmax * 1.1, 5);
  a.xmax = std::ceil(xmax * 1.1 / a.xstep) * a.xstep;
  const double pad = std::max(s.min_y_pad, 0.15 * (ymax - ymin));
  a.ystep = tick_step(ymax - ymin + 2 * pad, 5);
  a.y0 = std::floor((ymin - pad) / a.ystep) * a.ystep;
  a.y1 = std::ceil((ymax + pad) / a.ystep) * a.ystep;
  if (s.y_floor) a.y0 = std::max(a.y0, *s.y_floor);
  if (s.y_ceiling) a.y1 = std::min(a.y1, *s.y_ceiling);
  if (!(a.y1 > a.y0)) a.y1 = a.y0 + a.ystep;
  return a;
}

void draw_axes(std::ostream& os, const Scatter& s, const Axes& a) {
  os << "<g stroke=\"#dddddd\">\n";
  for (double v = 0; v <= a.xmax + 1e-9; v += a.xstep)
    os << "<line x1=\"" << a.X(v) << "\" y1=\"" << kTop << "\" x2=\"" << a.X(v) << "\" y2=\""
       << kTop + a.ph << "\"/>\n";
  for (double v = a.y0; v <= a.y1 + 1e-9; v += a.ystep)
    os << "<line x1=\"" << kLeft << "\" y1=\"" << a.Y(v) << "\" x2=\"" << kLeft + a.pw << "\" y2=\""
       << a.Y(v) << "\"/>\n";
  os << "</g>\n<rect x=\"" << kLeft << "\" y=\"" << kTop << "\" width=\"" << a.pw << "\" height=\""
     << a.ph << "\" fill=\"none\" stroke=\"#333333\"/>\n";
  for (double v = 0; v <= a.xmax + 1e-9; v += a.xstep)
    os << "<text x=\"" << a.X(v) << "\" y=\"" << kTop + a.ph + 16 << "\" text-anchor=\"middle\">"
       << tick_text(v, a.xstep) << "</text>\n";
  for (double v = a.y0; v <= a.y1 + 1e-9; v += a.ystep)
    os << "<text x=\"" << kLeft - 6 << "\" y=\"" << a.Y(v) + 4 << "\" text-anchor=\"end\">"
       << tick_text(v, a.ystep) << "</text>\n";
  os << "<text x=\"" << kLeft + a.pw / 2 << "\" y=\"" << kHeight - 18
     << "\" text-anchor=\"middle\">" << escape_xml(s.x_title) << "</text>\n";
  os << "<text transform=\"translate(18," << kTop + a.ph / 2
     << ") rotate(-90)\" text-anchor=\"middle\">" << escape_xml(s.y_title) << "</text>\n";
}

void draw_lines(std::ostream& os, const Scatter& s, const Axes& a) {
  for (size_t k = 0; k < s.series.size(); ++k) {
    if (!s.series[k].connect) continue;
    std::vector<const Point*> pts;
    for (const Point& p : s.points)
      if (p.series == k) pts.push_back(&p);
    std::sort(pts.begin(), pts.end(), [](const Point* a, const Point* b) { return a->x < b->x; });
    if (pts.size() < 2) continue;
    os << "<polyline fill=\"none\" stroke=\"" << s.series[k].color << "\" points=\"";
    for (const Point* p : pts) os << a.X(p->x) << "," << a.Y(p->y) << " ";
    os << "\"/>\n";
  }
}

// Points with labels, nudged down where they would overlap an earlier label.
void draw_points(std::ostream& os, const Scatter& s, const Axes& a) {
  std::vector<std::pair<double, double>> placed;  // label x, y
  std::vector<size_t> order(s.points.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t x, size_t y) { return s.points[x].y > s.points[y].y; });
  for (size_t i : order) {
    const Point& p = s.points[i];
    const Series& ser = s.series.at(p.series);
    const double cx = a.X(p.x), cy = a.Y(p.y);
    os << "<circle cx=\"" << cx << "\" cy=\"" << cy << "\" r=\"" << ser.radius << "\" fill=\""
       << ser.color << "\"/>\n";
    if (p.label.empty()) continue;
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
    if (std::abs(ly - (cy + 4)) > 1)
      os << "<line x1=\"" << cx << "\" y1=\"" << cy << "\" x2=\"" << lx - 2 << "\" y2=\"" << ly - 4
         << "\" stroke=\"#999999\"/>\n";
    os << "<text x=\"" << lx << "\" y=\"" << ly << "\">" << escape_xml(p.label) << "</text>\n";
  }
}

void draw_legend(std::ostream& os, const Scatter& s, const Axes& a) {
  const double lx = kLeft + a.pw + 20;
  double ly = kTop + 10;
  for (const Series& ser : s.series) {
    os << "<circle cx=\"" << lx << "\" cy=\"" << ly << "\" r=\"5\" fill=\"" << ser.color
       << "\"/><text x=\"" << lx + 10 << "\" y=\"" << ly + 4 << "\">" << escape_xml(ser.name)
       << "</text>\n";
    ly += 20;
  }
  if (!s.footnote.empty())
    os << "<text x=\"" << lx - 5 << "\" y=\"" << ly + 10 << "\" font-size=\"10\" fill=\"#555555\">"
       << escape_xml(s.footnote) << "</text>\n";
}

}  // namespace

std::string escape_xml(const std::string& s) {
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

std::string render_scatter(const Scatter& s) {
  std::ostringstream os;
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kWidth << "\" height=\"" << kHeight
     << "\" viewBox=\"0 0 " << kWidth << " " << kHeight
     << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  os << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  os << "<text x=\"" << kWidth / 2 << "\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">"
     << escape_xml(s.title) << "</text>\n";
  if (s.points.empty()) {
    os << "<text x=\"" << kWidth / 2 << "\" y=\"" << kHeight / 2 << "\" text-anchor=\"middle\">"
       << escape_xml(s.empty_text) << "</text>\n</svg>\n";
    return os.str();
  }
  const Axes a = axes_for(s);
  draw_axes(os, s, a);
  draw_lines(os, s, a);
  draw_points(os, s, a);
  draw_legend(os, s, a);
  os << "</svg>\n";
  return os.str();
}

}  // namespace mpq::svg
