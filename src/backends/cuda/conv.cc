// Conv / FusedConv / Gemm / FusedGemm / MatMul on the CUDA backend: one fused implicit-GEMM
// launch per layer (im2col, scale and bias, activations, residual sum and requantization in the
// kernel's epilogue), or for int8 layers with a tiny K a direct dp4a kernel. Weights are packed
// once at prepare ([group][OC][kh][kw][c], int8 per output channel, fp16 or fp32); among the
// compiled tile configurations the fastest for this layer at the maximum batch is chosen by timing
// them (MPQ_DEBUG=cuda-tile=<name> forces one).
#include <algorithm>
#include <cstdlib>

#include "backends/cuda/conv_weights.h"
#include "backends/cuda/cuda_util.h"
#include "backends/cuda/kernels.h"
#include "core/debug_options.h"
#include "ir/op_def.h"
#include "ir/post_op.h"

namespace mpq::cuda {

namespace {

// The epilogue's device op code of each post-op kind (epilogue.cuh).
struct CudaPostOp {
  OpKind op;
  int32_t code;
  bool bounds;  // parameters are values (Clip): they scale with the output units
};
const CudaPostOp kPostOps[] = {
    {OpKind::Relu, kOpRelu, false},
    {OpKind::Clip, kOpClip, true},
    {OpKind::LeakyRelu, kOpLeaky, false},
    {OpKind::Add, kOpAdd, false},
    {OpKind::Sigmoid, kOpSigmoid, false},
    {OpKind::Tanh, kOpTanh, false},
    {OpKind::HardSigmoid, kOpHardSigmoid, false},
    {OpKind::HardSwish, kOpHardSwish, false},
    {OpKind::Silu, kOpSilu, false},
    {OpKind::Gelu, kOpGelu, false},
};

const CudaPostOp* find_post_op(OpKind k) {
  for (const CudaPostOp& c : kPostOps)
    if (c.op == k) return &c;
  return nullptr;
}

class ConvKernel : public Kernel, public WorkspaceUser {
 public:
  void prepare(const KernelSetup& s) override {
    const Node& n = *s.node;
    const TensorSpec& x = *s.inputs.at(0);
    const TensorSpec& w = *s.inputs.at(1);
    const TensorSpec& y = *s.outputs.at(0);
    const ConvGeometry g = conv_geometry(n, x, w, y);
    const bool q = s.precision == Precision::kInt8;
    choose_kind(s, x, g);
    batched_ = x.batched;
    set_conv_shapes(p_, g, g.conv ? x.shape[0] : batched_ ? s.max_batch : 1, kind_);
    vec_ = conv_load_mode(kind_, p_.Cg);

    const std::vector<float> rows = weight_rows(w, p_, g);
    const std::vector<float> bias = conv_bias(s, p_, g);
    const ElemDesc yd = elem_desc(y);
    // int8: the output scale s_y is folded into alpha, as the CPU engine does (Epilogue::int_acc).
    const float s_y = q && is_q(y.dtype) ? yd.scale : 1.f;
    if (q)
      upload_int8_weights(rows, bias, x, w, g, s_y);
    else
      upload_float_weights(rows, bias);
    if (vec_ == 0) {  // element gathers read their (kh, kw, c) from a table
      const std::vector<int32_t> tab = gather_table(p_);
      ktab_ = DeviceBuffer(tab.data(), tab.size() * sizeof(int32_t));
      p_.ktab = static_cast<const int32_t*>(ktab_.get());
    }
    p_.w = w_.get();
    p_.wdw = wdw_.get();

    set_post_ops(s, q, s_y);
    if (g.conv && y.layout != Layout::kNHWC)
      unsupported("conv output must be NHWC: " + y.str()).raise();
    p_.ep.out_dt = yd.dt, p_.ep.out_scale = yd.scale, p_.ep.out_zp = yd.zp;
    set_fast_epilogue(p_.ep);

    choose_config(s, x, y);
  }

  void run(const KernelArgs& a) const override {
    ConvParams p = p_;
    p.N = static_cast<int32_t>(batched_ ? a.batch : 1);
    p.M = p.N * p.OH * p.OW;
    p.x = a.inputs[0];
    p.y = a.outputs[0];
    if (has_res_) p.ep.res = a.inputs[3];
    CudaContext& ctx = cuda_ctx(a);
    if (p.ksplit > 1)
      p.partial = static_cast<float*>(
          ctx.workspace(static_cast<size_t>(p.ksplit) * p.M * p.OC * sizeof(float)));
    MPQ_CUDA_CHECK(conv_launch(cfg_, p, ctx.stream()));
  }

  // "<tile configuration>/<splits>/<k-tiles per split>/sm<XY>": a loaded engine file runs the
  // same launch without timing the candidates again (and so gives the same bits: split-K changes
  // the order of float sums), on the architecture the choice was timed on.
  std::string variant() const override {
    return str(conv_configs().at(cfg_).name, "/", p_.ksplit, "/", p_.kt_per_split, "/sm",
               device_sm());
  }

  size_t workspace_bytes() const override {
    return p_.ksplit > 1 ? static_cast<size_t>(p_.ksplit) * max_m_ * p_.OC * sizeof(float) : 0;
  }

  std::string build_note() const override {
    const bool int8 = kind_ == kConvS8 || kind_ == kConvU8;
    return int8 && !depthwise_layer(p_) ? wgmma_fallback_note(device_sm(), wgmma_compiled()) : "";
  }

  std::string impl_name() const override {
    static const char* kinds[] = {"s8", "u8", "f16", "f32"};
    const ConvConfig& c = conv_configs().at(cfg_);
    if (c.depthwise)
      return str("cuda.depthwise_", c.dw_kw ? "row_" : "", kinds[kind_], "_", p_.KH, "x", p_.KW);
    if (c.direct_k)
      return str("cuda.direct_", kinds[kind_], "_", p_.KH, "x", p_.KW, " [", c.name, "]");
    return str("cuda.igemm_", kinds[kind_], "_", p_.KH, "x", p_.KW,
               kind_ == kConvF32 ? "_simt" : "_tc", p_.groups > 1 ? "_grouped" : "", " [", c.name,
               p_.ksplit > 1 ? str("_splitk", p_.ksplit) : "", "]");
  }

 private:
  // Times every candidate (tile configuration, split-K) pair on scratch buffers at the maximum
  // batch and keeps the fastest. Split-K is tried where the tiles alone give few CTAs.
  // The kernel kind (kConvS8 ...) of the layer's precision; its input must already be in it.
  void choose_kind(const KernelSetup& s, const TensorSpec& x, const ConvGeometry& g) {
    const bool q = s.precision == Precision::kInt8;
    kind_ = q                                 ? (x.dtype == DType::u8 ? kConvU8 : kConvS8)
            : s.precision == Precision::kFp16 ? kConvF16
                                              : kConvF32;
    const DType want_x = q ? x.dtype : kind_ == kConvF16 ? DType::f16 : DType::f32;
    if (x.dtype != want_x || (q && !is_q(x.dtype)))
      unsupported(str("input ", x.str(), " does not match ", precision_name(s.precision))).raise();
    if (g.conv && x.layout != Layout::kNHWC)
      unsupported("conv input must be NHWC: " + x.str()).raise();
  }

  void upload_int8_weights(const std::vector<float>& rows, const std::vector<float>& bias,
                           const TensorSpec& x, const TensorSpec& w, const ConvGeometry& g,
                           float s_y) {
    const ElemDesc xd = elem_desc(x);
    p_.x_fill = xd.zp;
    const QuantizedWeights qw = quantize_weights(rows, w, p_, g);
    const Int8Epilogue e = int8_epilogue(qw, bias, xd, s_y);
    w_ = DeviceBuffer(qw.packed.data(), qw.packed.size());
    if (depthwise_layer(p_)) {
      const std::vector<int8_t> t = depthwise_taps(qw.packed, p_);
      wdw_ = DeviceBuffer(t.data(), t.size());
    }
    zcomp_ = DeviceBuffer(e.zcomp.data(), e.zcomp.size() * sizeof(int32_t));
    p_.ep.int_acc = 1;
    p_.ep.zcomp = static_cast<const int32_t*>(zcomp_.get());
    upload_scales(e.alpha, e.beta);
  }

  void upload_float_weights(const std::vector<float>& rows, const std::vector<float>& bias) {
    const std::vector<float> packed = pack_weights(rows, p_);
    Tensor t = Tensor::from<float>({static_cast<int64_t>(packed.size())}, packed);
    if (kind_ == kConvF16) t = t.cast(DType::f16);
    w_ = DeviceBuffer(t.raw(), t.nbytes());
    if (depthwise_layer(p_)) {
      const std::vector<float> taps = depthwise_taps(packed, p_);
      Tensor d = Tensor::from<float>({static_cast<int64_t>(taps.size())}, taps);
      if (kind_ == kConvF16) d = d.cast(DType::f16);
      wdw_ = DeviceBuffer(d.raw(), d.nbytes());
    }
    upload_scales(std::vector<float>(p_.OC, 1.f), bias);
  }

  // The epilogue's per-channel v = alpha * acc + beta.
  void upload_scales(const std::vector<float>& alpha, const std::vector<float>& beta) {
    alpha_ = DeviceBuffer(alpha.data(), alpha.size() * sizeof(float));
    beta_ = DeviceBuffer(beta.data(), beta.size() * sizeof(float));
    p_.ep.alpha = static_cast<const float*>(alpha_.get());
    p_.ep.beta = static_cast<const float*>(beta_.get());
  }

  // The fused post-op chain, its values in output units (CPU: make_post_ops), and the residual.
  void set_post_ops(const KernelSetup& s, bool q, float s_y) {
    const Node& n = *s.node;
    Epilogue& ep = p_.ep;
    const std::vector<PostOp> ops = post_ops(n);
    if (ops.size() > static_cast<size_t>(kMaxPostOps))
      unsupported("too many fused post-ops").raise();
    ep.nops = static_cast<int32_t>(ops.size());
    for (size_t i = 0; i < ops.size(); ++i) {
      const CudaPostOp* c = find_post_op(ops[i].kind);
      if (!c) unsupported("post-op " + op_def(ops[i].kind).name).node(n.name).raise();
      ep.ops[i] = c->code;
      ep.op_a[i] = ops[i].a, ep.op_b[i] = ops[i].b;
      // Bounds scale with the output units, the other non-linear ops see real values.
      if (c->bounds) ep.op_a[i] = ops[i].a / s_y, ep.op_b[i] = ops[i].b / s_y;
      if (c->code >= kOpSigmoid) ep.op_s[i] = s_y, ep.op_rs[i] = 1.f / s_y;
      if (ep.ops[i] == kOpAdd) set_residual(s, q, s_y);
    }
  }

  void set_residual(const KernelSetup& s, bool q, float s_y) {
    const TensorSpec& y = *s.outputs.at(0);
    if (s.inputs.size() < 4 || !s.inputs[3]) invalid_input("fused Add without a residual").raise();
    const TensorSpec& r = *s.inputs[3];
    if (r.shape != y.shape || (r.shape.size() == 4 && r.layout != y.layout))
      unsupported(str("residual ", r.str(), " does not match the output ", y.str())).raise();
    const ElemDesc rd = elem_desc(r);
    p_.ep.res_dt = rd.dt, p_.ep.res_scale = rd.scale, p_.ep.res_zp = rd.zp;
    if (q && is_q(r.dtype)) p_.ep.res_scale = rd.scale / s_y;  // CPU: the sum post-op's scale
    has_res_ = true;
  }

  void choose_config(const KernelSetup& s, const TensorSpec& x, const TensorSpec& y) {
    const DebugOptions debug = debug_options();
    // int8 layers with a tiny K (first convolutions) also try the direct kernels
    // (MPQ_DEBUG=cuda-no-direct: implicit GEMM only, for comparisons).
    const bool q = (kind_ == kConvS8 || kind_ == kConvU8) && !debug.cuda_no_direct;
    // Depthwise layers also time the dedicated kernels (MPQ_DEBUG=cuda-no-depthwise leaves them
    // out; cuda-no-depthwise-row only those built for one window).
    const bool row = !debug.cuda_no_depthwise_row;
    const DepthwiseWindow win{row ? p_.KW : 0, p_.SW, p_.DW};
    const DepthwiseWindow* dw = depthwise_layer(p_) && !debug.cuda_no_depthwise ? &win : nullptr;
    // The layer's geometry lets int8 layers on sm_90 also time the Hopper kernels.
    std::vector<int> cands = q ? conv_candidates(kind_, vec_, p_.K, p_.groups, p_.OC, dw, &p_)
                               : conv_candidates(kind_, vec_, 0, 1, 0, dw, &p_);
    if (cands.empty()) internal_error("no CUDA conv configuration compiled for this kind").raise();
    for (int c : cands) MPQ_CUDA_CHECK(conv_prepare(c));
    if (!debug.cuda_tile.empty()) {
      auto it = std::find_if(cands.begin(), cands.end(),
                             [&](int c) { return conv_configs()[c].name == debug.cuda_tile; });
      if (it != cands.end()) cands = std::vector<int>{*it};
    }
    max_m_ = static_cast<int64_t>(p_.N) * p_.OH * p_.OW;
    const int kt_total = p_.Kpad / conv_k_multiple(kind_);  // the multiple is one k-tile
    if (!s.variant.empty() && use_variant(s.variant, cands, kt_total)) return;
    struct Choice {
      int cfg, split, per;
    };
    std::vector<Choice> choices;
    const bool no_split = debug.cuda_no_splitk;
    for (int c : cands) {
      const ConvConfig& cc = conv_configs()[c];
      const int64_t ctas = ceil_div(max_m_, cc.bm) * ceil_div(p_.OCg, cc.bn) * p_.groups;
      choices.push_back({c, 1, 0});
      if (no_split || cc.direct_k || cc.depthwise || ctas >= 264) continue;
      for (int split : {2, 4, 8, 16}) {
        if (kt_total < 2 * split || ctas * split > 4 * 264) continue;
        const int per = static_cast<int>(ceil_div(kt_total, split));
        choices.push_back({c, static_cast<int>(ceil_div(kt_total, per)), per});
      }
    }
    if (debug.cuda_splitk > 0) {  // tests: force a split where possible
      std::vector<Choice> keep;
      for (const Choice& ch : choices)
        if (ch.split == debug.cuda_splitk) keep.push_back(ch);
      if (!keep.empty()) choices = keep;
    }
    cfg_ = choices[0].cfg;
    p_.ksplit = choices[0].split;
    p_.kt_per_split = choices[0].per;
    if (choices.size() == 1) return;
    DeviceBuffer xb(x.bytes_at(s.max_batch)), yb(y.bytes_at(s.max_batch)), rb, ws;
    MPQ_CUDA_CHECK(cudaMemset(xb.get(), 0x3c, xb.bytes()));
    ConvParams p = p_;
    p.N = static_cast<int32_t>(batched_ ? s.max_batch : 1);
    p.M = p.N * p.OH * p.OW;
    p.x = xb.get(), p.y = yb.get();
    if (has_res_) {
      rb = DeviceBuffer(s.inputs[3]->bytes_at(s.max_batch));
      MPQ_CUDA_CHECK(cudaMemset(rb.get(), 0x3c, rb.bytes()));
      p.ep.res = rb.get();
    }
    int max_split = 1;
    for (const Choice& ch : choices) max_split = std::max(max_split, ch.split);
    if (max_split > 1)
      ws = DeviceBuffer(static_cast<size_t>(max_split) * p.M * p.OC * sizeof(float));
    cudaEvent_t e0, e1;
    MPQ_CUDA_CHECK(cudaEventCreate(&e0));
    MPQ_CUDA_CHECK(cudaEventCreate(&e1));
    float best = 1e30f;
    Choice pick = choices[0];
    for (const Choice& ch : choices) {
      p.ksplit = ch.split, p.kt_per_split = ch.per;
      p.partial = static_cast<float*>(ws.get());
      for (int i = 0; i < 2; ++i) MPQ_CUDA_CHECK(conv_launch(ch.cfg, p, nullptr));
      MPQ_CUDA_CHECK(cudaEventRecord(e0));
      constexpr int kReps = 5;
      for (int i = 0; i < kReps; ++i) MPQ_CUDA_CHECK(conv_launch(ch.cfg, p, nullptr));
      MPQ_CUDA_CHECK(cudaEventRecord(e1));
      MPQ_CUDA_CHECK(cudaEventSynchronize(e1));
      float ms = 0.f;
      MPQ_CUDA_CHECK(cudaEventElapsedTime(&ms, e0, e1));
      if (ms < best) best = ms, pick = ch;
    }
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
    cfg_ = pick.cfg;
    p_.ksplit = pick.split;
    p_.kt_per_split = pick.per;
  }

  // Applies a variant() string recorded earlier if it names a compiled candidate and a split
  // that covers this layer's k-tiles, timed on this device's architecture (files without one are
  // taken as they are); false (time the candidates) otherwise, e.g. for an engine file written by
  // a build with other tile configurations or tuned on another GPU generation.
  bool use_variant(const std::string& v, const std::vector<int>& cands, int kt_total) {
    const size_t a = v.find('/'), b = a == std::string::npos ? a : v.find('/', a + 1);
    if (b == std::string::npos) return false;
    const size_t c = v.find('/', b + 1);
    if (c != std::string::npos && v.substr(c + 1) != str("sm", device_sm())) return false;
    const std::string name = v.substr(0, a);
    const int split = std::atoi(v.substr(a + 1, b - a - 1).c_str());
    const int per = std::atoi(v.substr(b + 1, c == std::string::npos ? c : c - b - 1).c_str());
    auto it = std::find_if(cands.begin(), cands.end(),
                           [&](int c) { return conv_configs()[c].name == name; });
    if (it == cands.end() || split < 1 || split > 64) return false;
    if (split > 1 && (per < 1 || ceil_div(kt_total, per) != split)) return false;
    cfg_ = *it;
    p_.ksplit = split;
    p_.kt_per_split = split > 1 ? per : 0;
    return true;
  }

  ConvParams p_;
  int kind_ = kConvF32;
  int vec_ = 0;
  bool batched_ = true;
  bool has_res_ = false;
  int cfg_ = 0;
  int64_t max_m_ = 0;
  DeviceBuffer w_, alpha_, beta_, ktab_, zcomp_, wdw_;
};

std::string conv_supports(const Node& n, Precision) {
  const bool conv = is_conv_op(n);
  if (n.inputs.size() < 2 || !n.inputs[0] || !n.inputs[1]) return "missing inputs";
  if (!n.inputs[1]->is_constant()) return "weights are not a constant";
  if (n.has_input(2) && !n.inputs[2]->is_constant()) return "bias is not a constant";
  const size_t rank = n.inputs[0]->shape.size();
  if (conv ? rank != 4 : rank < 2) return str("input of rank ", rank);
  if (n.inputs[1]->shape.size() != (conv ? 4u : 2u)) return "weights of another rank";
  if (conv) {
    if (n.attrs.has("auto_pad") && n.attrs.s("auto_pad") != "NOTSET" && n.attrs.s("auto_pad") != "")
      return "auto_pad " + n.attrs.s("auto_pad");
  } else if (n.op != OpKind::MatMul) {
    if (n.attrs.i("transA", 0) != 0) return "transA";
    if (n.has_input(2) && n.inputs[2]->constant->numel() != 1 &&
        n.inputs[2]->constant->numel() != n.outputs[0]->shape.back())
      return "bias that is not per output column";
  }
  const std::vector<PostOp> ops = post_ops(n);
  if (ops.size() > static_cast<size_t>(kMaxPostOps)) return "too many post-ops";
  for (const PostOp& o : ops)
    if (!find_post_op(o.kind)) return "post-op " + op_def(o.kind).name;
  if (n.has_input(3) && n.inputs[3]->shape != n.outputs[0]->shape)
    return "residual of another shape";
  return "";
}

}  // namespace

void register_conv_kernels(KernelRegistry& r) {
  for (OpKind op :
       {OpKind::Conv, OpKind::FusedConv, OpKind::Gemm, OpKind::FusedGemm, OpKind::MatMul}) {
    const bool conv = op == OpKind::Conv || op == OpKind::FusedConv;
    add_kernel(
        r, op, {Precision::kFp32, Precision::kFp16, Precision::kInt8}, conv_supports,
        [conv](const Node&) {
          KernelFormats f;
          f.input_layouts = {conv ? Layout::kNHWC : Layout::kPlain};
          f.output_layout = conv ? Layout::kNHWC : Layout::kPlain;
          f.any_output_dtype = true;
          return f;
        },
        [] { return std::make_unique<ConvKernel>(); });
  }
}

}  // namespace mpq::cuda
