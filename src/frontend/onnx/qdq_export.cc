#include "frontend/onnx/qdq_export.h"

#include "ir/op_def.h"
#include "core/quant_math.h"

namespace mpq {

namespace {

class Inserter {
 public:
  explicit Inserter(const Graph& g) : g_(g.clone()) {}

  std::unique_ptr<Graph> run(const std::map<std::string, NodeQdq>& nodes) {
    for (const auto& [name, q] : nodes) {
      Node* n = g_->find_node(name);
      if (!n) internal_error(str("QDQ export: no node '", name, "'")).raise();
      for (const auto& [i, p] : q.inputs) {
        if (i >= n->inputs.size() || !n->inputs[i] || n->inputs[i]->is_constant())
          internal_error(str("QDQ export: input ", i, " of '", name, "' is not an activation"))
              .raise();
        g_->set_input(n, i, activation(n->inputs[i], p));
      }
      if (q.weight) g_->set_input(n, 1, weight(*n, *q.weight, q.narrow));
    }
    g_->remove_unused();
    g_->sort();
    return std::move(g_);
  }

 private:
  Value* constant(const std::string& base, Tensor t) {
    return g_->add_constant(g_->unique_value_name(base), std::move(t));
  }

  Tensor zero_points(const QuantParams& p, Shape shape) const {
    Tensor z(p.is_signed ? DType::i8 : DType::u8, std::move(shape));
    for (size_t c = 0; c < p.zero_point.size(); ++c) {
      if (p.is_signed)
        z.data<int8_t>()[c] = static_cast<int8_t>(p.zero_point[c]);
      else
        z.data<uint8_t>()[c] = static_cast<uint8_t>(p.zero_point[c]);
    }
    return z;
  }

  Node* add(OpKind op, const std::string& base, std::vector<Value*> in) {
    Node* n = g_->add_node(op, g_->unique_node_name(base), std::move(in),
                           {g_->unique_value_name(base + "_output")});
    apply_attr_schema(*n);
    return n;
  }

  // x -> QuantizeLinear -> DequantizeLinear, one pair per (tensor, scale, zero point).
  Value* activation(Value* x, const QuantParams& p) {
    const auto key = std::make_tuple(x, p.scale.at(0), p.zero_point.at(0), p.is_signed);
    if (auto it = pairs_.find(key); it != pairs_.end()) return it->second;
    Value* s = constant(x->name + "_scale", Tensor::scalar(p.scale[0]));
    Value* z = constant(x->name + "_zero_point", zero_points(p, {}));
    Node* q = add(OpKind::QuantizeLinear, x->name + "_QuantizeLinear", {x, s, z});
    infer_node(*q);
    Node* dq = add(OpKind::DequantizeLinear, x->name + "_DequantizeLinear", {q->outputs[0], s, z});
    infer_node(*dq);
    return pairs_[key] = dq->outputs[0];
  }

  // The float weight as int8 (round half to even, saturated) with its scales -> DequantizeLinear.
  Value* weight(const Node& n, const QuantParams& p, bool narrow) {
    const Value* w = n.inputs.at(1);
    const Tensor wf =
        w->constant->dtype() == DType::f32 ? *w->constant : w->constant->cast(DType::f32);
    const Shape& shape = wf.shape();
    const bool per_channel = p.axis >= 0;
    int64_t inner = 1;
    for (size_t d = per_channel ? p.axis + 1 : shape.size(); d < shape.size(); ++d)
      inner *= shape[d];
    const int64_t channels = static_cast<int64_t>(p.scale.size());
    const quant::QRange r{narrow ? -127 : -128, 127};
    Tensor q(DType::i8, shape);
    for (int64_t i = 0; i < wf.numel(); ++i) {
      const int64_t c = per_channel ? (i / inner) % channels : 0;
      q.data<int8_t>()[i] =
          static_cast<int8_t>(quant::quantize_value(wf.data<float>()[i], p.scale[c], 0, r));
    }
    const Shape ps = per_channel ? Shape{channels} : Shape{};
    Value* qv = constant(w->name + "_quantized", q);
    Value* s = constant(w->name + "_scale", Tensor::from<float>(ps, p.scale));
    QuantParams zp = p;
    zp.is_signed = true;
    Value* z = constant(w->name + "_zero_point", zero_points(zp, ps));
    Node* dq = add(OpKind::DequantizeLinear, w->name + "_DequantizeLinear", {qv, s, z});
    if (per_channel) dq->attrs.set("axis", static_cast<int64_t>(p.axis));
    infer_node(*dq);
    return dq->outputs[0];
  }

  std::unique_ptr<Graph> g_;
  std::map<std::tuple<Value*, float, int32_t, bool>, Value*> pairs_;
};

}  // namespace

std::unique_ptr<Graph> insert_qdq(const Graph& g, const std::map<std::string, NodeQdq>& nodes) {
  return Inserter(g).run(nodes);
}

}  // namespace mpq
