// Text form of a Graph (one line per node), used by tests and `mpq info --graph`:
//   %conv1_out: f32[1,20,24,24] = Conv(%input, %w, %b) {group=1, ...}  # layer1.conv1
#pragma once

#include <string>

#include "ir/graph.h"

namespace mpq {
std::string print_graph(const Graph& g, bool with_attrs = true);
}
