#include "plan/training_plan.h"

namespace mpq::plan {

using train::make_kernel;
using train::make_layout_kernel;
using train::physical_shape;
using train::Slot;
using train::StepContext;

namespace {

// The nodes the value `out` depends on: only they run.
std::unordered_set<const Node*> nodes_needed_for(const Value* out) {
  std::unordered_set<const Node*> needed;
  std::vector<const Value*> stack = {out};
  while (!stack.empty()) {
    const Value* v = stack.back();
    stack.pop_back();
    if (!v || !v->producer || needed.count(v->producer)) continue;
    needed.insert(v->producer);
    for (const Value* i : v->producer->inputs) stack.push_back(i);
  }
  return needed;
}

// Builds the plan of one batch size: a slot per value (and per layout it is converted to), a
// step per node the output needs.
class Builder {
 public:
  explicit Builder(const TrainingPlanRequest& r) : r_(r), p_(std::make_unique<TrainingPlan>()) {
    p_->batch = r.batch;
  }

  void add_input(const Value* gin) {
    p_->input = new_slot(gin, gin->name, gin->shape, Layout::kPlain);
    p_->input->data = Tensor(DType::f32, gin->shape);
    p_->primary[gin] = p_->input;
  }

  void add_step(const Node& n) {
    TrainingStep st;
    st.node = &n;
    st.ctx.node = &n;
    st.kernel = make_kernel(n);
    st.label = st.kernel->name();
    const bool any_grad = bind_inputs(n, st);
    bind_outputs(n, st, any_grad);
    st.backward_needed = any_grad;
    p_->steps.push_back(std::move(st));
  }

  void set_output(const Value* gout) {
    Slot* out = slot_of(gout);
    if (out->data.dtype() != DType::f32)
      invalid_input(str("the model output is ", dtype_name(out->data.dtype()),
                        "; training needs float logits"))
          .key(gout->name)
          .raise();
    p_->output = converted(out, Layout::kPlain);
    mark_eval_live();
  }

  // Allocates the gradients and prepares the kernels.
  std::unique_ptr<TrainingPlan> finish() {
    for (auto& s : p_->slots)
      if (!s->is_param && (s->requires_grad || s.get() == p_->output) && s->grad.empty())
        s->grad = Tensor(DType::f32, physical_shape(s->shape, s->layout));
    for (auto& st : p_->steps) {
      try {
        st.kernel->prepare(st.ctx);
      } catch (const Error& e) {
        throw st.node ? e.with_node(st.node->name) : e;
      }
    }
    return std::move(p_);
  }

 private:
  Slot* new_slot(const Value* v, const std::string& name, Shape shape, Layout l) {
    auto s = std::make_unique<Slot>();
    s->value = v;
    s->name = name;
    s->shape = std::move(shape);
    s->layout = l;
    p_->slots.push_back(std::move(s));
    return p_->slots.back().get();
  }

  // The slot a step's output wrote `v` to, or a new one for a constant (a parameter's has its
  // gradient).
  Slot* slot_of(const Value* v) {
    auto it = p_->primary.find(v);
    if (it != p_->primary.end()) return it->second;
    if (!v->constant)
      internal_error(str("value '", v->name, "' is used before it is computed")).raise();
    Slot* s = new_slot(v, v->name, v->constant->shape(), Layout::kPlain);
    s->is_constant = true;
    s->data = *v->constant;
    auto pit = r_.params.find(v);
    if (pit != r_.params.end()) {
      s->is_param = true;
      s->requires_grad = !pit->second.frozen;
      s->grad = pit->second.grad;
    }
    p_->primary[v] = s;
    return s;
  }

  // `s` in layout `want`: a layout step's output, made once per slot and layout.
  Slot* converted(Slot* s, Layout want) {
    if (s->layout == want) return s;
    auto key = std::make_pair(static_cast<const Slot*>(s), want);
    auto it = p_->converted.find(key);
    if (it != p_->converted.end()) return it->second;
    Slot* c = new_slot(s->value, str(s->name, ".", layout_name(want)), s->shape, want);
    c->data = Tensor(DType::f32, physical_shape(c->shape, want));
    c->requires_grad = s->requires_grad;
    TrainingStep st;
    st.kernel = make_layout_kernel(s->layout, want);
    st.label = "layout";
    st.ctx.in = {s};
    st.ctx.out = {c};
    st.ctx.want_grad = {s->requires_grad};
    st.backward_needed = s->requires_grad;
    p_->steps.push_back(std::move(st));
    p_->converted[key] = c;
    return c;
  }

  // The step's input slots, in the layouts its kernel wants; whether any needs a gradient.
  bool bind_inputs(const Node& n, TrainingStep& st) {
    StepContext& ctx = st.ctx;
    bool any_grad = false;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const Value* v = n.inputs[i];
      if (!v) {
        ctx.in.push_back(nullptr);
        ctx.want_grad.push_back(false);
        continue;
      }
      Slot* s = slot_of(v);
      if (s->data.dtype() == DType::f32) {
        Layout want = st.kernel->input_layout(i, s->layout, ctx);
        if (r_.bypass.count(&n)) want = s->layout;
        s = converted(s, want);
      }
      bool wg = s->requires_grad && st.kernel->differentiable(i);
      ctx.in.push_back(s);
      ctx.want_grad.push_back(wg);
      any_grad |= wg;
    }
    return any_grad;
  }

  void bind_outputs(const Node& n, TrainingStep& st, bool any_grad) {
    StepContext& ctx = st.ctx;
    for (size_t o = 0; o < n.outputs.size(); ++o) {
      const Value* v = n.outputs[o];
      if (!shape_is_static(v->shape))
        unsupported(str("output '", v->name, "' has shape ", shape_str(v->shape), " at batch size ",
                        p_->batch, "; training needs static shapes"))
            .node(n.name)
            .raise();
      Layout l = v->dtype == DType::f32 && v->shape.size() == 4 ? st.kernel->output_layout(o, ctx)
                                                                : Layout::kPlain;
      if (r_.bypass.count(&n) && ctx.in[0]) l = ctx.in[0]->layout;
      Slot* s = new_slot(v, v->name, v->shape, l);
      s->data = Tensor(v->dtype, physical_shape(v->shape, l));
      s->requires_grad = any_grad && v->dtype == DType::f32;
      p_->primary[v] = s;
      ctx.out.push_back(s);
    }
  }

  // Steps whose outputs nothing reads in inference mode are skipped there.
  void mark_eval_live() {
    std::unordered_set<const Slot*> read = {p_->output};
    for (auto it = p_->steps.rbegin(); it != p_->steps.rend(); ++it) {
      bool live = false;
      for (const Slot* o : it->ctx.out) live |= read.count(o) != 0;
      it->eval_live = live;
      if (!live) continue;
      for (size_t i = 0; i < it->ctx.in.size(); ++i)
        if (it->ctx.in[i] && it->kernel->eval_reads_input(i, it->ctx)) read.insert(it->ctx.in[i]);
    }
  }

  const TrainingPlanRequest& r_;
  std::unique_ptr<TrainingPlan> p_;
};

}  // namespace

std::unique_ptr<TrainingPlan> plan_training(const TrainingPlanRequest& r) {
  Builder b(r);
  b.add_input(r.graph->inputs()[0]);
  const std::unordered_set<const Node*> needed = nodes_needed_for(r.output);
  for (const auto& np : r.graph->nodes())
    if (needed.count(np.get())) b.add_step(*np);
  b.set_output(r.output);
  return b.finish();
}

}  // namespace mpq::plan
