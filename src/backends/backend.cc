#include "backends/backend.h"

#include <sstream>

#include "ir/op_def.h"

namespace mpq {

const char* layout_name(Layout l) {
  return l == Layout::kNHWC ? "nhwc" : "plain";
}

bool parse_layout(std::string_view s, Layout* out) {
  if (s == "plain") return *out = Layout::kPlain, true;
  if (s == "nhwc") return *out = Layout::kNHWC, true;
  return false;
}

Shape TensorSpec::shape_at(int64_t batch) const {
  Shape s = shape;
  if (batched && static_cast<size_t>(batch_dim) < s.size()) s[batch_dim] = batch * batch_mult;
  return s;
}

size_t TensorSpec::bytes_at(int64_t batch) const {
  return static_cast<size_t>(shape_numel(shape_at(batch))) * dtype_size(dtype);
}

std::string TensorSpec::str() const {
  std::ostringstream os;
  os << dtype_name(dtype) << shape_str(shape);
  if (shape.size() == 4) os << ' ' << layout_name(layout);
  if (quant) {
    os << " s=" << (quant->scale.empty() ? 0.f : quant->scale[0]);
    os << " z=" << (quant->zero_point.empty() ? 0 : quant->zero_point[0]);
  }
  return os.str();
}

const KernelRegistry& KernelRegistry::instance() {
  static const KernelRegistry reg = [] {
    KernelRegistry r;
    register_reference_kernels(r);
#ifdef MPQ_HAVE_DNNL
    register_cpu_kernels(r);
#endif
#ifdef MPQ_HAVE_CUDA
    register_cuda_kernels(r);
#endif
    return r;
  }();
  return reg;
}

void KernelRegistry::add(KernelInfo k) {
  for (const auto& e : kernels_)
    if (e.name == k.name) internal_error("kernel registered twice: " + k.name).raise();
  kernels_.push_back(std::move(k));
}

void KernelRegistry::add_op(const char* backend, OpKind op,
                            std::initializer_list<Precision> precisions,
                            std::function<std::string(const Node&, Precision)> supports,
                            std::function<KernelFormats(const Node&)> formats,
                            std::function<std::unique_ptr<Kernel>()> make) {
  const OpDef& d = op_def(op);
  for (Precision p : precisions) {
    KernelInfo k;
    k.backend = backend;
    k.op = op;
    k.precision = p;
    k.name = str(backend, ".", d.name, ".", precision_name(p));
    if (supports) k.supports = [supports, p](const Node& n) { return supports(n, p); };
    k.formats = formats;
    k.make = make;
    add(std::move(k));
  }
}

const KernelInfo* KernelRegistry::find(std::string_view backend, const Node& node, Precision p,
                                       std::string* why_not) const {
  std::string reason;
  for (const auto& k : kernels_) {
    if (k.backend != backend || k.op != node.op || k.precision != p) continue;
    std::string r = k.supports ? k.supports(node) : std::string();
    if (r.empty()) return &k;
    if (reason.empty()) reason = r;
  }
  if (why_not)
    *why_not = reason.empty() ? mpq::str("no ", backend, " kernel for ", node.op_name(), " in ",
                                         precision_name(p))
                              : reason;
  return nullptr;
}

void KernelRegistry::add_train(const char* backend, OpKind op, TrainKernelFactory make) {
  std::string name = str(backend, ".train.", op_def(op).name);
  for (const auto& e : train_kernels_)
    if (e.name == name) internal_error("training kernel registered twice: " + name).raise();
  train_kernels_.push_back({backend, op, std::move(name), std::move(make)});
}

const KernelInfo* KernelRegistry::by_name(std::string_view name) const {
  for (const auto& k : kernels_)
    if (k.name == name) return &k;
  return nullptr;
}

const Backend* find_backend(std::string_view name) {
  if (name == "reference") return &reference_backend();
#ifdef MPQ_HAVE_DNNL
  if (name == "cpu") return &cpu_backend();
#endif
#ifdef MPQ_HAVE_CUDA
  if (name == "cuda") return &cuda_backend();
#endif
  return nullptr;
}

std::vector<std::string> backend_names() {
  std::vector<std::string> v{"reference"};
#ifdef MPQ_HAVE_DNNL
  v.push_back("cpu");
#endif
#ifdef MPQ_HAVE_CUDA
  v.push_back("cuda");
#endif
  return v;
}

}  // namespace mpq
