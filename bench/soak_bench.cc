// Soak: N inferences (default 1,000,000) through one ExecutionContext of an engine file at batch
// 1, sampling the process's resident memory (VmRSS) every `--every` runs. A leak of even a few
// bytes per inference shows as RSS that keeps growing after the first sample. Prints one line per
// sample and a verdict; exits 1 when RSS grew by more than --max-growth-kb after the first sample.
//
// Usage: mpq_soak_bench ENGINE.mpqe [--runs N] [--every N] [--max-growth-kb K]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "core/rng.h"
#include "runtime/engine_file.h"

namespace {

long rss_kb() {
  std::ifstream f("/proc/self/status");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s ENGINE.mpqe [--runs N] [--every N] [--max-growth-kb K]\n",
                 argv[0]);
    return 2;
  }
  long runs = 1000000, every = 100000, max_growth_kb = 1024;
  for (int i = 2; i + 1 < argc; i += 2) {
    const long v = std::stol(argv[i + 1]);
    if (!std::strcmp(argv[i], "--runs"))
      runs = v;
    else if (!std::strcmp(argv[i], "--every"))
      every = v;
    else if (!std::strcmp(argv[i], "--max-growth-kb"))
      max_growth_kb = v;
  }
  try {
    auto le = mpq::runtime::load_engine(argv[1]);
    mpq::runtime::ExecutionContext ctx(le.engine);
    mpq::TensorSpec in = le.engine->input_specs()[0];
    in.shape[0] = 1;
    mpq::Tensor x(in.dtype, in.shape);
    mpq::Rng rng(1);
    for (int64_t i = 0; i < x.numel(); ++i)
      x.data<float>()[i] = static_cast<float>(rng.uniform(0, 1));
    const auto t0 = std::chrono::steady_clock::now();
    long first = -1, last = -1;
    double checksum = 0;
    for (long r = 1; r <= runs; ++r) {
      checksum += ctx.run({x})[0].data<float>()[0];
      if (r % every != 0 && r != runs) continue;
      last = rss_kb();
      if (first < 0) first = last;
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("%9ld inferences  %7.1f s  VmRSS %ld kB\n", r, s, last);
      std::fflush(stdout);
    }
    std::printf("RSS growth after the first sample: %ld kB (limit %ld kB); output checksum %.6g\n",
                last - first, max_growth_kb, checksum);
    return last - first > max_growth_kb ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mpq_soak_bench: %s\n", e.what());
    return 2;
  }
}
