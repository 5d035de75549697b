// mpq_gpu: `mpq_gpu test [gtest flags]` runs the CUDA tests; `mpq_gpu bench ...` runs the CUDA
// engine on a zoo model, or one of the two CPU-side steps the benchmark needs:
//
//   --calibrate-out T.json   minmax ranges of every tensor over the first --calib-n images
//                            (reference executor), written as an mpq calibration table
//   --cpu-top1-out P.npy     top-1 of the CPU int8 engine (backend cpu, oneDNN) built from --calib
//                            on all of --data (for the GPU/CPU agreement check)
//   (default)                for each of --precisions: build the cuda engine from --model and
//                            --calib at --batch, run all of --data (accuracy vs --labels, top-1
//                            agreement vs --cpu-top1 and vs the GPU fp32 engine), then time one
//                            batch: NNI-style (ExecutionContext::run, copies included, wall clock)
//                            and kernel-only (CUDA events around graph replays). One JSON line per
//                            precision; the manifest (kernel per layer) into --manifest-dir.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>

#include "api/engine_report.h"
#include "backends/reference/executor.h"
#include "commands.h"
#include "data/npy.h"
#include "frontend/onnx/importer.h"
#include "runtime/engine.h"
#ifdef MPQ_HAVE_CUDA
#include "backends/cuda/cuda_util.h"
#endif
#ifdef MPQ_GPU_WITH_TESTS
#include <gtest/gtest.h>
#endif

namespace mpq {
namespace {

struct Args {
  std::string model, calib, data, labels, cpu_top1, calibrate_out, cpu_top1_out, manifest_dir, json;
  std::string precisions = "fp32,fp16,int8";
  int64_t batch = 128;
  int calib_n = 512;
  int iters = 200;
  int64_t limit = 0;
};

Tensor rows(const Tensor& x, int64_t begin, int64_t n) {
  Shape s = x.shape();
  s[0] = n;
  const size_t row = x.nbytes() / x.dim(0);
  return Tensor::view(x.dtype(), s,
                      const_cast<char*>(static_cast<const char*>(x.raw()) + begin * row));
}

std::vector<int64_t> top1(const Tensor& logits) {
  const Tensor f = logits.dtype() == DType::f32 ? logits : logits.cast(DType::f32);
  const int64_t n = f.dim(0), k = f.numel() / n;
  std::vector<int64_t> r(n);
  for (int64_t i = 0; i < n; ++i) {
    const float* p = f.data<float>() + i * k;
    r[i] = std::max_element(p, p + k) - p;
  }
  return r;
}

// Runs `run` over all rows of x in batches of `batch`; returns top-1 per row.
template <typename Run>
std::vector<int64_t> predict(const Tensor& x, int64_t batch, Run&& run) {
  std::vector<int64_t> all;
  for (int64_t i = 0; i < x.dim(0); i += batch) {
    const int64_t n = std::min(batch, x.dim(0) - i);
    auto t = top1(run(rows(x, i, n)));
    all.insert(all.end(), t.begin(), t.end());
  }
  return all;
}

double agree(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  if (a.size() != b.size() || a.empty()) return -1;
  int64_t s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] == b[i];
  return static_cast<double>(s) / a.size();
}

int calibrate(const Args& a, const Graph& g, const Tensor& x) {
  quant::CalibrationTable t;
  t.header.method = "minmax";
  const int64_t n = std::min<int64_t>(a.calib_n, x.dim(0));
  t.header.num_samples = n;
  ReferenceExecutor ex(g);
  for (int64_t i = 0; i < n; i += 64) {
    ex.run({rows(x, i, std::min<int64_t>(64, n - i))}, [&](const Value& v, const Tensor& val) {
      if (v.is_constant() || val.dtype() != DType::f32 || val.numel() == 0) return;
      const float* p = val.data<float>();
      auto [lo, hi] = std::minmax_element(p, p + val.numel());
      auto it = t.tensors.find(v.name);
      if (it == t.tensors.end()) {
        quant::TensorRange r;
        r.min = *lo, r.max = *hi, r.method = "minmax";
        t.tensors[v.name] = r;
      } else {
        it->second.min = std::min(it->second.min, *lo);
        it->second.max = std::max(it->second.max, *hi);
      }
    });
  }
  quant::write_calibration_table(t, a.calibrate_out);
  std::cout << "wrote " << a.calibrate_out << " (" << t.tensors.size() << " tensors, " << n
            << " images)\n";
  return 0;
}

std::shared_ptr<const runtime::Engine> build(const Graph& g, const quant::CalibrationTable* t,
                                             const std::string& backend, Precision p,
                                             int64_t batch) {
  plan::BuildOptions o;
  o.backend = backend;
  o.max_batch = batch;
  o.default_precision = p;
  return runtime::Engine::build(g, t, o);
}

int run_main(int argc, char** argv) {
  Args a;
  CLI::App app{"mpq's CUDA engine benchmark"};
  app.add_option("--model", a.model, "ONNX model")->required();
  app.add_option("--calib", a.calib, "calibration table (JSON) for int8");
  app.add_option("--data", a.data, "images, float32 NCHW .npy")->required();
  app.add_option("--labels", a.labels, "labels, int64 .npy (accuracy)");
  app.add_option("--cpu-top1", a.cpu_top1, "top-1 of the CPU int8 engine, int64 .npy (agreement)");
  app.add_option("--calibrate-out", a.calibrate_out, "write a minmax calibration table and exit");
  app.add_option("--calib-n", a.calib_n, "images for --calibrate-out (default 512)");
  app.add_option("--cpu-top1-out", a.cpu_top1_out, "write the CPU int8 engine's top-1 and exit");
  app.add_option("--precisions", a.precisions, "comma list of fp32, fp16, int8");
  app.add_option("--batch", a.batch, "batch size (default 128)");
  app.add_option("--iters", a.iters, "timed samples (default 200)");
  app.add_option("--limit", a.limit, "use only the first N images (0: all)");
  app.add_option("--manifest-dir", a.manifest_dir, "write <model>_<precision>.txt manifests here");
  app.add_option("--json", a.json, "append JSON result lines to this file");
  CLI11_PARSE(app, argc, argv);

  auto g = import_onnx(a.model);
  Tensor x = data::read_npy(a.data);
  if (a.limit > 0 && a.limit < x.dim(0)) x = rows(x, 0, a.limit).clone();
  if (!a.calibrate_out.empty()) return calibrate(a, *g, x);
  quant::CalibrationTable table;
  if (!a.calib.empty()) table = quant::read_calibration_table(a.calib);
  const quant::CalibrationTable* tp = a.calib.empty() ? nullptr : &table;
  if (!a.cpu_top1_out.empty()) {
    auto e = build(*g, tp, "cpu", Precision::kInt8, a.batch);
    runtime::ExecutionContext ctx(e);
    auto p = predict(x, a.batch, [&](const Tensor& b) { return ctx.run({b})[0]; });
    data::write_npy(a.cpu_top1_out, Tensor::from<int64_t>({static_cast<int64_t>(p.size())}, p));
    std::cout << "wrote " << a.cpu_top1_out << " (" << p.size() << " predictions)\n";
    return 0;
  }
  std::vector<int64_t> labels, cpu;
  if (!a.labels.empty()) labels = data::read_npy(a.labels).to_int64s();
  if (!a.cpu_top1.empty()) cpu = data::read_npy(a.cpu_top1).to_int64s();
  labels.resize(std::min<size_t>(labels.size(), x.dim(0)));
  cpu.resize(std::min<size_t>(cpu.size(), x.dim(0)));
  std::string model_name = a.model.substr(a.model.find_last_of('/') + 1);
  model_name = model_name.substr(0, model_name.find('.'));
  std::string card;
#ifdef MPQ_HAVE_CUDA
  card = cuda::device_name();
#endif
  std::vector<int64_t> gpu_fp32;
  std::string list = a.precisions + ",";
  for (size_t pos; (pos = list.find(',')) != std::string::npos; list.erase(0, pos + 1)) {
    const std::string pn = list.substr(0, pos);
    if (pn.empty()) continue;
    const auto prec = parse_precision(pn);
    if (!prec) invalid_input("unknown precision '" + pn + "'").key("precisions").raise();
    const auto t0 = std::chrono::steady_clock::now();
    auto e = build(*g, tp, "cuda", *prec, a.batch);
    const double build_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!a.manifest_dir.empty()) {
      std::ofstream f(a.manifest_dir + "/" + model_name + "_" + pn + ".txt");
      f << e->manifest().to_table();
    }
    runtime::ExecutionContext ctx(e);
    auto p = predict(x, a.batch, [&](const Tensor& b) { return ctx.run({b})[0]; });
    if (*prec == Precision::kFp32) gpu_fp32 = p;
    double acc = -1;
    if (!labels.empty()) {
      p.resize(labels.size());
      acc = agree(p, labels);
    }
    // Timing on one full batch: NNI-style wall time of run() (H2D, graph, D2H, sync) ...
    const Tensor xb = rows(x, 0, std::min<int64_t>(a.batch, x.dim(0))).clone();
    // Warm-up for at least a second so that the GPU clocks are up (see kernel_ms).
    for (auto w0 = std::chrono::steady_clock::now();
         std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count() < 1.0;)
      ctx.run({xb});
    std::vector<double> wall;
    for (int i = 0; i < a.iters; ++i) {
      const auto s = std::chrono::steady_clock::now();
      ctx.run({xb});
      wall.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - s).count());
    }
    std::sort(wall.begin(), wall.end());
    // ... and kernel-only time (CUDA events around graph replays).
    const double kms = ctx.device_kernel_ms(xb.dim(0), a.iters);
    char line[1024];
    std::snprintf(
        line, sizeof line,
        "{\"model\": \"%s\", \"engine\": \"mpq cuda %s\", \"built_as\": \"%s\", \"card\": \"%s\", "
        "\"batch\": %lld, "
        "\"kernel_ms\": %.4f, \"nni_ms\": %.4f, \"nni_p10_ms\": %.4f, \"nni_p90_ms\": %.4f, "
        "\"accuracy\": %.4f, \"agree_cpu_int8\": %.4f, \"agree_gpu_fp32\": %.4f, \"build_s\": "
        "%.2f}",
        model_name.c_str(), api::executed_label(e->plan()).c_str(), pn.c_str(), card.c_str(),
        static_cast<long long>(xb.dim(0)), kms, wall[wall.size() / 2], wall[wall.size() / 10],
        wall[wall.size() * 9 / 10], acc, agree(p, cpu), agree(p, gpu_fp32), build_s);
    std::cout << line << std::endl;
    if (!a.json.empty()) std::ofstream(a.json, std::ios::app) << line << "\n";
  }
  return 0;
}

}  // namespace
}  // namespace mpq

int main(int argc, char** argv) {
  const std::string cmd = argc > 1 ? argv[1] : "";
#ifdef MPQ_GPU_WITH_TESTS
  if (cmd == "test") {
    int n = argc - 1;
    char** v = argv + 1;
    v[0] = argv[0];
    ::testing::InitGoogleTest(&n, v);
    return RUN_ALL_TESTS();
  }
#endif
  if (cmd == "mpq") return mpq::cli::run_main(argc - 1, argv + 1);  // the mpq command line
  if (cmd != "bench") {
    std::cerr << "usage: mpq_gpu test [gtest flags] | mpq_gpu bench --help | mpq_gpu mpq --help\n";
    return 2;
  }
  try {
    return mpq::run_main(argc - 1, argv + 1);
  } catch (const mpq::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return e.status().code == mpq::Code::kInvalidInput ? 2 : 1;
  }
}
