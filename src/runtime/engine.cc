#include "runtime/engine.h"

#include <chrono>

#include "core/limits.h"

namespace mpq::runtime {

Engine::Engine(plan::Plan plan, std::vector<std::unique_ptr<Kernel>> kernels)
    : plan_(std::move(plan)), kernels_(std::move(kernels)) {
  mem_ = plan::plan_memory(plan_, kernels_);
}

std::shared_ptr<const Engine> Engine::build(const Graph& g, const quant::CalibrationTable* table,
                                            const plan::BuildOptions& opt) {
  plan::PreparedPlan pp = plan::build_plan(g, table, opt);
  return std::shared_ptr<const Engine>(new Engine(std::move(pp.plan), std::move(pp.kernels)));
}

std::shared_ptr<const Engine> Engine::from_plan(plan::Plan plan) {
  auto kernels = plan::prepare_kernels(plan);
  return std::shared_ptr<const Engine>(new Engine(std::move(plan), std::move(kernels)));
}

std::shared_ptr<const Engine> Engine::with_note(std::shared_ptr<const Engine> e,
                                                const std::string& note) {
  if (!e || e.use_count() != 1) internal_error("with_note: the engine is already shared").raise();
  const_cast<Engine*>(e.get())->plan_.manifest.notes.push_back(note);
  return e;
}

std::vector<TensorSpec> Engine::input_specs() const {
  std::vector<TensorSpec> v;
  for (int t : plan_.inputs) v.push_back(plan_.tensors[t]);
  return v;
}

std::vector<TensorSpec> Engine::output_specs() const {
  std::vector<TensorSpec> v;
  for (int t : plan_.outputs) v.push_back(plan_.tensors[t]);
  return v;
}

ExecutionContext::ExecutionContext(std::shared_ptr<const Engine> engine, int threads)
    : engine_(std::move(engine)), threads_(threads > 0 ? threads : engine_->plan_.options.threads) {
  if (threads < 0 || threads > kMaxThreads)
    invalid_input(
        str("the thread count must be 0 (the engine's) to ", kMaxThreads, ", got ", threads))
        .key("threads")
        .raise();
  const plan::Plan& p = engine_->plan_;
  arena_ =
      Tensor(DType::u8, {static_cast<int64_t>(std::max<size_t>(engine_->mem_.arena_bytes, 1))});
  for (const plan::Step& st : p.steps) {
    auto it = backend_ctx_.find(st.backend);
    if (it == backend_ctx_.end()) {
      const Backend* b = find_backend(st.backend);
      if (!b) internal_error("unknown backend " + st.backend).node(st.node->name).raise();
      it = backend_ctx_.emplace(st.backend, b->make_context(threads_)).first;
    }
    step_ctx_.push_back(it->second.get());
  }
  // A device backend runs the whole plan on its own buffers.
  runner_ = make_plan_runner(p, engine_->kernels_, engine_->mem_, threads_);
}

double ExecutionContext::device_kernel_ms(int64_t batch, int iters) {
  return runner_ ? runner_->kernel_ms(batch, iters) : -1.0;
}

void ExecutionContext::set_profiling(bool on) {
  profiling_ = on;
  step_ms_.assign(engine_->plan_.steps.size(), 0.0);
}

int64_t ExecutionContext::check_inputs(const std::vector<Tensor>& inputs) const {
  const plan::Plan& p = engine_->plan_;
  if (inputs.size() != p.inputs.size())
    invalid_input(str("the model takes ", p.inputs.size(), " input(s), got ", inputs.size()))
        .raise();
  int64_t batch = -1;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const TensorSpec& s = p.tensors[p.inputs[i]];
    const Tensor& t = inputs[i];
    bool ok = t.dtype() == s.dtype && t.rank() == static_cast<int>(s.shape.size());
    for (int d = 0; ok && d < t.rank(); ++d) ok = (s.batched && d == 0) || t.dim(d) == s.shape[d];
    if (!ok) {
      Shape want = s.shape;
      if (s.batched) want[0] = -1;
      invalid_input(str("input has ", dtype_name(t.dtype()), shape_str(t.shape()),
                        ", the engine expects ", dtype_name(s.dtype), shape_str(want),
                        " (batch 1..", engine_->max_batch(), ")"))
          .key(s.name)
          .raise();
    }
    if (!s.batched) continue;
    const int64_t b = t.dim(0);
    if (b < 1 || b > engine_->max_batch())
      invalid_input(
          str("batch ", b, " is outside 1..", engine_->max_batch(),
              " (the engine's maximum batch; split the data or rebuild with a larger batch)"))
          .key(s.name)
          .raise();
    if (batch >= 0 && b != batch)
      invalid_input(str("inputs have different batch sizes (", batch, " and ", b, ")"))
          .key(s.name)
          .raise();
    batch = b;
  }
  return batch < 0 ? 1 : batch;
}

std::vector<Tensor> ExecutionContext::run(const std::vector<Tensor>& inputs) {
  const int64_t batch = check_inputs(inputs);
  if (runner_) {
    if (observer_)
      unsupported(str("the ", engine_->plan_.options.backend,
                      " backend runs whole plans on the device: steps cannot be observed"))
          .raise();
    return runner_->run(inputs, batch);
  }
  const Engine& e = *engine_;
  const plan::Plan& p = e.plan_;
  std::vector<const void*> ptr(p.tensors.size(), nullptr);
  char* base = static_cast<char*>(arena_.raw());
  for (size_t t = 0; t < p.tensors.size(); ++t) {
    if (e.mem_.offset[t] >= 0)
      ptr[t] = base + e.mem_.offset[t];
    else if (p.tensors[t].is_constant())
      ptr[t] = p.tensors[t].constant->raw();
  }
  for (size_t i = 0; i < inputs.size(); ++i) ptr[p.inputs[i]] = inputs[i].raw();
  std::vector<Tensor> outputs;
  for (int t : p.outputs) {
    const TensorSpec& s = p.tensors[t];
    if (s.is_constant()) {
      outputs.push_back(*s.constant);
      continue;
    }
    int input_index = -1;
    for (size_t i = 0; i < inputs.size(); ++i)
      if (p.inputs[i] == t) input_index = static_cast<int>(i);
    if (input_index >= 0) {  // a model input passed through unchanged
      outputs.push_back(inputs[input_index].clone());
      continue;
    }
    outputs.emplace_back(s.dtype, s.shape_at(batch));
    ptr[t] = outputs.back().raw();
  }
  for (auto& [name, ctx] : backend_ctx_) ctx->begin_run();
  KernelArgs a;
  a.batch = batch;
  for (size_t s = 0; s < p.steps.size(); ++s) {
    const plan::Step& st = p.steps[s];
    a.inputs.clear();
    a.outputs.clear();
    for (int t : st.inputs) a.inputs.push_back(t >= 0 ? ptr[t] : nullptr);
    for (int t : st.outputs) a.outputs.push_back(const_cast<void*>(ptr[t]));
    a.ctx = step_ctx_[s];
    const auto t0 =
        profiling_ ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
    try {
      e.kernels_[s]->run(a);
    } catch (const Error& err) {
      throw err.with_node(st.node->name);
    }
    if (profiling_ || observer_) step_ctx_[s]->end_run();  // wait for the step itself
    if (profiling_)
      step_ms_[s] +=
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (observer_)
      for (int t : st.outputs) {
        const TensorSpec& spec = p.tensors[t];
        observer_(spec, Tensor::view(spec.dtype, spec.shape_at(batch), const_cast<void*>(ptr[t])));
      }
  }
  for (auto& [name, ctx] : backend_ctx_) ctx->end_run();
  return outputs;
}

}  // namespace mpq::runtime
