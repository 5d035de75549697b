// int8 Mul that requantizes: squeeze-excitation's channel scaling (x [N,C,H,W] times a gate
// [N|1,C,1,1], in either operand order) and same-shape products, int8 in and out, so that an SE
// block is not a float island with a dequantize and a quantize around it. Per output element
//   y = (x - z_x) * m[n,c] + z_y,   m[n,c] = s_x * s_g * (g[n,c] - z_g) / s_y
// (the gate's factor precomputed once per image and channel), rounded half to even, saturated.
#include <algorithm>
#include <cmath>
#include <vector>

#include "backends/cpu/dnnl_util.h"
#include "backends/cpu/kernels.h"
#include "backends/cpu/strided_copy.h"

namespace mpq::cpu {

namespace {

template <typename T>
T store(float v) {
  if constexpr (std::is_same_v<T, float>) {
    return v;
  } else if constexpr (std::is_same_v<T, uint16_t>) {
    return float_to_bf16(v);
  } else {
    constexpr float lo = std::is_signed_v<T> ? -128.f : 0.f,
                    hi = std::is_signed_v<T> ? 127.f : 255.f;
    return static_cast<T>(std::min(hi, std::max(lo, std::nearbyint(v))));
  }
}

// Real value of element i of an int8 or f32 tensor.
float real_at(const void* p, const TensorSpec& t, int64_t i) {
  if (t.dtype == DType::u8) return qscale(t) * (static_cast<const uint8_t*>(p)[i] - qzero(t));
  if (t.dtype == DType::i8) return qscale(t) * (static_cast<const int8_t*>(p)[i] - qzero(t));
  return static_cast<const float*>(p)[i];
}

bool is_gate(const Shape& g, const Shape& y) {
  return g.size() == 4 && (g[0] == y[0] || g[0] == 1) && g[1] == y[1] && g[2] == 1 && g[3] == 1;
}

class MulInt8Kernel : public Kernel {
 public:
  void prepare(const KernelSetup& s) override {
    a_ = *s.inputs.at(0), b_ = *s.inputs.at(1), y_ = *s.outputs.at(0);
    // The operand with the output's shape is x; the other one is the gate (or a second x).
    big_ = a_.shape == y_.shape ? 0 : 1;
    const TensorSpec& g = big_ == 0 ? b_ : a_;
    same_shape_ = g.shape == y_.shape;
    if (!same_shape_ && !is_gate(g.shape, y_.shape))
      internal_error("int8 Mul operands are neither same-shape nor a channel gate").raise();
    const bool qout = is_int8(y_.dtype);
    out_scale_ = qout ? qscale(y_) : 1.f;
    out_zero_ = qout ? static_cast<float>(qzero(y_)) : 0.f;
  }

  void run(const KernelArgs& a) const override {
    const TensorSpec& x = big_ == 0 ? a_ : b_;
    if (x.dtype == DType::u8)
      dispatch<uint8_t>(a);
    else
      dispatch<int8_t>(a);
  }
  std::string impl_name() const override { return "mpq:mul_int8_requant"; }

 private:
  template <typename Tx>
  void dispatch(const KernelArgs& a) const {
    switch (y_.dtype) {
      case DType::u8:
        return mul<Tx, uint8_t>(a);
      case DType::i8:
        return mul<Tx, int8_t>(a);
      case DType::bf16:
        return mul<Tx, uint16_t>(a);
      default:
        return mul<Tx, float>(a);
    }
  }

  template <typename Tx, typename Ty>
  void mul(const KernelArgs& a) const {
    const TensorSpec& x = big_ == 0 ? a_ : b_;
    const TensorSpec& g = big_ == 0 ? b_ : a_;
    const void* gp = a.inputs[1 - big_];
    const auto* xp = static_cast<const Tx*>(a.inputs[big_]);
    auto* yp = static_cast<Ty*>(a.outputs[0]);
    const Shape ys = y_.shape_at(a.batch);
    const int64_t N = ys[0], C = ys[1], HW = ys[2] * ys[3];
    const float zx = static_cast<float>(qzero(x)), sx = qscale(x) / out_scale_;
    if (same_shape_) {
      const int64_t total = shape_numel(ys);
      // Same layouts (the planner gives both NHWC): element i of each is the same position.
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < total; ++i)
        yp[i] = store<Ty>((xp[i] - zx) * sx * real_at(gp, g, i) + out_zero_);
      return;
    }
    const bool nhwc = x.layout == Layout::kNHWC;
    const bool per_image = g.shape[0] != 1;
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; ++n) {
      std::vector<float> m(static_cast<size_t>(C));
      for (int64_t c = 0; c < C; ++c) m[c] = sx * real_at(gp, g, (per_image ? n * C : 0) + c);
      const Tx* xi = xp + n * C * HW;
      Ty* yi = yp + n * C * HW;
      if (nhwc) {
        for (int64_t p = 0; p < HW; ++p)
#pragma omp simd
          for (int64_t c = 0; c < C; ++c)
            yi[p * C + c] = store<Ty>((xi[p * C + c] - zx) * m[c] + out_zero_);
      } else {
        for (int64_t c = 0; c < C; ++c)
#pragma omp simd
          for (int64_t p = 0; p < HW; ++p)
            yi[c * HW + p] = store<Ty>((xi[c * HW + p] - zx) * m[c] + out_zero_);
      }
    }
  }

  TensorSpec a_, b_, y_;
  int big_ = 0;
  bool same_shape_ = false;
  float out_scale_ = 1.f, out_zero_ = 0.f;
};

std::string supports(const Node& n, Precision) {
  if (n.inputs.size() != 2 || !n.inputs[0] || !n.inputs[1]) return "needs two inputs";
  for (const Value* v : n.inputs)
    if (v->is_constant()) return "a constant operand (int8 Mul scales activations by activations)";
  const Shape& y = n.outputs.at(0)->shape;
  const Shape& a = n.inputs[0]->shape;
  const Shape& b = n.inputs[1]->shape;
  if (y.size() != 4) return "int8 Mul is 4-D";
  if (a == y && (b == y || is_gate(b, y))) return "";
  if (b == y && is_gate(a, y)) return "";
  return "int8 Mul broadcasts only a per-channel gate [N,C,1,1]";
}

}  // namespace

void register_mul_int8_kernels(KernelRegistry& r) {
  add_kernel(
      r, OpKind::Mul, {Precision::kInt8}, supports,
      [](const Node&) {
        // Both operands NHWC (a [N,C,1,1] gate has the same bytes in either layout).
        KernelFormats f;
        f.input_layouts = {Layout::kNHWC};
        f.output_layout = Layout::kNHWC;
        f.any_output_dtype = true;
        return f;
      },
      [] { return std::make_unique<MulInt8Kernel>(); });
}

}  // namespace mpq::cpu
