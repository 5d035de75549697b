#include "frontend/onnx/qdq_import.h"

#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "ir/op_def.h"
#include "quant/calibration_table.h"

namespace mpq {

namespace {

bool is_q(const Node* n) {
  return n && n->op == OpKind::QuantizeLinear;
}
bool is_dq(const Node* n) {
  return n && n->op == OpKind::DequantizeLinear;
}
// torch.onnx writes QuantizeLinear -> Cast(to the same type) -> DequantizeLinear.
bool is_identity_cast(const Node* n) {
  return n && n->op == OpKind::Cast && n->has_input(0) && !n->outputs.empty() &&
         n->outputs[0]->dtype == n->inputs[0]->dtype;
}

// A Q/DQ node's scale and zero point, read from its constant inputs.
struct QParams {
  std::vector<float> scale;
  std::vector<double> zero_point;  // as many as scale (zeros when absent)
  int axis = -1;                   // -1: per tensor
  DType qtype = DType::u8;         // the integer type (Q's output, DQ's input)

  bool same(const QParams& o) const {
    return scale == o.scale && zero_point == o.zero_point && axis == o.axis && qtype == o.qtype;
  }
};

bool integer_range(DType t, double* lo, double* hi) {
  if (t == DType::u8) return *lo = 0, *hi = 255, true;
  if (t == DType::i8) return *lo = -128, *hi = 127, true;
  if (t == DType::i32)
    return *lo = std::numeric_limits<int32_t>::min(), *hi = std::numeric_limits<int32_t>::max(),
           true;
  return false;
}

class Stripper {
 public:
  Stripper(const Graph& g, const QdqImportOptions& opt) : opt_(opt) {
    out_.graph = g.clone();
    out_.table.header.method = "qdq";
  }

  QdqImport run() {
    Graph& g = *out_.graph;
    fold_constant_nodes();
    for (const auto& n : g.nodes())
      if (is_q(n.get()) || is_dq(n.get())) params_[n.get()] = read_params(*n);
    std::vector<Node*> dqs;
    for (const auto& n : g.nodes())
      if (is_dq(n.get())) dqs.push_back(n.get());
    for (Node* dq : dqs) fold_constant(dq);
    std::vector<Node*> qs;
    for (const auto& n : g.nodes())
      if (is_q(n.get())) qs.push_back(n.get());
    for (Node* q : qs)
      if (!q->inputs[0]->is_constant()) strip_pair(q);
    g.remove_unused();
    // What is left was refused (lenient: it stays and runs as it is), or is a DQ of a tensor no
    // QuantizeLinear of this graph produced.
    for (const auto& n : g.nodes())
      if (is_dq(n.get()) && !refused_.count(n.get()) && !refused_.count(source_q(*n)))
        refuse(*n, "dequantizes a tensor no QuantizeLinear of this graph produced");
    infer_shapes(g);
    fix_through_passthrough();
    mark_layers();
    return std::move(out_);
  }

 private:
  // torch.onnx gives Q/DQ their scales and zero points through Constant and Identity nodes: every
  // node other than Q/DQ that computes from constants only is evaluated first, so parameters are
  // read one way (Q/DQ of constant weights are folded below, keeping their scales).
  void fold_constant_nodes() {
    Graph& g = *out_.graph;
    std::vector<Node*> order;
    for (const auto& n : g.nodes()) order.push_back(n.get());
    for (Node* n : order) {
      if (is_q(n) || is_dq(n) || !n->def().forward) continue;
      std::vector<Tensor> in;
      bool all = true;
      for (const Value* v : n->inputs) {
        all = all && (!v || v->is_constant());
        in.push_back(v && v->is_constant() ? *v->constant : Tensor());
      }
      if (!all) continue;
      std::vector<Tensor> outs = n->def().forward(*n, in);
      std::vector<Value*> vals = n->outputs;
      g.remove_node(n);
      for (size_t i = 0; i < vals.size() && i < outs.size(); ++i) vals[i]->constant = outs[i];
    }
  }

  [[noreturn]] void bad(const Node& n, const std::string& msg) const {
    invalid_input(str(n.op_name(), " ", msg)).file(opt_.file).node(n.name).raise();
  }

  // A pattern mpq cannot run exactly: an error, or with `lenient` a note (the caller falls back).
  void refuse(const Node& n, const std::string& why) {
    refused_.insert(&n);
    const std::string msg =
        str(n.op_name(), " '", n.name, "' ", why, ": mpq cannot run this quantization exactly");
    if (!opt_.lenient)
      unsupported(msg + " (--lenient runs it in float)").file(opt_.file).node(n.name).raise();
    out_.notes.push_back("QDQ: " + msg + "; it runs in float");
  }

  QParams read_params(const Node& n) const {
    QParams p;
    const Value* s = n.input(1);
    const Value* z = n.input(2);
    if (!s || !s->is_constant() || (z && !z->is_constant()))
      bad(n, "scale and zero point must be constants (initializers)");
    p.qtype = is_q(&n) ? n.outputs[0]->dtype : n.inputs[0]->dtype;
    for (float v : s->constant->to_floats()) {
      if (!std::isfinite(v) || v <= 0.f)
        bad(n, str("scale ", v,
                   " is not a positive finite number: re-export the model with "
                   "positive scales"));
      p.scale.push_back(v);
    }
    p.zero_point.assign(p.scale.size(), 0.0);
    if (z) {
      const std::vector<float> zf = z->constant->to_floats();
      if (zf.size() != p.scale.size())
        bad(n, str("zero point has ", zf.size(), " values, scale ", p.scale.size()));
      double lo = 0, hi = 0;
      if (!integer_range(p.qtype, &lo, &hi))
        bad(n, str("quantizes to ", dtype_name(p.qtype), ": expected int8, uint8 or int32"));
      for (size_t i = 0; i < zf.size(); ++i) {
        if (!(zf[i] >= lo && zf[i] <= hi))
          bad(n, str("zero point ", zf[i], " is outside ", dtype_name(p.qtype), "'s range [", lo,
                     ", ", hi, "]: re-export the model with a zero point in range"));
        p.zero_point[i] = zf[i];
      }
    }
    if (s->constant->numel() > 1 || s->constant->rank() == 1) {
      const int rank = static_cast<int>(n.inputs[0]->shape.size());
      int axis = static_cast<int>(n.attrs.i("axis", 1));
      if (axis < 0) axis += rank;
      p.axis = s->constant->numel() > 1 ? axis : -1;
    }
    return p;
  }

  // What a DequantizeLinear reads, through identity casts.
  static const Value* dq_source(const Node& dq) {
    const Value* v = dq.inputs[0];
    while (v->producer && is_identity_cast(v->producer)) v = v->producer->inputs[0];
    return v;
  }
  static const Node* source_q(const Node& dq) {
    const Node* p = dq_source(dq)->producer;
    return is_q(p) ? p : nullptr;
  }

  // The constant a DequantizeLinear reads (possibly through a QuantizeLinear of a float
  // constant), evaluated as the model computes it; nullopt if it is not constant.
  std::optional<Tensor> constant_input(const Node& dq) {
    const Value* v = dq_source(dq);
    if (v->is_constant()) return *v->constant;
    const Node* q = v->producer;
    if (!is_q(q) || !q->inputs[0]->is_constant()) return std::nullopt;
    if (!params_.at(q).same(params_.at(&dq))) {
      refuse(dq, str("dequantizes with other parameters than ", q->name, " quantized with"));
      return std::nullopt;
    }
    std::vector<Tensor> in;
    for (const Value* x : q->inputs) in.push_back(x ? *x->constant : Tensor());
    return q->def().forward(*q, in)[0];
  }

  // DQ of a constant becomes the float constant; a conv/gemm weight keeps its scales fixed.
  void fold_constant(Node* dq) {
    std::optional<Tensor> qt = constant_input(*dq);
    if (!qt) return;
    std::vector<Tensor> in{*qt};
    for (size_t i = 1; i < dq->inputs.size(); ++i)
      in.push_back(dq->inputs[i] ? *dq->inputs[i]->constant : Tensor());
    Tensor w = dq->def().forward(*dq, in)[0];
    Value* out = dq->outputs[0];
    const size_t refused = refused_.size();
    const bool honoured = weight_honoured(*dq, out);
    if (refused_.size() != refused) refused_weights_.insert(out->name);
    const QParams p = params_.at(dq);  // copied: dq is gone after remove_node
    out_.graph->remove_node(dq);
    out->constant = w;
    if (!honoured) return;
    quant::WeightRange r;
    r.method = "qdq";
    r.axis = p.axis < 0 ? 0 : p.axis;
    r.scale = p.scale;
    for (float s : p.scale) r.min.push_back(-128.f * s), r.max.push_back(127.f * s);
    out_.table.weights[out->name] = r;
  }

  // Whether a folded DQ is a conv/gemm weight the int8 kernels run as the file gives it.
  bool weight_honoured(const Node& dq, const Value* out) {
    const Node* user = nullptr;
    for (const Node* c : out->consumers)
      if (c->def().weighted && c->input(1) == out) user = c;
    if (!user) return false;
    const QParams& p = params_.at(&dq);
    if (p.qtype != DType::i8) {
      refuse(dq, str("gives ", user->name, " ", dtype_name(p.qtype),
                     " weights (mpq's int8 kernels take int8 weights)"));
      return false;
    }
    for (double z : p.zero_point)
      if (z != 0.0) {
        refuse(dq, str("gives ", user->name, " asymmetric weights (zero point ", z,
                       "; mpq's int8 weights are symmetric)"));
        return false;
      }
    const int want = user->def().weight_channel_axis ? user->def().weight_channel_axis(*user) : 0;
    if (p.axis >= 0 && p.axis != want) {
      refuse(dq, str("scales ", user->name, "'s weights along axis ", p.axis,
                     ", not its output-channel axis ", want));
      return false;
    }
    return true;
  }

  // x -> Q -> [Cast] -> DQ...: the DQs' outputs become x (or x is renamed to a DQ output that
  // is a graph output), and x's quantization is fixed.
  void strip_pair(Node* q) {
    Value* x = q->inputs[0];
    std::vector<Node*> chain{q}, dqs;
    if (!collect_dqs(q->outputs[0], q, &chain, &dqs)) return;
    const QParams& p = params_.at(q);
    for (Node* dq : dqs)
      if (!params_.at(dq).same(p)) {
        refuse(*dq, str("dequantizes with other parameters than ", q->name, " quantized with"));
        return;
      }
    if (p.axis >= 0) {
      refuse(*q, "quantizes an activation per channel (mpq quantizes activations per tensor)");
      return;
    }
    Graph& g = *out_.graph;
    // Node pointers die with remove_node: keep what is needed from them first.
    const std::string q_name = q->name;
    std::vector<Value*> outs;
    for (Node* dq : dqs) outs.push_back(dq->outputs[0]);
    Value* keep = x;
    for (Value* o : outs)
      for (Value* go : g.outputs())
        if (go == o && keep == x && x->producer) keep = o;
    for (Node* dq : dqs) chain.push_back(dq);
    for (Node* n : chain) g.remove_node(n);
    for (Value* o : outs)
      if (o != keep) g.replace_all_uses(o, keep);
    if (keep != x) {
      Node* p_node = x->producer;
      const int idx = x->producer_index;
      g.replace_all_uses(x, keep);
      p_node->outputs[idx] = keep;
      keep->producer = p_node;
      keep->producer_index = idx;
      x->producer = nullptr;
    }
    fix_range(q_name, keep->name, p);
  }

  // The DQ nodes reading a Q's output (through identity casts); false (refused) if anything else
  // reads it.
  bool collect_dqs(Value* v, const Node* q, std::vector<Node*>* chain, std::vector<Node*>* dqs) {
    for (const Value* go : out_.graph->outputs())
      if (go == v) {
        refuse(*q, "writes an int8 graph output (mpq hands out float or dequantized outputs)");
        return false;
      }
    for (Node* c : v->consumers) {
      if (is_dq(c) && c->inputs[0] == v) {
        dqs->push_back(c);
      } else if (is_identity_cast(c)) {
        chain->push_back(c);
        if (!collect_dqs(c->outputs[0], q, chain, dqs)) return false;
      } else {
        refuse(*q,
               str("feeds ", c->op_name(), " '", c->name, "' directly (not a DequantizeLinear)"));
        return false;
      }
    }
    return true;
  }

  void fix_range(const std::string& q_name, const std::string& name, const QParams& p) {
    quant::FixedQuant f;
    f.scale = p.scale[0];
    f.zero_point = static_cast<int32_t>(p.zero_point[0]);
    f.dtype = p.qtype == DType::i8 ? quant::QuantDtype::kInt : quant::QuantDtype::kUint;
    auto it = out_.table.tensors.find(name);
    if (it != out_.table.tensors.end()) {
      const quant::FixedQuant& o = *it->second.fixed;
      if (o.scale != f.scale || o.zero_point != f.zero_point || o.dtype != f.dtype)
        unsupported(str("QuantizeLinear '", q_name, "' quantizes '", name, "' with scale ", f.scale,
                        " and zero point ", f.zero_point, ", another QuantizeLinear with scale ",
                        o.scale, " and zero point ", o.zero_point,
                        ": one tensor has one quantization in mpq"))
            .file(opt_.file)
            .node(q_name)
            .raise();
      return;
    }
    const double lo = f.dtype == quant::QuantDtype::kInt ? -128 : 0;
    quant::TensorRange r;
    r.method = "qdq";
    r.fixed = f;
    r.min = static_cast<float>(f.scale * (lo - f.zero_point));
    r.max = static_cast<float>(f.scale * (lo + 255 - f.zero_point));
    out_.table.tensors[name] = r;
  }

  bool fixed(const Value* v) const {
    auto it = out_.table.tensors.find(v->name);
    return it != out_.table.tensors.end() && it->second.fixed;
  }

  // TensorRT reads Q/DQ placement this way too: a quantization fixed after a passthrough op
  // (MaxPool, Flatten, Relu) holds before it when nothing else reads its input. The values are
  // the same (these ops commute with a monotone quantization), and the producer writes int8.
  void fix_through_passthrough() {
    const Graph& g = *out_.graph;
    for (auto it = g.nodes().rbegin(); it != g.nodes().rend(); ++it) {
      const Node& n = **it;
      // Activations (Relu, Clip) are fused into their producer, which writes their output.
      if (n.def().quant != QuantRule::kPassthrough || n.def().epilogue || n.outputs.size() != 1 ||
          !n.has_input(0))
        continue;
      const Value* x = n.inputs[0];
      bool single = x->consumers.size() == 1;
      for (size_t i = 1; i < n.inputs.size(); ++i)
        single = single && (!n.inputs[i] || n.inputs[i]->is_constant());
      for (const Value* go : g.outputs()) single = single && go != x;
      if (!single || x->is_constant() || fixed(x) || !fixed(n.outputs[0])) continue;
      out_.table.tensors[x->name] = out_.table.tensors.at(n.outputs[0]->name);
    }
  }

  // int8 layers: a conv/gemm with quantized input and weights; an Add/average whose activation
  // inputs and output are all quantized.
  void mark_layers() {
    const Graph& g = *out_.graph;
    for (const auto& up : g.nodes()) {
      const Node& n = *up;
      if (n.def().quant != QuantRule::kRequant || n.outputs.empty()) continue;
      bool int8 = false;
      if (n.def().weighted && n.has_input(1) && n.inputs[1]->is_constant()) {
        int8 = weighted_layer(n);
      } else {
        int8 = fixed(n.outputs[0]);
        for (const Value* v : n.inputs)
          if (v && !v->is_constant()) int8 = int8 && fixed(v);
      }
      if (!int8) continue;
      quant::LayerPrecision& l = out_.table.layers[quant::layer_key(g, n)];
      l.weight_bits = n.def().weighted ? 8 : 0;
      l.input_bits = 8;
      l.output_bits = n.def().weighted ? 0 : 8;
      l.source = "qdq";
    }
  }

  bool weighted_layer(const Node& n) {
    const bool w = out_.table.weights.count(n.inputs[1]->name) > 0;
    const bool x = fixed(n.inputs[0]);
    if (w && !x) {
      refuse(n, "has quantized weights but a float input (mpq has no weight-only int8)");
      out_.table.weights.erase(n.inputs[1]->name);
    } else if (x && !w && !refused_weights_.count(n.inputs[1]->name)) {
      refuse(n, "has a quantized input but float weights (quantize the weights in the model)");
    }
    return w && x;
  }

  QdqImportOptions opt_;
  QdqImport out_;
  std::map<const Node*, QParams> params_;
  std::set<const Node*> refused_;
  std::set<std::string> refused_weights_;  // weights whose DQ was refused (said once)
};

}  // namespace

bool has_qdq(const Graph& g) {
  for (const auto& n : g.nodes())
    if (is_q(n.get()) || is_dq(n.get())) return true;
  return false;
}

QdqImport strip_qdq(const Graph& g, const QdqImportOptions& opt) {
  return Stripper(g, opt).run();
}

}  // namespace mpq
