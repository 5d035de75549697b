// Public type: the definition lives in include/mpq/dtype.h.
#pragma once

#include "mpq/dtype.h"
