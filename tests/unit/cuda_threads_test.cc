// The CUDA variant of tests/tsan/engine_threads_test.cc: 8 threads share one int8 cuda Engine of
// mnist_naive, each with its own ExecutionContext (its own stream, buffers and CUDA graphs), 1000
// inferences each; every result must be bit-identical to the serial run of the same input.
#ifdef MPQ_HAVE_CUDA
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "cuda_test_util.h"
#include "runtime/engine.h"
#include "zoo/zoo.h"

namespace mpq {
namespace {

TEST(CudaEngine, EightThreadsShareOneEngineBitIdentical) {
  SKIP_WITHOUT_GPU();
  auto g = zoo::build_zoo_model("mnist_naive", {.batch = -1, .seed = 3}).graph;
  std::vector<Tensor> inputs;
  for (unsigned i = 0; i < 16; ++i) inputs.push_back(cuda_testing::rnd({1, 1, 28, 28}, -1, 2, i));
  const quant::CalibrationTable table = cuda_testing::minmax_table(*g, {inputs[0]});
  plan::BuildOptions o;
  o.default_precision = Precision::kInt8;
  o.max_batch = 1;
  o.backend = "cuda";
  auto engine = runtime::Engine::build(*g, &table, o);
  std::vector<Tensor> serial;
  runtime::ExecutionContext one(engine);
  for (const Tensor& x : inputs) serial.push_back(one.run({x})[0]);

  std::atomic<int> mismatches{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < 8; ++t)
    pool.emplace_back([&, t] {
      runtime::ExecutionContext ctx(engine);
      for (int i = 0; i < 1000; ++i) {
        const size_t k = static_cast<size_t>(t + i) % inputs.size();
        const Tensor y = ctx.run({inputs[k]})[0];
        if (y.nbytes() != serial[k].nbytes() ||
            std::memcmp(y.raw(), serial[k].raw(), y.nbytes()) != 0)
          ++mismatches;
      }
    });
  for (auto& th : pool) th.join();
  EXPECT_EQ(mismatches.load(), 0) << "of 8000 inferences";
}

}  // namespace
}  // namespace mpq
#endif
