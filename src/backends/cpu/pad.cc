// Pad in constant mode (densenet/inception's Pad before AveragePool): fill, then copy the input
// into the interior (negative pads crop). Any layout and dtype; under int8 the fill value is
// quantized with the tensor's scale and zero point (zero padding is the zero point exactly).
#include <cstring>

#include "backends/cpu/dnnl_util.h"
#include "backends/cpu/kernels.h"
#include "backends/cpu/strided_copy.h"
#include "core/quant_math.h"

namespace mpq::cpu {

namespace {

class PadKernel : public Kernel {
 public:
  void prepare(const KernelSetup& s) override {
    in_ = *s.inputs.at(0);
    out_ = *s.outputs.at(0);
    const std::vector<int64_t> pads = const_ints(s.inputs.at(1));
    const size_t r = in_.shape.size();
    if (pads.size() != 2 * r) internal_error("Pad: pads do not match the rank").raise();
    begin_.assign(pads.begin(), pads.begin() + r);
    end_.assign(pads.begin() + r, pads.end());
    float value = 0.f;
    if (s.inputs.size() > 2 && s.inputs[2] && s.inputs[2]->constant)
      value = s.inputs[2]->constant->to_floats().at(0);
    fill_.assign(dtype_size(out_.dtype), 0);
    if (is_int8(out_.dtype)) {
      const bool sgn = out_.dtype == DType::i8;
      const int64_t q = quant::quantize_value(value, qscale(out_), qzero(out_),
                                              quant::QRange{sgn ? -128 : 0, sgn ? 127 : 255});
      fill_[0] = static_cast<uint8_t>(q);
    } else if (out_.dtype == DType::bf16) {
      const uint16_t h = float_to_bf16(value);
      std::memcpy(fill_.data(), &h, 2);
    } else if (out_.dtype == DType::f32) {
      std::memcpy(fill_.data(), &value, 4);
    } else {
      if (value != 0.f) unsupported("Pad of a non-float tensor with a non-zero value").raise();
    }
  }

  void run(const KernelArgs& a) const override {
    const Shape is = in_.shape_at(a.batch), os = out_.shape_at(a.batch);
    const std::vector<int64_t> ss = elem_strides(in_, is), ds = elem_strides(out_, os);
    const size_t es = dtype_size(out_.dtype);
    fill_elements(a.outputs[0], shape_numel(os), fill_.data(), es);
    Shape box(is.size());
    int64_t soff = 0, doff = 0;
    for (size_t d = 0; d < is.size(); ++d) {
      const int64_t crop_b = begin_[d] < 0 ? -begin_[d] : 0;
      const int64_t crop_e = end_[d] < 0 ? -end_[d] : 0;
      box[d] = std::max<int64_t>(0, is[d] - crop_b - crop_e);
      soff += crop_b * ss[d];
      doff += (begin_[d] > 0 ? begin_[d] : 0) * ds[d];
    }
    strided_copy(static_cast<const uint8_t*>(a.inputs[0]) + soff * es, ss,
                 static_cast<uint8_t*>(a.outputs[0]) + doff * es, ds, box, es);
  }

  std::string impl_name() const override { return "mpq:pad_constant"; }

 private:
  TensorSpec in_, out_;
  std::vector<int64_t> begin_, end_;
  std::vector<uint8_t> fill_;
};

}  // namespace

void register_pad_kernels(KernelRegistry& r) {
  auto supports = [](const Node& n, Precision) -> std::string {
    if (n.attrs.s("mode") != "constant") return "Pad mode " + n.attrs.s("mode");
    if (!n.has_input(1) || !n.inputs[1]->is_constant()) return "pads are not a constant";
    if (n.has_input(2) && !n.inputs[2]->is_constant()) return "the pad value is not a constant";
    if (n.has_input(3)) return "Pad axes input";
    const Value* x = n.inputs.at(0);
    auto pads = n.inputs[1]->constant->to_int64s();
    if (!x || pads.size() != 2 * x->shape.size()) return "pads do not match the rank";
    // The batch dim stays unpadded.
    if (const int b = x->batch_axis(); b >= 0 && (pads[b] != 0 || pads[b + x->shape.size()] != 0))
      return "Pad pads the batch dimension";
    return "";
  };
  add_kernel(
      r, OpKind::Pad, {Precision::kFp32, Precision::kBf16, Precision::kInt8}, supports,
      [](const Node&) { return any_layout_formats(); },
      [] { return std::make_unique<PadKernel>(); });
}

}  // namespace mpq::cpu
