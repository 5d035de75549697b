// Conv / FusedConv / Gemm / FusedGemm / MatMul on the CUDA backend: one fused implicit-GEMM
// launch per layer (im2col, scale and bias, activations, residual sum and requantization in the
// kernel's epilogue), or for int8 layers with a tiny K a direct dp4a kernel. Weights are packed
// once at prepare ([group][OC][kh][kw][c], int8 per output channel, fp16 or fp32); among the
// compiled tile configurations the fastest for this layer at the maximum batch is chosen by timing
// them (MPQ_DEBUG=cuda-tile=<name> forces one).
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "backends/cuda/cuda_util.h"
#include "backends/cuda/kernels.h"
#include "core/debug_options.h"
#include "ir/op_def.h"
#include "ir/post_op.h"
#include "quant/quant_math.h"

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

// What a Conv/Gemm node computes, reduced to the implicit-GEMM geometry.
struct Geometry {
  bool conv = true;
  int64_t C = 0, H = 1, W = 1, OC = 0, OH = 1, OW = 1;
  int64_t KH = 1, KW = 1, SH = 1, SW = 1, PH = 0, PW = 0, DH = 1, DW = 1, groups = 1;
  float gemm_alpha = 1.f, gemm_beta = 1.f;
  bool trans_b = false;  // Gemm: B is [N, K]
};

std::vector<int64_t> ints_or(const Node& n, const char* name, size_t count, int64_t def) {
  if (n.attrs.has(name)) {
    const auto& v = n.attrs.ints(name);
    if (!v.empty()) return v;
  }
  return std::vector<int64_t>(count, def);
}

bool is_conv_op(const Node& n) {
  return n.op == OpKind::Conv || n.op == OpKind::FusedConv;
}

Geometry geometry(const Node& n, const TensorSpec& x, const TensorSpec& w, const TensorSpec& y) {
  Geometry g;
  if (is_conv_op(n)) {
    g.C = x.shape[1], g.H = x.shape[2], g.W = x.shape[3];
    g.OC = y.shape[1], g.OH = y.shape[2], g.OW = y.shape[3];
    g.KH = w.shape[2], g.KW = w.shape[3];
    auto s = ints_or(n, "strides", 2, 1), d = ints_or(n, "dilations", 2, 1),
         p = ints_or(n, "pads", 4, 0);
    g.SH = s[0], g.SW = s[1], g.DH = d[0], g.DW = d[1], g.PH = p[0], g.PW = p[1];
    g.groups = n.attrs.i("group", 1);
    return g;
  }
  // A dense layer is a 1x1 conv over its rows: A [rows, K] row-major is NHWC [N, K, rows/N, 1]
  // (A of rank > 2, Linear on [N, L, C], is its [rows, K] matrix). N is the run's batch when A
  // scales with it (in whichever dim: attention's [seq * batch, C] too), else 1.
  g.conv = false;
  g.C = x.shape.back();
  g.OC = y.shape.back();
  const int64_t rows = shape_numel(x.batched ? x.shape_at(1) : x.shape) / g.C;
  g.H = g.OH = rows;
  if (n.op == OpKind::MatMul) return g;
  g.trans_b = n.attrs.i("transB", 0) != 0;
  g.gemm_alpha = n.attrs.f("alpha", 1.f);
  g.gemm_beta = n.attrs.f("beta", 1.f);
  return g;
}

// A depthwise layer's packed weights ([C][OCpad][Kpad], one row per channel) as [KH*KW][C].
template <typename T>
std::vector<T> depthwise_taps(const std::vector<T>& packed, const ConvParams& p) {
  const int taps = p.KH * p.KW;
  std::vector<T> t(static_cast<size_t>(taps) * p.C);
  for (int c = 0; c < p.C; ++c)
    for (int k = 0; k < taps; ++k)
      t[static_cast<size_t>(k) * p.C + c] = packed[static_cast<size_t>(c) * p.OCpad * p.Kpad + k];
  return t;
}

bool depthwise_layer(const ConvParams& p) {
  return p.Cg == 1 && p.OCg == 1 && p.groups > 1;
}

class ConvKernel : public Kernel, public WorkspaceUser {
 public:
  void prepare(const KernelSetup& s) override {
    const Node& n = *s.node;
    const TensorSpec& x = *s.inputs.at(0);
    const TensorSpec& w = *s.inputs.at(1);
    const TensorSpec& y = *s.outputs.at(0);
    const Geometry g = geometry(n, x, w, y);
    const bool q = s.precision == Precision::kInt8;
    kind_ = q                                 ? (x.dtype == DType::u8 ? kConvU8 : kConvS8)
            : s.precision == Precision::kFp16 ? kConvF16
                                              : kConvF32;
    const DType want_x = q ? x.dtype : kind_ == kConvF16 ? DType::f16 : DType::f32;
    if (x.dtype != want_x || (q && !is_q(x.dtype)))
      unsupported(str("input ", x.str(), " does not match ", precision_name(s.precision))).raise();
    if (g.conv && x.layout != Layout::kNHWC)
      unsupported("conv input must be NHWC: " + x.str()).raise();

    ConvParams& p = p_;
    batched_ = x.batched;
    p.N = static_cast<int32_t>(g.conv ? x.shape[0] : batched_ ? s.max_batch : 1);
    p.C = static_cast<int32_t>(g.C), p.H = static_cast<int32_t>(g.H),
    p.W = static_cast<int32_t>(g.W);
    p.OC = static_cast<int32_t>(g.OC), p.OH = static_cast<int32_t>(g.OH),
    p.OW = static_cast<int32_t>(g.OW);
    p.KH = static_cast<int32_t>(g.KH), p.KW = static_cast<int32_t>(g.KW);
    p.SH = static_cast<int32_t>(g.SH), p.SW = static_cast<int32_t>(g.SW);
    p.PH = static_cast<int32_t>(g.PH), p.PW = static_cast<int32_t>(g.PW);
    p.DH = static_cast<int32_t>(g.DH), p.DW = static_cast<int32_t>(g.DW);
    p.groups = static_cast<int32_t>(g.groups);
    if (g.groups < 1 || g.C % g.groups || g.OC % g.groups)
      invalid_input(str("group ", g.groups, " does not divide the channels")).raise();
    p.Cg = p.C / p.groups, p.OCg = p.OC / p.groups;
    p.K = p.KH * p.KW * p.Cg;
    const int64_t big = int64_t{1} << 31;
    if (static_cast<int64_t>(p.N) * p.H * p.W * p.C >= big ||
        static_cast<int64_t>(p.N) * p.OH * p.OW * p.OC >= big)
      unsupported("tensor too large for 32-bit indexing in the CUDA conv kernels").raise();
    p.Kpad = static_cast<int32_t>(round_up(p.K, conv_k_multiple(kind_)));
    p.OCpad = static_cast<int32_t>(round_up(p.OCg, kOcMultiple));
    vec_ = conv_load_mode(kind_, p.Cg);

    // Weights as W[oc][k] with k = (kh, kw, c) (float), then packed/padded per group.
    const Tensor wf =
        w.constant->dtype() == DType::f32 ? *w.constant : w.constant->cast(DType::f32);
    const float* wd = wf.data<float>();
    std::vector<float> wk(static_cast<size_t>(p.OC) * p.K);
    for (int64_t oc = 0; oc < p.OC; ++oc)
      for (int64_t kh = 0; kh < p.KH; ++kh)
        for (int64_t kw = 0; kw < p.KW; ++kw)
          for (int64_t c = 0; c < p.Cg; ++c) {
            float v;
            if (g.conv)
              v = wd[((oc * p.Cg + c) * p.KH + kh) * p.KW + kw];
            else if (g.trans_b)
              v = wd[oc * p.Cg + c];
            else
              v = wd[c * p.OC + oc];
            wk[oc * p.K + (kh * p.KW + kw) * p.Cg + c] = v * g.gemm_alpha;
          }
    std::vector<float> bias(p.OC, 0.f);
    if (s.inputs.size() > 2 && s.inputs[2]) {
      const std::vector<float> b = s.inputs[2]->constant->to_floats();
      if (b.size() == 1)
        std::fill(bias.begin(), bias.end(), b[0]);
      else if (static_cast<int64_t>(b.size()) == p.OC)
        bias = b;
      else
        unsupported(str("bias of ", b.size(), " values for ", p.OC, " channels")).raise();
      for (float& v : bias) v *= g.conv ? 1.f : g.gemm_beta;
    }

    std::vector<float> alpha(p.OC, 1.f), beta = bias;
    std::vector<int32_t> zcomp;
    const size_t packed_elems = static_cast<size_t>(p.groups) * p.OCpad * p.Kpad;
    const ElemDesc yd = elem_desc(y);
    // int8: the output scale s_y is folded into alpha, as the CPU engine does (Epilogue::int_acc).
    const float s_y = q && is_q(y.dtype) ? yd.scale : 1.f;
    if (q) {
      const ElemDesc xd = elem_desc(x);
      p.x_fill = xd.zp;
      zcomp.assign(p.OC, 0);
      std::vector<int8_t> packed(packed_elems, 0);
      // Scales a QDQ model fixed (w.quant) are used as given, over the full int8 range as ONNX's
      // QuantizeLinear saturates; otherwise mpq's symmetric max|w| / 127.
      const quant::QRange r =
          w.quant ? quant::QRange{-128, 127} : quant::quant_range(8, quant::QuantDtype::kInt);
      for (int64_t oc = 0; oc < p.OC; ++oc) {
        const float* row = &wk[oc * p.K];
        float amax = 0.f;
        for (int64_t k = 0; k < p.K; ++k) amax = std::max(amax, std::fabs(row[k]));
        quant::ScaleZeroPoint sz =
            quant::compute_scale_zero_point(-amax, amax, 8, quant::QuantDtype::kInt, true);
        if (w.quant) sz.scale = g.gemm_alpha * w.quant->scale[w.quant->scale.size() == 1 ? 0 : oc];
        const int64_t gi = oc / p.OCg, o = oc % p.OCg;
        int8_t* dst = &packed[(gi * p.OCpad + o) * p.Kpad];
        int64_t wsum = 0;
        for (int64_t k = 0; k < p.K; ++k) {
          dst[k] = static_cast<int8_t>(quant::quantize_value(row[k], sz.scale, 0, r));
          wsum += dst[k];
        }
        // The CPU engine's expressions (backends/cpu/fused_common.cc), evaluated the same way.
        alpha[oc] = xd.scale * sz.scale / s_y;
        beta[oc] = bias[oc] / (xd.scale * sz.scale);
        const int64_t zc = static_cast<int64_t>(xd.zp) * wsum;
        if (zc != static_cast<int32_t>(zc))
          unsupported("input zero point times the weight sum exceeds 32 bits").raise();
        zcomp[oc] = static_cast<int32_t>(zc);
      }
      w_ = DeviceBuffer(packed.data(), packed.size());
      if (depthwise_layer(p)) {
        const std::vector<int8_t> t = depthwise_taps(packed, p);
        wdw_ = DeviceBuffer(t.data(), t.size());
      }
      zcomp_ = DeviceBuffer(zcomp.data(), zcomp.size() * sizeof(int32_t));
      p.ep.int_acc = 1;
      p.ep.zcomp = static_cast<const int32_t*>(zcomp_.get());
    } else {
      std::vector<float> packed(packed_elems, 0.f);
      for (int64_t oc = 0; oc < p.OC; ++oc) {
        const int64_t gi = oc / p.OCg, o = oc % p.OCg;
        std::copy(&wk[oc * p.K], &wk[oc * p.K] + p.K, &packed[(gi * p.OCpad + o) * p.Kpad]);
      }
      Tensor t = Tensor::from<float>({static_cast<int64_t>(packed.size())}, packed);
      if (kind_ == kConvF16) t = t.cast(DType::f16);
      w_ = DeviceBuffer(t.raw(), t.nbytes());
      if (depthwise_layer(p)) {
        const std::vector<float> taps = depthwise_taps(packed, p);
        Tensor d = Tensor::from<float>({static_cast<int64_t>(taps.size())}, taps);
        if (kind_ == kConvF16) d = d.cast(DType::f16);
        wdw_ = DeviceBuffer(d.raw(), d.nbytes());
      }
    }
    if (vec_ == 0) {  // element gathers read their (kh, kw, c) from a table
      std::vector<int32_t> tab(static_cast<size_t>(p.Kpad) * 4, 0);
      for (int64_t k = 0; k < p.K; ++k) {
        const int64_t tap = k / p.Cg, c = k % p.Cg;
        tab[4 * k] = static_cast<int32_t>((tap / p.KW) * p.DH);
        tab[4 * k + 1] = static_cast<int32_t>((tap % p.KW) * p.DW);
        tab[4 * k + 2] = static_cast<int32_t>(c);
        tab[4 * k + 3] = 1;
      }
      ktab_ = DeviceBuffer(tab.data(), tab.size() * sizeof(int32_t));
      p.ktab = static_cast<const int32_t*>(ktab_.get());
    }
    alpha_ = DeviceBuffer(alpha.data(), alpha.size() * sizeof(float));
    beta_ = DeviceBuffer(beta.data(), beta.size() * sizeof(float));
    p.w = w_.get();
    p.wdw = wdw_.get();
    p.ep.alpha = static_cast<const float*>(alpha_.get());
    p.ep.beta = static_cast<const float*>(beta_.get());

    // Post-op chain and output.
    const std::vector<PostOp> ops = post_ops(n);
    if (ops.size() > static_cast<size_t>(kMaxPostOps))
      unsupported("too many fused post-ops").raise();
    p.ep.nops = static_cast<int32_t>(ops.size());
    for (size_t i = 0; i < ops.size(); ++i) {
      const CudaPostOp* c = find_post_op(ops[i].kind);
      if (!c) unsupported("post-op " + op_def(ops[i].kind).name).node(n.name).raise();
      p.ep.ops[i] = c->code;
      p.ep.op_a[i] = ops[i].a, p.ep.op_b[i] = ops[i].b;
      // Values are in output units (CPU: make_post_ops): bounds scale with them, the other
      // non-linear ops see real values.
      if (c->bounds) p.ep.op_a[i] = ops[i].a / s_y, p.ep.op_b[i] = ops[i].b / s_y;
      if (c->code >= kOpSigmoid) p.ep.op_s[i] = s_y, p.ep.op_rs[i] = 1.f / s_y;
      if (p.ep.ops[i] == kOpAdd) {
        if (s.inputs.size() < 4 || !s.inputs[3])
          invalid_input("fused Add without a residual").raise();
        const TensorSpec& r = *s.inputs[3];
        if (r.shape != y.shape || (r.shape.size() == 4 && r.layout != y.layout))
          unsupported(str("residual ", r.str(), " does not match the output ", y.str())).raise();
        const ElemDesc rd = elem_desc(r);
        p.ep.res_dt = rd.dt, p.ep.res_scale = rd.scale, p.ep.res_zp = rd.zp;
        if (q && is_q(r.dtype)) p.ep.res_scale = rd.scale / s_y;  // CPU: the sum post-op's scale
        has_res_ = true;
      }
    }
    if (g.conv && y.layout != Layout::kNHWC)
      unsupported("conv output must be NHWC: " + y.str()).raise();
    p.ep.out_dt = yd.dt, p.ep.out_scale = yd.scale, p.ep.out_zp = yd.zp;
    set_fast_epilogue(p.ep);

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

  // "<tile configuration>/<splits>/<k-tiles per split>": a loaded engine file runs the same
  // launch without timing the candidates again (and so gives the same bits: split-K changes the
  // order of float sums).
  std::string variant() const override {
    return str(conv_configs().at(cfg_).name, "/", p_.ksplit, "/", p_.kt_per_split);
  }

  size_t workspace_bytes() const override {
    return p_.ksplit > 1 ? static_cast<size_t>(p_.ksplit) * max_m_ * p_.OC * sizeof(float) : 0;
  }

  std::string impl_name() const override {
    static const char* kinds[] = {"s8", "u8", "f16", "f32"};
    const ConvConfig& c = conv_configs().at(cfg_);
    if (c.depthwise) return str("cuda.depthwise_", kinds[kind_], "_", p_.KH, "x", p_.KW);
    if (c.direct_k)
      return str("cuda.direct_", kinds[kind_], "_", p_.KH, "x", p_.KW, " [", c.name, "]");
    return str("cuda.igemm_", kinds[kind_], "_", p_.KH, "x", p_.KW,
               kind_ == kConvF32 ? "_simt" : "_tc", p_.groups > 1 ? "_grouped" : "", " [", c.name,
               p_.ksplit > 1 ? str("_splitk", p_.ksplit) : "", "]");
  }

 private:
  // Times every candidate (tile configuration, split-K) pair on scratch buffers at the maximum
  // batch and keeps the fastest. Split-K is tried where the tiles alone give few CTAs.
  void choose_config(const KernelSetup& s, const TensorSpec& x, const TensorSpec& y) {
    const DebugOptions debug = debug_options();
    // int8 layers with a tiny K (first convolutions) also try the direct kernels
    // (MPQ_DEBUG=cuda-no-direct: implicit GEMM only, for comparisons).
    const bool q = (kind_ == kConvS8 || kind_ == kConvU8) && !debug.cuda_no_direct;
    // Depthwise layers also time the dedicated kernel (MPQ_DEBUG=cuda-no-depthwise leaves it out).
    const bool dw = depthwise_layer(p_) && !debug.cuda_no_depthwise;
    std::vector<int> cands = q ? conv_candidates(kind_, vec_, p_.K, p_.groups, p_.OC, dw)
                               : conv_candidates(kind_, vec_, 0, 1, 0, dw);
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
  // that covers this layer's k-tiles; false (time the candidates) otherwise, e.g. for an engine
  // file written by a build with other tile configurations.
  bool use_variant(const std::string& v, const std::vector<int>& cands, int kt_total) {
    const size_t a = v.find('/'), b = a == std::string::npos ? a : v.find('/', a + 1);
    if (b == std::string::npos) return false;
    const std::string name = v.substr(0, a);
    const int split = std::atoi(v.substr(a + 1, b - a - 1).c_str());
    const int per = std::atoi(v.substr(b + 1).c_str());
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
