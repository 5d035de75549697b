#include "backends/train_kernel.h"

#include <cstring>

#include "backends/reference/train_kernels.h"
#include "core/parallel.h"
#include "ir/op_def.h"

namespace mpq::train {

Shape physical_shape(const Shape& s, Layout l) {
  if (l == Layout::kNHWC && s.size() == 4) return {s[0], s[2], s[3], s[1]};
  return s;
}

bool same_bytes(const Shape& s, Layout a, Layout b) {
  return a == b || s.size() != 4 || s[1] == 1 || s[2] * s[3] == 1;
}

// --- gradient plumbing

const Tensor& StepContext::grad_out(size_t o) {
  Slot& s = *out[o];
  if (!s.has_grad) {
    if (!s.grad.defined() || s.grad.empty())
      s.grad = Tensor(DType::f32, physical_shape(s.shape, s.layout));
    std::memset(s.grad.raw(), 0, s.grad.nbytes());
    s.has_grad = true;
  }
  return s.grad;
}

Tensor& StepContext::grad_in_begin(size_t i) {
  Slot& s = *in[i];
  if (!s.has_grad) return s.grad;
  if (s.scratch.empty()) s.scratch = Tensor(DType::f32, s.grad.shape());
  return s.scratch;
}

static void add_into(Tensor& dst, const Tensor& src) {
  float* d = dst.data<float>();
  const float* p = src.data<float>();
  parallel_for(dst.numel(), [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) d[k] += p[k];
  });
}

void StepContext::grad_in_done(size_t i) {
  Slot& s = *in[i];
  if (s.has_grad)
    add_into(s.grad, s.scratch);
  else
    s.has_grad = true;
}

void StepContext::accumulate_grad(size_t i, const Tensor& g) {
  Slot& s = *in[i];
  if (g.numel() != s.grad.numel())
    internal_error(
        str("gradient of '", s.name, "' has ", g.numel(), " elements, expected ", s.grad.numel()))
        .raise();
  if (s.has_grad) {
    add_into(s.grad, g);
  } else {
    if (g.raw() != s.grad.raw()) std::memcpy(s.grad.raw(), g.raw(), s.grad.nbytes());
    s.has_grad = true;
  }
}

// --- lookup

static bool g_skip_cpu = false;
void set_skip_cpu_train_kernels(bool on) {
  g_skip_cpu = on;
}

std::unique_ptr<TrainKernel> make_kernel(const Node& n) {
  const auto& all = KernelRegistry::instance().train_kernels();
  for (const char* backend : {"cpu", "reference"}) {
    if (g_skip_cpu && std::string_view(backend) == "cpu") continue;
    for (const TrainKernelInfo& k : all)
      if (k.op == n.op && k.backend == backend)
        if (auto made = k.make(n)) return made;
  }
  return make_reference_train_kernel();
}

std::unique_ptr<TrainKernel> make_layout_kernel(Layout from, Layout to) {
  return make_reference_layout_kernel(from, to);
}

}  // namespace mpq::train
