// Public type: the definition lives in include/mpq/status.h.
#pragma once

#include "mpq/status.h"
