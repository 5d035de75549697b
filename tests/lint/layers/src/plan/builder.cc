// plan: everything it includes is below it.
#include "backends/backend.h"
#include "ir/graph.h"
#include "quant/table.h"
