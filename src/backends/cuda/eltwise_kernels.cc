// Element-wise ops on the strided map kernel: float activations (Sigmoid, Tanh, Exp, Sqrt,
// HardSigmoid, HardSwish), broadcasting arithmetic (Add, Sub, Mul, Div, Pow; constants as
// operands, any layout per operand, int8 through each tensor's quantization) and inference
// BatchNormalization (one fused multiply-add per element with per-channel constants).
#include <cmath>

#include "backends/cuda/kernels.h"
#include "backends/cuda/map_util.h"
#include "ir/op_def.h"

namespace mpq::cuda {

namespace {

MapOp map_op_of(OpKind op) {
  switch (op) {
    case OpKind::Sigmoid:
      return kMapSigmoid;
    case OpKind::Tanh:
      return kMapTanh;
    case OpKind::Exp:
      return kMapExp;
    case OpKind::Sqrt:
      return kMapSqrt;
    case OpKind::HardSigmoid:
      return kMapHardSigmoid;
    case OpKind::HardSwish:
      return kMapHardSwish;
    case OpKind::Erf:
      return kMapErf;
    case OpKind::Silu:
      return kMapSilu;
    case OpKind::Gelu:
      return kMapGelu;
    case OpKind::Expand:  // a copy with its input broadcast to the output's shape
      return kMapCopy;
    case OpKind::Add:
      return kMapAdd;
    case OpKind::Sub:
      return kMapSub;
    case OpKind::Mul:
      return kMapMul;
    case OpKind::Div:
      return kMapDiv;
    case OpKind::Pow:
      return kMapPow;
    case OpKind::BatchNormalization:
      return kMapFma;
    default:
      internal_error(str("no CUDA map function for ", op_def(op).name)).raise();
  }
  return kMapCopy;
}

// One operand of the map: an activation (spec) or a constant uploaded at prepare.
struct Operand {
  TensorSpec spec;
  DeviceConstant constant;
  bool is_constant = false;
  int input = -1;  // the step input it reads
};

class EltwiseKernel : public Kernel, public MapLauncher {
 public:
  void prepare(const KernelSetup& s) override {
    const Node& n = *s.node;
    op_ = map_op_of(n.op);
    out_ = *s.outputs.at(0);
    if (n.op == OpKind::HardSigmoid) a_ = n.attrs.f("alpha", 0.2f), b_ = n.attrs.f("beta", 0.5f);
    if (n.op == OpKind::BatchNormalization) {
      prepare_batchnorm(n, s);
      return;
    }
    // Expand's input 1 is the target shape (the output's), input 2 a batch reference.
    const size_t operands = n.op == OpKind::Expand ? 1 : s.inputs.size();
    for (size_t i = 0; i < operands; ++i) add_operand(*s.inputs[i], static_cast<int>(i));
  }

  void run(const KernelArgs& a) const override { run_launches(launches(a.batch), a); }

  std::vector<MapLaunch> launches(int64_t batch) const override {
    const Shape dims = out_.shape_at(batch);
    MapLaunch l;
    MapParams& p = l.p;
    set_space(p, dims);
    p.op = op_, p.a = a_, p.b = b_;
    p.nin = static_cast<int32_t>(ops_.size());
    for (size_t i = 0; i < ops_.size(); ++i) {
      const Operand& o = ops_[i];
      if (o.is_constant) {
        p.in[i] = broadcast_operand(f32_desc(), o.constant.shape,
                                    logical_strides(o.spec, o.constant.shape), dims);
        l.constant[i] = o.constant.buf.get();
      } else {
        const Shape sh = o.spec.shape_at(batch);
        p.in[i] = broadcast_operand(elem_desc(o.spec), sh, logical_strides(o.spec, sh), dims);
        l.input[i] = o.input;
      }
    }
    p.out = broadcast_operand(elem_desc(out_), dims, logical_strides(out_, dims), dims);
    compact(p);
    return {l};
  }
  std::string impl_name() const override { return "cuda.map"; }

 private:
  void add_operand(const TensorSpec& t, int input) {
    if (ops_.size() == static_cast<size_t>(kMapMaxIn))
      internal_error("too many operands for the CUDA map kernel").raise();
    Operand o;
    o.spec = t;
    o.spec.layout = t.is_constant() ? Layout::kPlain : t.layout;
    o.is_constant = t.is_constant();
    o.input = input;
    if (o.is_constant) o.constant.upload(*t.constant);
    ops_.push_back(std::move(o));
  }

  // y = x * s[c] + t[c] with s = scale / sqrt(var + eps), t = bias - mean * s, along dim 1.
  void prepare_batchnorm(const Node& n, const KernelSetup& s) {
    const float eps = n.attrs.f("epsilon", 1e-5f);
    const std::vector<float> sc = s.inputs.at(1)->constant->to_floats(),
                             b = s.inputs.at(2)->constant->to_floats(),
                             mean = s.inputs.at(3)->constant->to_floats(),
                             var = s.inputs.at(4)->constant->to_floats();
    const int64_t C = static_cast<int64_t>(sc.size());
    Tensor mul(DType::f32, {C}), add(DType::f32, {C});
    for (int64_t c = 0; c < C; ++c) {
      const float k = sc[c] / std::sqrt(var[c] + eps);
      mul.data<float>()[c] = k;
      add.data<float>()[c] = b[c] - mean[c] * k;
    }
    Shape cs(s.inputs[0]->shape.size(), 1);
    cs[1] = C;
    add_operand(*s.inputs[0], 0);
    for (const Tensor* t : {&mul, &add}) {
      TensorSpec c;
      c.constant = t->reshaped(cs);
      c.shape = cs;
      add_operand(c, -1);
    }
  }

  MapOp op_ = kMapCopy;
  float a_ = 0.f, b_ = 0.f;
  TensorSpec out_;
  std::vector<Operand> ops_;
};

std::string eltwise_supports(const Node& n, Precision) {
  if (n.outputs.empty() || n.outputs[0]->shape.size() > static_cast<size_t>(kMapMaxRank))
    return str("rank above ", kMapMaxRank);
  for (const Value* v : n.inputs)
    if (!v) return "an omitted input";
  return "";
}

std::string expand_supports(const Node& n, Precision p) {
  // Input 2 (mpq's canonical form) only names a value that carries the run-time batch.
  if (n.inputs.size() < 2 || !n.inputs[1] || !n.inputs[1]->is_constant())
    return "the target shape is not a constant";
  if (n.outputs.empty() || n.outputs[0]->shape.size() > static_cast<size_t>(kMapMaxRank))
    return str("rank above ", kMapMaxRank);
  return "";
}

std::string batchnorm_supports(const Node& n, Precision p) {
  if (n.inputs.size() != 5) return "needs scale, bias, mean and variance";
  for (size_t i = 1; i < 5; ++i)
    if (!n.inputs[i]->is_constant()) return "statistics that are not constants";
  if (n.inputs[0]->shape.size() < 2) return "input of rank < 2";
  for (size_t i = 1; i < n.outputs.size(); ++i)
    if (n.outputs[i] && !n.outputs[i]->consumers.empty()) return "training outputs are used";
  return eltwise_supports(n, p);
}

}  // namespace

void register_eltwise_kernels(KernelRegistry& r) {
  const auto fl = {Precision::kFp32, Precision::kFp16};
  auto make = [] { return std::make_unique<EltwiseKernel>(); };
  for (OpKind op :
       {OpKind::Sigmoid, OpKind::Tanh, OpKind::Exp, OpKind::Sqrt, OpKind::HardSigmoid,
        OpKind::HardSwish, OpKind::Erf, OpKind::Silu, OpKind::Gelu, OpKind::Div, OpKind::Pow})
    add_kernel(r, op, fl, eltwise_supports, any_layout, make);
  // Add, Sub and Mul requantize (int8 in and out through each tensor's scale).
  auto requant = [](const Node& n) {
    KernelFormats f = any_layout(n);
    f.any_output_dtype = true;
    return f;
  };
  for (OpKind op : {OpKind::Add, OpKind::Sub, OpKind::Mul})
    add_kernel(r, op, {Precision::kFp32, Precision::kFp16, Precision::kInt8}, eltwise_supports,
               requant, make);
  // int8 in and out (each through its tensor's scale), as on the CPU: densenet's BN after every
  // Concat, which no conv absorbs, then keeps the dense block int8 instead of two precision
  // boundaries around each BN.
  add_kernel(r, OpKind::BatchNormalization, {Precision::kFp32, Precision::kFp16, Precision::kInt8},
             batchnorm_supports, requant, make);
  add_kernel(r, OpKind::Expand, {Precision::kFp32, Precision::kFp16, Precision::kInt8},
             expand_supports, any_layout, make);
}

}  // namespace mpq::cuda
