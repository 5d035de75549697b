// Trainer kernels for element-wise ops that do not need oneDNN.
#pragma once

#include "train/kernel.h"

namespace mpq::train {

void register_elementwise_kernels();
void register_fake_quantize_kernel();

}  // namespace mpq::train
