#include "backends/cpu/kernels.h"
#include "backends/cpu/train/kernels.h"
#include "ir/op_def.h"

namespace mpq {

void register_cpu_kernels(KernelRegistry& r) {
#define MPQ_CPU_KERNEL_FILE(name) cpu::register_##name##_kernels(r);
#include "backends/cpu/kernel_files.def"
#undef MPQ_CPU_KERNEL_FILE
  train::dnnlk::register_conv(r);
  train::dnnlk::register_inner_product(r);
  train::dnnlk::register_pool(r);
  train::dnnlk::register_eltwise(r);
  train::dnnlk::register_batchnorm(r);
}

namespace cpu {

void add_kernel(KernelRegistry& r, OpKind op, std::initializer_list<Precision> precisions,
                std::function<std::string(const Node&, Precision)> supports,
                std::function<KernelFormats(const Node&)> formats,
                std::function<std::unique_ptr<Kernel>()> make) {
  r.add_op("cpu", op, precisions, std::move(supports), std::move(formats), std::move(make));
}

KernelFormats any_layout_formats() {
  KernelFormats f;
  f.input_layouts = {Layout::kNHWC, Layout::kPlain};
  f.output_layout = Layout::kNHWC;
  f.output_follows_input = true;
  return f;
}

KernelFormats nhwc_formats(bool any_output_dtype) {
  KernelFormats f;
  f.input_layouts = {Layout::kNHWC};
  f.output_layout = Layout::kNHWC;
  f.any_output_dtype = any_output_dtype;
  return f;
}

std::vector<int64_t> ints_or(const Node& n, const char* name, size_t count, int64_t def) {
  if (n.attrs.has(name)) {
    const auto& v = n.attrs.ints(name);
    if (!v.empty()) return v;
  }
  return std::vector<int64_t>(count, def);
}

}  // namespace cpu
}  // namespace mpq
