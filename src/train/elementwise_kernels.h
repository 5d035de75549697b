// Trainer kernels for element-wise ops that do not need oneDNN.
#pragma once

#include "train/kernel.h"

namespace mpq::train {

void register_elementwise_kernels();

}  // namespace mpq::train
