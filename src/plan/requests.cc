#include "plan/requests.h"

namespace mpq::plan {

namespace {

std::string source_of(const quant::LayerPrecision& l) {
  if (l.source == "layer-precision" || l.source == "qdq") return l.source;
  return l.source == "calibration" || l.source == "qat" ? "calibration" : "config";
}

}  // namespace

Requests read_requests(const Graph& original, const quant::CalibrationTable* table,
                       const BuildOptions& opt) {
  Requests r;
  r.default_request.precision = opt.default_or_fp32();
  r.default_request.bits = precision_bits(r.default_request.precision);
  r.default_request.source = "default";
  if (!table) return r;
  for (const auto& [name, tr] : table->tensors)
    r.ranges[name] = RangeInfo{tr.min, tr.max, "tensor", {}, tr.fixed};
  for (const auto& [name, wr] : table->weights) {
    if (wr.scale.empty()) continue;
    QuantParams q;
    q.scale = wr.scale;
    q.zero_point.assign(wr.scale.size(), 0);
    q.axis = wr.scale.size() > 1 ? wr.axis : -1;
    r.weight_quant[name] = q;
  }
  for (const quant::ResolvedLayer& rl : quant::resolve_layers(*table, original)) {
    const quant::LayerPrecision& l = *rl.layer;
    const Node& n = *rl.node;
    int bits = l.weight_bits ? l.weight_bits : l.output_bits ? l.output_bits : l.input_bits;
    if (bits) {
      Request q;
      q.bits = bits;
      q.precision =
          bits == 4 ? Precision::kInt8 : precision_from_bits(bits).value_or(Precision::kFp32);
      q.source = source_of(l);
      q.is_explicit = true;
      q.key = rl.key;
      q.output_bits = l.output_bits;
      r.layers[n.name] = q;
    }
    // NNI semantics: the input range belongs to the layer's input 0, the output range to its
    // output 0 (a tensor quantized once: "either the output of A or the input of B").
    if (l.tracked_min_input && l.tracked_max_input && n.has_input(0))
      r.ranges[n.inputs[0]->name] = RangeInfo{
          *l.tracked_min_input, *l.tracked_max_input, "layer " + rl.key, l.input_quant, {}};
    if (l.tracked_min_output && l.tracked_max_output && !n.outputs.empty())
      r.ranges[n.outputs[0]->name] = RangeInfo{
          *l.tracked_min_output, *l.tracked_max_output, "layer " + rl.key, l.output_quant, {}};
  }
  return r;
}

QuantParams activation_quant(const RangeInfo& r, bool feeds_weighted_op, DType* dtype,
                             bool* widened) {
  if (r.fixed) {
    QuantParams q;
    q.scale = {r.fixed->scale};
    q.zero_point = {r.fixed->zero_point};
    q.is_signed = r.fixed->dtype == quant::QuantDtype::kInt;
    *dtype = q.is_signed ? DType::i8 : DType::u8;
    *widened = false;
    return q;
  }
  quant::QuantDtype qd = quant::QuantDtype::kUint;
  bool symmetric = false;
  if (r.min < 0.f && !feeds_weighted_op) qd = quant::QuantDtype::kInt, symmetric = true;
  if (r.spec) {
    qd = r.spec->dtype;
    symmetric = quant::is_symmetric(r.spec->scheme);
  }
  *widened = r.min > 0.f || r.max < 0.f;
  quant::ScaleZeroPoint sz = quant::compute_scale_zero_point(r.min, r.max, 8, qd, symmetric);
  QuantParams q;
  q.scale = {sz.scale};
  q.zero_point = {static_cast<int32_t>(sz.zero_point)};
  q.bits = 8;
  q.is_signed = qd == quant::QuantDtype::kInt;
  *dtype = q.is_signed ? DType::i8 : DType::u8;
  return q;
}

}  // namespace mpq::plan
