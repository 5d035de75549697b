#include "api/calibration_runner.h"

#include <fstream>
#include <sstream>

#include "core/input_file.h"
#include "quant/config_list.h"
#include "quant/model_hash.h"
#include "runtime/engine.h"

namespace mpq::api {

namespace {

class EngineRunner : public quant::BatchRunner {
 public:
  EngineRunner(const Graph& g, int64_t max_batch, int threads) : g_(g) {
    plan::BuildOptions opt;
    opt.max_batch = max_batch;
    opt.threads = threads;
    engine_ = runtime::Engine::build(g, nullptr, opt);
    ctx_ = std::make_unique<runtime::ExecutionContext>(engine_, threads);
  }

  void run(const std::vector<Tensor>& inputs, const ValueObserver& observe) override {
    check_run_inputs(g_, inputs);
    for (size_t i = 0; i < inputs.size(); ++i) observe(*g_.inputs()[i], inputs[i]);
    // Only float tensors that are values of the original graph: the optimized graph's own
    // values (reorders, folded constants) are not in the table the builder reads.
    ctx_->set_observer([&](const TensorSpec& spec, const Tensor& t) {
      if (spec.dtype != DType::f32 || spec.is_constant()) return;
      const Value* v = g_.find_value(spec.name);
      if (v && !v->is_graph_input) observe(*v, t);
    });
    ctx_->run(inputs);
    ctx_->set_observer({});
  }
  std::string name() const override { return "cpu-fp32-engine"; }
  std::unordered_set<std::string> unobserved() const override {
    std::unordered_set<std::string> out;
    const auto consts = quant::constant_nodes(g_);
    for (const auto& n : g_.nodes())
      if (!consts.count(n.get()))
        for (const Value* o : n->outputs)
          if (!engine_->plan().tensor_index.count(o->name)) out.insert(o->name);
    return out;
  }

 private:
  const Graph& g_;
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

namespace mpq::api {

std::string resolve_executor(const std::string& executor, const std::string& key) {
  if (executor != "auto" && executor != "cpu" && executor != "reference")
    invalid_input(str("unknown executor '", executor, "' (expected auto, cpu or reference)"))
        .key(key)
        .raise();
#ifdef MPQ_HAVE_DNNL
  return executor == "auto" ? "cpu" : executor;
#else
  if (executor == "cpu")
    unsupported("this build has no CPU backend (built without oneDNN): use executor reference")
        .key(key)
        .raise();
  return "reference";
#endif
}

std::unique_ptr<quant::BatchRunner> make_calibration_runner(const Graph& g,
                                                            const std::string& executor,
                                                            int64_t batch, int threads) {
  if (resolve_executor(executor, "executor") == "reference") return quant::make_reference_runner(g);
  const Value& in = *g.inputs()[0];
  auto r = make_cpu_calibration_runner(g, in.shape[0] > 0 ? in.shape[0] : batch, threads);
  return r ? std::move(r) : quant::make_reference_runner(g);
}

std::unique_ptr<quant::Calibrator> make_calibrator(const Graph& g, const CalibrateOptions& opts,
                                                   const std::string& key_prefix,
                                                   std::vector<std::string>* warnings) {
  quant::CalibrationOptions o;
  if (!quant::parse_calib_method(opts.method, &o.method))
    invalid_input(str("unknown calibration method '", opts.method,
                      "' (expected entropy, minmax, percentile or mse)"))
        .key(key_prefix + "method")
        .raise();
  o.method_options.percentile = opts.percentile;
  o.method_options.entropy_floor_percentile = opts.entropy_floor;
  o.calib_images = opts.calib_images;
  o.seed = opts.seed;
  o.batch_size = opts.batch_size;
  o.threads = opts.threads;
  o.quiet = opts.quiet;
  o.executor = resolve_executor(opts.executor, key_prefix + "executor");
  std::optional<quant::ResolvedConfig> cfg;
  std::string hash;
  if (!opts.config_list.empty()) {
    const std::string text = read_input_file(opts.config_list, "config_list file (JSON)");
    quant::ConfigList c =
        quant::ConfigList::parse_string(text, opts.config_list, {opts.lenient_config});
    quant::Fnv1a64 h;
    h.string(text);
    hash = h.hex();
    warnings->insert(warnings->end(), c.warnings().begin(), c.warnings().end());
    cfg = c.resolve(g);
    warnings->insert(warnings->end(), cfg->warnings.begin(), cfg->warnings.end());
  }
  return std::make_unique<quant::Calibrator>(g, o, std::move(cfg), opts.config_list, hash);
}

}  // namespace mpq::api
