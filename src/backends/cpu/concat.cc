// Concat (oneDNN concat) in fp32, bf16 and int8. int8 is a passthrough when every input carries
// the output's quantization (the plan builder gives the inputs of a Concat the Concat output's
// range, so their producers write in that scale directly). Inputs that also feed other nodes
// (densenet's feature list, concatenated again in every layer) keep their own scales: each is
// then copied into its slice of the output with y = round(q * s_i / s_out + z_out - s_i * z_i /
// s_out), saturated.
#include <cmath>
#include <cstring>

#include "backends/cpu/dnnl_util.h"
#include "backends/cpu/int8_store.h"
#include "backends/cpu/kernels.h"
#include "backends/cpu/strided_copy.h"

namespace mpq::cpu {

namespace {

class ConcatKernel : public PrimKernel {
 public:
  void prepare(const KernelSetup& s) override {
    for (const TensorSpec* t : s.inputs) ins_.push_back(*t);
    out_ = *s.outputs.at(0);
    const int64_t rank = static_cast<int64_t>(out_.shape.size());
    axis_ = static_cast<int>(s.node->attrs.i("axis"));
    if (axis_ < 0) axis_ += static_cast<int>(rank);
    for (const TensorSpec& t : ins_) {
      if (t.dtype != out_.dtype && !(is_int8(t.dtype) && is_int8(out_.dtype)))
        unsupported("concat of different dtypes").node(s.node->name).raise();
      if (is_int8(t.dtype) &&
          (t.dtype != out_.dtype || qscale(t) != qscale(out_) || qzero(t) != qzero(out_)))
        requant_ = true;
      if (t.is_constant()) unsupported("concat of a constant").node(s.node->name).raise();
    }
    if (requant_) {
      impl_ = "mpq:concat_requant_int8";
      return;
    }
    init(s.max_batch);
  }
  void run(const KernelArgs& a) const override {
    if (requant_) return run_requant(a);
    std::unordered_map<int, dnnl::memory> args;
    for (size_t i = 0; i < ins_.size(); ++i)
      args[DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i)] = mem(md_of(ins_[i], a.batch), a.inputs[i]);
    args[DNNL_ARG_DST] = mem(md_of(out_, a.batch), a.outputs[0]);
    execute(*prim(a.batch), cpu_ctx(a), std::move(args));
  }

 protected:
  Prim create(int64_t batch) const override {
    return guarded("Concat " + out_.str(), [&] {
      std::vector<dnnl::memory::desc> mds;
      for (const TensorSpec& t : ins_) mds.push_back(md_of(t, batch));
      dnnl::concat::primitive_desc pd(md_of(out_, batch), axis_, mds, engine(), base_attr());
      return make_prim<dnnl::concat::primitive_desc, dnnl::concat>(pd);
    });
  }

 private:
  // The output as [outer, axis, inner] in memory order (NHWC puts the channel axis last).
  void split(const TensorSpec& t, int64_t batch, int64_t* outer, int64_t* inner) const {
    const Shape sh = t.shape_at(batch);
    const bool nhwc = sh.size() == 4 && t.layout == Layout::kNHWC;
    const std::vector<int> order = nhwc ? std::vector<int>{0, 2, 3, 1} : std::vector<int>{};
    *outer = 1, *inner = 1;
    bool after = false;
    for (size_t k = 0; k < sh.size(); ++k) {
      const int d = nhwc ? order[k] : static_cast<int>(k);
      if (d == axis_)
        after = true;
      else
        (after ? *inner : *outer) *= sh[d];
    }
  }

  template <typename Ti, typename To>
  static void requant_rows(const Ti* x, To* y, int64_t rows, int64_t len, int64_t ystride, float m,
                           float c) {
#pragma omp parallel for schedule(static) if (rows * len > 16384)
    for (int64_t r = 0; r < rows; ++r) {
      const Ti* xp = x + r * len;
      To* yp = y + r * ystride;
#pragma omp simd
      for (int64_t i = 0; i < len; ++i)
        yp[i] = store_requant<To>(static_cast<float>(xp[i]) * m + c);
    }
  }

  // An input in another layout than the output (a Slice left plain beside an NHWC branch, as in
  // shufflenet): rows of the innermost logical dim, each element through both layouts' strides.
  template <typename Ti, typename To>
  static void requant_strided(const Ti* x, To* y, const Shape& s, const std::vector<int64_t>& xs,
                              const std::vector<int64_t>& ys, float m, float c) {
    const int64_t rows = s[0] * s[1] * s[2];
#pragma omp parallel for schedule(static) if (rows * s[3] > 16384)
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t h = r % s[2], nc = r / s[2], ch = nc % s[1], n = nc / s[1];
      const Ti* xp = x + n * xs[0] + ch * xs[1] + h * xs[2];
      To* yp = y + n * ys[0] + ch * ys[1] + h * ys[2];
      for (int64_t w = 0; w < s[3]; ++w)
        yp[w * ys[3]] = store_requant<To>(static_cast<float>(xp[w * xs[3]]) * m + c);
    }
  }

  void run_strided(const TensorSpec& t, const void* x, uint8_t* y, int64_t batch, float m,
                   float c) const {
    const Shape s = t.shape_at(batch);
    const std::vector<int64_t> xs = elem_strides(t, s),
                               ys = elem_strides(out_, out_.shape_at(batch));
    const bool xu = t.dtype == DType::u8, yu = out_.dtype == DType::u8;
    auto* ys8 = reinterpret_cast<int8_t*>(y);
    if (xu && yu)
      requant_strided(static_cast<const uint8_t*>(x), y, s, xs, ys, m, c);
    else if (xu)
      requant_strided(static_cast<const uint8_t*>(x), ys8, s, xs, ys, m, c);
    else if (yu)
      requant_strided(static_cast<const int8_t*>(x), y, s, xs, ys, m, c);
    else
      requant_strided(static_cast<const int8_t*>(x), ys8, s, xs, ys, m, c);
  }

  void run_requant(const KernelArgs& a) const {
    int64_t outer, inner;
    split(out_, a.batch, &outer, &inner);
    const int64_t total = out_.shape[axis_] * inner;
    int64_t off = 0, axis_off = 0;
    auto* y = static_cast<uint8_t*>(a.outputs[0]);
    const bool yu = out_.dtype == DType::u8;
    const std::vector<int64_t> ost = elem_strides(out_, out_.shape_at(a.batch));
    for (size_t i = 0; i < ins_.size(); ++i) {
      const TensorSpec& t = ins_[i];
      const int64_t len = t.shape[axis_] * inner;
      const float so = qscale(out_), si = qscale(t);
      const float m = si / so;
      const float c = static_cast<float>(qzero(out_)) - m * static_cast<float>(qzero(t));
      const bool xu = t.dtype == DType::u8;
      uint8_t* yp = y + off;
      if (t.shape.size() == 4 && t.layout != out_.layout) {
        run_strided(t, a.inputs[i], y + axis_off * ost[axis_], a.batch, m, c);
      } else if (t.dtype == out_.dtype && si == so && qzero(t) == qzero(out_)) {
        const auto* x = static_cast<const uint8_t*>(a.inputs[i]);
        for (int64_t r = 0; r < outer; ++r) std::memcpy(yp + r * total, x + r * len, len);
      } else if (xu && yu) {
        requant_rows(static_cast<const uint8_t*>(a.inputs[i]), yp, outer, len, total, m, c);
      } else if (xu) {
        requant_rows(static_cast<const uint8_t*>(a.inputs[i]), reinterpret_cast<int8_t*>(yp), outer,
                     len, total, m, c);
      } else if (yu) {
        requant_rows(static_cast<const int8_t*>(a.inputs[i]), yp, outer, len, total, m, c);
      } else {
        requant_rows(static_cast<const int8_t*>(a.inputs[i]), reinterpret_cast<int8_t*>(yp), outer,
                     len, total, m, c);
      }
      off += len;
      axis_off += t.shape[axis_];
    }
  }

  std::vector<TensorSpec> ins_;
  TensorSpec out_;
  int axis_ = 1;
  bool requant_ = false;
};

}  // namespace

void register_concat_kernels(KernelRegistry& r) {
  auto supports = [](const Node& n, Precision) -> std::string {
    for (const Value* v : n.inputs) {
      if (!v) return "omitted input";
      if (v->is_constant()) return "constant input";
      if (!dtype_info(v->dtype).is_float) return "non-float input";
    }
    const int64_t rank = static_cast<int64_t>(n.outputs.at(0)->shape.size());
    int64_t axis = n.attrs.i("axis");
    if (axis < 0) axis += rank;
    if (axis == 0) return "concat along the batch dimension";
    return "";
  };
  add_kernel(
      r, OpKind::Concat, {Precision::kFp32, Precision::kBf16, Precision::kInt8}, supports,
      [](const Node&) {
        KernelFormats f;
        f.input_layouts = {Layout::kNHWC, Layout::kPlain};
        f.output_layout = Layout::kNHWC;
        f.output_follows_input = true;
        return f;
      },
      [] { return std::make_unique<ConcatKernel>(); });
}

}  // namespace mpq::cpu
