// quant: ir below and data beside it are fine, backends above it is not.
#include "ir/graph.h"
#include "data/dataset.h"
#include <string>
#include "backends/backend.h"
