// Public type: the definition lives in include/mpq/dataset.h.
#pragma once

#include "mpq/dataset.h"
