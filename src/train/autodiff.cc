#include "train/autodiff.h"

#include <chrono>
#include <cstring>
#include <map>

#include "ir/op_def.h"

namespace mpq::train {

void own_constants(Graph& g) {
  for (const auto& v : g.values())
    if (v->constant) v->constant = v->constant->clone();
}

int fold_constant_nodes(Graph& g) {
  std::vector<Node*> todo;
  for (const auto& n : g.nodes()) {
    bool no_inputs = true;
    for (const Value* v : n->inputs) no_inputs &= v == nullptr;
    if (no_inputs && n->outputs.size() == 1 && n->def().forward) todo.push_back(n.get());
  }
  for (Node* n : todo) {
    std::vector<Tensor> out = n->def().forward(*n, std::vector<Tensor>(n->inputs.size()));
    if (out.size() != 1) continue;
    Value* v = n->outputs[0];
    g.remove_node(n);
    v->constant = out[0];
  }
  return static_cast<int>(todo.size());
}

struct Autodiff::Plan {
  struct Step {
    const Node* node = nullptr;
    std::unique_ptr<TrainKernel> kernel;
    StepContext ctx;
    bool backward_needed = false;
    bool eval_live = true;  // runs in inference mode (see TrainKernel::eval_reads_input)
    std::string label;      // implementation name for profiling
  };
  int64_t batch = 0;
  std::vector<std::unique_ptr<Slot>> slots;
  std::unordered_map<const Value*, Slot*> primary;
  std::map<std::pair<const Slot*, Layout>, Slot*> converted;
  std::vector<Step> steps;
  Slot* input = nullptr;
  Slot* output = nullptr;
};

Autodiff::Autodiff(Graph& g, Value* output) : g_(g), out_value_(output) {
  if (!g_.inputs().empty()) declared_ = g_.inputs()[0]->shape;
  if (g_.inputs().size() != 1)
    unsupported(str("training needs a model with one input, this one has ", g_.inputs().size()))
        .raise();
  if (!out_value_ && g_.outputs().size() != 1)
    unsupported(str("training needs a model with one output (the logits), this one has ",
                    g_.outputs().size()))
        .raise();
  if (!out_value_) out_value_ = g_.outputs()[0];
  if (g_.inputs()[0]->dtype != DType::f32)
    invalid_input("the model input must be float32 for training").key(g_.inputs()[0]->name).raise();
  if (g_.inputs()[0]->shape.empty())
    invalid_input("the model input has no batch dimension").key(g_.inputs()[0]->name).raise();
  fold_constant_nodes(g_);
  g_.sort();
  collect_params();
}

Autodiff::~Autodiff() {
  try {
    restore_shapes();
  } catch (const std::exception&) {  // the graph was valid at the declared shape before
  }
}

void Autodiff::restore_shapes() {
  if (shapes_batch_ < 0 || declared_.empty()) return;
  g_.inputs()[0]->shape = declared_;
  infer_shapes(g_);
  shapes_batch_ = -1;
}

void Autodiff::collect_params() {
  params_.clear();
  std::unordered_set<const Value*> seen;
  for (const auto& n : g_.nodes()) {
    std::unique_ptr<TrainKernel> k = make_kernel(*n);
    for (size_t i = 0; i < n->inputs.size(); ++i) {
      Value* v = n->inputs[i];
      if (!v || !v->constant || seen.count(v)) continue;
      const Tensor& t = *v->constant;
      if (t.dtype() != DType::f32 || t.rank() == 0 || !k->differentiable(i)) continue;
      seen.insert(v);
      Param p;
      p.value = v;
      p.data = t;
      p.grad = Tensor(DType::f32, t.shape());
      p.frozen = frozen_.count(v->name) != 0;
      params_.push_back(std::move(p));
    }
  }
}

Param* Autodiff::find_param(const std::string& name) {
  for (Param& p : params_)
    if (p.value->name == name) return &p;
  return nullptr;
}

void Autodiff::freeze(const std::string& name) {
  frozen_.insert(name);
  if (Param* p = find_param(name)) p->frozen = true;
  reset_plans();
}

void Autodiff::reset_plans() {
  plans_.clear();
  current_ = nullptr;
  shapes_batch_ = -1;
}

void Autodiff::add_pre_forward_hook(const Node* n, std::function<void(StepContext&)> hook) {
  hooks_[n].push_back(std::move(hook));
}

void Autodiff::set_bypass(const Node* n, bool on) {
  if (on)
    bypass_.insert(n);
  else
    bypass_.erase(n);
}

std::map<std::string, double> Autodiff::timing() const {
  return timing_;
}

void Autodiff::ensure_shapes(int64_t batch) {
  if (shapes_batch_ == batch) return;
  Value* in = g_.inputs()[0];
  if (declared_.empty()) declared_ = in->shape;
  Shape s = declared_;
  s[0] = batch;
  in->shape = s;
  try {
    infer_shapes(g_);
  } catch (const Error& e) {
    Status st = e.status();
    st.message = str("the model cannot run at batch size ", batch, " (", st.message,
                     "); export it with a dynamic batch dimension");
    throw Error(st);
  }
  shapes_batch_ = batch;
}

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

}  // namespace

// Builds the plan of one batch size: a slot per value (and per layout it is converted to), a
// step per node the output needs.
class Autodiff::PlanBuilder {
 public:
  PlanBuilder(Autodiff& ad, int64_t batch) : ad_(ad), p_(std::make_unique<Plan>()) {
    p_->batch = batch;
    for (Param& pr : ad_.params_) param_of_[pr.value] = &pr;
  }

  void add_input(const Value* gin) {
    p_->input = new_slot(gin, gin->name, gin->shape, Layout::kPlain);
    p_->input->data = Tensor(DType::f32, gin->shape);
    p_->primary[gin] = p_->input;
  }

  void add_step(const Node& n) {
    Plan::Step st;
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
  std::unique_ptr<Plan> finish() {
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
    auto pit = param_of_.find(v);
    if (pit != param_of_.end()) {
      s->is_param = true;
      s->requires_grad = !pit->second->frozen;
      s->grad = pit->second->grad;
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
    Plan::Step st;
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
  bool bind_inputs(const Node& n, Plan::Step& st) {
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
        if (ad_.bypass_.count(&n)) want = s->layout;
        s = converted(s, want);
      }
      bool wg = s->requires_grad && st.kernel->differentiable(i);
      ctx.in.push_back(s);
      ctx.want_grad.push_back(wg);
      any_grad |= wg;
    }
    return any_grad;
  }

  void bind_outputs(const Node& n, Plan::Step& st, bool any_grad) {
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
      if (ad_.bypass_.count(&n) && ctx.in[0]) l = ctx.in[0]->layout;
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

  Autodiff& ad_;
  std::unique_ptr<Plan> p_;
  std::unordered_map<const Value*, Param*> param_of_;
};

std::unique_ptr<Autodiff::Plan> Autodiff::build_plan(int64_t batch) {
  ensure_shapes(batch);
  PlanBuilder b(*this, batch);
  b.add_input(g_.inputs()[0]);
  const std::unordered_set<const Node*> needed = nodes_needed_for(out_value_);
  for (const auto& np : g_.nodes())
    if (needed.count(np.get())) b.add_step(*np);
  b.set_output(out_value_);
  return b.finish();
}

Autodiff::Plan& Autodiff::plan_for(int64_t batch) {
  auto it = plans_.find(batch);
  if (it == plans_.end()) it = plans_.emplace(batch, build_plan(batch)).first;
  ensure_shapes(batch);
  current_ = it->second.get();
  return *current_;
}

const Tensor& Autodiff::forward(const Tensor& x, bool training) {
  const Value* in = g_.inputs()[0];
  if (declared_.empty()) declared_ = in->shape;
  bool ok =
      x.dtype() == DType::f32 && x.rank() == static_cast<int>(declared_.size()) && x.rank() > 0;
  for (int d = 1; ok && d < x.rank(); ++d) ok = declared_[d] < 0 || declared_[d] == x.dim(d);
  if (!ok)
    invalid_input(str("data has ", dtype_name(x.dtype()), shape_str(x.shape()),
                      ", the model input expects f32", shape_str(declared_)))
        .key(in->name)
        .raise();
  Plan& p = plan_for(x.dim(0));
  std::memcpy(p.input->data.raw(), x.raw(), x.nbytes());
  using clock = std::chrono::steady_clock;
  for (auto& st : p.steps) {
    if (!training && !st.eval_live) continue;
    StepContext& ctx = st.ctx;
    ctx.training = training;
    ctx.step = step_;
    auto t0 = profiling_ ? clock::now() : clock::time_point();
    try {
      if (st.node) {
        auto h = hooks_.find(st.node);
        if (h != hooks_.end())
          for (auto& f : h->second) f(ctx);
      }
      if (st.node && bypass_.count(st.node)) {
        std::memcpy(ctx.out[0]->data.raw(), ctx.in[0]->data.raw(), ctx.out[0]->data.nbytes());
      } else {
        st.kernel->forward(ctx);
      }
    } catch (const Error& e) {
      throw st.node ? e.with_node(st.node->name) : e;
    }
    if (profiling_)
      timing_[str(st.label, ".fwd")] += std::chrono::duration<double>(clock::now() - t0).count();
  }
  last_training_ = training;
  return p.output->data;
}

Tensor& Autodiff::output_grad() {
  if (!current_) internal_error("output_grad() before forward()").raise();
  return current_->output->grad;
}

void Autodiff::backward() {
  if (!current_ || !last_training_)
    internal_error("backward() needs a forward(x, training=true) first").raise();
  Plan& p = *current_;
  for (auto& s : p.slots) s->has_grad = false;
  p.output->has_grad = true;
  using clock = std::chrono::steady_clock;
  for (auto it = p.steps.rbegin(); it != p.steps.rend(); ++it) {
    auto& st = *it;
    if (!st.backward_needed) continue;
    bool flows = false;
    for (Slot* o : st.ctx.out) flows |= o->has_grad;
    if (!flows) continue;
    auto t0 = profiling_ ? clock::now() : clock::time_point();
    try {
      if (st.node && bypass_.count(st.node)) {
        if (st.ctx.need_grad(0)) st.ctx.accumulate_grad(0, st.ctx.grad_out(0));
      } else {
        st.kernel->backward(st.ctx);
      }
    } catch (const Error& e) {
      throw st.node ? e.with_node(st.node->name) : e;
    }
    if (profiling_)
      timing_[str(st.label, ".bwd")] += std::chrono::duration<double>(clock::now() - t0).count();
  }
  std::unordered_map<const Value*, Slot*> by_value;
  for (auto& s : p.slots)
    if (s->is_param) by_value[s->value] = s.get();
  for (Param& pr : params_) {
    auto f = by_value.find(pr.value);
    pr.has_grad = f != by_value.end() && f->second->has_grad;
  }
}

}  // namespace mpq::train
