// The one place that lists the trainer's kernel implementations (not ops: each registers itself
// for the ops it handles, by name, and declines nodes it cannot run).
#include <mutex>

#include "train/batchnorm_train.h"
#include "train/elementwise_kernels.h"
#include "train/kernel.h"
#ifdef MPQ_HAVE_DNNL
#include "train/dnnl/kernels.h"
#endif

namespace mpq::train {

void register_builtin_kernels() {
  static std::once_flag once;
  std::call_once(once, [] {
#ifdef MPQ_HAVE_DNNL
    dnnlk::register_conv();
    dnnlk::register_inner_product();
    dnnlk::register_pool();
    dnnlk::register_eltwise();
    dnnlk::register_batchnorm();
#endif
    register_kernel("BatchNormalization", make_batchnorm_train_kernel, "batchnorm.reference");
    register_elementwise_kernels();
    register_fake_quantize_kernel();
  });
}

}  // namespace mpq::train
