#include "plan/builder.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <unordered_map>

#include "core/limits.h"
#include "ir/op_def.h"
#include "ir/post_op.h"
#include "ir/verifier.h"
#include "passes/pass.h"
#include "passes/symbolic_batch.h"
#include "plan/host_steps.h"
#include "plan/requests.h"

namespace mpq::plan {

namespace {

struct Decision {
  Request req;
  Precision exec = Precision::kFp32;
  std::string backend;
  const KernelInfo* kernel = nullptr;
  std::vector<std::string> reasons;
  // An int8 Concat whose inputs have different scales: its output takes its own range and the
  // kernel requantizes the inputs into it.
  bool requant_inputs = false;
  // An int8 layer asked for a 16- or 32-bit output (output_bits): the precision its output is
  // written at (dequantized in the epilogue); kInt8 otherwise.
  Precision output = Precision::kInt8;
};

// A node whose kernel failed to prepare in an earlier build.
struct Forced {
  std::string why;  // why its kernel failed to prepare
  int level = 0;    // 1: run at fp32 on the backend; 2: run on the reference backend
};

bool is_float_dtype(DType t) {
  return dtype_info(t).is_float;
}
bool is_q(DType t) {
  return t == DType::i8 || t == DType::u8;
}

bool same_realization(const TensorSpec& a, const TensorSpec& b) {
  if (a.dtype != b.dtype || (a.shape.size() == 4 && a.layout != b.layout)) return false;
  if (is_q(a.dtype)) {
    if (!a.quant || !b.quant) return false;
    return a.quant->scale == b.quant->scale && a.quant->zero_point == b.quant->zero_point;
  }
  return true;
}

// Ops whose input 0 alone is quantized (weights are constants; a fused residual may stay float).
bool has_constant_weights(const Node& n) {
  return has_constant_weight(n);
}

bool is_residual_input(const Node& n, size_t i) {
  return i == 3 && (n.op == OpKind::FusedConv || n.op == OpKind::FusedGemm);
}

class Builder {
 public:
  Builder(const Graph& g, const quant::CalibrationTable* table, const BuildOptions& opt)
      : original_(g), opt_(opt), reg_(KernelRegistry::instance()) {
    if (opt.max_batch < 1)
      invalid_input("the maximum batch must be at least 1").key("batch").raise();
    if (opt.threads < 0 || opt.threads > kMaxThreads)
      invalid_input(
          str("the thread count must be 0 (the default) to ", kMaxThreads, ", got ", opt.threads))
          .key("threads")
          .raise();
#ifndef MPQ_HAVE_DNNL
    // A build without oneDNN (the GPU bundle) runs CPU work on the reference backend.
    if (opt_.backend == "cpu") {
      opt_.backend = "reference";
      notes_.insert("built without oneDNN: the cpu backend runs as the reference backend");
    }
#endif
    if (!find_backend(opt_.backend))
      invalid_input("unknown backend '" + opt.backend + "'").key("backend").raise();
    reqs_ = read_requests(g, table, opt);
  }

  PreparedPlan run() {
    optimize_graph();
    for (int attempt = 0;; ++attempt) {
      PreparedPlan pp;
      pp.plan.options = opt_;
      pp.plan.graph = base_->clone();
      decide(*pp.plan.graph);
      check_strict();
      realize(pp.plan);
      write_manifest(pp.plan);
      check_host_steps(pp.plan);
      std::string failed_node, why;
      try {
        pp.kernels = prepare_kernels(pp.plan, opt_.tune);
      } catch (const Error& e) {
        if (e.status().code != Code::kUnsupported || e.status().node.empty() || attempt > 64) throw;
        failed_node = e.status().node;
        why = e.status().message;
      }
      if (failed_node.empty()) {
        for (const std::string& h : host_steps(pp.plan))
          std::fprintf(stderr, "mpq: host step: %s\n", h.c_str());
        return pp;
      }
      // The kernel could not be prepared for this configuration (oneDNN has no implementation on
      // this machine): run the node at fp32 on the same backend, or if that was it already, on
      // the reference backend, and build again (the boundaries around it change).
      Forced& f = forced_[failed_node];
      bool was_low = false;
      for (const Step& st : pp.plan.steps)
        if (st.node->name == failed_node)
          was_low = st.precision != Precision::kFp32 && st.backend != "reference";
      f.level = f.level == 0 && was_low ? 1 : 2;
      f.why = why;
    }
  }

 private:
  // ---- graph: dynamic batch + passes
  void optimize_graph() {
    base_ = original_.clone();
    for (Value* v : base_->inputs()) {
      if (v->shape.empty())
        invalid_input("graph inputs need a batch dimension (rank >= 1)").key(v->name).raise();
      v->shape[0] = -1;
    }
    infer_shapes(*base_);
    passes::PassContext ctx;
    ctx.has_kernel = [this](OpKind k) {
      for (const KernelInfo& ki : reg_.all())
        if (ki.backend == opt_.backend && ki.op == k) return true;
      return false;
    };
    ctx.can_fuse = [this](const Node& host, const Node& absorbed) {
      const Request& a = reqs_.of(host.name);
      const Request& b = reqs_.of(absorbed.name);
      return !(a.is_explicit && b.is_explicit && a.precision != b.precision);
    };
    passes::optimize(*base_, ctx);
    absorbed_ = ctx.absorbed;
    batch_layout_ = passes::batch_layout(*base_);
    derive_fused_ranges();
    unify_concat_ranges();
    check_fixed_quant();
  }

  // A QDQ model fixes weights and activation quantizations by value name. Fixed weights a pass
  // rewrote (a BatchNormalization folded into them) can no longer be the file's int8 weights: an
  // error. A fixed activation a fusion removed is said in the manifest (the fused op writes its
  // output at the next quantization instead).
  void check_fixed_quant() {
    for (const auto& [name, q] : reqs_.weight_quant) {
      const Value* v = base_->find_value(name);
      bool used = false;
      for (const Node* c : v ? v->consumers : std::vector<Node*>{})
        used |= has_constant_weights(*c) && c->inputs[1] == v;
      if (!used && original_.find_value(name) && !original_.find_value(name)->consumers.empty())
        unsupported(str("the int8 weights '", name, "' fixed by the model were rewritten by a ",
                        "graph pass (a BatchNormalization folded into them): fold it before ",
                        "quantizing the model"))
            .node(original_.find_value(name)->consumers[0]->name)
            .raise();
    }
    for (const auto& [name, r] : reqs_.ranges)
      if (r.fixed && !base_->find_value(name) && original_.find_value(name))
        notes_.insert(str("the quantization of '", name, "' (scale ", r.fixed->scale,
                          ", zero point ", r.fixed->zero_point,
                          ") is not applied: its producer was fused with ",
                          "its consumer, which writes at the next quantization"));
  }

  // A multi-input passthrough op (Concat) runs int8 only if its inputs share one quantization:
  // an input read by nothing else takes the op's output range, so its producer writes in the
  // output's scale directly (no requantization step).
  void unify_concat_ranges() {
    for (const auto& up : base_->nodes()) {
      const Node& n = *up;
      if (n.def().quant != QuantRule::kPassthrough || n.inputs.size() < 2 || n.outputs.empty())
        continue;
      auto out = reqs_.ranges.find(n.outputs[0]->name);
      if (out == reqs_.ranges.end()) continue;
      for (const Value* v : n.inputs) {
        if (!v || v->is_constant() || passes::sole_consumer(*base_, v) != &n) continue;
        RangeInfo r = out->second;
        r.source += " (shared with " + n.name + "'s other inputs)";
        reqs_.ranges[v->name] = r;
      }
    }
  }

  // A fused activation's output may have no range of its own when the table gave the range of
  // the host's output (NNI's {'conv1': {output_bits: 8, ...}}): derive it through the activation.
  void derive_fused_ranges() {
    for (const auto& [host, absorbed] : absorbed_) {
      Node* n = base_->find_node(host);
      const Node* orig = original_.find_node(host);
      if (!n || !orig || orig->outputs.empty() || n->outputs.empty()) continue;
      const std::string& out = n->outputs[0]->name;
      if (reqs_.ranges.count(out)) continue;
      auto it = reqs_.ranges.find(orig->outputs[0]->name);
      const std::vector<PostOp> ops = post_ops(*n);
      if (it == reqs_.ranges.end() || ops.empty()) continue;
      RangeInfo r = it->second;
      bool ok = true;
      for (const PostOp& p : ops) {
        if (p.kind == OpKind::Add) {
          ok = false;  // a sum has no known range
          break;
        }
        const ValueRange v = post_op_range(p, {r.min, r.max});
        r.min = v.lo, r.max = v.hi;
      }
      if (!ok) continue;
      r.source += " (through fused activation)";
      reqs_.ranges[out] = r;
    }
  }

  // ---- precision assignment
  bool quant_known(const Value* v) {
    if (vq_.count(v)) return true;
    auto it = reqs_.ranges.find(v->name);
    if (it == reqs_.ranges.end()) return false;
    DType dt;
    bool widened = false;
    vq_[v] = activation_quant(it->second, feeds_weighted_op(v), &dt, &widened);
    vq_dtype_[v] = dt;
    if (widened)
      notes_.insert(str("range of '", v->name, "' [", it->second.min, ", ", it->second.max,
                        "] was widened to contain 0"));
    return true;
  }

  // Whether v reaches input 0 of a conv/gemm (directly or through passthrough ops).
  static bool feeds_weighted_op(const Value* v, int depth = 0) {
    if (depth > 64) return true;
    for (const Node* c : v->consumers) {
      if (c->def().quant == QuantRule::kRequant && has_constant_weights(*c) && c->inputs[0] == v)
        return true;
      if (c->def().quant == QuantRule::kPassthrough && !c->outputs.empty() && c->inputs[0] == v &&
          feeds_weighted_op(c->outputs[0], depth + 1))
        return true;
    }
    return false;
  }

  // A weightless requant op with one activation input (an average: GlobalAveragePool,
  // AveragePool, ReduceMean) whose input is not produced in int8: running it in int8 would add a
  // quantize pass over its whole input, as costly as the op itself.
  bool averages_float_input(const Node& n) const {
    // Averages have one activation input; ops with constant operands (BN) are not averages.
    if (n.def().quant != QuantRule::kRequant || (n.has_input(1) && n.inputs[1]->is_constant()))
      return false;
    const Value* in = nullptr;
    for (const Value* v : n.inputs) {
      if (!v || v->is_constant()) continue;
      if (in) return false;
      in = v;
    }
    return in && !int8_producer(in);
  }

  bool int8_producer(const Value* v) const {
    if (!v->producer) return false;
    auto it = dec_.find(v->producer);
    return it != dec_.end() && it->second.exec == Precision::kInt8 &&
           it->second.output == Precision::kInt8 && it->second.backend != "reference";
  }

  Precision producer_class(const Value* v) const {
    if (!v->producer) return Precision::kFp32;
    auto it = dec_.find(v->producer);
    if (it == dec_.end()) return Precision::kFp32;
    return it->second.exec == Precision::kInt8 ? it->second.output : it->second.exec;
  }

  // The output bits asked of a step: those of the last fused node that gives them (its output is
  // the step's), else the host's.
  int requested_output_bits(const Node& n) const {
    int bits = reqs_.of(n.name).output_bits;
    if (auto it = absorbed_.find(n.name); it != absorbed_.end())
      for (const std::string& a : it->second)
        if (reqs_.of(a).output_bits) bits = reqs_.of(a).output_bits;
    return bits;
  }

  // output_bits above 8 on an int8 layer whose kernel writes float outputs: int8 compute, the
  // output dequantized in the epilogue (16 bits: the backend's 16-bit float).
  void float_output(Node& n, Decision& d) {
    const int bits = requested_output_bits(n);
    if (d.exec != Precision::kInt8 || bits <= 8 || n.def().quant != QuantRule::kRequant) return;
    if (!d.kernel->formats || !d.kernel->formats(n).any_output_dtype) {
      d.reasons.push_back(str("output_bits ", bits, ": the int8 kernel writes int8 only"));
      return;
    }
    d.output = bits == 16 ? (reg_.find(opt_.backend, n, Precision::kFp16) ? Precision::kFp16
                                                                          : Precision::kBf16)
                          : Precision::kFp32;
    d.reasons.push_back(str("int8 compute, ", precision_name(d.output), " output (output_bits ",
                            bits, "): dequantized in the epilogue"));
  }

  Precision float_default() const {
    Precision p = opt_.default_or_fp32();
    return p == Precision::kInt8 ? Precision::kFp32 : p;
  }

  void decide(Graph& g) {
    dec_.clear();
    vq_.clear();
    vq_dtype_.clear();
    for (const auto& up : g.nodes()) decide_node(*up);
  }

  void decide_node(Node& n) {
    Decision d;
    d.req = reqs_.of(n.name);
    Precision want = d.req.precision;
    // No backend has 4-bit kernels; the manifest says the layer ran with 8-bit weights.
    if (d.req.bits == 4) d.reasons.push_back("4-bit weights run as int8 (no 4-bit kernels)");
    if (!d.req.is_explicit && n.has_input(0) && !n.inputs[0]->is_constant())
      want = unnamed_precision(n, d, want);
    if (auto f = forced_.find(n.name); f != forced_.end()) {
      finish_forced(n, d, f->second);
      return;
    }
    if (want == Precision::kInt8 && !opt_.strict && averages_float_input(n)) {
      d.reasons.push_back("its input is float: averaging it in float saves quantizing it");
      want = float_default();
    }
    if (want == Precision::kInt8 && !int8_possible(n, d)) want = float_default();
    finish_at(n, d, want);
  }

  // Unnamed layers: passthrough ops follow their input; a weightless requant op (residual Add)
  // runs int8 when its inputs come int8 and its output range is known.
  Precision unnamed_precision(const Node& n, Decision& d, Precision want) {
    const QuantRule rule = n.def().quant;
    const Value* in0 = n.inputs[0];
    if (rule == QuantRule::kPassthrough) {
      d.req.source = in0->producer ? "inherited" : "default";
      if (int8_producer(in0) && quant_known(in0))
        want = Precision::kInt8;
      else if (in0->producer)
        // fp16 producers only exist on backends with fp16 kernels (cuda).
        want = producer_class(in0) == Precision::kBf16 || producer_class(in0) == Precision::kFp16
                   ? producer_class(in0)
                   : float_default();
      else
        want = float_default();
      d.req.precision = want;
    } else if (rule == QuantRule::kRequant && !has_constant_weights(n) &&
               want != Precision::kInt8) {
      bool all = !n.outputs.empty() && quant_known(n.outputs[0]);
      // Constant operands (BN parameters, a layer scale) are read as they are.
      for (const Value* v : n.inputs)
        if (v && !v->is_constant()) all = all && int8_producer(v) && quant_known(v);
      if (all) want = Precision::kInt8, d.req.precision = want, d.req.source = "inherited";
    }
    return want;
  }

  // A node whose kernel failed to prepare in an earlier try: fp32, or the reference backend.
  void finish_forced(Node& n, Decision& d, const Forced& f) {
    if (f.level == 1) {
      d.reasons.push_back("kernel unavailable (" + f.why + "): fp32");
      if (finish(n, d, Precision::kFp32, false)) return;
    }
    d.reasons.push_back("kernel unavailable (" + f.why + "): reference");
    finish(n, d, Precision::kFp32, /*reference_only=*/true);
  }

  // Whether `n` can run int8: an op with an int8 form whose inputs have ranges (the reasons say
  // why not).
  bool int8_possible(const Node& n, Decision& d) {
    const QuantRule rule = n.def().quant;
    if (rule == QuantRule::kFloatOnly) {
      d.reasons.push_back(str(n.op_name(), " has no int8 form (float-only op)"));
      return false;
    }
    if (rule == QuantRule::kPassthrough && n.has_input(0) && n.inputs[0]->is_constant()) {
      // e.g. a class token expanded to the run-time batch: nothing int8 to pass through.
      d.reasons.push_back("its data input is a constant (no int8 range to pass through)");
      return false;
    }
    if (const Value* missing = input_without_range(n)) {
      if (d.req.is_explicit && !opt_.default_precision)
        invalid_input(str("layer runs int8 but the range of its input '", missing->name,
                          "' is unknown: calibrate it (tracked_min_input/tracked_max_input "
                          "or a tensor range), or pass a default precision to fall back"))
            .node(n.label())
            .raise();
      d.reasons.push_back("no calibration range for input '" + missing->name + "'");
      return false;
    }
    if (rule == QuantRule::kPassthrough && n.inputs.size() > 1) return concat_ranges_fit(n, d);
    return true;
  }

  // The first input an int8 `n` would quantize that has no range, or null.
  const Value* input_without_range(const Node& n) {
    const QuantRule rule = n.def().quant;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const Value* v = n.inputs[i];
      if (!v || v->is_constant() || is_residual_input(n, i)) continue;
      if (rule == QuantRule::kRequant && has_constant_weights(n) && i != 0) continue;
      if (!quant_known(v)) return v;
    }
    return nullptr;
  }

  // Concat-like passthrough: inputs that do not share one quantization are requantized into the
  // output's (when it has a range).
  bool concat_ranges_fit(const Node& n, Decision& d) {
    const QuantParams* first = nullptr;
    for (const Value* v : n.inputs) {
      if (!v || v->is_constant()) continue;
      const QuantParams& q = vq_.at(v);
      if (first && (q.scale != first->scale || q.zero_point != first->zero_point))
        d.requant_inputs = true;
      first = &q;
    }
    if (d.requant_inputs && !quant_known(n.outputs[0])) {
      d.reasons.push_back("inputs have different int8 scales and the output has no range");
      return false;
    }
    if (d.requant_inputs) d.reasons.push_back("inputs requantized into the output's scale");
    return true;
  }

  // Finishes `n` at `want`, else at the next precision down that has a kernel.
  void finish_at(Node& n, Decision& d, Precision want) {
    if (want == Precision::kInt8) {
      if (finish(n, d, Precision::kInt8, false)) {
        float_output(n, dec_.at(&n));
        if (n.def().quant == QuantRule::kPassthrough && !n.outputs.empty() && !d.requant_inputs) {
          vq_[n.outputs[0]] = vq_.at(n.inputs[0]);
          vq_dtype_[n.outputs[0]] = vq_dtype_.at(n.inputs[0]);
        }
        return;
      }
      want = float_default();
    }
    // 16 bits means fp16 where the backend has fp16 kernels, else bf16 (the CPU's 16-bit float).
    if (want == Precision::kFp16 && reg_.find(opt_.backend, n, Precision::kFp16) &&
        finish(n, d, Precision::kFp16, false))
      return;
    if (want == Precision::kFp16) {
      d.reasons.push_back("16-bit float runs as bf16 (no fp16 kernels on " + opt_.backend + ")");
      want = Precision::kBf16;
    }
    if (want == Precision::kBf16 && finish(n, d, Precision::kBf16, false)) return;
    finish(n, d, Precision::kFp32, false);
  }

  // Picks the kernel for `n` at `p` on the chosen backend; false if there is none (the reason is
  // recorded). At fp32, a miss falls back to the reference backend.
  bool finish(Node& n, Decision& d, Precision p, bool reference_only) {
    std::string why;
    const KernelInfo* k = reference_only ? nullptr : reg_.find(opt_.backend, n, p, &why);
    if (!k && p != Precision::kFp32) {
      d.reasons.push_back(str("no ", precision_name(p), " kernel: ", why));
      return false;
    }
    if (!k) {
      if (!reference_only)
        d.reasons.push_back("no " + opt_.backend + " kernel (" + why + "): reference");
      k = reg_.find("reference", n, Precision::kFp32, &why);
      if (!k) unsupported(str("no kernel for ", n.op_name(), ": ", why)).node(n.label()).raise();
    }
    d.exec = p;
    d.kernel = k;
    d.backend = k->backend;
    dec_[&n] = d;
    return true;
  }

  void check_strict() {
    if (!opt_.strict) return;
    std::vector<std::string> bad;
    for (const auto& [n, d] : dec_) {
      if (!d.req.is_explicit) continue;
      bool ok = d.exec == d.req.precision ||
                (d.req.precision == Precision::kFp16 && d.exec == Precision::kBf16);
      if (d.req.bits == 4) ok = false;
      if (!ok) {
        std::string r;
        for (const auto& s : d.reasons) r += (r.empty() ? "" : "; ") + s;
        bad.push_back(str(n->label(), " (", d.req.bits, "-bit requested, runs ",
                          precision_name(d.exec), ": ", r, ")"));
      }
    }
    if (bad.empty()) return;
    std::string msg = "strict: these layers cannot run at their requested precision: ";
    for (size_t i = 0; i < bad.size(); ++i) msg += (i ? ", " : "") + bad[i];
    unsupported(msg).raise();
  }

  // ---- realization: dtypes, layouts, quantization per tensor; Reorder steps at boundaries
  TensorSpec base_spec(const Value* v) const {
    TensorSpec s;
    s.name = v->name;
    s.dtype = v->dtype;
    s.shape = v->shape;
    s.batched = !v->is_constant() && std::count(s.shape.begin(), s.shape.end(), -1) > 0;
    if (s.batched) {
      auto it = batch_layout_.find(v->name);
      if (it != batch_layout_.end()) {
        s.batch_dim = it->second.dim, s.batch_mult = it->second.mult;
      } else if (s.shape[0] >= 0) {
        internal_error("no batch dim known for value '" + v->name + "'").raise();
      }
      s.shape[s.batch_dim] = opt_.max_batch * s.batch_mult;
    }
    if (v->is_constant()) s.constant = *v->constant;
    if (auto it = reqs_.weight_quant.find(v->name); it != reqs_.weight_quant.end() && s.constant)
      s.quant = it->second;
    return s;
  }

  int tensor_of(const Value* v) {
    auto it = tix_.find(v);
    if (it != tix_.end()) return it->second;
    specs_.push_back(base_spec(v));
    tix_[v] = static_cast<int>(specs_.size()) - 1;
    return tix_[v];
  }

  Value* reorder_to(Graph& g, Value* v, const TensorSpec& want) {
    std::string tag =
        str(dtype_name(want.dtype), want.shape.size() == 4 ? layout_name(want.layout) : "");
    if (want.quant) tag += str("_s", want.quant->scale[0], "_z", want.quant->zero_point[0]);
    auto key = std::make_pair(v, tag);
    if (auto it = reorders_.find(key); it != reorders_.end()) return it->second;
    Node* r = g.add_node(find_op_def("Reorder")->kind, g.unique_node_name(v->name + "_to_" + tag),
                         {v}, {g.unique_value_name(v->name + "@" + tag)});
    Value* out = r->outputs[0];
    out->dtype = v->dtype, out->shape = v->shape, out->has_type = true;
    TensorSpec s = want;
    s.name = out->name;
    specs_.push_back(s);
    tix_[out] = static_cast<int>(specs_.size()) - 1;
    emit_reorder(r);
    reorders_[key] = out;
    return out;
  }

  void emit_reorder(Node* r) {
    Decision d;
    d.req.precision = Precision::kFp32;
    d.req.source = "boundary";
    finish(*r, d, Precision::kFp32, false);
    emit(r);
  }

  void emit(Node* n) {
    Step s;
    s.node = n;
    const Decision& d = dec_.at(n);
    s.precision = d.exec;
    s.backend = d.backend;
    s.kernel_name = d.kernel->name;
    for (Value* v : n->inputs) s.inputs.push_back(v ? tensor_of(v) : -1);
    for (Value* v : n->outputs) s.outputs.push_back(tensor_of(v));
    steps_.push_back(std::move(s));
  }

  bool consumer_wants_int8(const Value* o) const {
    for (const Node* c : o->consumers) {
      auto it = dec_.find(c);
      if (it != dec_.end() && it->second.exec == Precision::kInt8 &&
          it->second.backend != "reference")
        return true;
    }
    return false;
  }
  // A graph output whose quantization the model fixed (a QDQ model's last Q/DQ): the int8 layer
  // writes it quantized and the output step dequantizes it, as the model computes.
  bool fixed_graph_output(const Value* o, const Graph& g) const {
    auto it = reqs_.ranges.find(o->name);
    if (it == reqs_.ranges.end() || !it->second.fixed) return false;
    for (const Value* go : g.outputs())
      if (go == o) return true;
    return false;
  }
  // The storage dtype of a float tensor a layer at `p` reads and writes.
  static DType float_dtype(Precision p) {
    return p == Precision::kBf16 ? DType::bf16 : p == Precision::kFp16 ? DType::f16 : DType::f32;
  }
  bool consumers_all_bf16(const Value* o, const Graph& g) const {
    return consumers_all_at(o, g, Precision::kBf16);
  }
  bool consumers_all_at(const Value* o, const Graph& g, Precision p) const {
    for (const Value* go : g.outputs())
      if (go == o) return false;
    if (o->consumers.empty()) return false;
    for (const Node* c : o->consumers) {
      auto it = dec_.find(c);
      if (it == dec_.end() || it->second.exec != p) return false;
    }
    return true;
  }

  void realize(Plan& plan) {
    Graph& g = *plan.graph;
    specs_.clear();
    tix_.clear();
    steps_.clear();
    reorders_.clear();
    for (Value* v : g.inputs()) tensor_of(v);
    std::vector<Node*> order;
    for (const auto& up : g.nodes()) order.push_back(up.get());
    for (Node* n : order) realize_node(g, n);
    std::vector<Value*> outs = g.outputs();
    for (Value* o : outs) realize_graph_output(g, o);
    for (auto& st : steps_) {  // indices of renamed tensors are stable; refresh node io
      st.inputs.clear();
      st.outputs.clear();
      for (Value* v : st.node->inputs) st.inputs.push_back(v ? tix_.at(v) : -1);
      for (Value* v : st.node->outputs) st.outputs.push_back(tix_.at(v));
    }
    g.remove_unused();
    g.sort();  // Reorder nodes were appended: keep the graph topological (clone, export)
    note_unapplied_fixed(g);
    plan.tensors = specs_;
    plan.tensor_index.clear();
    for (size_t i = 0; i < specs_.size(); ++i)
      plan.tensor_index[specs_[i].name] = static_cast<int>(i);
    plan.steps = steps_;
    plan.inputs.clear();
    plan.outputs.clear();
    for (Value* v : g.inputs()) plan.inputs.push_back(tix_.at(v));
    for (Value* v : g.outputs()) plan.outputs.push_back(tix_.at(v));
  }

  // Reorders `n`'s inputs into what its kernel reads, gives its outputs their specs, emits it.
  void realize_node(Graph& g, Node* n) {
    const Decision& d = dec_.at(n);
    const KernelFormats f = d.kernel->formats ? d.kernel->formats(*n) : KernelFormats{};
    for (size_t i = 0; i < n->inputs.size(); ++i) realize_input(g, n, i, d, f);
    for (size_t k = 0; k < n->outputs.size(); ++k) {
      specs_.push_back(output_spec(g, n, n->outputs[k], d, f));
      tix_[n->outputs[k]] = static_cast<int>(specs_.size()) - 1;
    }
    emit(n);
  }

  void realize_input(Graph& g, Node* n, size_t i, const Decision& d, const KernelFormats& f) {
    Value* v = n->inputs[i];
    if (!v) return;
    const TensorSpec cur = specs_[tensor_of(v)];
    if (v->is_constant() || !is_float_dtype(v->dtype)) return;
    const bool ref = d.backend == "reference";
    TensorSpec want = cur;
    const bool residual = is_residual_input(*n, i);
    if (ref) {
      want.dtype = v->dtype;
      want.quant.reset();
    } else if (d.exec == Precision::kInt8) {
      // A float residual is quantized with its own range when it has one (the sum post-op
      // reads it as int8 with its scale); without a range it stays float and the output
      // is float too (see int8_output).
      if (!is_q(cur.dtype) && (!residual || quant_known(v))) {
        want.dtype = vq_dtype_.at(v);
        want.quant = vq_.at(v);
      }
    } else if (!residual || dtype_size(cur.dtype) == 1) {
      want.dtype = float_dtype(d.exec);
      want.quant.reset();
    }
    if (cur.shape.size() == 4) {
      const auto& ok = ref ? std::vector<Layout>{Layout::kPlain} : f.input_layouts;
      if (std::find(ok.begin(), ok.end(), cur.layout) == ok.end()) want.layout = ok.at(0);
    }
    if (!same_realization(cur, want)) g.set_input(n, i, reorder_to(g, v, want));
  }

  TensorSpec output_spec(const Graph& g, const Node* n, Value* o, const Decision& d,
                         const KernelFormats& f) {
    TensorSpec s = base_spec(o);
    const bool ref = d.backend == "reference";
    if (s.shape.size() == 4 && !ref) {
      const Value* in0 = n->input(0);
      s.layout = f.output_follows_input && in0 && !in0->is_constant()
                     ? specs_[tensor_of(in0)].layout
                     : f.output_layout;
    }
    if (!is_float_dtype(o->dtype) || ref) return s;
    if (d.exec == Precision::kInt8 && d.requant_inputs) {
      s.dtype = vq_dtype_.at(o);
      s.quant = vq_.at(o);
    } else if (d.exec == Precision::kInt8 && n->def().quant == QuantRule::kPassthrough) {
      const TensorSpec& in = specs_[tensor_of(n->inputs[0])];
      s.dtype = in.dtype;
      s.quant = in.quant;
    } else if (d.exec == Precision::kInt8 && f.any_output_dtype) {
      int8_output(g, n, o, d, s);
    } else {
      s.dtype = float_dtype(d.exec);
    }
    return s;
  }

  // The output of an int8 kernel that writes any dtype: int8 where its consumers read int8 (and
  // it has a range), else the float its consumers run at.
  void int8_output(const Graph& g, const Node* n, const Value* o, const Decision& d,
                   TensorSpec& s) {
    const bool float_residual = is_residual_input(*n, 3) && n->inputs.size() > 3 && n->inputs[3] &&
                                !is_q(specs_[tensor_of(n->inputs[3])].dtype);
    if (d.output != Precision::kInt8) {
      s.dtype = float_dtype(d.output);
    } else if ((consumer_wants_int8(o) || fixed_graph_output(o, g)) && !float_residual &&
               quant_known(o)) {
      s.dtype = vq_dtype_.at(o);
      s.quant = vq_.at(o);
    } else {
      s.dtype = consumers_all_bf16(o, g)                   ? DType::bf16
                : consumers_all_at(o, g, Precision::kFp16) ? DType::f16
                                                           : DType::f32;
    }
  }

  // Graph outputs are handed to the caller in the model's dtype, plain layout.
  void realize_graph_output(Graph& g, Value* o) {
    const TensorSpec cur = specs_[tensor_of(o)];
    TensorSpec want = base_spec(o);
    if (o->is_constant() || same_realization(cur, want)) return;
    if (!o->producer) return;
    // An 8-bit integer output without a scale (a Cast to uint8) has no conversion from the
    // producer's realization: refuse it here rather than fail inside a backend's reorder.
    if (dtype_info(want.dtype).is_quantized && !want.quant)
      unsupported(str("graph output '", o->name, "' is ", dtype_name(want.dtype),
                      " with no quantization scale (a Cast to an 8-bit integer): engines hand "
                      "out float or scaled int8 outputs; end the model before the Cast, or run "
                      "it with `mpq run --model`"))
          .node(o->producer->name)
          .raise();
    // The producer now writes `pre`; a Reorder writes the graph output under its own name.
    Value* pre = g.add_value(g.unique_value_name(o->name + "@" + dtype_name(cur.dtype)));
    pre->dtype = o->dtype, pre->shape = o->shape, pre->has_type = true;
    Node* p = o->producer;
    int idx = o->producer_index;
    std::vector<Node*> users = o->consumers;
    for (Node* u : users)
      for (size_t i = 0; i < u->inputs.size(); ++i)
        if (u->inputs[i] == o) g.set_input(u, i, pre);
    o->producer = nullptr;
    p->outputs[idx] = pre;
    pre->producer = p;
    pre->producer_index = idx;
    const int ti = tix_.at(o);
    specs_[ti].name = pre->name;
    tix_.erase(o);
    tix_[pre] = ti;
    Node* r = g.add_node(find_op_def("Reorder")->kind, g.unique_node_name(o->name + "_out"), {pre},
                         {g.unique_value_name(o->name + "@tmp")});
    passes::set_output(r, 0, o);
    specs_.push_back(want);
    tix_[o] = static_cast<int>(specs_.size()) - 1;
    emit_reorder(r);
  }

  // A quantization the model fixed (QDQ) on a tensor that no int8 step reads or writes stays
  // float: its rounding is not applied, which the manifest says.
  void note_unapplied_fixed(const Graph& g) {
    auto quantized = [&](const Value* v) {
      auto it = tix_.find(v);
      return v && it != tix_.end() && is_q(specs_[it->second].dtype);
    };
    for (const auto& [name, r] : reqs_.ranges) {
      const Value* v = r.fixed ? g.find_value(name) : nullptr;
      if (!v) continue;  // not fixed, or fused away (check_fixed_quant says so)
      bool applied = quantized(v);
      for (const Node* c : v->consumers)
        applied |= c->op == OpKind::Reorder && quantized(c->outputs[0]);
      if (v->producer && v->producer->op == OpKind::Reorder)
        applied |= quantized(v->producer->inputs[0]);
      if (!applied)
        notes_.insert(str("the quantization of '", name, "' (scale ", r.fixed->scale,
                          ", zero point ", r.fixed->zero_point,
                          ") is not applied: no int8 step reads or writes it, it stays float"));
    }
  }

  // ---- manifest
  void write_manifest(Plan& plan) {
    Manifest& m = plan.manifest;
    m.layers.clear();
    m.notes.assign(notes_.begin(), notes_.end());
    double wbits = 0, wsum = 0;
    for (const Step& st : plan.steps) {
      const Node& n = *st.node;
      const Decision& d = dec_.at(st.node);
      LayerReport r;
      r.name = n.name;
      r.module_path = n.module_path;
      r.op = n.op_name();
      r.requested = d.req.precision;
      r.source = d.req.source;
      r.executed = d.exec;
      r.backend = d.backend;
      r.kernel = d.kernel->name;
      if (auto it = absorbed_.find(n.name); it != absorbed_.end()) r.fused = it->second;
      for (size_t i = 0; i < st.inputs.size(); ++i)
        if (st.inputs[i] >= 0 && !plan.tensors[st.inputs[i]].is_constant()) {
          r.input_dtype = dtype_name(plan.tensors[st.inputs[i]].dtype);
          break;
        }
      if (!st.outputs.empty()) r.output_dtype = dtype_name(plan.tensors[st.outputs[0]].dtype);
      for (const auto& s : d.reasons) r.reason += (r.reason.empty() ? "" : "; ") + s;
      if (n.op == OpKind::Reorder) {
        r.reason = str(plan.tensors[st.inputs[0]].str(), " -> ", plan.tensors[st.outputs[0]].str());
        r.requested = r.executed = Precision::kFp32;
      }
      m.layers.push_back(r);
      // Absorbed layers get a row too, so every layer of the model shows how it ran.
      for (const std::string& a : r.fused) {
        const Node* on = original_.find_node(a);
        // A node a pass made (a Gelu absorbed by a Gemm) is listed as the nodes it replaced.
        if (!on) continue;
        LayerReport ar;
        ar.name = a;
        ar.module_path = on->module_path;
        ar.op = on->op_name();
        const Request& q = reqs_.of(a);
        ar.requested = q.precision;
        ar.source = q.is_explicit ? q.source : "inherited";
        if (!q.is_explicit) ar.requested = d.exec;
        ar.executed = d.exec;
        ar.backend = r.backend;
        ar.kernel = r.kernel;
        ar.reason = "fused into " + n.name;
        m.layers.push_back(ar);
      }
      if (has_constant_weights(n) && n.def().quant == QuantRule::kRequant &&
          n.inputs[1]->constant->rank() >= 2) {
        double np = static_cast<double>(n.inputs[1]->constant->numel());
        wbits += np * precision_bits(d.exec);
        wsum += np;
      }
    }
    m.average_bits = wsum > 0 ? wbits / wsum : 0.0;
  }

  const Graph& original_;
  BuildOptions opt_;
  const KernelRegistry& reg_;
  Requests reqs_;
  std::unique_ptr<Graph> base_;
  std::map<std::string, std::vector<std::string>> absorbed_;
  std::map<std::string, passes::BatchDim> batch_layout_;  // value name -> its batch dim
  std::map<std::string, Forced> forced_;
  std::unordered_map<const Node*, Decision> dec_;
  std::unordered_map<const Value*, QuantParams> vq_;
  std::unordered_map<const Value*, DType> vq_dtype_;
  std::set<std::string> notes_;
  // realization state
  std::vector<TensorSpec> specs_;
  std::unordered_map<const Value*, int> tix_;
  std::vector<Step> steps_;
  std::map<std::pair<const Value*, std::string>, Value*> reorders_;
};

}  // namespace

const TensorSpec& Plan::tensor(const std::string& value_name) const {
  auto it = tensor_index.find(value_name);
  if (it == tensor_index.end()) not_found("plan has no tensor '" + value_name + "'").raise();
  return tensors[it->second];
}

std::vector<std::unique_ptr<Kernel>> prepare_kernels_impl(Plan& plan, bool tune);

Plan Plan::clone() const {
  Plan p;
  p.graph = graph->clone();
  p.tensors = tensors;
  p.tensor_index = tensor_index;
  p.steps = steps;
  for (Step& st : p.steps) {
    st.node = p.graph->find_node(st.node->name);
    if (!st.node) internal_error("plan step without its node in the cloned graph").raise();
  }
  p.inputs = inputs;
  p.outputs = outputs;
  p.options = options;
  p.manifest = manifest;
  return p;
}

PreparedPlan build_plan(const Graph& g, const quant::CalibrationTable* table,
                        const BuildOptions& opt) {
  return Builder(g, table, opt).run();
}

std::vector<std::unique_ptr<Kernel>> prepare_kernels(Plan& plan, bool tune) {
  std::vector<std::unique_ptr<Kernel>> kernels = prepare_kernels_impl(plan, tune);
  // A recorded choice a kernel did not take (an engine file tuned on another GPU generation, or
  // by a build with other kernels) was timed again here: the manifest says so.
  int reselected = 0;
  std::string first;
  for (size_t i = 0; i < kernels.size(); ++i) {
    std::string v = kernels[i]->variant();
    Step& st = plan.steps[i];
    if (!st.variant.empty() && v != st.variant && !reselected++)
      first = str(st.node->name, ": ", st.variant, " -> ", v);
    st.variant = std::move(v);
  }
  if (reselected)
    plan.manifest.notes.push_back(
        str(reselected, " step(s) chose their algorithm again on this ",
            "machine (the recorded choice does not apply here; first: ", first, ")"));
  std::vector<std::string>& notes = plan.manifest.notes;
  const std::string prefix = kMachineNote;
  notes.erase(std::remove_if(notes.begin(), notes.end(),
                             [&](const std::string& n) { return n.rfind(prefix, 0) == 0; }),
              notes.end());
  for (const auto& k : kernels) {
    const std::string n = k->build_note();
    if (n.empty()) continue;
    if (std::find(notes.begin(), notes.end(), prefix + n) == notes.end())
      notes.push_back(prefix + n);
  }
  return kernels;
}

std::vector<std::unique_ptr<Kernel>> prepare_kernels_impl(Plan& plan, bool tune) {
  const KernelRegistry& reg = KernelRegistry::instance();
  if (const Backend* b = find_backend(plan.options.backend)) b->begin_prepare(plan.options.threads);
  std::vector<std::unique_ptr<Kernel>> kernels;
  std::unordered_map<std::string, LayerReport*> rows;
  for (auto& r : plan.manifest.layers) rows.emplace(r.name, &r);
  for (const Step& st : plan.steps) {
    const KernelInfo* ki = reg.by_name(st.kernel_name);
    if (!ki) internal_error("unknown kernel " + st.kernel_name).node(st.node->name).raise();
    std::unique_ptr<Kernel> k = ki->make();
    KernelSetup s;
    s.node = st.node;
    s.precision = st.precision;
    s.max_batch = plan.options.max_batch;
    s.variant = st.variant;
    s.tune = tune;
    for (int i : st.inputs) s.inputs.push_back(i >= 0 ? &plan.tensors[i] : nullptr);
    for (int i : st.outputs) s.outputs.push_back(&plan.tensors[i]);
    try {
      k->prepare(s);
    } catch (const Error& e) {
      throw e.with_node(st.node->name);
    }
    if (auto it = rows.find(st.node->name); it != rows.end()) {
      it->second->impl = k->impl_name();
      for (auto& r : plan.manifest.layers)
        if (r.reason == "fused into " + st.node->name) r.impl = it->second->impl;
    }
    kernels.push_back(std::move(k));
  }
  return kernels;
}

}  // namespace mpq::plan
