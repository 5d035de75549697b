// Public type: the definition lives in include/mpq/quant_params.h.
#pragma once

#include "mpq/quant_params.h"
