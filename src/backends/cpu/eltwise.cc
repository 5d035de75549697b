// Element-wise activations (oneDNN eltwise): Relu, LeakyRelu, Clip, Sigmoid, Tanh, Exp, HardSwish,
// Sqrt and Pow (constant scalar exponent) in fp32/bf16; Relu and Clip also in int8, where they act
// on the quantized values directly (the output keeps the input's scale and zero point; oneDNN 2.6
// has no int8 clip, so this is a clamp loop): relu = max(q, zp), clip = clamp(q, Q(lo), Q(hi)) with
// Q = QuantizeLinear — exactly quantize(clip(dequantize(q))) since quantization is monotonic and q
// is on the grid.
#include <cmath>
#include <limits>

#include "backends/cpu/dnnl_util.h"
#include "backends/cpu/kernels.h"
#include "backends/cpu/simd_clones.h"
#include "core/parallel.h"
#include "core/quant_math.h"
#include "ir/op_def.h"

namespace mpq::cpu {

namespace {

using alg = dnnl::algorithm;

// The int8 clamp on a contiguous run, in the AVX-512 / AVX2 clone where the CPU has it (the
// library's baseline build would keep it 16 bytes wide; in place when x == y).
template <typename T>
MPQ_SIMD_CLONES void clamp_run(const T* x, T* y, int64_t n, T lo, T hi) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] < lo ? lo : (x[i] > hi ? hi : x[i]);
}

struct EltwiseOp {
  OpKind op;
  alg algorithm;
  bool int8;  // passthrough under int8 quantization
};
const EltwiseOp kOps[] = {
    {OpKind::Relu, alg::eltwise_relu, true},
    {OpKind::LeakyRelu, alg::eltwise_relu, false},
    {OpKind::Clip, alg::eltwise_clip_v2, true},
    {OpKind::Sigmoid, alg::eltwise_logistic, false},
    {OpKind::Tanh, alg::eltwise_tanh, false},
    {OpKind::Exp, alg::eltwise_exp, false},
    {OpKind::HardSwish, alg::eltwise_hardswish, false},
    {OpKind::Sqrt, alg::eltwise_sqrt, false},
    {OpKind::Pow, alg::eltwise_pow, false},
    {OpKind::Silu, alg::eltwise_swish, false},
    {OpKind::Gelu, alg::eltwise_gelu_erf, false},
};

float const_scalar(const TensorSpec* t, float def) {
  if (!t) return def;
  return t->constant->to_floats().at(0);
}

class EltwiseKernel : public PrimKernel {
 public:
  explicit EltwiseKernel(const EltwiseOp& op) : op_(op) {}
  void prepare(const KernelSetup& s) override {
    in_ = *s.inputs[0];
    out_ = *s.outputs[0];
    const Node& n = *s.node;
    alg_ = op_.algorithm;
    const float inf = std::numeric_limits<float>::infinity();
    if (op_.op == OpKind::LeakyRelu) alpha_ = n.attrs.f("alpha", 0.01f);
    if (op_.op == OpKind::Clip) {
      alpha_ = const_scalar(s.inputs.size() > 1 ? s.inputs[1] : nullptr, -inf);
      beta_ = const_scalar(s.inputs.size() > 2 ? s.inputs[2] : nullptr, inf);
    }
    if (op_.op == OpKind::Pow) alpha_ = 1.f, beta_ = const_scalar(s.inputs.at(1), 1.f);
    if (op_.op == OpKind::Silu) alpha_ = 1.f;  // swish(x; alpha) = x * sigmoid(alpha * x)
    if (is_int8(in_.dtype)) {
      if (alg_ == alg::eltwise_relu) alpha_ = 0.f, beta_ = inf;
      const bool sgn = in_.dtype == DType::i8;
      const quant::QRange r{sgn ? -128 : 0, sgn ? 127 : 255};
      auto q = [&](float v) {
        if (std::isinf(v)) return v < 0 ? r.qmin : r.qmax;
        return quant::quantize_value(v, qscale(in_), qzero(in_), r);
      };
      qlo_ = static_cast<int>(q(alpha_));
      qhi_ = static_cast<int>(q(beta_));
      impl_ = "mpq:int8_clamp";
      return;
    }
    init(s.max_batch);
  }
  void run(const KernelArgs& a) const override {
    if (is_int8(in_.dtype)) {
      const int64_t n = shape_numel(in_.shape_at(a.batch));
      if (in_.dtype == DType::u8)
        clamp(static_cast<const uint8_t*>(a.inputs[0]), static_cast<uint8_t*>(a.outputs[0]), n);
      else
        clamp(static_cast<const int8_t*>(a.inputs[0]), static_cast<int8_t*>(a.outputs[0]), n);
      return;
    }
    auto p = prim(a.batch);
    execute(*p, cpu_ctx(a),
            {{DNNL_ARG_SRC, mem(md_of(in_, a.batch), a.inputs[0])},
             {DNNL_ARG_DST, mem(md_of(out_, a.batch), a.outputs[0])}});
  }
  std::vector<std::pair<int, int>> inplace() const override { return {{0, 0}}; }

  template <typename T>
  void clamp(const T* x, T* y, int64_t n) const {
    const T lo = static_cast<T>(qlo_), hi = static_cast<T>(qhi_);
    parallel_for(
        n, [&](int64_t b, int64_t e) { clamp_run(x + b, y + b, e - b, lo, hi); }, 1 << 16);
  }

 protected:
  Prim create(int64_t batch) const override {
    return guarded(op_def(op_.op).name + " " + in_.str(), [&] {
      dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, alg_, md_of(in_, batch),
                                    alpha_, beta_);
      dnnl::eltwise_forward::primitive_desc pd(d, base_attr(), engine());
      return make_prim<dnnl::eltwise_forward::primitive_desc, dnnl::eltwise_forward>(pd);
    });
  }

 private:
  EltwiseOp op_;
  alg alg_;
  float alpha_ = 0.f, beta_ = 0.f;
  int qlo_ = 0, qhi_ = 0;
  TensorSpec in_, out_;
};

}  // namespace

void register_eltwise_kernels(KernelRegistry& r) {
  for (const EltwiseOp& op : kOps) {
    auto supports = [op](const Node& n, Precision) -> std::string {
      if (op.op == OpKind::Clip)
        for (size_t i = 1; i < 3; ++i)
          if (n.has_input(i) && !n.inputs[i]->is_constant()) return "Clip bounds are not constants";
      if (op.op == OpKind::Pow &&
          (!n.has_input(1) || !n.inputs[1]->is_constant() || n.inputs[1]->constant->numel() != 1))
        return "the exponent is not a constant scalar";
      if (n.inputs.empty() || !n.inputs[0] || !dtype_info(n.inputs[0]->dtype).is_float)
        return "non-float input";
      return "";
    };
    auto make = [op] { return std::make_unique<EltwiseKernel>(op); };
    if (op.int8)
      add_kernel(
          r, op.op, {Precision::kFp32, Precision::kBf16, Precision::kInt8}, supports,
          [](const Node&) { return any_layout_formats(); }, make);
    else
      add_kernel(
          r, op.op, {Precision::kFp32, Precision::kBf16}, supports,
          [](const Node&) { return any_layout_formats(); }, make);
  }
}

}  // namespace mpq::cpu
