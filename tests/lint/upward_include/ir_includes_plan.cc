// A source of the ir layer that includes a header of the higher plan layer: it must not compile.
#include "ir/graph.h"
#include "plan/plan.h"
