// int8 averages that requantize (AveragePool, GlobalAveragePool, ReduceMean over H and W): the
// window sum of quantized values in int32, then one multiply-add per output,
//   y = sum * s_in / (count * s_out) + (z_out - s_in * z_in / s_out),
// rounded half-to-even and saturated for an int8 output (s_out = 1, z_out = 0 for a float one).
// The output has its own scale, so SE blocks and classifier heads stay int8 end to end.
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "backends/cpu/dnnl_util.h"
#include "backends/cpu/int8_store.h"
#include "backends/cpu/kernels.h"
#include "backends/cpu/simd_clones.h"
#include "backends/cpu/strided_copy.h"

namespace mpq::cpu {

namespace {

// acc[c] += p[c] over a pixel's contiguous channels.
template <typename Tin>
MPQ_SIMD_CLONES void accumulate_row(const Tin* __restrict p, int32_t* __restrict acc, int64_t C) {
#pragma omp simd
  for (int64_t c = 0; c < C; ++c) acc[c] += p[c];
}

// q[c] = requant(acc[c] * m + shift) into contiguous channels.
template <typename Tout>
MPQ_SIMD_CLONES void store_row(const int32_t* __restrict acc, Tout* __restrict q, int64_t C,
                               float m, float shift) {
#pragma omp simd
  for (int64_t c = 0; c < C; ++c)
    q[c] = store_requant<Tout>(static_cast<float>(acc[c]) * m + shift);
}

struct Window {
  int64_t k[2] = {1, 1}, s[2] = {1, 1}, pb[2] = {0, 0}, pe[2] = {0, 0};
  bool include_pad = false;
};

class MeanInt8Kernel : public Kernel {
 public:
  void prepare(const KernelSetup& s) override {
    in_ = *s.inputs.at(0);
    out_ = *s.outputs.at(0);
    const Node& n = *s.node;
    if (n.op == OpKind::AveragePool) {
      auto k = n.attrs.ints("kernel_shape");
      auto st = ints_or(n, "strides", 2, 1);
      auto pads = ints_or(n, "pads", 4, 0);
      for (int d = 0; d < 2; ++d) {
        w_.k[d] = k[d], w_.s[d] = st[d], w_.pb[d] = pads[d], w_.pe[d] = pads[2 + d];
      }
      w_.include_pad = n.attrs.i("count_include_pad", 0) != 0;
    } else {
      w_.k[0] = in_.shape[2], w_.k[1] = in_.shape[3];
    }
    const bool qout = is_int8(out_.dtype);
    s_ratio_ = qscale(in_) / (qout ? qscale(out_) : 1.f);
    shift_ =
        (qout ? static_cast<float>(qzero(out_)) : 0.f) - s_ratio_ * static_cast<float>(qzero(in_));
  }

  void run(const KernelArgs& a) const override {
    if (in_.dtype == DType::u8)
      dispatch<uint8_t>(a);
    else
      dispatch<int8_t>(a);
  }
  std::string impl_name() const override { return "mpq:mean_int8_requant"; }

 private:
  template <typename Tin>
  void dispatch(const KernelArgs& a) const {
    switch (out_.dtype) {
      case DType::u8:
        return pool<Tin, uint8_t>(a);
      case DType::i8:
        return pool<Tin, int8_t>(a);
      case DType::bf16:
        return pool<Tin, uint16_t>(a);
      default:
        return pool<Tin, float>(a);
    }
  }

  template <typename Tin, typename Tout>
  void pool(const KernelArgs& a) const {
    const Shape is = in_.shape_at(a.batch);
    const int64_t N = is[0], C = is[1], H = is[2], W = is[3];
    const std::vector<int64_t> ss = elem_strides(in_, is);
    int64_t OH = 1, OW = 1;
    std::vector<int64_t> ds = {C, 1, 0, 0};  // a rank-2 output [N, C]
    if (out_.shape.size() == 4) {
      const Shape os = out_.shape_at(a.batch);
      OH = os[2], OW = os[3];
      ds = elem_strides(out_, os);
    }
    const auto* x = static_cast<const Tin*>(a.inputs[0]);
    auto* y = static_cast<Tout*>(a.outputs[0]);
    const int64_t T = simd_row_pixels(C);
#pragma omp parallel
    {
      // acc[0, C): the window's sums; acc[C, (T + 1) C): T pixels' partial sums, zero between
      // windows (the fold below takes them back to zero).
      std::vector<int32_t> acc(static_cast<size_t>((T + 1) * C));
#pragma omp for collapse(3) schedule(static)
      for (int64_t b = 0; b < N; ++b)
        for (int64_t oy = 0; oy < OH; ++oy)
          for (int64_t ox = 0; ox < OW; ++ox) {
            const int64_t ys = oy * w_.s[0] - w_.pb[0], xs = ox * w_.s[1] - w_.pb[1];
            const int64_t y0 = std::max<int64_t>(0, ys), y1 = std::min(H, ys + w_.k[0]);
            const int64_t x0 = std::max<int64_t>(0, xs), x1 = std::min(W, xs + w_.k[1]);
            int64_t count = (y1 - y0) * (x1 - x0);
            if (w_.include_pad)
              count = (std::min(H + w_.pe[0], ys + w_.k[0]) - ys) *
                      (std::min(W + w_.pe[1], xs + w_.k[1]) - xs);
            std::fill(acc.begin(), acc.begin() + C, 0);
            // NHWC with long window rows (global pooling): each row's pixels are one contiguous
            // run, summed T pixels at a time into the partial sums, folded below. Small windows
            // (AveragePool) sum pixel by pixel and never touch the partials.
            const bool tiled = ss[1] == 1 && ss[3] == C && x1 - x0 >= T;
            for (int64_t iy = y0; iy < y1; ++iy) {
              int64_t ix = x0;
              const Tin* row = x + b * ss[0] + iy * ss[2];
              if (tiled)
                for (; ix + T <= x1; ix += T) accumulate_row(row + ix * C, acc.data() + C, T * C);
              for (; ix < x1; ++ix) {
                const Tin* p = row + ix * ss[3];
                if (ss[1] == 1) {  // NHWC: channels contiguous
                  accumulate_row(p, acc.data(), C);
                } else {
                  for (int64_t c = 0; c < C; ++c) acc[c] += p[c * ss[1]];
                }
              }
            }
            if (tiled)  // integer sums: the order does not matter
              for (int64_t t = 1; t <= T; ++t)
                for (int64_t c = 0; c < C; ++c) acc[c] += std::exchange(acc[t * C + c], 0);
            const float m = count > 0 ? s_ratio_ / static_cast<float>(count) : 0.f;
            Tout* q = y + b * ds[0] + oy * ds[2] + ox * ds[3];
            const int32_t* ap = acc.data();
            if (ds[1] == 1) {  // NHWC: a contiguous store that vectorizes
              store_row(ap, q, C, m, shift_);
            } else {
              for (int64_t c = 0; c < C; ++c)
                q[c * ds[1]] = store_requant<Tout>(static_cast<float>(ap[c]) * m + shift_);
            }
          }
    }
  }

  TensorSpec in_, out_;
  Window w_;
  float s_ratio_ = 1.f, shift_ = 0.f;
};

bool spatial_axes(const Node& n) {
  if (!n.attrs.has("axes")) return false;
  std::vector<int64_t> axes = n.attrs.ints("axes");
  for (int64_t& a : axes)
    if (a < 0) a += 4;
  std::sort(axes.begin(), axes.end());
  return axes == std::vector<int64_t>{2, 3};
}

}  // namespace

void register_mean_int8_kernels(KernelRegistry& r) {
  auto supports = [](const Node& n, Precision) -> std::string {
    const Value* x = n.inputs.at(0);
    if (!x || x->shape.size() != 4) return "int8 averages are 2-D";
    if (n.op == OpKind::ReduceMean && !spatial_axes(n)) return "int8 ReduceMean is over H and W";
    if (n.op == OpKind::AveragePool) {
      if (n.attrs.has("auto_pad") && n.attrs.s("auto_pad") != "NOTSET")
        return "auto_pad " + n.attrs.s("auto_pad");
      for (int64_t d : ints_or(n, "dilations", 2, 1))
        if (d != 1) return "dilated average pooling";
    }
    return "";
  };
  for (OpKind op : {OpKind::AveragePool, OpKind::GlobalAveragePool, OpKind::ReduceMean})
    add_kernel(
        r, op, {Precision::kInt8}, supports,
        [](const Node&) {
          KernelFormats f = any_layout_formats();
          f.any_output_dtype = true;
          return f;
        },
        [] { return std::make_unique<MeanInt8Kernel>(); });
}

}  // namespace mpq::cpu
