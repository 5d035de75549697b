// Reductions and products on the device: ReduceMean (any axes, keepdims or not), Softmax and
// LogSoftmax along the last axis, LayerNormalization, and MatMul of activations (batched; a
// constant right-hand matrix is uploaded once). Float precisions (these ops are float-only in the
// quantization rules).
#include <algorithm>

#include "backends/cuda/kernels.h"
#include "backends/cuda/map_util.h"
#include "backends/cuda/norm.h"
#include "ir/op_def.h"

namespace mpq::cuda {

namespace {

std::vector<int64_t> reduce_axes(const Node& n, size_t rank) {
  std::vector<int64_t> axes;
  for (int64_t a : n.attrs.ints("axes", {})) axes.push_back(a < 0 ? a + int64_t(rank) : a);
  if (axes.empty())
    for (size_t d = 0; d < rank; ++d) axes.push_back(static_cast<int64_t>(d));
  return axes;
}

class ReduceMeanKernel : public Kernel {
 public:
  void prepare(const KernelSetup& s) override {
    in_ = *s.inputs.at(0), out_ = *s.outputs.at(0);
    const size_t rank = in_.shape.size();
    reduced_.assign(rank, false);
    for (int64_t a : reduce_axes(*s.node, rank)) reduced_.at(a) = true;
    keepdims_ = s.node->attrs.i("keepdims", 1) != 0;
  }
  void run(const KernelArgs& a) const override {
    const ReduceParams p = reduce_mean_params(in_, out_, reduced_, keepdims_, a.batch);
    MPQ_CUDA_CHECK(reduce_mean(a.inputs[0], a.outputs[0], p, stream_of(a)));
  }
  std::string impl_name() const override { return "cuda.reduce_mean"; }

 private:
  TensorSpec in_, out_;
  std::vector<bool> reduced_;
  bool keepdims_ = true;
};

class SoftmaxKernel : public Kernel {
 public:
  void prepare(const KernelSetup& s) override {
    in_ = *s.inputs.at(0), out_ = *s.outputs.at(0);
    log_space_ = s.node->op == OpKind::LogSoftmax;
    if (in_.shape.size() == 4 && in_.layout != Layout::kPlain)
      internal_error("softmax input is not plain").raise();
  }
  void run(const KernelArgs& a) const override {
    const Shape s = in_.shape_at(a.batch);
    const int64_t cols = s.back();
    const int64_t rows = cols ? shape_numel(s) / cols : 0;
    MPQ_CUDA_CHECK(softmax_rows(a.inputs[0], elem_desc(in_), a.outputs[0], elem_desc(out_), rows,
                                cols, log_space_, stream_of(a)));
  }
  std::string impl_name() const override { return "cuda.softmax"; }

 private:
  TensorSpec in_, out_;
  bool log_space_ = false;
};

// LayerNormalization over the dims from `axis` on (rows of a plain tensor); scale and bias are
// constants uploaded as f32.
class LayerNormKernel : public Kernel {
 public:
  void prepare(const KernelSetup& s) override {
    in_ = *s.inputs.at(0), out_ = *s.outputs.at(0);
    const Node& n = *s.node;
    const int64_t rank = static_cast<int64_t>(in_.shape.size());
    axis_ = n.attrs.i("axis", -1);
    if (axis_ < 0) axis_ += rank;
    eps_ = n.attrs.f("epsilon", 1e-5f);
    int64_t cols = 1;
    for (int64_t d = axis_; d < rank; ++d) cols *= in_.shape[d];
    auto upload = [cols](const Tensor& t, DeviceConstant& c) {
      if (t.numel() != cols && t.numel() != 1)
        unsupported(str("scale/bias of ", t.numel(), " values for rows of ", cols)).raise();
      Tensor full = t.numel() == cols
                        ? t
                        : Tensor::from<float>({cols}, std::vector<float>(cols, t.to_floats()[0]));
      c.upload(full);
    };
    upload(*s.inputs.at(1)->constant, gamma_);
    if (s.inputs.size() > 2 && s.inputs[2]) upload(*s.inputs[2]->constant, beta_);
  }
  void run(const KernelArgs& a) const override {
    const Shape s = in_.shape_at(a.batch);
    int64_t cols = 1;
    for (size_t d = axis_; d < s.size(); ++d) cols *= s[d];
    const int64_t rows = cols ? shape_numel(s) / cols : 0;
    MPQ_CUDA_CHECK(layer_norm_rows(a.inputs[0], elem_desc(in_), a.outputs[0], elem_desc(out_), rows,
                                   cols, static_cast<const float*>(gamma_.buf.get()),
                                   static_cast<const float*>(beta_.buf.get()), eps_, stream_of(a)));
  }
  std::string impl_name() const override { return "cuda.layer_norm"; }

 private:
  TensorSpec in_, out_;
  int64_t axis_ = -1;
  float eps_ = 1e-5f;
  DeviceConstant gamma_, beta_;
};

std::string layernorm_supports(const Node& n, Precision) {
  for (size_t i = 1; i < n.outputs.size(); ++i)
    if (n.outputs[i] && !n.outputs[i]->consumers.empty()) return "the Mean/InvStdDev outputs";
  if (!n.has_input(0) || !n.has_input(1)) return "missing inputs";
  for (size_t i = 1; i < n.inputs.size(); ++i)
    if (n.inputs[i] && !n.inputs[i]->is_constant()) return "scale or bias is not a constant";
  const int64_t rank = static_cast<int64_t>(n.inputs[0]->shape.size());
  int64_t axis = n.attrs.i("axis", -1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return "axis outside the rank";
  const int b = n.inputs[0]->batch_axis();
  if (b >= axis) return "the batch is among the normalized dims";
  return "";
}

// [..., M, K] x [..., K, N]: equal batch dims, or a right-hand matrix of rank 2 shared by all.
class MatMulKernel : public Kernel {
 public:
  void prepare(const KernelSetup& s) override {
    a_ = *s.inputs.at(0), b_ = *s.inputs.at(1), y_ = *s.outputs.at(0);
    if (a_.dtype != y_.dtype || (!b_.is_constant() && b_.dtype != y_.dtype))
      internal_error("MatMul operands of different dtypes").raise();
    if (b_.is_constant()) {
      // Uploaded in the activations' float type.
      const Tensor w = b_.constant->cast(y_.dtype == DType::f16 ? DType::f16 : DType::f32);
      wb_ = DeviceBuffer(w.raw(), w.nbytes());
    }
  }
  void run(const KernelArgs& a) const override {
    const Shape as = a_.shape_at(a.batch), ys = y_.shape_at(a.batch);
    const Shape bs = b_.is_constant() ? b_.shape : b_.shape_at(a.batch);
    BmmParams p;
    p.m = static_cast<int32_t>(as[as.size() - 2]);
    p.k = static_cast<int32_t>(as.back());
    p.n = static_cast<int32_t>(bs.back());
    // A shared right-hand matrix: all rows of A form one product.
    if (bs.size() == 2) p.m = static_cast<int32_t>(shape_numel(as) / std::max<int64_t>(p.k, 1));
    const int64_t batches = shape_numel(ys) / std::max<int64_t>(int64_t{p.m} * p.n, 1);
    p.sa = int64_t{p.m} * p.k;
    p.sb = bs.size() == 2 ? 0 : int64_t{p.k} * p.n;
    p.sc = int64_t{p.m} * p.n;
    p.dt = y_.dtype == DType::f16 ? kDtF16 : kDtF32;
    const void* b = b_.is_constant() ? wb_.get() : a.inputs[1];
    // The grid's z dimension holds at most 65535 products per launch.
    for (int64_t b0 = 0; b0 < batches; b0 += 65535) {
      BmmParams q = p;
      q.batch = static_cast<int32_t>(std::min<int64_t>(65535, batches - b0));
      const size_t es = dtype_size(y_.dtype);
      MPQ_CUDA_CHECK(batched_matmul(static_cast<const char*>(a.inputs[0]) + b0 * p.sa * es,
                                    static_cast<const char*>(b) + b0 * p.sb * es,
                                    static_cast<char*>(a.outputs[0]) + b0 * p.sc * es, q,
                                    stream_of(a)));
    }
  }
  std::string impl_name() const override { return "cuda.bmm"; }

 private:
  TensorSpec a_, b_, y_;
  DeviceBuffer wb_;
};

std::string reduce_supports(const Node& n, Precision) {
  if (!n.has_input(0) || n.inputs[0]->is_constant()) return "constant input";
  if (n.inputs.size() > 1) return "axes as an input";
  const size_t rank = n.inputs[0]->shape.size();
  if (rank > static_cast<size_t>(kMapMaxRank)) return str("rank above ", kMapMaxRank);
  for (int64_t a : reduce_axes(n, rank))
    if (a == n.inputs[0]->batch_axis()) return "reduces the batch dim";
  return "";
}

std::string softmax_supports(const Node& n, Precision) {
  if (!n.has_input(0) || n.inputs[0]->shape.empty()) return "scalar input";
  const int64_t rank = static_cast<int64_t>(n.inputs[0]->shape.size());
  const int64_t axis = n.attrs.i("axis", -1);
  if (axis != -1 && axis != rank - 1) return "softmax along an axis other than the last";
  if (n.inputs[0]->batch_axis() == rank - 1) return "softmax along the batch";
  return "";
}

std::string matmul_supports(const Node& n, Precision) {
  if (n.inputs.size() != 2 || !n.inputs[0] || !n.inputs[1]) return "needs two inputs";
  const Shape& a = n.inputs[0]->shape;
  const Shape& b = n.inputs[1]->shape;
  if (a.size() < 2 || b.size() < 2) return "operands of rank < 2";
  if (n.inputs[0]->is_constant()) return "constant left-hand operand";
  if (b.size() == 2) return "";
  if (a.size() != b.size()) return "batch dims that broadcast";
  for (size_t d = 0; d + 2 < a.size(); ++d)
    if (a[d] != b[d]) return "batch dims that broadcast";
  return "";
}

KernelFormats plain(const Node&) {
  KernelFormats f;
  f.input_layouts = {Layout::kPlain};
  f.output_layout = Layout::kPlain;
  return f;
}

KernelFormats follow(const Node& n) {
  KernelFormats f;
  f.input_layouts = {Layout::kNHWC, Layout::kPlain};
  f.output_layout = Layout::kPlain;
  f.output_follows_input = n.attrs.i("keepdims", 1) != 0;
  return f;
}

}  // namespace

void register_math_kernels(KernelRegistry& r) {
  const auto fl = {Precision::kFp32, Precision::kFp16};
  add_kernel(r, OpKind::ReduceMean, fl, reduce_supports, follow,
             [] { return std::make_unique<ReduceMeanKernel>(); });
  add_kernel(r, OpKind::LayerNormalization, fl, layernorm_supports, plain,
             [] { return std::make_unique<LayerNormKernel>(); });
  for (OpKind op : {OpKind::Softmax, OpKind::LogSoftmax})
    add_kernel(r, op, fl, softmax_supports, plain,
               [] { return std::make_unique<SoftmaxKernel>(); });
  // A second MatMul kernel of the backend ("cuda.MatMul.bmm.<precision>"), found after the GEMM
  // kernel (register_conv_kernels) declines a node: MatMul by 2-D constant weights runs there.
  for (Precision p : fl) {
    KernelInfo k;
    k.backend = "cuda";
    k.op = OpKind::MatMul;
    k.precision = p;
    k.name = str("cuda.MatMul.bmm.", precision_name(p));
    k.supports = [p](const Node& n) { return matmul_supports(n, p); };
    k.formats = plain;
    k.make = [] { return std::make_unique<MatMulKernel>(); };
    r.add(std::move(k));
  }
}

}  // namespace mpq::cuda
