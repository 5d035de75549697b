// Latency vs accuracy of the demo's engines as a standalone SVG (hand-written, no dependencies):
// one point per engine that has both numbers, colored by method (float, QAT, PTQ).
#pragma once

#include <string>

#include "demo/pipeline.h"

namespace mpq::demo {

std::string render_svg_plot(const DemoReport& r);

}  // namespace mpq::demo
