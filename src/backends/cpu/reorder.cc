// Reorder kernels: the plan's precision/layout boundaries. Float -> int8 quantization is done here
// with a division per element so that it is bit-identical to ONNX QuantizeLinear (oneDNN's reorder
// multiplies by 1/scale, which can round ties differently); everything else (dequantize,
// requantize, bf16 <-> f32, NCHW <-> NHWC) is a oneDNN reorder.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "backends/cpu/dnnl_util.h"
#include "backends/cpu/kernels.h"
#include "backends/cpu/simd_clones.h"
#include "core/parallel.h"

namespace mpq::cpu {

namespace {

// QuantizeLinear on a row: q = saturate(round_half_even(x / scale) + zp), written so that it
// vectorizes: the quotient is clamped to just outside the integer range (saturation gives the
// same result), rounded with the 1.5 * 2^23 trick (exact round-half-even in the default
// rounding mode for |v| < 2^22), NaN maps to the zero point as in quant::quantize_value.
// No `omp simd` here: with it GCC 12 vectorizes this loop 4 floats wide in every target clone
// (the AVX-512 clone too, 2.7x slower); the restrict pointers let the auto-vectorizer go wide.
template <typename Q, typename F, typename Load>
MPQ_SIMD_CLONES void quantize_row(const F* __restrict src, Q* __restrict dst, int64_t n,
                                  float scale, int32_t zp, Load load) {
  constexpr float lo = std::is_signed_v<Q> ? -128.f : 0.f;
  constexpr float hi = std::is_signed_v<Q> ? 127.f : 255.f;
  const float z = static_cast<float>(zp);
  const float vlo = lo - z - 1.f, vhi = hi - z + 1.f;
  constexpr float kMagic = 12582912.f;  // 1.5 * 2^23
  for (int64_t i = 0; i < n; ++i) {
    float v = load(src[i]) / scale;
    v = v == v ? v : 0.f;
    v = v < vlo ? vlo : (v > vhi ? vhi : v);
    float r = (v + kMagic) - kMagic + z;
    r = r < lo ? lo : (r > hi ? hi : r);
    dst[i] = static_cast<Q>(r);
  }
}

enum class Relayout { kNone, kToNhwc, kToPlain };

template <typename Q, typename F, typename Load>
void quantize_loop(const F* src, Q* dst, const Shape& s, Relayout relayout, float scale, int32_t zp,
                   Load load) {
  const int64_t total = shape_numel(s);
  if (relayout == Relayout::kNone) {
    parallel_for(
        total,
        [&](int64_t b, int64_t e) { quantize_row(src + b, dst + b, e - b, scale, zp, load); },
        1 << 16);
    return;
  }
  // Each contiguous source row of a pixel block (a channel's pixels, or an NHWC pixel's
  // channels) is quantized into a buffer (the division vectorizes), then the block is
  // transposed into the destination: a strided store in the quantizing loop would not vectorize.
  const bool to_nhwc = relayout == Relayout::kToNhwc;
  const int64_t N = s[0], C = s[1], HW = s[2] * s[3];
  constexpr int64_t kBlock = 512;
  const int64_t blocks = (HW + kBlock - 1) / kBlock;
#pragma omp parallel if (total > 65536)
  {
    std::vector<Q> tmp(static_cast<size_t>(C * kBlock));
#pragma omp for collapse(2) schedule(static)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t b = 0; b < blocks; ++b) {
        const int64_t p0 = b * kBlock, len = std::min(kBlock, HW - p0);
        if (to_nhwc) {
          for (int64_t c = 0; c < C; ++c)
            quantize_row(src + (n * C + c) * HW + p0, tmp.data() + c * kBlock, len, scale, zp,
                         load);
          Q* out = dst + (n * HW + p0) * C;
          if (C == 3) {  // an RGB input: the interleave unrolled (a 3-trip inner loop costs more)
            const Q *r = tmp.data(), *g = r + kBlock, *b = g + kBlock;
            for (int64_t p = 0; p < len; ++p)
              out[3 * p] = r[p], out[3 * p + 1] = g[p], out[3 * p + 2] = b[p];
          } else {
            for (int64_t p = 0; p < len; ++p)
              for (int64_t c = 0; c < C; ++c) out[p * C + c] = tmp[c * kBlock + p];
          }
        } else {
          quantize_row(src + (n * HW + p0) * C, tmp.data(), len * C, scale, zp, load);
          Q* out = dst + n * C * HW + p0;
          for (int64_t c = 0; c < C; ++c)
            for (int64_t p = 0; p < len; ++p) out[c * HW + p] = tmp[p * C + c];
        }
      }
  }
}

struct LoadF32 {
  float operator()(float v) const { return v; }
};
struct LoadBf16 {
  float operator()(uint16_t v) const { return bf16_to_float(v); }
};

class ReorderKernel : public Kernel {
 public:
  void prepare(const KernelSetup& s) override {
    from_ = *s.inputs.at(0);
    to_ = *s.outputs.at(0);
    if (from_.shape != to_.shape)
      internal_error(str("reorder changes the shape: ", from_.str(), " -> ", to_.str())).raise();
    const bool to_q = is_int8(to_.dtype), from_q = is_int8(from_.dtype);
    if (to_q && !to_.quant) internal_error("quantizing reorder without quant params").raise();
    if (from_q && !from_.quant) internal_error("dequantizing reorder without quant params").raise();
    own_quantize_ = to_q && !from_q;
    if (own_quantize_) {
      if (from_.dtype != DType::f32 && from_.dtype != DType::bf16)
        unsupported(str("quantizing from ", dtype_name(from_.dtype))).raise();
      const bool r4 = from_.shape.size() == 4;
      if (r4 && from_.layout != to_.layout)
        relayout_ = to_.layout == Layout::kNHWC ? Relayout::kToNhwc : Relayout::kToPlain;
      impl_ = relayout_ == Relayout::kToNhwc    ? "mpq:quantize_nchw_to_nhwc"
              : relayout_ == Relayout::kToPlain ? "mpq:quantize_nhwc_to_nchw"
                                                : "mpq:quantize";
      return;
    }
    prim_max_ = make(s.max_batch);
    impl_ = prim_max_->impl;
    max_batch_ = s.max_batch;
  }

  void run(const KernelArgs& a) const override {
    if (own_quantize_) {
      Shape s = from_.shape_at(a.batch);
      const float sc = qscale(to_);
      const int32_t zp = qzero(to_);
      auto go = [&](auto* dst) {
        if (from_.dtype == DType::f32)
          quantize_loop(static_cast<const float*>(a.inputs[0]), dst, s, relayout_, sc, zp,
                        LoadF32{});
        else
          quantize_loop(static_cast<const uint16_t*>(a.inputs[0]), dst, s, relayout_, sc, zp,
                        LoadBf16{});
      };
      if (to_.dtype == DType::u8)
        go(static_cast<uint8_t*>(a.outputs[0]));
      else
        go(static_cast<int8_t*>(a.outputs[0]));
      return;
    }
    std::shared_ptr<const Prim> p =
        a.batch == max_batch_ ? prim_max_ : cache_.get(a.batch, [&](int64_t b) { return make(b); });
    CpuContext& ctx = cpu_ctx(a);
    std::unordered_map<int, dnnl::memory> args{
        {DNNL_ARG_SRC, mem(md_of(from_, a.batch), a.inputs[0])},
        {DNNL_ARG_DST, mem(md_of(to_, a.batch), a.outputs[0])}};
    int32_t zs = qzero(from_), zd = qzero(to_);
    if (is_int8(from_.dtype) && zs != 0)
      args[DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC] = zp_mem(zs);
    if (is_int8(to_.dtype) && zd != 0) args[DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_DST] = zp_mem(zd);
    execute(*p, ctx, std::move(args));
  }

  std::string impl_name() const override { return impl_; }

 private:
  static dnnl::memory zp_mem(int32_t z) {
    dnnl::memory m({{1}, dnnl::memory::data_type::s32, dnnl::memory::format_tag::a}, engine());
    *static_cast<int32_t*>(m.get_data_handle()) = z;
    return m;
  }

  std::shared_ptr<const Prim> make(int64_t batch) const {
    return guarded("reorder " + from_.str() + " -> " + to_.str(), [&] {
      dnnl::primitive_attr attr = base_attr();
      float scale = 1.f;
      if (is_int8(from_.dtype)) scale *= qscale(from_);
      if (is_int8(to_.dtype)) scale /= qscale(to_);
      if (scale != 1.f) attr.set_output_scales(0, {scale});
      if (is_int8(from_.dtype) && qzero(from_) != 0)
        attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
      if (is_int8(to_.dtype) && qzero(to_) != 0)
        attr.set_zero_points(DNNL_ARG_DST, 0, {DNNL_RUNTIME_S32_VAL});
      dnnl::reorder::primitive_desc pd(engine(), md_of(from_, batch), engine(), md_of(to_, batch),
                                       attr);
      return std::make_shared<const Prim>(
          make_prim<dnnl::reorder::primitive_desc, dnnl::reorder>(pd));
    });
  }

  TensorSpec from_, to_;
  bool own_quantize_ = false;
  Relayout relayout_ = Relayout::kNone;
  std::string impl_;
  int64_t max_batch_ = 0;
  std::shared_ptr<const Prim> prim_max_;
  PerBatchCache<Prim> cache_;
};

}  // namespace

void register_reorder_kernels(KernelRegistry& r) {
  KernelInfo k;
  k.backend = "cpu";
  k.op = OpKind::Reorder;
  k.precision = Precision::kFp32;
  k.name = "cpu.reorder";
  k.formats = [](const Node&) {
    return KernelFormats{{Layout::kNHWC, Layout::kPlain}, Layout::kNHWC, true};
  };
  k.make = [] { return std::make_unique<ReorderKernel>(); };
  r.add(std::move(k));
}

}  // namespace mpq::cpu
