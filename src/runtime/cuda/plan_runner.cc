// The cuda backend's plan runner (runtime/plan_runner.h), one per ExecutionContext: the
// activation arena, the model's inputs and outputs live in device memory allocated once, with
// pinned host staging for the copies; each run copies the inputs in (staged in chunks, H2D on the
// context's stream: staged_copy.h), replays the CUDA graph of every kernel launch for this batch
// size (captured at first use), and copies the outputs back (D2H). Steps that run on another
// backend (the reference fallback for an op without a CUDA kernel) make the runner run eagerly
// instead, with copies around those steps.
#include "runtime/plan_runner.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

#include "backends/cuda/cuda_util.h"
#include "backends/cuda/kernels.h"
#include "core/debug_options.h"
#include "runtime/cuda/staged_copy.h"

namespace mpq {

namespace cuda {
namespace {

class CudaPlanRunner : public PlanRunner {
 public:
  CudaPlanRunner(const plan::Plan& plan, const std::vector<std::unique_ptr<Kernel>>& kernels,
                 const plan::MemoryPlan& mem, int threads)
      : plan_(plan), kernels_(kernels), mem_(mem), threads_(threads) {
    const int64_t mb = plan.options.max_batch;
    arena_ = DeviceBuffer(std::max<size_t>(mem.arena_bytes, 1));
    dev_.assign(plan.tensors.size(), nullptr);
    host_.assign(plan.tensors.size(), nullptr);
    for (size_t t = 0; t < plan.tensors.size(); ++t) {
      if (mem.offset[t] >= 0)
        dev_[t] = static_cast<char*>(arena_.get()) + mem.offset[t];
      else if (plan.tensors[t].is_constant())
        dev_[t] = host_[t] = const_cast<void*>(plan.tensors[t].constant->raw());
    }
    for (int t : plan.inputs) {
      in_dev_.emplace_back(plan.tensors[t].bytes_at(mb));
      in_pinned_.emplace_back(plan.tensors[t].bytes_at(mb));
      dev_[t] = in_dev_.back().get();
    }
    for (int t : plan.outputs) {
      if (plan.tensors[t].is_constant() || dev_[t]) {  // a constant or an input passed through
        out_dev_.emplace_back();
        out_pinned_.emplace_back();
        continue;
      }
      out_dev_.emplace_back(plan.tensors[t].bytes_at(mb));
      out_pinned_.emplace_back(plan.tensors[t].bytes_at(mb));
      dev_[t] = out_dev_.back().get();
    }
    for (const plan::Step& st : plan.steps) {
      if (st.backend == "cuda") {
        step_ctx_.push_back(&ctx_);
        continue;
      }
      all_cuda_ = false;
      auto it = host_ctx_.find(st.backend);
      if (it == host_ctx_.end()) {
        const Backend* b = find_backend(st.backend);
        if (!b) internal_error("unknown backend " + st.backend).node(st.node->name).raise();
        it = host_ctx_.emplace(st.backend, b->make_context(threads)).first;
      }
      step_ctx_.push_back(it->second.get());
    }
    size_t ws = 0;  // scratch the kernels need, reserved before any graph is captured
    for (const auto& k : kernels)
      if (const auto* u = dynamic_cast<const WorkspaceUser*>(k.get()))
        ws = std::max(ws, u->workspace_bytes());
    if (ws) ctx_.reserve(ws);
    if (!all_cuda_)
      host_arena_ = Tensor(DType::u8, {static_cast<int64_t>(std::max<size_t>(mem.arena_bytes, 1))});
  }

  ~CudaPlanRunner() override {
    for (auto& [b, g] : graphs_) cudaGraphExecDestroy(g);
  }

  std::vector<Tensor> run(const std::vector<Tensor>& inputs, int64_t batch) override {
    const cudaStream_t s = ctx_.stream();
    for (size_t i = 0; i < inputs.size(); ++i) {
      const size_t n = plan_.tensors[plan_.inputs[i]].bytes_at(batch);
      staged_host_to_device(in_dev_[i].get(), in_pinned_[i].get(), inputs[i].raw(), n, threads_, s);
    }
    if (all_cuda_) {
      MPQ_CUDA_CHECK(cudaGraphLaunch(graph_for(batch), s));
    } else {
      run_eager(inputs, batch);
    }
    std::vector<Tensor> outputs;
    for (size_t o = 0; o < plan_.outputs.size(); ++o) {
      const int t = plan_.outputs[o];
      const TensorSpec& spec = plan_.tensors[t];
      if (spec.is_constant()) {
        outputs.push_back(*spec.constant);
        continue;
      }
      auto in = std::find(plan_.inputs.begin(), plan_.inputs.end(), t);
      if (in != plan_.inputs.end()) {
        outputs.push_back(inputs[in - plan_.inputs.begin()].clone());
        continue;
      }
      MPQ_CUDA_CHECK(cudaMemcpyAsync(out_pinned_[o].get(), dev_[t], spec.bytes_at(batch),
                                     cudaMemcpyDeviceToHost, s));
    }
    MPQ_CUDA_CHECK(cudaStreamSynchronize(s));
    for (size_t o = 0; o < plan_.outputs.size(); ++o) {
      const int t = plan_.outputs[o];
      const TensorSpec& spec = plan_.tensors[t];
      if (!out_pinned_[o].get()) continue;
      outputs.emplace_back(spec.dtype, spec.shape_at(batch));
      std::memcpy(outputs.back().raw(), out_pinned_[o].get(), spec.bytes_at(batch));
    }
    // Keep the model's output order (constants/pass-through inputs were pushed first above).
    return reorder_outputs(std::move(outputs));
  }

  double kernel_ms(int64_t batch, int iters) override {
    if (!all_cuda_) return -1.0;
    const cudaStream_t s = ctx_.stream();
    cudaGraphExec_t g = graph_for(batch);
    // Warm-up: keep the GPU busy for a while first (MPQ_DEBUG=cuda-warmup-ms, default 1000), so
    // that its clocks have left the idle state (seen: an H200 idles at 345 MHz, boosts to 1980).
    const DebugOptions debug = debug_options();
    const double warm_ms = debug.cuda_warmup_ms;
    const auto t0 = std::chrono::steady_clock::now();
    do {
      for (int i = 0; i < 50; ++i) MPQ_CUDA_CHECK(cudaGraphLaunch(g, s));
      MPQ_CUDA_CHECK(cudaStreamSynchronize(s));
    } while (
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() <
        warm_ms);
    if (debug.cuda_profile) {
      profile(batch, iters);
      for (int i = 0; i < 200; ++i) MPQ_CUDA_CHECK(cudaGraphLaunch(g, s));
    }
    cudaEvent_t e0, e1;
    MPQ_CUDA_CHECK(cudaEventCreate(&e0));
    MPQ_CUDA_CHECK(cudaEventCreate(&e1));
    constexpr int kInner = 10;
    std::vector<float> ms;
    for (int r = 0; r < std::max(iters, 1); ++r) {
      MPQ_CUDA_CHECK(cudaEventRecord(e0, s));
      for (int i = 0; i < kInner; ++i) MPQ_CUDA_CHECK(cudaGraphLaunch(g, s));
      MPQ_CUDA_CHECK(cudaEventRecord(e1, s));
      MPQ_CUDA_CHECK(cudaEventSynchronize(e1));
      float t = 0.f;
      MPQ_CUDA_CHECK(cudaEventElapsedTime(&t, e0, e1));
      ms.push_back(t / kInner);
    }
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
  }

 private:
  std::vector<Tensor> reorder_outputs(std::vector<Tensor> got) {
    // run() appends constants/pass-throughs first, then device outputs: restore plan order.
    std::vector<Tensor> out(plan_.outputs.size());
    size_t k = 0;
    for (size_t o = 0; o < plan_.outputs.size(); ++o)
      if (!out_pinned_[o].get()) out[o] = std::move(got[k++]);
    for (size_t o = 0; o < plan_.outputs.size(); ++o)
      if (out_pinned_[o].get()) out[o] = std::move(got[k++]);
    return out;
  }

  // Per-step kernel time (events between eager launches; launch gaps excluded as far as events
  // can tell), printed to stderr: what each layer costs inside the graph.
  void profile(int64_t batch, int iters) {
    const cudaStream_t s = ctx_.stream();
    const size_t n = plan_.steps.size();
    std::vector<cudaEvent_t> ev(n + 1);
    for (auto& e : ev) MPQ_CUDA_CHECK(cudaEventCreate(&e));
    std::vector<std::vector<float>> ms(n);
    KernelArgs a;
    a.batch = batch;
    a.ctx = &ctx_;
    for (int r = 0; r < std::max(iters, 3); ++r) {
      for (size_t i = 0; i < n; ++i) {
        const plan::Step& st = plan_.steps[i];
        a.inputs.clear();
        a.outputs.clear();
        for (int t : st.inputs) a.inputs.push_back(t >= 0 ? dev_[t] : nullptr);
        for (int t : st.outputs) a.outputs.push_back(dev_[t]);
        MPQ_CUDA_CHECK(cudaEventRecord(ev[i], s));
        kernels_[i]->run(a);
      }
      MPQ_CUDA_CHECK(cudaEventRecord(ev[n], s));
      MPQ_CUDA_CHECK(cudaEventSynchronize(ev[n]));
      for (size_t i = 0; i < n; ++i) {
        float t = 0.f;
        MPQ_CUDA_CHECK(cudaEventElapsedTime(&t, ev[i], ev[i + 1]));
        ms[i].push_back(t);
      }
    }
    double total = 0;
    std::fprintf(stderr, "profile (batch %lld, median of %d, us):\n", static_cast<long long>(batch),
                 iters);
    for (size_t i = 0; i < n; ++i) {
      std::sort(ms[i].begin(), ms[i].end());
      const double us = 1e3 * ms[i][ms[i].size() / 2];
      total += us;
      const plan::Step& st = plan_.steps[i];
      const TensorSpec& out = plan_.tensors[st.outputs.at(0)];
      std::fprintf(stderr, "  %8.2f  %-28s %-10s %-40s %s\n", us,
                   st.node->name.substr(0, 28).c_str(), st.node->op_name(),
                   kernels_[i]->impl_name().c_str(), out.str().c_str());
    }
    std::fprintf(stderr, "  %8.2f  total\n", total);
    for (auto& e : ev) cudaEventDestroy(e);
  }

  void enqueue(int64_t batch) {
    KernelArgs a;
    a.batch = batch;
    a.ctx = &ctx_;
    for (size_t i = 0; i < plan_.steps.size(); ++i) {
      const plan::Step& st = plan_.steps[i];
      a.inputs.clear();
      a.outputs.clear();
      for (int t : st.inputs) a.inputs.push_back(t >= 0 ? dev_[t] : nullptr);
      for (int t : st.outputs) a.outputs.push_back(dev_[t]);
      try {
        kernels_[i]->run(a);
      } catch (const Error& e) {
        throw e.with_node(st.node->name);
      }
    }
  }

  cudaGraphExec_t graph_for(int64_t batch) {
    auto it = graphs_.find(batch);
    if (it != graphs_.end()) return it->second;
    const cudaStream_t s = ctx_.stream();
    cudaGraph_t graph = nullptr;
    MPQ_CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
    try {
      enqueue(batch);
    } catch (...) {
      cudaStreamEndCapture(s, &graph);
      if (graph) cudaGraphDestroy(graph);
      throw;
    }
    MPQ_CUDA_CHECK(cudaStreamEndCapture(s, &graph));
    cudaGraphExec_t exec = nullptr;
    const cudaError_t e = cudaGraphInstantiate(&exec, graph, 0);
    cudaGraphDestroy(graph);
    MPQ_CUDA_CHECK(e);
    graphs_[batch] = exec;
    return exec;
  }

  // Mixed plans: CUDA steps on the stream, host steps between synchronized copies.
  void run_eager(const std::vector<Tensor>& inputs, int64_t batch) {
    const cudaStream_t s = ctx_.stream();
    char* hbase = static_cast<char*>(host_arena_.raw());
    std::vector<void*> host = host_;
    for (size_t t = 0; t < plan_.tensors.size(); ++t)
      if (mem_.offset[t] >= 0) host[t] = hbase + mem_.offset[t];
    for (size_t i = 0; i < inputs.size(); ++i)
      host[plan_.inputs[i]] = const_cast<void*>(inputs[i].raw());
    std::vector<Tensor> host_out;  // host copies of graph outputs written by host steps
    for (int t : plan_.outputs)
      if (!host[t]) {
        host_out.emplace_back(plan_.tensors[t].dtype, plan_.tensors[t].shape_at(batch));
        host[t] = host_out.back().raw();
      }
    KernelArgs a;
    a.batch = batch;
    for (size_t i = 0; i < plan_.steps.size(); ++i) {
      const plan::Step& st = plan_.steps[i];
      const bool on_gpu = st.backend == "cuda";
      a.inputs.clear();
      a.outputs.clear();
      a.ctx = step_ctx_[i];
      if (!on_gpu) {
        MPQ_CUDA_CHECK(cudaStreamSynchronize(s));
        for (int t : st.inputs) {
          if (t < 0 || plan_.tensors[t].is_constant()) continue;
          MPQ_CUDA_CHECK(cudaMemcpy(host[t], dev_[t], plan_.tensors[t].bytes_at(batch),
                                    cudaMemcpyDeviceToHost));
        }
      }
      for (int t : st.inputs) a.inputs.push_back(t < 0 ? nullptr : on_gpu ? dev_[t] : host[t]);
      for (int t : st.outputs) a.outputs.push_back(on_gpu ? dev_[t] : host[t]);
      try {
        if (!on_gpu) a.ctx->begin_run();
        kernels_[i]->run(a);
        if (!on_gpu) a.ctx->end_run();
      } catch (const Error& e) {
        throw e.with_node(st.node->name);
      }
      if (!on_gpu)
        for (int t : st.outputs)
          MPQ_CUDA_CHECK(cudaMemcpy(dev_[t], host[t], plan_.tensors[t].bytes_at(batch),
                                    cudaMemcpyHostToDevice));
    }
  }

  const plan::Plan& plan_;
  const std::vector<std::unique_ptr<Kernel>>& kernels_;
  const plan::MemoryPlan& mem_;
  const int threads_;
  CudaContext ctx_;
  DeviceBuffer arena_;
  std::vector<DeviceBuffer> in_dev_, out_dev_;
  std::vector<PinnedBuffer> in_pinned_, out_pinned_;
  std::vector<void*> dev_, host_;
  std::vector<BackendContext*> step_ctx_;
  std::map<std::string, std::unique_ptr<BackendContext>> host_ctx_;
  Tensor host_arena_;
  bool all_cuda_ = true;
  std::map<int64_t, cudaGraphExec_t> graphs_;
};

}  // namespace
}  // namespace cuda

std::unique_ptr<PlanRunner> make_cuda_plan_runner(
    const plan::Plan& plan, const std::vector<std::unique_ptr<Kernel>>& kernels,
    const plan::MemoryPlan& mem, int threads) {
  return std::make_unique<cuda::CudaPlanRunner>(plan, kernels, mem, threads);
}

}  // namespace mpq
