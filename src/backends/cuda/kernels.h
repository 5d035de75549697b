// Registration of the CUDA backend's kernels (one function per file) and the shared helper.
#pragma once

#include <functional>
#include <initializer_list>
#include <memory>
#include <string>

#include "backends/backend.h"

namespace mpq::cuda {

// Registers `make` as backend "cuda" kernel "cuda.<op>.<precision>" for each precision.
void add_kernel(KernelRegistry& r, OpKind op, std::initializer_list<Precision> precisions,
                std::function<std::string(const Node&, Precision)> supports,
                std::function<KernelFormats(const Node&)> formats,
                std::function<std::unique_ptr<Kernel>()> make);

// Formats of kernels that take either layout (NHWC preferred) and write their output in input
// 0's layout: element-wise ops, pooling, data movement.
KernelFormats any_layout(const Node&);

void register_conv_kernels(KernelRegistry& r);
void register_simple_kernels(KernelRegistry& r);
void register_eltwise_kernels(KernelRegistry& r);
void register_layout_kernels(KernelRegistry& r);
void register_math_kernels(KernelRegistry& r);

}  // namespace mpq::cuda
