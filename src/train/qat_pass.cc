#include "train/qat_pass.h"

#include <unordered_map>

#include "ir/op_def.h"
#include "quant/calibration_table.h"

namespace mpq::train {

int weight_channel_axis(const Node& n) {
  const Value* w = n.input(1);
  const int rank = w ? static_cast<int>(w->shape.size()) : 0;
  if (n.op == OpKind::Gemm) return n.attrs.i("transB", 0) ? 0 : 1;
  if (n.op == OpKind::MatMul) return rank - 1;
  return 0;
}

namespace {

struct Pass {
  Graph& g;
  QatGraphInfo info;
  std::unordered_map<const Value*, std::string> float_name;  // FQ outputs -> observed tensor

  std::string name_of(const Value* v) {
    auto it = float_name.find(v);
    return it != float_name.end() ? it->second : v->name;
  }

  // Adds FakeQuantize(x) and returns the new site (its output is fq->outputs[0]).
  FakeQuantSite& add_fq(Value* x, const Node& layer, quant::QuantType type,
                        const quant::NodeQuantSetting& s, int axis) {
    const quant::TypeSetting& t = s.get(type);
    const quant::QRange r = quant::quant_range(t.bits, t.dtype);
    const bool per_channel = quant::is_per_channel(t.scheme);
    int64_t channels = 1;
    if (per_channel) {
      if (axis < 0 || axis >= static_cast<int>(x->shape.size()) || x->shape[axis] < 1)
        invalid_input(str("per-channel ", quant::quant_type_name(type), " quantization needs axis ",
                          axis, " of ", shape_str(x->shape)))
            .node(layer.name)
            .key("quant_scheme")
            .raise();
      channels = x->shape[axis];
    }
    const std::string base = str(layer.name, "/", quant::quant_type_name(type));
    Value* scale =
        g.add_constant(g.unique_value_name(base + ".scale"),
                       Tensor::from<float>({channels}, std::vector<float>(channels, 1.f)));
    Value* zp =
        g.add_constant(g.unique_value_name(base + ".zero_point"), Tensor(DType::i64, {channels}));
    Attributes a;
    a.set("qmin", r.qmin);
    a.set("qmax", r.qmax);
    a.set("axis", static_cast<int64_t>(per_channel ? axis : 1));
    Node* fq = g.add_node(OpKind::FakeQuantize, g.unique_node_name(base + ".fake_quant"),
                          {x, scale, zp}, {g.unique_value_name(base + ".fq")}, a);
    FakeQuantSite site;
    site.fq = fq;
    site.layer = layer.name;
    site.layer_key = quant::layer_key(g, layer);
    site.scale = scale;
    site.zero_point = zp;
    site.observer.type = type;
    site.observer.setting = t;
    site.observer.quant_start_step = s.quant_start_step;
    site.observer.axis = per_channel ? axis : -1;
    info.sites.push_back(std::move(site));
    return info.sites.back();
  }

  // Observes the layer's input 0 without quantizing it (see qat_pass.h).
  void add_input_tracker(Node& layer, const quant::NodeQuantSetting& s) {
    FakeQuantSite site;
    site.fq = &layer;
    site.layer = layer.name;
    site.layer_key = quant::layer_key(g, layer);
    site.tensor = name_of(layer.inputs[0]);
    site.observer.type = quant::QuantType::kInput;
    site.observer.setting = {true, s.weight().bits, quant::QuantDtype::kUint,
                             quant::QuantScheme::kPerTensorAffine, -1};
    site.observer.quant_start_step = s.quant_start_step;
    site.observer.track_only = true;
    info.sites.push_back(std::move(site));
  }

  // Conv -> BatchNormalization with constant parameters, the conv output used by the BN only.
  Node* foldable_bn(const Node& conv) {
    if (conv.op != OpKind::Conv) return nullptr;
    const Value* y = conv.outputs[0];
    if (y->consumers.size() != 1) return nullptr;
    for (const Value* o : g.outputs())
      if (o == y) return nullptr;
    Node* bn = y->consumers[0];
    if (bn->op != OpKind::BatchNormalization || bn->inputs.size() != 5 || bn->inputs[0] != y)
      return nullptr;
    for (size_t i = 1; i < 5; ++i)
      if (!bn->inputs[i] || !bn->inputs[i]->constant || bn->inputs[i]->dtype != DType::f32)
        return nullptr;
    if (bn->outputs.size() != 1) return nullptr;
    return bn;
  }

  // Builds the folding subgraph; returns the folded weight value (the conv's new input 1).
  Value* fold(Node& conv, Node& bn) {
    Value* x = conv.inputs[0];
    Value* w = conv.inputs[1];
    Value* b = conv.input(2);
    Node* sconv = g.add_node(OpKind::Conv, g.unique_node_name(conv.name + "/bn_stats_conv"),
                             {x, w, b}, 1, conv.attrs);
    if (!b) sconv->inputs.resize(2);
    Attributes ba = bn.attrs;
    ba.set("training_mode", int64_t{1});
    Node* sbn = g.add_node(
        OpKind::BatchNormalization, g.unique_node_name(bn.name + "/bn_stats"),
        {sconv->outputs[0], bn.inputs[1], bn.inputs[2], bn.inputs[3], bn.inputs[4]}, 3, ba);
    Attributes fa;
    fa.set("epsilon", bn.attrs.f("epsilon", 1e-5f));
    Node* f =
        g.add_node(OpKind::BatchNormFold, g.unique_node_name(conv.name + "/bn_fold"),
                   {w, b, bn.inputs[1], bn.inputs[2], sbn->outputs[1], sbn->outputs[2]}, 2, fa);
    if (conv.inputs.size() < 3) conv.inputs.resize(3, nullptr);
    g.set_input(&conv, 1, f->outputs[0]);
    g.set_input(&conv, 2, f->outputs[1]);
    // The BN's consumers now read the (folded) conv; its output tensor keeps its float name.
    Value* z = bn.outputs[0];
    float_name[conv.outputs[0]] = z->name;
    g.replace_all_uses(z, conv.outputs[0]);
    info.folded.push_back({conv.name, bn.name});
    g.remove_node(&bn);
    return f->outputs[0];
  }

  void run(const quant::ResolvedConfig& cfg, bool fold_bn) {
    std::vector<std::pair<Node*, const quant::NodeQuantSetting*>> todo;
    for (const auto& s : cfg.nodes) {
      const std::string& nm = s.node ? s.node->name : std::string();
      Node* n = g.find_node(nm);
      if (!n)
        internal_error(str("config node '", nm, "' is not in the graph being quantized")).raise();
      todo.push_back({n, &s});
    }
    for (auto& [n, s] : todo) {
      if (s->input().enabled) {
        if (!n->input(0)) continue;
        Value* x = n->inputs[0];
        FakeQuantSite& site = add_fq(x, *n, quant::QuantType::kInput, *s, s->input().axis);
        site.tensor = name_of(x);
        float_name[site.fq->outputs[0]] = site.tensor;
        g.set_input(n, 0, site.fq->outputs[0]);
      }
      if (s->weight().enabled) {
        const Value* w = n->input(1);
        if (!w || !w->constant || w->dtype != DType::f32 || w->shape.size() < 2) {
          info.notes.push_back(str(n->label(), ": 'weight' has no effect (the ", n->op_name(),
                                   " node has no constant weight)"));
        } else {
          Value* weff = n->inputs[1];
          if (fold_bn)
            if (Node* bn = foldable_bn(*n)) weff = fold(*n, *bn);
          FakeQuantSite& site =
              add_fq(weff, *n, quant::QuantType::kWeight, *s, weight_channel_axis(*n));
          g.set_input(n, 1, site.fq->outputs[0]);
          // An input that is already a quantized output keeps that range (a tensor is quantized
          // once).
          const Value* x = n->input(0);
          if (!s->input().enabled && x && !x->is_constant() &&
              !(x->producer && x->producer->op == OpKind::FakeQuantize))
            add_input_tracker(*n, *s);
        }
      }
      if (s->output().enabled) {
        Value* y = n->outputs[0];
        const std::string observed = name_of(y);
        std::vector<Node*> users = y->consumers;
        FakeQuantSite& site = add_fq(y, *n, quant::QuantType::kOutput, *s, s->output().axis);
        site.tensor = observed;
        Value* yq = site.fq->outputs[0];
        float_name[yq] = observed;
        for (Node* u : users)
          for (size_t i = 0; i < u->inputs.size(); ++i)
            if (u->inputs[i] == y) g.set_input(u, i, yq);
        std::vector<Value*> outs = g.outputs();
        for (Value*& o : outs)
          if (o == y) o = yq;
        g.set_outputs(outs);
      }
    }
    g.sort();
    for (const auto& n : g.nodes()) apply_attr_schema(*n);
    infer_shapes(g);
  }
};

}  // namespace

QatGraphInfo insert_fake_quant(Graph& g, const quant::ResolvedConfig& cfg, bool fold_bn) {
  Pass p{g, {}, {}};
  p.run(cfg, fold_bn);
  return std::move(p.info);
}

}  // namespace mpq::train
