// 2-D convolution (oneDNN convolution_forward) for Conv and FusedConv, in fp32, bf16 and int8:
// groups/depthwise, strides, pads, dilations; fused post-ops (Relu/Clip/LeakyRelu, the residual
// sum and activations after it). Activations are NHWC, weights are packed once into the layout
// oneDNN picks (format_tag::any: AMX/VNNI blocked formats), bias is f32.
#include <cstring>

#include "backends/cpu/fused_common.h"
#include "backends/cpu/kernels.h"

namespace mpq::cpu {

namespace {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

struct ConvPrim {
  Prim p;
  dnnl::memory weights;  // packed for this primitive
};

class ConvKernel : public Kernel {
 public:
  void prepare(const KernelSetup& s) override {
    node_ = s.node;
    const Node& n = *s.node;
    prec_ = s.precision;
    x_ = *s.inputs.at(0);
    const TensorSpec& w = *s.inputs.at(1);
    out_ = *s.outputs.at(0);
    if (s.inputs.size() > 3 && s.inputs[3]) {
      residual_ = *s.inputs[3];
      residual_loader_.prepare(*residual_, out_);
    }
    const Shape& ws = w.shape;  // [OC, IC/G, KH, KW]
    group_ = n.attrs.i("group", 1);
    oc_ = ws[0];
    strides_ = ints_or(n, "strides", 2, 1);
    auto pads = ints_or(n, "pads", 4, 0);
    pl_ = {pads[0], pads[1]};
    pr_ = {pads[2], pads[3]};
    auto dil = ints_or(n, "dilations", 2, 1);
    dil_ = {dil[0] - 1, dil[1] - 1};

    // Weights in the executed precision, user layout (g)oihw.
    const Tensor& wt = *w.constant;
    const int64_t per_oc = ws[1] * ws[2] * ws[3];
    if (group_ > 1)
      wdims_ = {group_, oc_ / group_, ws[1], ws[2], ws[3]};
    else
      wdims_ = {ws[0], ws[1], ws[2], ws[3]};
    const tag wtag = group_ > 1 ? tag::goihw : tag::oihw;
    std::vector<float> w_scales;
    Tensor user_w = wt;
    dt user_dt = dt::f32;
    if (prec_ == Precision::kInt8) {
      user_w = Tensor(DType::i8, wt.shape());
      w_scales.resize(oc_);
      quantize_weights_per_oc(wt.data<float>(), oc_, per_oc, user_w.data<int8_t>(),
                              w_scales.data());
      user_dt = dt::s8;
    }
    w_dt_ = prec_ == Precision::kInt8 ? dt::s8 : prec_ == Precision::kBf16 ? dt::bf16 : dt::f32;
    user_w_ = user_w;
    user_wmd_ = dnnl::memory::desc(wdims_, user_dt, wtag);

    std::vector<float> bias;
    if (s.inputs.size() > 2 && s.inputs[2]) bias = s.inputs[2]->constant->to_floats();
    epi_ =
        make_epilogue(n, prec_, x_, out_, residual_ ? &*residual_ : nullptr, w_scales, bias, oc_);
    if (!epi_.bias.empty()) {
      bias_ = Tensor::from<float>({oc_}, epi_.bias);
    }
    max_batch_ = s.max_batch;
    prim_max_ = std::make_shared<const ConvPrim>(create(s.max_batch, nullptr));
  }

  void run(const KernelArgs& a) const override {
    std::shared_ptr<const ConvPrim> cp =
        a.batch == max_batch_ ? prim_max_ : cache_.get(a.batch, [&](int64_t b) {
          return std::make_shared<const ConvPrim>(create(b, prim_max_.get()));
        });
    if (residual_) residual_loader_.load(a, a.inputs[3], a.outputs[0]);
    std::unordered_map<int, dnnl::memory> args{
        {DNNL_ARG_SRC, mem(md_of(x_, a.batch), a.inputs[0])},
        {DNNL_ARG_WEIGHTS, cp->weights},
        {DNNL_ARG_DST, mem(md_of(out_, a.batch), a.outputs[0])}};
    if (bias_.defined() && !bias_.empty()) args[DNNL_ARG_BIAS] = mem(bias_md(), bias_.raw());
    dnnl::memory zs, zd;
    if (epi_.src_zp) args[DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC] = zp_mem(epi_.src_zp);
    if (epi_.dst_zp) args[DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_DST] = zp_mem(epi_.dst_zp);
    execute(cp->p, cpu_ctx(a), std::move(args));
  }

  std::string impl_name() const override { return prim_max_ ? prim_max_->p.impl : ""; }
  std::vector<std::pair<int, int>> inplace() const override {
    if (residual_ && residual_loader_.reads_residual_dtype()) return {{0, 3}};
    return {};
  }

 private:
  static dnnl::memory zp_mem(int32_t z) {
    dnnl::memory m({{1}, dt::s32, tag::a}, engine());
    *static_cast<int32_t*>(m.get_data_handle()) = z;
    return m;
  }
  dnnl::memory::desc bias_md() const { return dnnl::memory::desc({oc_}, dt::f32, tag::a); }

  // Creates the primitive for `batch`. For batches other than the maximum it first asks for the
  // weights layout already packed (so weights are packed once); if oneDNN has no implementation
  // for it, it lets oneDNN choose again and packs a copy for that batch.
  ConvPrim create(int64_t batch, const ConvPrim* reuse) const {
    return guarded(str("Conv ", x_.str(), " -> ", out_.str()), [&] {
      auto make = [&](const dnnl::memory::desc& wmd) {
        dnnl::memory::desc bmd =
            bias_.defined() && !bias_.empty() ? bias_md() : dnnl::memory::desc();
        dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference,
                                          dnnl::algorithm::convolution_direct, md_of(x_, batch),
                                          wmd, bmd, md_of(out_, batch), strides_, dil_, pl_, pr_);
        return dnnl::convolution_forward::primitive_desc(d, epi_.attr, engine());
      };
      const dnnl::memory::desc any_wmd(wdims_, w_dt_, tag::any);
      if (reuse) {
        try {
          auto pd = make(reuse->weights.get_desc());
          return ConvPrim{
              make_prim<dnnl::convolution_forward::primitive_desc, dnnl::convolution_forward>(pd),
              reuse->weights};
        } catch (const dnnl::error&) {
        }
      }
      auto pd = make(any_wmd);
      dnnl::memory packed = pack_weights(user_wmd_, user_w_.raw(), pd.weights_desc());
      return ConvPrim{
          make_prim<dnnl::convolution_forward::primitive_desc, dnnl::convolution_forward>(pd),
          packed};
    });
  }

  const Node* node_ = nullptr;
  Precision prec_ = Precision::kFp32;
  TensorSpec x_, out_;
  std::optional<TensorSpec> residual_;
  ResidualLoader residual_loader_;
  int64_t group_ = 1, oc_ = 0;
  dnnl::memory::dims strides_, pl_, pr_, dil_, wdims_;
  dt w_dt_ = dt::f32;
  Tensor user_w_, bias_;
  dnnl::memory::desc user_wmd_;
  Epilogue epi_;
  int64_t max_batch_ = 0;
  std::shared_ptr<const ConvPrim> prim_max_;
  PerBatchCache<ConvPrim> cache_;
};

std::string conv_supports(const Node& n, Precision) {
  if (n.inputs.size() < 2 || !n.inputs[0] || !n.inputs[1]) return "missing inputs";
  if (n.inputs[0]->shape.size() != 4) return "only 2-D convolution";
  if (!n.inputs[1]->is_constant()) return "weights are not a constant";
  if (n.has_input(2) && !n.inputs[2]->is_constant()) return "bias is not a constant";
  if (n.attrs.has("auto_pad") && n.attrs.s("auto_pad") != "NOTSET" && n.attrs.s("auto_pad") != "")
    return "auto_pad " + n.attrs.s("auto_pad");
  if (n.has_input(3) && n.inputs[3]->shape.size() != 4) return "residual of another rank";
  return post_ops_unsupported(n);
}

}  // namespace

void register_conv_kernels(KernelRegistry& r) {
  for (const char* op : {"Conv", "FusedConv"})
    add_kernel(
        r, op, {Precision::kFp32, Precision::kBf16, Precision::kInt8}, conv_supports,
        [](const Node&) { return nhwc_formats(true); },
        [] { return std::make_unique<ConvKernel>(); });
}

}  // namespace mpq::cpu
