// Element-wise binary ops (oneDNN binary): Add, Sub, Mul, Div, Max, Min in fp32/bf16, and Add in
// int8 (residual connections that were not fused into a convolution):
//   y_q = (s0/sy) * a_q + (s1/sy) * b_q + (zy - (s0*z0 + s1*z1)/sy)
// with the input scales as oneDNN src scales and the constant through a linear post-op, so any
// zero points work. oneDNN broadcasts only its second input: when the first one is broadcast the
// operands are swapped, and Sub/Div undo the swap with a post-op (a - b = -(b - a),
// a / b = (b / a)^-1).
#include "backends/cpu/dnnl_util.h"
#include "backends/cpu/kernels.h"
#include "ir/op_def.h"

namespace mpq::cpu {

namespace {

using alg = dnnl::algorithm;

struct BinaryOp {
  OpKind op;
  alg algorithm;
  bool commutative;
};
const BinaryOp kOps[] = {{OpKind::Add, alg::binary_add, true},
                         {OpKind::Sub, alg::binary_sub, false},
                         {OpKind::Mul, alg::binary_mul, true},
                         {OpKind::Div, alg::binary_div, false}};

Shape pad_rank(const Shape& s, size_t rank) {
  Shape o(rank - s.size(), 1);
  o.insert(o.end(), s.begin(), s.end());
  return o;
}

class BinaryKernel : public PrimKernel {
 public:
  explicit BinaryKernel(const BinaryOp& op) : op_(op) {}

  void prepare(const KernelSetup& s) override {
    a_ = *s.inputs.at(0);
    b_ = *s.inputs.at(1);
    out_ = *s.outputs.at(0);
    const size_t rank = out_.shape.size();
    // oneDNN broadcasts src1 only: put the full-shape operand first.
    if (a_.shape.size() > rank || b_.shape.size() > rank)
      unsupported("binary input of higher rank than its output").node(s.node->name).raise();
    if (pad_rank(a_.shape, rank) != out_.shape) {
      if (pad_rank(b_.shape, rank) != out_.shape)
        unsupported("oneDNN binary broadcasts only the second input").node(s.node->name).raise();
      swapped_ = true;
      std::swap(a_, b_);
    }
    // An operand of lower rank has no batch dim.
    for (TensorSpec* t : {&a_, &b_}) {
      if (t->shape.size() < rank || t->is_constant()) t->batched = false;
      t->shape = pad_rank(t->shape, rank);
    }
    init(s.max_batch);
  }

  void run(const KernelArgs& a) const override {
    auto p = prim(a.batch);
    const void* pa = a.inputs[swapped_ ? 1 : 0];
    const void* pb = a.inputs[swapped_ ? 0 : 1];
    if (b_.is_constant()) pb = b_.constant->raw();
    if (a_.is_constant()) pa = a_.constant->raw();
    execute(*p, cpu_ctx(a),
            {{DNNL_ARG_SRC_0, mem(md_b(a_, a.batch), pa)},
             {DNNL_ARG_SRC_1, mem(md_b(b_, a.batch), pb)},
             {DNNL_ARG_DST, mem(md_of(out_, a.batch), a.outputs[0])}});
  }

  std::vector<std::pair<int, int>> inplace() const override {
    if (a_.dtype == out_.dtype && a_.layout == out_.layout && !a_.is_constant())
      return {{0, swapped_ ? 1 : 0}};
    return {};
  }

 protected:
  // Constants are f32 plain whatever the precision.
  static dnnl::memory::desc md_b(const TensorSpec& t, int64_t batch) {
    if (!t.is_constant()) return md_of(t, batch);
    Shape sh = t.shape;
    return dnnl::memory::desc(dims_of(sh), dnnl::memory::data_type::f32, plain_tag(sh.size()));
  }

  Prim create(int64_t batch) const override {
    return guarded(op_def(op_.op).name + " " + out_.str(), [&] {
      dnnl::primitive_attr attr = base_attr();
      if (swapped_ && !op_.commutative) {
        dnnl::post_ops po;
        if (op_.op == OpKind::Sub) po.append_eltwise(1.f, alg::eltwise_linear, -1.f, 0.f);
        if (op_.op == OpKind::Div) po.append_eltwise(1.f, alg::eltwise_pow, 1.f, -1.f);
        attr.set_post_ops(po);
      }
      if (is_int8(out_.dtype) || is_int8(a_.dtype) || is_int8(b_.dtype)) {
        const float sy = is_int8(out_.dtype) ? qscale(out_) : 1.f;
        const float zy = is_int8(out_.dtype) ? static_cast<float>(qzero(out_)) : 0.f;
        const float s0 = is_int8(a_.dtype) ? qscale(a_) : 1.f,
                    z0 = is_int8(a_.dtype) ? qzero(a_) : 0;
        const float s1 = is_int8(b_.dtype) ? qscale(b_) : 1.f,
                    z1 = is_int8(b_.dtype) ? qzero(b_) : 0;
        attr.set_scales(DNNL_ARG_SRC_0, 0, {s0 / sy});
        attr.set_scales(DNNL_ARG_SRC_1, 0, {s1 / sy});
        float shift = zy - (s0 * z0 + s1 * z1) / sy;
        if (shift != 0.f) {
          dnnl::post_ops po;
          po.append_eltwise(1.f, alg::eltwise_linear, 1.f, shift);
          attr.set_post_ops(po);
        }
      }
      dnnl::binary::desc d(op_.algorithm, md_b(a_, batch), md_b(b_, batch), md_of(out_, batch));
      dnnl::binary::primitive_desc pd(d, attr, engine());
      return make_prim<dnnl::binary::primitive_desc, dnnl::binary>(pd);
    });
  }

 private:
  BinaryOp op_;
  TensorSpec a_, b_, out_;
  bool swapped_ = false;
};

}  // namespace

// A rank-4 operand broadcast along the last dim ([..., 1, W] against [N, C, H, W]: a bias over
// the features of a channels-last model such as convnext) reads well only in the plain layout:
// in NHWC oneDNN 2.6 falls back to its reference binary (~100x slower). Per-channel operands
// ([N|1, C, 1, 1]) and same-shape ones prefer NHWC.
static KernelFormats binary_formats(const Node& n) {
  KernelFormats f = any_layout_formats();
  const Shape& o = n.outputs.at(0)->shape;
  if (o.size() != 4) return f;
  // A constant first operand (convnext's layer scale: gamma * x) gives the output no input layout
  // to follow: keep everything plain, so that source and destination agree.
  if (n.inputs[0] && n.inputs[0]->is_constant()) {
    f.input_layouts = {Layout::kPlain};
    f.output_layout = Layout::kPlain;
    f.output_follows_input = false;
    return f;
  }
  for (const Value* v : n.inputs) {
    if (!v) continue;
    const Shape s = pad_rank(v->shape, 4);
    if (s != o && s[1] == 1 && s[3] == o[3] && o[3] > 1) {
      f.input_layouts = {Layout::kPlain, Layout::kNHWC};
      f.output_layout = Layout::kPlain;
    }
  }
  return f;
}

void register_binary_kernels(KernelRegistry& r) {
  for (const BinaryOp& op : kOps) {
    auto supports = [](const Node& n, Precision) -> std::string {
      for (size_t i = 0; i < 2; ++i)
        if (!n.has_input(i) || !dtype_info(n.inputs[i]->dtype).is_float) return "non-float input";
      if (n.inputs[0]->is_constant() && n.inputs[1]->is_constant()) return "constant inputs";
      const Shape& o = n.outputs[0]->shape;
      if (o.size() > 6) return "rank above 6";
      if (n.inputs[0]->shape.size() > o.size() || n.inputs[1]->shape.size() > o.size())
        return "unsupported broadcast";
      Shape a = pad_rank(n.inputs[0]->shape, o.size()), b = pad_rank(n.inputs[1]->shape, o.size());
      if (a != o && b != o) return "neither input has the output's shape";
      return "";
    };
    auto formats = [](const Node& n) { return binary_formats(n); };
    auto make = [op] { return std::make_unique<BinaryKernel>(op); };
    if (op.op == OpKind::Add) {
      auto fmt = [](const Node& n) {
        KernelFormats f = binary_formats(n);
        f.any_output_dtype = true;
        return f;
      };
      add_kernel(r, op.op, {Precision::kFp32, Precision::kBf16, Precision::kInt8}, supports, fmt,
                 make);
    } else {
      add_kernel(r, op.op, {Precision::kFp32, Precision::kBf16}, supports, formats, make);
    }
  }
}

}  // namespace mpq::cpu
