// A public header: mpq/ includes only.
#include "mpq/status.h"
#include "ir/graph.h"
#include <vector>
