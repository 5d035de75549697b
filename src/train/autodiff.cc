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

std::unique_ptr<plan::TrainingPlan> Autodiff::build_plan(int64_t batch) {
  ensure_shapes(batch);
  plan::TrainingPlanRequest r;
  r.graph = &g_;
  r.output = out_value_;
  r.batch = batch;
  for (const Param& p : params_) r.params[p.value] = {p.grad, p.frozen};
  r.bypass = bypass_;
  return plan::plan_training(r);
}

plan::TrainingPlan& Autodiff::plan_for(int64_t batch) {
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
  plan::TrainingPlan& p = plan_for(x.dim(0));
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
  plan::TrainingPlan& p = *current_;
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
