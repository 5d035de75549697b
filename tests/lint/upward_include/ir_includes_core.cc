// A source of the ir layer that includes its own and a lower layer's headers: it must compile.
#include "core/tensor.h"
#include "ir/graph.h"
