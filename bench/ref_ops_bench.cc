// Single-thread throughput (per CPU second of the thread) of the reference GEMM kernel and of the
// reference Conv on every conv layer shape of torchvision ResNet-50 at 224x224 (batch 1), through
// the registry's forward. Build (from the repository root, after scripts/build.sh):
//   g++ -O2 -std=gnu++20 -Isrc bench/ref_ops_bench.cc build/libmpq_lib.a -o build/ref_ops_bench
// Run: build/ref_ops_bench [repeats] [avx512|avx2|generic]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <vector>

#include "ir/op_def.h"
#include "ir/ops/gemm_kernel.h"

using namespace mpq;

namespace {

// Thread CPU time: on a shared, overloaded machine wall time mostly measures the scheduler.
double now() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

Tensor rnd(Shape s, std::mt19937& rng) {
  Tensor t(DType::f32, std::move(s));
  std::uniform_real_distribution<float> u(-1, 1);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 3;
  if (argc > 2 && !ops::sgemm_set_isa(argv[2])) {
    std::fprintf(stderr, "GEMM variant '%s' is not available on this CPU\n", argv[2]);
    return 2;
  }
  std::mt19937 rng(1);
  std::printf("GEMM variant: %s\n", ops::sgemm_isa());
  struct G {
    int64_t M, N, K;
    bool tb;
  };
  for (G g : std::vector<G>{{512, 512, 512, false},
                            {1024, 1024, 1024, false},
                            {64, 3136, 576, false},
                            {256, 784, 2304, false},
                            {512, 49, 4608, false},
                            {128, 1000, 2048, true},
                            {1, 1000, 2048, true}}) {
    Tensor A = rnd({g.M, g.K}, rng), B = rnd(g.tb ? Shape{g.N, g.K} : Shape{g.K, g.N}, rng);
    Tensor C(DType::f32, {g.M, g.N});
    double best = 1e9;
    for (int r = 0; r < reps; ++r) {
      const double t0 = now();
      ops::sgemm(false, g.tb, g.M, g.N, g.K, 1.f, A.data<float>(), g.K, B.data<float>(),
                 g.tb ? g.K : g.N, 0.f, C.data<float>(), g.N);
      best = std::min(best, now() - t0);
    }
    std::printf("sgemm M=%-5lld N=%-5lld K=%-5lld%s %7.1f GFLOP/s\n", (long long)g.M,
                (long long)g.N, (long long)g.K, g.tb ? " (B^T)" : "      ",
                2.0 * g.M * g.N * g.K / best * 1e-9);
  }

  // ResNet-50 conv layers: Cin, Cout, kernel, stride, pad, input size, how many times it occurs.
  struct L {
    int64_t cin, cout, k, s, p, hw, count;
  };
  const std::vector<L> layers = {
      {3, 64, 7, 2, 3, 224, 1},    {64, 64, 1, 1, 0, 56, 1},    {64, 64, 3, 1, 1, 56, 3},
      {64, 256, 1, 1, 0, 56, 4},   {256, 64, 1, 1, 0, 56, 2},   {256, 128, 1, 1, 0, 56, 1},
      {128, 128, 3, 2, 1, 56, 1},  {128, 512, 1, 1, 0, 28, 4},  {256, 512, 1, 2, 0, 56, 1},
      {512, 128, 1, 1, 0, 28, 3},  {128, 128, 3, 1, 1, 28, 3},  {512, 256, 1, 1, 0, 28, 1},
      {256, 256, 3, 2, 1, 28, 1},  {256, 1024, 1, 1, 0, 14, 6}, {512, 1024, 1, 2, 0, 28, 1},
      {1024, 256, 1, 1, 0, 14, 5}, {256, 256, 3, 1, 1, 14, 5},  {1024, 512, 1, 1, 0, 14, 1},
      {512, 512, 3, 2, 1, 14, 1},  {512, 2048, 1, 1, 0, 7, 3},  {1024, 2048, 1, 2, 0, 14, 1},
      {2048, 512, 1, 1, 0, 7, 2},  {512, 512, 3, 1, 1, 7, 2},
  };
  double total_t = 0, total_mac = 0;
  const OpDef& conv = op_def(OpKind::Conv);
  for (const L& l : layers) {
    Graph g;
    Value* x = g.add_input("x", DType::f32, {1, l.cin, l.hw, l.hw});
    Value* w = g.add_input("w", DType::f32, {l.cout, l.cin, l.k, l.k});
    Value* b = g.add_input("b", DType::f32, {l.cout});
    Attributes a;
    a.set("strides", std::vector<int64_t>{l.s, l.s});
    a.set("pads", std::vector<int64_t>{l.p, l.p, l.p, l.p});
    Node* n = g.add_node(OpKind::Conv, "conv", {x, w, b}, 1, a);
    apply_attr_schema(*n);
    infer_node(*n);
    const double macs = static_cast<double>(conv.flops(*n));
    std::vector<Tensor> in{rnd(x->shape, rng), rnd(w->shape, rng), rnd(b->shape, rng)};
    double best = 1e9;
    for (int r = 0; r < reps; ++r) {
      const double t0 = now();
      conv.forward(*n, in);
      best = std::min(best, now() - t0);
    }
    total_t += best * l.count, total_mac += macs * l.count;
    std::printf("conv %4lld->%-4lld k%lld s%lld %3lldx%-3lld x%lld: %6.2f ms %6.1f GFLOP/s\n",
                (long long)l.cin, (long long)l.cout, (long long)l.k, (long long)l.s,
                (long long)l.hw, (long long)l.hw, (long long)l.count, best * 1e3,
                2 * macs / best * 1e-9);
  }
  std::printf("ResNet-50 convs, batch 1: %.2f GMAC in %.1f ms = %.1f GFLOP/s\n", total_mac * 1e-9,
              total_t * 1e3, 2 * total_mac / total_t * 1e-9);
}
