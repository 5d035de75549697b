#include "api/calibration_runner.h"

#include <unordered_set>

#include "quant/config_list.h"
#include "runtime/engine.h"

namespace mpq::api {

namespace {

class EngineRunner : public quant::BatchRunner {
 public:
  EngineRunner(const Graph& g, int64_t max_batch, int threads) : g_(g) {
    copy_ = g.clone();
    const auto consts = quant::constant_nodes(*copy_);
    std::vector<Value*> outs;
    std::unordered_set<const Value*> seen;
    for (const auto& n : copy_->nodes()) {
      if (consts.count(n.get())) continue;
      for (Value* o : n->outputs)
        if (o->has_type && o->dtype == DType::f32 && seen.insert(o).second) outs.push_back(o);
    }
    for (Value* o : copy_->outputs())  // keep the model's own outputs too
      if (seen.insert(o).second) outs.push_back(o);
    copy_->set_outputs(outs);
    for (Value* o : outs) observed_.push_back(g_.find_value(o->name));
    plan::BuildOptions opt;
    opt.max_batch = max_batch;
    opt.threads = threads;
    engine_ = runtime::Engine::build(*copy_, nullptr, opt);
    ctx_ = std::make_unique<runtime::ExecutionContext>(engine_, threads);
  }

  void run(const std::vector<Tensor>& inputs, const ValueObserver& observe) override {
    check_run_inputs(g_, inputs);
    for (size_t i = 0; i < inputs.size(); ++i) observe(*g_.inputs()[i], inputs[i]);
    std::vector<Tensor> outs = ctx_->run(inputs);
    for (size_t i = 0; i < outs.size() && i < observed_.size(); ++i)
      if (observed_[i]) observe(*observed_[i], outs[i]);
  }
  std::string name() const override { return "cpu-fp32-engine"; }

 private:
  const Graph& g_;
  std::unique_ptr<Graph> copy_;
  std::vector<const Value*> observed_;  // the original graph's values, in engine output order
  std::shared_ptr<const runtime::Engine> engine_;
  std::unique_ptr<runtime::ExecutionContext> ctx_;
};

}  // namespace

std::unique_ptr<quant::BatchRunner> make_cpu_calibration_runner(const Graph& g, int64_t max_batch,
                                                                int threads) {
#ifdef MPQ_HAVE_DNNL
  return std::make_unique<EngineRunner>(g, max_batch, threads);
#else
  (void)g, (void)max_batch, (void)threads;
  return nullptr;
#endif
}

}  // namespace mpq::api
