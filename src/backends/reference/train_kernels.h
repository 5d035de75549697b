// The reference backend's training kernels (backends/train_kernel.h).
#pragma once

#include <memory>

#include "backends/train_kernel.h"

namespace mpq::train {

// The op's OpDef forward/backward rules on plain tensors (any op with those rules).
std::unique_ptr<TrainKernel> make_reference_train_kernel();
// NCHW <-> NHWC conversion of one slot (the backward converts the gradient back).
std::unique_ptr<TrainKernel> make_reference_layout_kernel(Layout from, Layout to);
// Add of two same-shape activations in any layout; nullptr for other Adds.
std::unique_ptr<TrainKernel> make_add_train_kernel(const Node& n);
// FakeQuantize in any layout, in parallel; nullptr for non-float inputs.
std::unique_ptr<TrainKernel> make_fake_quantize_train_kernel(const Node& n);

}  // namespace mpq::train

namespace mpq {

// Called by register_reference_kernels.
void register_reference_train_kernels(KernelRegistry& r);

}  // namespace mpq
