// int8 Mul that requantizes: squeeze-excitation's channel scaling (x [N,C,H,W] times a gate
// [N|1,C,1,1], in either operand order) and same-shape products, int8 in and out, so that an SE
// block is not a float island with a dequantize and a quantize around it. Per output element
//   y = (x - z_x) * m[n,c] + z_y,   m[n,c] = s_x * s_g * (g[n,c] - z_g) / s_y
// (the gate's factor precomputed once per image and channel), rounded half to even, saturated.
#include <algorithm>
#include <cmath>
#include <vector>

#include "backends/cpu/dnnl_util.h"
#include "backends/cpu/int8_store.h"
#include "backends/cpu/kernels.h"
#include "backends/cpu/simd_clones.h"
#include "backends/cpu/strided_copy.h"

namespace mpq::cpu {

namespace {

// Real value of element i of an int8 or f32 tensor.
float real_at(const void* p, const TensorSpec& t, int64_t i) {
  if (t.dtype == DType::u8) return qscale(t) * (static_cast<const uint8_t*>(p)[i] - qzero(t));
  if (t.dtype == DType::i8) return qscale(t) * (static_cast<const int8_t*>(p)[i] - qzero(t));
  return static_cast<const float*>(p)[i];
}

// y[i] = requant((x[i] - zx) * m[i * m_step] + zo): a function of its own so that the restrict
// qualifiers hold (GCC honours them on parameters) and the loop vectorizes. For u8/s8 outputs
// finite-math-only turns the saturation into min/max instructions (the values are finite); the
// rounding (an add and a subtract of 1.5 * 2^23, half to even) is kept as written. No `omp simd`:
// with it GCC 12 vectorizes this loop 4 floats wide in every clone, the AVX-512 one included.
template <typename Tx, typename Ty>
__attribute__((optimize("finite-math-only", "no-signed-zeros"))) MPQ_SIMD_CLONES void scale_row_q(
    const Tx* __restrict x, Ty* __restrict y, const float* __restrict m, int64_t m_step,
    int64_t len, float zx, float zo) {
  constexpr float lo = std::is_signed_v<Ty> ? -128.f : 0.f;
  constexpr float hi = std::is_signed_v<Ty> ? 127.f : 255.f;
  constexpr float kRound = 12582912.f;
  for (int64_t i = 0; i < len; ++i) {
    float v = (static_cast<float>(x[i]) - zx) * m[i * m_step] + zo;
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    y[i] = static_cast<Ty>(static_cast<int32_t>((v + kRound) - kRound));
  }
}

template <typename Tx, typename Ty>
__attribute__((noinline)) void scale_row_f(const Tx* __restrict x, Ty* __restrict y,
                                           const float* __restrict m, int64_t m_step, int64_t len,
                                           float zx, float zo) {
#pragma omp simd
  for (int64_t i = 0; i < len; ++i)
    y[i] = store_requant<Ty>((static_cast<float>(x[i]) - zx) * m[i * m_step] + zo);
}

template <typename Tx, typename Ty>
void scale_row(const Tx* x, Ty* y, const float* m, int64_t m_step, int64_t len, float zx,
               float zo) {
  if constexpr (std::is_same_v<Ty, uint8_t> || std::is_same_v<Ty, int8_t>)
    scale_row_q(x, y, m, m_step, len, zx, zo);
  else
    scale_row_f(x, y, m, m_step, len, zx, zo);
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
        yp[i] = store_requant<Ty>((xp[i] - zx) * sx * real_at(gp, g, i) + out_zero_);
      return;
    }
    const bool nhwc = x.layout == Layout::kNHWC;
    const bool per_image = g.shape[0] != 1;
    // NHWC: the factors repeat every C elements, tiled over T pixels (simd_row_pixels). Plain:
    // one factor per plane.
    const int64_t T = nhwc ? simd_row_pixels(C) : 1;
    const int64_t L = nhwc ? T * C : HW;                 // elements per block
    const int64_t blocks = nhwc ? (HW + T - 1) / T : C;  // blocks per image
#pragma omp parallel
    {
      std::vector<float> m(static_cast<size_t>(nhwc ? L : C));
      int64_t cached = -1;
#pragma omp for collapse(2) schedule(static)
      for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < blocks; ++k) {
          if (cached != n) {
            for (int64_t c = 0; c < C; ++c) m[c] = sx * real_at(gp, g, (per_image ? n * C : 0) + c);
            if (nhwc)
              for (int64_t i = C; i < L; ++i) m[i] = m[i - C];
            cached = n;
          }
          const int64_t begin = n * C * HW + k * L;
          const int64_t len = nhwc ? std::min(L, C * HW - k * L) : HW;
          scale_row<Tx, Ty>(xp + begin, yp + begin, nhwc ? m.data() : m.data() + k, nhwc ? 1 : 0,
                            len, zx, out_zero_);
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
