// mpq bench -e m.mpqe [--batch 128] [--iters 30] [--warmup 5] [--rounds 1] [--threads T]
//           [--data SPEC] [--profile] [--json] [--name N --variant V]
// Times ExecutionContext::run at one batch after warm-up runs: median, p10, p90 ms and images/s
// (of the round with the lowest median when --rounds > 1, as the peer scripts in bench/peers do
// on this shared machine). --profile adds each step's mean time.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

#include "api/engine_report.h"
#include "commands.h"
#include "common_flags.h"
#include "core/rng.h"
#include "data_options.h"
#include "model_arg.h"
#include "runtime/engine_file.h"
#include "wait_policy.h"

namespace mpq::cli {
namespace {

struct BenchArgs {
  std::string engine, name, variant = "mpq";
  int64_t batch = kInferenceBatch;
  int iters = 30, warmup = 5, rounds = 1, threads = 0;
  data::DataSpec data;
  bool profile = false;
};

Tensor bench_input(const BenchArgs& a, const TensorSpec& in) {
  Shape s = in.shape;
  s[0] = a.batch;
  if (!a.data.empty()) {
    auto ds = data::open_dataset(a.data, s);
    if (ds->size() < a.batch)
      invalid_input(str("the data has ", ds->size(), " samples, fewer than --batch ", a.batch))
          .key("--data")
          .raise();
    return ds->images(0, a.batch);
  }
  Tensor t(DType::f32, s);  // seeded N(0,1): the timing does not depend on the values
  Rng rng(1);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<float>(rng.normal());
  return t;
}

// The timed runs and what they give, for the JSON and the text report.
struct BenchResult {
  api::LatencyStats st;
  std::vector<double> round_medians, profile;  // profile: mean ms per step (--profile)
  double kernel_ms = -1, images_per_s = 0;
};

BenchResult time_engine(const BenchArgs& a, runtime::ExecutionContext& ctx, const Tensor& x) {
  BenchResult res;
  for (int i = 0; i < a.warmup; ++i) ctx.run({x});
  std::vector<double> best;
  using clock = std::chrono::steady_clock;
  for (int r = 0; r < a.rounds; ++r) {
    std::vector<double> ms;
    for (int i = 0; i < a.iters; ++i) {
      const auto t0 = clock::now();
      ctx.run({x});
      ms.push_back(std::chrono::duration<double, std::milli>(clock::now() - t0).count());
    }
    const double med = api::percentile(ms, 50);
    res.round_medians.push_back(med);
    if (best.empty() || med < api::percentile(best, 50)) best = ms;
  }
  res.st = api::latency_stats(best);
  // Device backends also report the kernels' own time (no host copies): what GPU peers report.
  res.kernel_ms = ctx.device_kernel_ms(a.batch, a.iters);
  res.images_per_s =
      res.st.median_ms > 0 ? 1000.0 * static_cast<double>(a.batch) / res.st.median_ms : 0;
  if (a.profile) {
    ctx.set_profiling(true);
    for (int i = 0; i < a.iters; ++i) ctx.run({x});
    res.profile = ctx.step_ms();
    ctx.set_profiling(false);
    for (double& v : res.profile) v /= a.iters;
  }
  return res;
}

// The kernel a step ran: oneDNN's implementation name from the manifest when it has one.
std::string step_kernel(const plan::Plan& p, const plan::Step& s) {
  for (const auto& r : p.manifest.layers)
    if (r.name == s.node->name && !r.impl.empty()) return r.impl;
  return s.kernel_name;
}

// 0 = the OpenMP default (OMP_NUM_THREADS, else one per core).
int bench_threads(const BenchArgs& a, const plan::Plan& p) {
  return a.threads > 0 ? a.threads : p.options.threads;
}

nlohmann::ordered_json bench_json(const BenchArgs& a, const runtime::LoadedEngine& le,
                                  const BenchResult& res) {
  const plan::Plan& p = le.engine->plan();
  const api::BitsSummary bits = api::average_bits(p);
  nlohmann::ordered_json j;
  j["model"] = a.name.empty() ? p.graph->name : a.name;
  j["variant"] = a.variant;
  j["engine"] = a.engine;
  j["batch"] = a.batch;
  j["threads"] = bench_threads(a, p);
  const char* wp = std::getenv("OMP_WAIT_POLICY");
  j["omp_wait_policy"] = wp ? wp : "";
  j["omp_wait_policy_set_by_mpq"] = wait_policy_set_by_mpq();
  j["iters"] = a.iters;
  j["warmup"] = a.warmup;
  j["rounds"] = a.rounds;
  j["median_ms"] = res.st.median_ms;
  j["p10_ms"] = res.st.p10_ms;
  j["p90_ms"] = res.st.p90_ms;
  j["min_ms"] = res.st.min_ms;
  j["images_per_s"] = res.images_per_s;
  if (res.kernel_ms >= 0) j["kernel_ms"] = res.kernel_ms;
  j["round_medians_ms"] = res.round_medians;
  j["load_ms"] = le.stats.total_ms;
  j["load_cpu_ms"] = le.stats.cpu_ms;
  j["average_bits"] = bits.mean_bits;
  j["weighted_bits"] = bits.weighted_bits;
  j["accuracy"] = nullptr;
  if (a.profile) {
    auto& arr = j["profile"] = nlohmann::ordered_json::array();
    for (size_t s = 0; s < p.steps.size(); ++s)
      arr.push_back({{"name", p.steps[s].node->name},
                     {"op", p.steps[s].node->op_name()},
                     {"executed", precision_name(p.steps[s].precision)},
                     {"kernel", step_kernel(p, p.steps[s])},
                     {"ms", res.profile[s]}});
  }
  return j;
}

void print_profile(const plan::Plan& p, const std::vector<double>& prof) {
  std::vector<size_t> order(p.steps.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t x, size_t y) { return prof[x] > prof[y]; });
  double total = 0;
  for (double v : prof) total += v;
  std::printf("\nper-step mean time (sum %.3f ms), slowest first:\n", total);
  for (size_t s : order) {
    const plan::Step& step = p.steps[s];
    std::printf("  %8.3f ms %5.1f%%  %-34s %-10s %-5s %s\n", prof[s],
                total > 0 ? 100 * prof[s] / total : 0.0, step.node->name.c_str(),
                step.node->op_name(), precision_name(step.precision), step_kernel(p, step).c_str());
  }
}

void print_bench(const BenchArgs& a, const runtime::LoadedEngine& le, const BenchResult& res) {
  const plan::Plan& p = le.engine->plan();
  const int threads = bench_threads(a, p);
  const std::string threads_str = threads > 0 ? std::to_string(threads) : "default";
  std::printf("%s: batch %lld, %s threads, %d warm-up + %d x %d runs, engine loaded in %.1f ms\n",
              a.engine.c_str(), static_cast<long long>(a.batch), threads_str.c_str(), a.warmup,
              a.rounds, a.iters, le.stats.total_ms);
  if (wait_policy_set_by_mpq())
    std::printf("(the machine is busy: mpq set OMP_WAIT_POLICY=passive; export it to choose)\n");
  const api::LatencyStats& st = res.st;
  std::printf("median %.3f ms  p10 %.3f ms  p90 %.3f ms  min %.3f ms  %.0f images/s\n",
              st.median_ms, st.p10_ms, st.p90_ms, st.min_ms, res.images_per_s);
  if (res.kernel_ms >= 0)
    std::printf("device kernels only: %.4f ms (CUDA graph replay)\n", res.kernel_ms);
  if (a.profile) print_profile(p, res.profile);
}

int run_bench(const BenchArgs& a) {
  rerun_with_passive_wait_if_busy();
  runtime::LoadedEngine le = runtime::load_engine(a.engine);
  const runtime::Engine& e = *le.engine;
  if (e.input_specs().size() != 1)
    unsupported("mpq bench feeds engines with one input").file(a.engine).raise();
  const TensorSpec in = e.input_specs()[0];
  if (in.dtype != DType::f32 || !in.batched || in.shape.empty())
    unsupported("mpq bench feeds a batched f32 input").file(a.engine).key(in.name).raise();
  if (a.batch > e.max_batch())
    invalid_input(str("--batch ", a.batch, " is above the engine's maximum batch ", e.max_batch(),
                      " (rebuild with `mpq build --batch ", a.batch, "`)"))
        .key("--batch")
        .raise();
  Tensor x = bench_input(a, in);
  runtime::ExecutionContext ctx(le.engine, a.threads);
  const BenchResult res = time_engine(a, ctx, x);
  if (common_flags().json)
    print_json(bench_json(a, le, res));
  else
    print_bench(a, le, res);
  return 0;
}

void register_bench(CLI::App& app, std::function<int()>& action) {
  auto a = std::make_shared<BenchArgs>();
  auto* cmd = app.add_subcommand(
      "bench", "Time an engine at one batch: median, p10, p90 ms and images/s after warm-up");
  add_engine_option(cmd, a->engine, false);
  cmd->add_option("--batch", a->batch,
                  "Batch timed (at most the engine's maximum; the inference batch default)")
      ->check(positive())
      ->capture_default_str();
  cmd->add_option("--iters", a->iters, "Timed runs per round")
      ->check(positive())
      ->capture_default_str();
  cmd->add_option("--warmup", a->warmup, "Untimed runs first")
      ->check(non_negative())
      ->capture_default_str();
  cmd->add_option("--rounds", a->rounds,
                  "Rounds of --iters runs; the round with the lowest median is reported")
      ->check(positive())
      ->capture_default_str();
  cmd->add_option("--threads", a->threads, "Threads (0: the engine's build option)")
      ->check(non_negative())
      ->capture_default_str();
  add_data_options(cmd, a->data);
  cmd->add_flag("--profile", a->profile, "Also time every step (mean over --iters runs)");
  add_common_flags(cmd, "keys: median_ms, p10_ms, p90_ms, images_per_s, load_ms, ...",
                   "mpq bench -e m.mpqe --batch 64 --iters 50 --json");
  cmd->add_option("--name", a->name, "Model name put in the JSON (default: the graph's name)");
  cmd->add_option("--variant", a->variant, "Variant label put in the JSON")->capture_default_str();
  cmd->callback([&action, a] { action = [a] { return run_bench(*a); }; });
}

}  // namespace

MPQ_REGISTER_COMMAND(register_bench);

}  // namespace mpq::cli
