// Standalone SVG charts (no dependencies): XML escaping and a labeled scatter plot with axes,
// grid, ticks and a legend, shared by the demo's latency/accuracy plot and the precision search's
// Pareto frontier.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace mpq::svg {

std::string escape_xml(const std::string& s);

struct Series {
  std::string name;   // legend text
  std::string color;  // "#1f77b4"
  double radius = 5;
  bool connect = false;  // draw a line through the points in x order (a frontier)
};

struct Point {
  double x = 0, y = 0;
  size_t series = 0;  // index into Scatter::series
  std::string label;  // drawn beside the point; empty: none
};

struct Scatter {
  std::string title, x_title, y_title, footnote;
  std::vector<Series> series;
  std::vector<Point> points;
  // The y axis never extends past these (accuracy in % stays within 0..100).
  std::optional<double> y_floor, y_ceiling;
  double min_y_pad = 0.5;  // at least this much room above and below the points
  std::string empty_text = "nothing to plot";
};

std::string render_scatter(const Scatter& s);

}  // namespace mpq::svg
