// Micro benchmark of the CPU engine: zoo models (seeded random weights) built at fp32, bf16 and
// int8 (ranges: min/max over random inputs through the reference executor), timed at a batch
// with a plain timer: median / p10 / p90 of >= 30 runs after warm-up, one ExecutionContext.
//   build/bench/mpq_cpu_bench [--models mnist_naive,resnet18_cifar] [--batch 128] [--threads 2]
//                             [--iters 30] [--warmup 5] [--precisions fp32,bf16,int8] [--manifest]
//                             [--profile]
// Results with machine info and the command line go to bench/RESULTS.md ("CPU engine").
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "backends/reference/executor.h"
#include "core/rng.h"
#include "runtime/engine.h"
#include "zoo/zoo.h"

using namespace mpq;

namespace {

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(item);
  return out;
}

Tensor random_input(Shape s, uint64_t seed) {
  Rng rng(seed);
  Tensor t(DType::f32, std::move(s));
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<float>(rng.normal());
  return t;
}

quant::CalibrationTable minmax(const Graph& g, const Tensor& x) {
  quant::CalibrationTable t;
  ReferenceExecutor(g).run({x}, [&](const Value& v, const Tensor& y) {
    if (y.dtype() != DType::f32) return;
    const float* p = y.data<float>();
    float lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < y.numel(); ++i) lo = std::min(lo, p[i]), hi = std::max(hi, p[i]);
    t.tensors[v.name] = quant::TensorRange{lo, hi, "minmax", {}};
  });
  return t;
}

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "?";
}

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> models{"mnist_naive", "resnet18_cifar"};
  std::vector<std::string> precisions{"fp32", "bf16", "int8"};
  int64_t batch = 128;
  int threads = 2, iters = 30, warmup = 5;
  bool show_manifest = false, profile = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--models")
      models = split(next());
    else if (a == "--precisions")
      precisions = split(next());
    else if (a == "--batch")
      batch = std::atoll(next().c_str());
    else if (a == "--threads")
      threads = std::atoi(next().c_str());
    else if (a == "--iters")
      iters = std::max(1, std::atoi(next().c_str()));
    else if (a == "--warmup")
      warmup = std::atoi(next().c_str());
    else if (a == "--manifest")
      show_manifest = true;
    else if (a == "--profile")
      profile = true;
    else {
      std::fprintf(stderr,
                   "usage: %s [--models a,b] [--precisions fp32,bf16,int8] [--batch N] "
                   "[--threads T] [--iters N] [--warmup N] [--manifest]\n",
                   argv[0]);
      return 2;
    }
  }
  try {
    std::printf("machine: %s; %s\n", cpu_model().c_str(), cpu_backend().describe().c_str());
    std::printf("batch %lld, %d threads, median of %d runs after %d warm-up runs\n\n",
                static_cast<long long>(batch), threads, iters, warmup);
    std::printf("%-16s %-6s %10s %10s %10s %12s %10s %9s %9s\n", "model", "prec", "median_ms",
                "p10_ms", "p90_ms", "images/s", "build_ms", "load_ms", "vs_fp32");
    for (const std::string& name : models) {
      zoo::ZooModel m = zoo::build_zoo_model(name, {.batch = -1, .seed = 0});
      Shape in_shape = m.graph->inputs()[0]->shape;
      in_shape[0] = std::min<int64_t>(batch, 16);
      quant::CalibrationTable table = minmax(*m.graph, random_input(in_shape, 1));
      in_shape[0] = batch;
      Tensor x = random_input(in_shape, 2);
      double fp32_ms = 0;
      for (const std::string& ps : precisions) {
        auto p = parse_precision(ps);
        if (!p) {
          std::fprintf(stderr, "unknown precision %s\n", ps.c_str());
          return 2;
        }
        plan::BuildOptions o;
        o.default_precision = *p;
        o.max_batch = batch;
        o.threads = threads;
        auto t0 = std::chrono::steady_clock::now();
        auto engine = runtime::Engine::build(*m.graph, &table, o);
        double build_ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count();
        // Loading = preparing kernels from a finished plan (what an engine file does): weights
        // packed, primitives created, no algorithm timing.
        auto l0 = std::chrono::steady_clock::now();
        auto loaded = runtime::Engine::from_plan(engine->plan().clone());
        const double load_ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - l0)
                .count();
        loaded.reset();
        runtime::ExecutionContext ctx(engine);
        for (int i = 0; i < warmup; ++i) ctx.run({x});
        std::vector<double> ms;
        for (int i = 0; i < iters; ++i) {
          auto a = std::chrono::steady_clock::now();
          ctx.run({x});
          ms.push_back(
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a)
                  .count());
        }
        const double med = percentile(ms, 0.5);
        if (*p == Precision::kFp32) fp32_ms = med;
        std::printf("%-16s %-6s %10.2f %10.2f %10.2f %12.0f %10.0f %9.0f %9s\n", name.c_str(),
                    ps.c_str(), med, percentile(ms, 0.1), percentile(ms, 0.9),
                    1000.0 * static_cast<double>(batch) / med, build_ms, load_ms,
                    fp32_ms > 0 ? str(std::round(fp32_ms / med * 100) / 100, "x").c_str() : "-");
        std::fflush(stdout);
        if (show_manifest) std::printf("%s\n", engine->manifest().to_table().c_str());
        if (profile) {
          ctx.set_profiling(true);
          for (int i = 0; i < iters; ++i) ctx.run({x});
          const auto& steps = engine->plan().steps;
          double total = 0;
          for (double v : ctx.step_ms()) total += v;
          std::map<std::string, std::string> impl;
          for (const auto& r : engine->manifest().layers)
            if (!impl.count(r.name)) impl[r.name] = r.impl;
          for (size_t s = 0; s < steps.size(); ++s)
            std::printf("  %-36.36s %-12.12s %8.3f ms %5.1f%%  %s\n", steps[s].node->name.c_str(),
                        steps[s].node->op_name(), ctx.step_ms()[s] / iters,
                        100.0 * ctx.step_ms()[s] / total, impl[steps[s].node->name].c_str());
          std::printf("  total %.2f ms per run (profiled)\n", total / iters);
        }
      }
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return e.status().exit_code();
  }
  return 0;
}
