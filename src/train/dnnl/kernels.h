// Registration of the oneDNN training kernels (called once by register_builtin_kernels).
#pragma once

namespace mpq::train::dnnlk {

void register_conv();
void register_inner_product();
void register_pool();
void register_eltwise();
void register_batchnorm();

}  // namespace mpq::train::dnnlk
