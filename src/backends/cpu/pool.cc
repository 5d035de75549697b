// 2-D pooling (oneDNN pooling_v2): MaxPool, AveragePool, GlobalAveragePool in fp32 and bf16, and
// MaxPool in int8 (the max of quantized values keeps the input's scale and zero point; int8
// averages requantize, see mean_int8.cc).
// ceil_mode is expressed as extra right padding, so the output size is the one the op inferred.
#include <algorithm>
#include <limits>

#include "backends/cpu/dnnl_util.h"
#include "backends/cpu/kernels.h"
#include "ir/op_def.h"

namespace mpq::cpu {

namespace {

using alg = dnnl::algorithm;

struct PoolOp {
  OpKind op;
  bool max;
  bool global;
};
const PoolOp kOps[] = {{OpKind::MaxPool, true, false},
                       {OpKind::AveragePool, false, false},
                       {OpKind::GlobalAveragePool, false, true}};

// Max pooling of int8 NHWC tensors: a byte-wise max over the valid window positions (vpmaxub
// across channels), which oneDNN 2.6's int8 pooling does several times slower at 2 threads.
template <typename T>
void max_pool_nhwc(const T* x, T* y, int64_t n, int64_t H, int64_t W, int64_t C, int64_t OH,
                   int64_t OW, const dnnl::memory::dims& k, const dnnl::memory::dims& s,
                   const dnnl::memory::dims& pl) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oy = 0; oy < OH; ++oy) {
      const int64_t y0 = std::max<int64_t>(0, oy * s[0] - pl[0]);
      const int64_t y1 = std::min<int64_t>(H, oy * s[0] - pl[0] + k[0]);
      for (int64_t ox = 0; ox < OW; ++ox) {
        const int64_t x0 = std::max<int64_t>(0, ox * s[1] - pl[1]);
        const int64_t x1 = std::min<int64_t>(W, ox * s[1] - pl[1] + k[1]);
        T* out = y + ((b * OH + oy) * OW + ox) * C;
        for (int64_t c = 0; c < C; ++c) out[c] = std::numeric_limits<T>::lowest();
        for (int64_t iy = y0; iy < y1; ++iy)
          for (int64_t ix = x0; ix < x1; ++ix) {
            const T* in = x + ((b * H + iy) * W + ix) * C;
#pragma omp simd
            for (int64_t c = 0; c < C; ++c) out[c] = in[c] > out[c] ? in[c] : out[c];
          }
      }
    }
}

class PoolKernel : public PrimKernel {
 public:
  explicit PoolKernel(const PoolOp& op) : op_(op) {}

  void prepare(const KernelSetup& s) override {
    in_ = *s.inputs.at(0);
    out_ = *s.outputs.at(0);
    const Node& n = *s.node;
    const Shape& is = in_.shape;
    const Shape& os = out_.shape;
    if (op_.global) {
      kernel_ = {is[2], is[3]};
      strides_ = {1, 1};
      dil_ = {0, 0};
      pl_ = pr_ = {0, 0};
    } else {
      kernel_ = n.attrs.ints("kernel_shape");
      strides_ = ints_or(n, "strides", 2, 1);
      auto pads = ints_or(n, "pads", 4, 0);
      auto dil = ints_or(n, "dilations", 2, 1);
      dil_ = {dil[0] - 1, dil[1] - 1};
      pl_ = {pads[0], pads[1]};
      pr_ = {pads[2], pads[3]};
      // Right padding that makes oneDNN's floor formula give the inferred (maybe ceil) size.
      for (int d = 0; d < 2; ++d) {
        int64_t dk = (kernel_[d] - 1) * dil[d] + 1;
        int64_t need = (os[2 + d] - 1) * strides_[d] + dk - is[2 + d] - pl_[d];
        if (need != pr_[d] && !op_.max && n.attrs.i("count_include_pad", 0) != 0)
          unsupported("ceil_mode with count_include_pad").node(n.name).raise();
        pr_[d] = need;
      }
    }
    own_ = op_.max && is_int8(in_.dtype) && in_.layout == Layout::kNHWC && dil_[0] == 0 &&
           dil_[1] == 0;
    if (own_) {
      impl_ = "mpq:max_pool_int8_nhwc";
      return;
    }
    algorithm_ = op_.max ? alg::pooling_max
                 : (op_.global || n.attrs.i("count_include_pad", 0) == 0)
                     ? alg::pooling_avg_exclude_padding
                     : alg::pooling_avg_include_padding;
    init(s.max_batch);
  }

  void run(const KernelArgs& a) const override {
    if (own_) {
      const Shape& is = in_.shape;
      const Shape& os = out_.shape;
      if (in_.dtype == DType::u8)
        max_pool_nhwc(static_cast<const uint8_t*>(a.inputs[0]), static_cast<uint8_t*>(a.outputs[0]),
                      a.batch, is[2], is[3], is[1], os[2], os[3], kernel_, strides_, pl_);
      else
        max_pool_nhwc(static_cast<const int8_t*>(a.inputs[0]), static_cast<int8_t*>(a.outputs[0]),
                      a.batch, is[2], is[3], is[1], os[2], os[3], kernel_, strides_, pl_);
      return;
    }
    execute(*prim(a.batch), cpu_ctx(a),
            {{DNNL_ARG_SRC, mem(md_of(in_, a.batch), a.inputs[0])},
             {DNNL_ARG_DST, mem(md_of(out_, a.batch), a.outputs[0])}});
  }

 protected:
  Prim create(int64_t batch) const override {
    return guarded(op_def(op_.op).name + " " + in_.str(), [&] {
      dnnl::pooling_v2_forward::desc d(dnnl::prop_kind::forward_inference, algorithm_,
                                       md_of(in_, batch), md_of(out_, batch), strides_, kernel_,
                                       dil_, pl_, pr_);
      dnnl::pooling_v2_forward::primitive_desc pd(d, base_attr(), engine());
      return make_prim<dnnl::pooling_v2_forward::primitive_desc, dnnl::pooling_v2_forward>(pd);
    });
  }

 private:
  PoolOp op_;
  bool own_ = false;
  TensorSpec in_, out_;
  alg algorithm_;
  dnnl::memory::dims kernel_, strides_, dil_, pl_, pr_;
};

}  // namespace

void register_pool_kernels(KernelRegistry& r) {
  for (const PoolOp& op : kOps) {
    auto supports = [op](const Node& n, Precision) -> std::string {
      if (n.inputs.at(0)->shape.size() != 4) return "only 2-D pooling";
      if (n.outputs.size() > 1) return "MaxPool indices output";
      if (!op.global) {
        if (n.attrs.has("auto_pad") && n.attrs.s("auto_pad") != "NOTSET")
          return "auto_pad " + n.attrs.s("auto_pad");
        if (n.attrs.i("storage_order", 0) != 0) return "storage_order 1";
      }
      return "";
    };
    auto formats = [](const Node&) { return any_layout_formats(); };
    auto make = [op] { return std::make_unique<PoolKernel>(op); };
    if (op.max)
      add_kernel(r, op.op, {Precision::kFp32, Precision::kBf16, Precision::kInt8}, supports,
                 formats, make);
    else
      add_kernel(r, op.op, {Precision::kFp32, Precision::kBf16}, supports, formats, make);
  }
}

}  // namespace mpq::cpu
