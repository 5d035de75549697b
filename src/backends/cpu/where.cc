// Where and Equal on plain tensors with numpy broadcasting (any dtype; bool conditions/results).
// Exporters use them on small shape vectors, which usually fold at build; these kernels keep the
// CPU engine off the reference executor when one does not.
#include <cstring>

#include "backends/cpu/kernels.h"
#include "ir/ops/tensor_util.h"

namespace mpq::cpu {

namespace {

// Shapes of the inputs and output at a batch, for broadcasting.
struct Shapes {
  std::vector<Shape> in;
  Shape out;
};
Shapes shapes_at(const std::vector<TensorSpec>& in, const TensorSpec& out, int64_t batch) {
  Shapes s;
  for (const TensorSpec& t : in) s.in.push_back(t.shape_at(batch));
  s.out = out.shape_at(batch);
  return s;
}

class BroadcastKernel : public Kernel {
 public:
  void prepare(const KernelSetup& s) override {
    for (const TensorSpec* t : s.inputs) in_.push_back(*t);
    out_ = *s.outputs.at(0);
  }
  std::vector<std::pair<int, int>> inplace() const override { return {}; }

 protected:
  std::vector<TensorSpec> in_;
  TensorSpec out_;
};

class WhereKernel : public BroadcastKernel {
 public:
  void run(const KernelArgs& a) const override {
    const Shapes s = shapes_at(in_, out_, a.batch);
    const size_t es = dtype_size(out_.dtype);
    const auto* c = static_cast<const uint8_t*>(a.inputs[0]);
    const auto* x = static_cast<const uint8_t*>(a.inputs[1]);
    const auto* y = static_cast<const uint8_t*>(a.inputs[2]);
    auto* o = static_cast<uint8_t*>(a.outputs[0]);
    ops::broadcast_for_each<3>(
        s.out, {&s.in[0], &s.in[1], &s.in[2]}, [&](int64_t k, const std::array<int64_t, 3>& i) {
          std::memcpy(o + k * es, c[i[0]] ? x + i[1] * es : y + i[2] * es, es);
        });
  }
  std::string impl_name() const override { return "mpq:where"; }
};

class EqualKernel : public BroadcastKernel {
 public:
  void run(const KernelArgs& a) const override {
    const Shapes s = shapes_at(in_, out_, a.batch);
    const DType t = in_[0].dtype;
    auto* o = static_cast<uint8_t*>(a.outputs[0]);
    const size_t es = dtype_size(t);
    const auto* x = static_cast<const uint8_t*>(a.inputs[0]);
    const auto* y = static_cast<const uint8_t*>(a.inputs[1]);
    // Integers and bools compare by bytes; floats by value (0 == -0, NaN != NaN).
    const bool by_value = dtype_info(t).is_float;
    ops::broadcast_for_each<2>(
        s.out, {&s.in[0], &s.in[1]}, [&](int64_t k, const std::array<int64_t, 2>& i) {
          o[k] = by_value ? load_as_double(x, t, i[0]) == load_as_double(y, t, i[1])
                          : std::memcmp(x + i[0] * es, y + i[1] * es, es) == 0;
        });
  }
  std::string impl_name() const override { return "mpq:equal"; }
};

}  // namespace

void register_where_kernels(KernelRegistry& r) {
  auto plain = [](const Node&) { return KernelFormats{}; };
  auto any = [](const Node&, Precision) { return std::string(); };
  add_kernel(r, OpKind::Where, {Precision::kFp32, Precision::kBf16}, any, plain,
             [] { return std::make_unique<WhereKernel>(); });
  add_kernel(r, OpKind::Equal, {Precision::kFp32, Precision::kBf16}, any, plain,
             [] { return std::make_unique<EqualKernel>(); });
}

}  // namespace mpq::cpu
