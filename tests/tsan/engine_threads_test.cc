// One Engine shared by 8 threads, each with its own ExecutionContext, 1000 inferences each:
// every result must be bit-identical to the serial run of the same input. Built with
// -fsanitize=thread (tests/tsan/CMakeLists.txt), it also makes ThreadSanitizer watch every access
// the engine and its contexts make, so a data race fails the run even when the numbers agree.
//
// Usage: engine_threads_test [--backend cpu|cuda] [--threads N] [--runs N] [--precision P]
#include <atomic>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "backends/reference/executor.h"
#include "core/rng.h"
#include "core/status.h"
#include "runtime/engine.h"
#include "zoo/zoo.h"

namespace mpq {
namespace {

struct Options {
  std::string backend = "cpu", precision = "int8";
  int threads = 8, runs = 1000;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--backend")
      o.backend = v;
    else if (k == "--precision")
      o.precision = v;
    else if (k == "--threads")
      o.threads = std::stoi(v);
    else if (k == "--runs")
      o.runs = std::stoi(v);
    else
      invalid_input("unknown option; see the usage line at the top of the file").key(k).raise();
  }
  return o;
}

Tensor random_input(Rng& rng, Shape s) {
  Tensor t(DType::f32, std::move(s));
  for (int64_t i = 0; i < t.numel(); ++i)
    t.data<float>()[i] = static_cast<float>(rng.uniform(-1, 2));
  return t;
}

// Per-tensor min/max of every float value over reference runs: the int8 engine's ranges.
quant::CalibrationTable minmax_table(const Graph& g, const std::vector<Tensor>& xs) {
  quant::CalibrationTable t;
  ReferenceExecutor ex(g);
  for (const Tensor& x : xs)
    ex.run({x}, [&](const Value& v, const Tensor& y) {
      if (y.dtype() != DType::f32) return;
      auto [it, fresh] = t.tensors.try_emplace(v.name, quant::TensorRange{0.f, 0.f, "minmax", {}});
      for (float e : y.to_floats()) {
        if (fresh) it->second.min = it->second.max = e, fresh = false;
        it->second.min = std::min(it->second.min, e);
        it->second.max = std::max(it->second.max, e);
      }
    });
  return t;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.nbytes() == b.nbytes() &&
         std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

int run(const Options& o) {
  auto g = zoo::build_zoo_model("mnist_naive", {.batch = -1, .seed = 3}).graph;
  Rng rng(42);
  Shape s = g->inputs()[0]->shape;
  s[0] = 1;
  std::vector<Tensor> inputs;
  for (int i = 0; i < 16; ++i) inputs.push_back(random_input(rng, s));
  const quant::CalibrationTable table = minmax_table(*g, inputs);
  plan::BuildOptions bo;
  const std::optional<Precision> p = parse_precision(o.precision);
  if (!p)
    invalid_input("unknown precision; give fp32, bf16, fp16 or int8").key("--precision").raise();
  bo.default_precision = *p;
  bo.max_batch = 1;
  bo.threads = 1;
  bo.backend = o.backend;
  auto engine = runtime::Engine::build(*g, &table, bo);

  std::vector<Tensor> serial;  // the reference: one context, inputs in order
  runtime::ExecutionContext one(engine, 1);
  for (const Tensor& x : inputs) serial.push_back(one.run({x})[0]);

  std::atomic<int> mismatches{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < o.threads; ++t)
    pool.emplace_back([&, t] {
      runtime::ExecutionContext ctx(engine, 1);
      for (int i = 0; i < o.runs; ++i) {
        const size_t k = static_cast<size_t>(t + i) % inputs.size();
        if (!same_bits(ctx.run({inputs[k]})[0], serial[k])) ++mismatches;
      }
    });
  for (auto& th : pool) th.join();
  std::printf("%s %s: %d threads x %d inferences, %d result(s) differ from the serial run\n",
              o.backend.c_str(), o.precision.c_str(), o.threads, o.runs, mismatches.load());
  return mismatches.load() == 0 ? 0 : 1;
}

}  // namespace
}  // namespace mpq

int main(int argc, char** argv) {
  try {
    return mpq::run(mpq::parse(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "engine_threads_test: %s\n", e.what());
    return 2;
  }
}
