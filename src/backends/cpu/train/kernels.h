// The cpu backend's training kernels (oneDNN forward and backward primitives), registered by
// register_cpu_kernels beside the inference kernels.
#pragma once

#include "backends/backend.h"

namespace mpq::train::dnnlk {

void register_conv(KernelRegistry& r);
void register_inner_product(KernelRegistry& r);
void register_pool(KernelRegistry& r);
void register_eltwise(KernelRegistry& r);
void register_batchnorm(KernelRegistry& r);

}  // namespace mpq::train::dnnlk
