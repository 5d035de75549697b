// Structural checks of a Graph: SSA (one producer per value), consumer lists consistent, every
// node input defined (graph input, constant or earlier node), topological order, outputs defined,
// input counts within the op's schema. Throws kInvalidInput naming the node.
#pragma once

#include "ir/graph.h"

namespace mpq {
void verify(const Graph& g);
}
