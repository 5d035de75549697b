// Public type: the definition lives in include/mpq/precision.h.
#pragma once

#include "mpq/precision.h"
