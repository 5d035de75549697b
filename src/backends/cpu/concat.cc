// Concat (oneDNN concat) in fp32, bf16 and int8. int8 is a passthrough when every input carries
// the output's quantization (the plan builder gives the inputs of a Concat the Concat output's
// range, so their producers write in that scale directly). Inputs that also feed other nodes
// (densenet's feature list, concatenated again in every layer) keep their own scales: each is
// then copied into its slice of the output with y = round(q * s_i / s_out + z_out - s_i * z_i /
// s_out), saturated.
#include <array>
#include <cmath>
#include <cstring>

#include "backends/cpu/dnnl_util.h"
#include "backends/cpu/int8_store.h"
#include "backends/cpu/kernels.h"
#include "backends/cpu/requant_rows.h"
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
      // How each input's bytes map into the output's scale: fixed by the quantization, so made
      // once here, not per inference.
      const bool yu = out_.dtype == DType::u8;
      for (const TensorSpec& t : ins_) {
        Part p;
        const float so = qscale(out_), si = qscale(t);
        const float m = si / so;
        const float c = static_cast<float>(qzero(out_)) - m * static_cast<float>(qzero(t));
        p.copy = t.dtype == out_.dtype && si == so && qzero(t) == qzero(out_);
        p.strided = t.shape.size() == 4 && t.layout != out_.layout;
        p.table = requant_table(t.dtype == DType::u8, yu, m, c);
        p.m = m, p.c = c;
        parts_.push_back(p);
      }
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

  // The 256 output bytes of y = x * m + c for every u8/s8 input byte (indexed by the byte's bit
  // pattern): the same store_requant as the element loop, so a table lookup per element gives
  // identical results at a fraction of the float work.
  static std::array<uint8_t, 256> requant_table(bool xu, bool yu, float m, float c) {
    std::array<uint8_t, 256> t{};
    for (int b = 0; b < 256; ++b) {
      const float x = xu ? static_cast<float>(b) : static_cast<float>(static_cast<int8_t>(b));
      const float v = x * m + c;
      t[b] = yu ? store_requant<uint8_t>(v) : static_cast<uint8_t>(store_requant<int8_t>(v));
    }
    return t;
  }

  // An input in another layout than the output (a Slice left plain beside an NHWC branch, as in
  // shufflenet): rows of the innermost logical dim, each byte through the input's table and both
  // layouts' strides.
  void run_strided(const TensorSpec& t, const void* xv, uint8_t* y, int64_t batch,
                   const uint8_t* table) const {
    const Shape s = t.shape_at(batch);
    const std::vector<int64_t> xs = elem_strides(t, s),
                               ys = elem_strides(out_, out_.shape_at(batch));
    const auto* x = static_cast<const uint8_t*>(xv);
    // H and W as one run where both layouts allow it (plain <-> NHWC do): fewer, longer rows.
    const bool merge = xs[2] == xs[3] * s[3] && ys[2] == ys[3] * s[3];
    const int64_t H = merge ? 1 : s[2], len = merge ? s[2] * s[3] : s[3];
    const int64_t rows = s[0] * s[1] * H;
#pragma omp parallel for schedule(static) if (rows * len > 16384)
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t h = r % H, nc = r / H, ch = nc % s[1], n = nc / s[1];
      const uint8_t* xp = x + n * xs[0] + ch * xs[1] + h * xs[2];
      uint8_t* yp = y + n * ys[0] + ch * ys[1] + h * ys[2];
      for (int64_t w = 0; w < len; ++w) yp[w * ys[3]] = table[xp[w * xs[3]]];
    }
  }

  // Each input's slice of every output row (its axis extent times `inner`), mapped through its
  // Part.
  void run_requant(const KernelArgs& a) const {
    int64_t outer, inner;
    split(out_, a.batch, &outer, &inner);
    const int64_t total = out_.shape[axis_] * inner;
    auto* y = static_cast<uint8_t*>(a.outputs[0]);
    const std::vector<int64_t> ost = elem_strides(out_, out_.shape_at(a.batch));
    int64_t axis_off = 0;
    for (size_t i = 0; i < ins_.size(); ++i) {
      const TensorSpec& t = ins_[i];
      if (parts_[i].strided)
        run_strided(t, a.inputs[i], y + axis_off * ost[axis_], a.batch, parts_[i].table.data());
      axis_off += t.shape[axis_];
    }
    // Rows in parallel, each row's slices in turn: one parallel region per Concat and contiguous
    // writes, where a loop per input paid a parallel region for each of densenet's up to 48
    // thin (32-channel) inputs.
#pragma omp parallel for schedule(static) if (outer * total > 16384)
    for (int64_t r = 0; r < outer; ++r) {
      int64_t off = 0;
      for (size_t i = 0; i < parts_.size(); ++i) {
        const Part& p = parts_[i];
        const int64_t len = ins_[i].shape[axis_] * inner;
        if (!p.strided) {
          const auto* x = static_cast<const uint8_t*>(a.inputs[i]) + r * len;
          uint8_t* yp = y + r * total + off;
          if (p.copy)
            std::memcpy(yp, x, len);
          else
            requant(ins_[i].dtype, x, yp, len, p);
        }
        off += len;
      }
    }
  }

  // One input's part of a requantizing Concat.
  struct Part {
    bool copy = false;                 // same dtype and quantization as the output: bytes copied
    bool strided = false;              // another layout than the output's (run_strided)
    std::array<uint8_t, 256> table{};  // for the strided rows (one byte at a time)
    float m = 1.f, c = 0.f;            // y = x * m + c, the table's map, for contiguous rows
  };

  // A contiguous run of one input's bytes into the output's scale (vectorized; the same bytes as
  // the input's table).
  void requant(DType in, const uint8_t* x, uint8_t* y, int64_t n, const Part& p) const {
    const auto* xs = reinterpret_cast<const int8_t*>(x);
    auto* ys = reinterpret_cast<int8_t*>(y);
    const bool xu = in == DType::u8, yu = out_.dtype == DType::u8;
    if (xu && yu)
      requant_uniform(x, y, n, p.m, p.c);
    else if (xu)
      requant_uniform(x, ys, n, p.m, p.c);
    else if (yu)
      requant_uniform(xs, y, n, p.m, p.c);
    else
      requant_uniform(xs, ys, n, p.m, p.c);
  }

  std::vector<TensorSpec> ins_;
  std::vector<Part> parts_;
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
