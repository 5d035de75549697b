// ir: core below it is fine, plan above it is not.
#include "core/tensor.h"
#include "ir/op_def.h"
#include "plan/plan.h"
