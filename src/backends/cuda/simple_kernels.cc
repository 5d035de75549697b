// The CUDA backend's non-GEMM kernels: Reorder (quantize/dequantize/requantize, fp16<->fp32,
// NCHW<->NHWC), pooling, Relu/Clip/LeakyRelu, and the shape ops that only
// rename memory (Flatten, Reshape, Squeeze, Unsqueeze, Identity, Dropout: a device copy, skipped
// when the planner lets the output share the input's buffer).
#include <limits>

#include "backends/cuda/cuda_util.h"
#include "backends/cuda/kernels.h"
#include "ir/op_def.h"

namespace mpq::cuda {

namespace {

// Logical (N, C, H, W) of a spec at `batch`; rank != 4 is flattened into N.
void dims4(const TensorSpec& t, int64_t batch, int64_t d[4]) {
  const Shape s = t.shape_at(batch);
  if (s.size() == 4) {
    for (int i = 0; i < 4; ++i) d[i] = s[i];
  } else {
    d[0] = shape_numel(s), d[1] = d[2] = d[3] = 1;
  }
}

class ReorderKernel : public Kernel {
 public:
  void prepare(const KernelSetup& s) override {
    from_ = *s.inputs.at(0);
    to_ = *s.outputs.at(0);
    fd_ = elem_desc(from_);
    td_ = elem_desc(to_);
    if (from_.shape != to_.shape) internal_error("Reorder changes the shape").raise();
  }
  void run(const KernelArgs& a) const override {
    int64_t d[4];
    dims4(to_, a.batch, d);
    MPQ_CUDA_CHECK(
        convert(a.inputs[0], fd_, a.outputs[0], td_, d[0], d[1], d[2], d[3], stream_of(a)));
  }
  std::string impl_name() const override { return "cuda.convert"; }

 private:
  TensorSpec from_, to_;
  ElemDesc fd_, td_;
};

class PoolKernel : public Kernel {
 public:
  void prepare(const KernelSetup& s) override {
    const Node& n = *s.node;
    in_ = *s.inputs.at(0);
    out_ = *s.outputs.at(0);
    id_ = elem_desc(in_);
    od_ = elem_desc(out_);
    if (id_.nhwc != od_.nhwc) internal_error("pool input and output layouts differ").raise();
    p_.C = static_cast<int32_t>(in_.shape[1]);
    p_.H = static_cast<int32_t>(in_.shape[2]), p_.W = static_cast<int32_t>(in_.shape[3]);
    p_.OH = static_cast<int32_t>(out_.shape[2]), p_.OW = static_cast<int32_t>(out_.shape[3]);
    p_.max = n.op == OpKind::MaxPool;
    if (n.op == OpKind::GlobalAveragePool) {
      p_.KH = p_.H, p_.KW = p_.W;
      return;
    }
    const auto k = n.attrs.ints("kernel_shape");
    const auto st = n.attrs.ints("strides", {1, 1}), pads = n.attrs.ints("pads", {0, 0, 0, 0}),
               dil = n.attrs.ints("dilations", {1, 1});
    p_.KH = static_cast<int32_t>(k.at(0)), p_.KW = static_cast<int32_t>(k.at(1));
    p_.SH = static_cast<int32_t>(st.at(0)), p_.SW = static_cast<int32_t>(st.at(1));
    p_.PH = static_cast<int32_t>(pads.at(0)), p_.PW = static_cast<int32_t>(pads.at(1));
    p_.DH = static_cast<int32_t>(dil.at(0)), p_.DW = static_cast<int32_t>(dil.at(1));
    p_.count_include_pad = n.attrs.i("count_include_pad", 0) != 0;
  }
  void run(const KernelArgs& a) const override {
    PoolParams p = p_;
    p.N = static_cast<int32_t>(a.batch);
    MPQ_CUDA_CHECK(pool(a.inputs[0], id_, a.outputs[0], od_, p, stream_of(a)));
  }
  std::string impl_name() const override { return p_.max ? "cuda.maxpool" : "cuda.avgpool"; }

 private:
  TensorSpec in_, out_;
  ElemDesc id_, od_;
  PoolParams p_;
};

std::string pool_supports(const Node& n, Precision) {
  if (!n.inputs[0] || n.inputs[0]->shape.size() != 4) return "only 2-D pooling";
  if (n.op == OpKind::GlobalAveragePool) return "";
  if (!n.attrs.has("kernel_shape") || n.attrs.ints("kernel_shape").size() != 2)
    return "kernel_shape";
  if (n.attrs.has("auto_pad") && n.attrs.s("auto_pad") != "NOTSET" && n.attrs.s("auto_pad") != "")
    return "auto_pad " + n.attrs.s("auto_pad");
  if (n.outputs.size() > 1 && n.outputs[1]) return "MaxPool indices output";
  return "";
}

class UnaryKernel : public Kernel {
 public:
  void prepare(const KernelSetup& s) override {
    const Node& n = *s.node;
    in_ = *s.inputs.at(0);
    out_ = *s.outputs.at(0);
    id_ = elem_desc(in_);
    od_ = elem_desc(out_);
    if (in_.shape.size() == 4 && in_.layout != out_.layout)
      internal_error("layouts differ").raise();
    if (n.op == OpKind::Relu) {
      op_ = kOpRelu;
    } else if (n.op == OpKind::LeakyRelu) {
      op_ = kOpLeaky, a_ = n.attrs.f("alpha", 0.01f);
    } else if (n.op == OpKind::Clip) {
      op_ = kOpClip;
      a_ = n.attrs.f("min", std::numeric_limits<float>::lowest());
      b_ = n.attrs.f("max", std::numeric_limits<float>::max());
      if (s.inputs.size() > 1 && s.inputs[1]) a_ = s.inputs[1]->constant->to_floats().at(0);
      if (s.inputs.size() > 2 && s.inputs[2]) b_ = s.inputs[2]->constant->to_floats().at(0);
    }
  }
  void run(const KernelArgs& a) const override {
    MPQ_CUDA_CHECK(unary(a.inputs[0], id_, a.outputs[0], od_, shape_numel(out_.shape_at(a.batch)),
                         op_, a_, b_, stream_of(a)));
  }
  std::string impl_name() const override { return "cuda.eltwise"; }
  std::vector<std::pair<int, int>> inplace() const override {
    return dtype_size(in_.dtype) == dtype_size(out_.dtype)
               ? std::vector<std::pair<int, int>>{{0, 0}}
               : std::vector<std::pair<int, int>>{};
  }

 private:
  TensorSpec in_, out_;
  ElemDesc id_, od_;
  int op_ = 0;
  float a_ = 0.f, b_ = 0.f;
};

std::string unary_supports(const Node& n, Precision) {
  for (size_t i = 1; i < n.inputs.size(); ++i)
    if (n.inputs[i] && !n.inputs[i]->is_constant()) return "bounds that are not constants";
  return "";
}

// Ops that keep the bytes and only rename the shape.
class CopyKernel : public Kernel {
 public:
  void prepare(const KernelSetup& s) override {
    in_ = *s.inputs.at(0);
    out_ = *s.outputs.at(0);
    if (in_.dtype != out_.dtype) internal_error("copy between dtypes").raise();
  }
  void run(const KernelArgs& a) const override {
    if (a.inputs[0] == a.outputs[0]) return;
    MPQ_CUDA_CHECK(cudaMemcpyAsync(a.outputs[0], a.inputs[0], out_.bytes_at(a.batch),
                                   cudaMemcpyDeviceToDevice, stream_of(a)));
  }
  std::string impl_name() const override { return "cuda.copy"; }
  std::vector<std::pair<int, int>> inplace() const override { return {{0, 0}}; }

 private:
  TensorSpec in_, out_;
};

// Rank-4 NHWC with H = W = 1 has the plain layout's byte order too.
bool trivially_nhwc(const Value* v) {
  return v && v->shape.size() == 4 && v->shape[2] == 1 && v->shape[3] == 1;
}

std::string copy_supports(const Node& n, Precision) {
  if (!n.inputs[0] || n.inputs[0]->is_constant()) return "constant input";
  for (size_t i = 1; i < n.outputs.size(); ++i)
    if (n.outputs[i] && !n.outputs[i]->consumers.empty()) return "a second output is used";
  return "";
}

}  // namespace

void add_kernel(KernelRegistry& r, OpKind op, std::initializer_list<Precision> precisions,
                std::function<std::string(const Node&, Precision)> supports,
                std::function<KernelFormats(const Node&)> formats,
                std::function<std::unique_ptr<Kernel>()> make) {
  r.add_op("cuda", op, precisions, std::move(supports), std::move(formats), std::move(make));
}

KernelFormats any_layout(const Node&) {
  KernelFormats f;
  f.input_layouts = {Layout::kNHWC, Layout::kPlain};
  f.output_layout = Layout::kNHWC;
  f.output_follows_input = true;
  return f;
}

void register_simple_kernels(KernelRegistry& r) {
  const auto all = {Precision::kFp32, Precision::kFp16, Precision::kInt8};
  add_kernel(r, OpKind::Reorder, {Precision::kFp32}, nullptr, nullptr,
             [] { return std::make_unique<ReorderKernel>(); });
  for (OpKind op : {OpKind::MaxPool, OpKind::AveragePool, OpKind::GlobalAveragePool})
    add_kernel(r, op, all, pool_supports, any_layout,
               [] { return std::make_unique<PoolKernel>(); });
  for (OpKind op : {OpKind::Relu, OpKind::Clip, OpKind::LeakyRelu})
    add_kernel(r, op, all, unary_supports, any_layout,
               [] { return std::make_unique<UnaryKernel>(); });
  // Shape ops read plain memory; NHWC with H = W = 1 is the same bytes (a pooled feature map).
  auto plain = [](const Node& n) {
    KernelFormats f;
    f.input_layouts = {Layout::kPlain};
    if (trivially_nhwc(n.inputs.empty() ? nullptr : n.inputs[0]))
      f.input_layouts = {Layout::kPlain, Layout::kNHWC};
    f.output_layout = Layout::kPlain;
    return f;
  };
  for (OpKind op : {OpKind::Flatten, OpKind::Reshape, OpKind::Squeeze, OpKind::Unsqueeze,
                    OpKind::Identity, OpKind::Dropout})
    add_kernel(r, op, all, copy_supports, plain, [] { return std::make_unique<CopyKernel>(); });
}

}  // namespace mpq::cuda
