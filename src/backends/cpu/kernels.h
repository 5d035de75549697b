// Registration of the oneDNN kernels (one function per kernel file, listed in kernel_files.def)
// and helpers the kernel files share.
#pragma once

#include <initializer_list>

#include "backends/backend.h"

namespace mpq::cpu {

#define MPQ_CPU_KERNEL_FILE(name) void register_##name##_kernels(KernelRegistry& r);
#include "backends/cpu/kernel_files.def"
#undef MPQ_CPU_KERNEL_FILE

// Registers `make` as kernel "cpu.<op>.<precision>" for each precision.
void add_kernel(KernelRegistry& r, OpKind op, std::initializer_list<Precision> precisions,
                std::function<std::string(const Node&, Precision)> supports,
                std::function<KernelFormats(const Node&)> formats,
                std::function<std::unique_ptr<Kernel>()> make);

// Formats of kernels that work on whatever layout their input has (eltwise, pooling...).
KernelFormats any_layout_formats();
// Formats of kernels that want NHWC activations and produce NHWC (conv).
KernelFormats nhwc_formats(bool any_output_dtype);

// Reads an int-list attribute, or `def` repeated `n` times when absent/empty.
std::vector<int64_t> ints_or(const Node& n, const char* name, size_t count, int64_t def);

}  // namespace mpq::cpu
