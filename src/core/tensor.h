// Public type: the definition lives in include/mpq/tensor.h.
#pragma once

#include "mpq/tensor.h"
