#include "run_engine.h"

#include <chrono>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>

#include "api/engine_report.h"
#include "common_flags.h"
#include "data/npy.h"
#include "data/sampler.h"
#include "runtime/engine_file.h"

namespace mpq::cli {
namespace {

using clock = std::chrono::steady_clock;

// Runs the rows of single-input `x` in batches of at most `bs`; every row comes back.
std::vector<Tensor> run_rows(runtime::ExecutionContext& ctx, const Tensor& x, int64_t bs,
                             std::vector<double>* batch_ms) {
  const int64_t n = x.dim(0);
  const size_t in_row = x.nbytes() / static_cast<size_t>(n);
  std::vector<Tensor> outs;
  std::vector<size_t> out_row;
  for (int64_t begin = 0; begin < n; begin += bs) {
    const int64_t rows = std::min(bs, n - begin);
    Shape s = x.shape();
    s[0] = rows;
    Tensor chunk = Tensor::view(
        x.dtype(), s,
        const_cast<char*>(static_cast<const char*>(x.raw())) + static_cast<size_t>(begin) * in_row);
    const auto t0 = clock::now();
    std::vector<Tensor> ys = ctx.run({chunk});
    batch_ms->push_back(std::chrono::duration<double, std::milli>(clock::now() - t0).count());
    if (outs.empty())
      for (const Tensor& y : ys) {
        if (y.rank() == 0 || y.dim(0) != rows)
          unsupported(str("output has shape ", shape_str(y.shape()), ", not one row per sample"))
              .raise();
        Shape os = y.shape();
        os[0] = n;
        outs.emplace_back(y.dtype(), os);
        out_row.push_back(y.nbytes() / static_cast<size_t>(rows));
      }
    for (size_t o = 0; o < ys.size(); ++o)
      std::memcpy(static_cast<char*>(outs[o].raw()) + static_cast<size_t>(begin) * out_row[o],
                  ys[o].raw(), ys[o].nbytes());
  }
  return outs;
}

// Batched runs write one output row per sample: an output whose batch dim is not dim 0 with one
// row per sample (a Concat or Slice along the batch axis) is refused before anything runs.
void check_rows_per_sample(const runtime::Engine& e, const std::string& engine_path) {
  for (const TensorSpec& o : e.output_specs())
    if (!o.batched || o.batch_dim != 0 || o.batch_mult != 1)
      unsupported(str("output '", o.name, "' ",
                      o.batched ? str("has ", o.batch_mult, " x batch rows along dim ", o.batch_dim)
                                : std::string("does not scale with the batch"),
                      " (a Concat, Slice or Reshape across the batch axis): `mpq run` writes one "
                      "row per sample; run this engine through the C++ or Python API"))
          .file(engine_path)
          .key(o.name)
          .raise();
}

}  // namespace

int64_t count_correct(const Tensor& y, const Tensor& labels, int64_t rows) {
  const int64_t c = y.dim(1);
  const std::vector<float> v = y.to_floats();
  const int64_t* lab = labels.data<int64_t>();
  int64_t correct = 0;
  for (int64_t r = 0; r < rows; ++r) {
    int64_t best = 0;
    for (int64_t j = 1; j < c; ++j)
      if (v[r * c + j] > v[r * c + best]) best = j;
    correct += best == lab[r];
  }
  return correct;
}

namespace {

// What a run gives: every output row, the batch times, and the top-1 count with labels.
struct EngineRun {
  std::vector<Tensor> outs;
  std::vector<double> batch_ms;
  int64_t samples = 0, correct = 0;
  bool scored = false;
  std::string described;
};

EngineRun run_on_files(runtime::ExecutionContext& ctx, const std::vector<TensorSpec>& ins,
                       const std::vector<std::string>& input_files, int64_t bs) {
  if (input_files.size() != ins.size())
    invalid_input(
        str("the engine takes ", ins.size(), " input(s), --input gave ", input_files.size()))
        .key("--input")
        .raise();
  EngineRun run;
  std::vector<Tensor> xs;
  for (const auto& f : input_files) xs.push_back(data::read_array_file(f));
  try {
    if (xs.size() == 1 && ins[0].batched && xs[0].rank() >= 1 && xs[0].dim(0) > 0) {
      run.outs = run_rows(ctx, xs[0], bs, &run.batch_ms);  // any number of rows, in batches
    } else {
      const auto t0 = clock::now();
      run.outs = ctx.run(xs);
      run.batch_ms.push_back(std::chrono::duration<double, std::milli>(clock::now() - t0).count());
    }
  } catch (const Error& err) {
    for (size_t i = 0; i < ins.size(); ++i)
      if (err.status().key == ins[i].name) throw err.with_file(input_files[i]);
    throw;
  }
  run.samples = xs[0].rank() ? xs[0].dim(0) : 1;
  run.described = input_files[0];
  return run;
}

EngineRun run_on_data(runtime::ExecutionContext& ctx, const std::vector<TensorSpec>& ins,
                      const data::DataSpec& data, int64_t bs) {
  if (ins.size() != 1)
    unsupported(
        str("--data feeds engines with one input; this one has ", ins.size(), " (use --input)"))
        .key("--data")
        .raise();
  if (ins[0].dtype != DType::f32 || !ins[0].batched)
    unsupported("--data feeds a batched f32 input (use --input)").key(ins[0].name).raise();
  Shape model_in = ins[0].shape;
  model_in[0] = -1;
  auto ds = data::open_dataset(data, model_in);
  EngineRun run;
  run.described = ds->describe();
  const int64_t n = ds->size();
  run.scored = ds->has_labels();
  for (int64_t begin = 0; begin < n; begin += bs) {
    const int64_t rows = std::min(bs, n - begin);
    Tensor x = ds->images(begin, rows);
    const auto t0 = clock::now();
    std::vector<Tensor> ys = ctx.run({x});
    run.batch_ms.push_back(std::chrono::duration<double, std::milli>(clock::now() - t0).count());
    if (run.outs.empty())
      for (const Tensor& y : ys) {
        Shape os = y.shape();
        if (os.empty() || os[0] != rows)
          unsupported(str("output has shape ", shape_str(y.shape()), ", not one row per sample"))
              .raise();
        os[0] = n;
        run.outs.emplace_back(y.dtype(), os);
      }
    for (size_t o = 0; o < ys.size(); ++o) {
      const size_t row = ys[o].nbytes() / static_cast<size_t>(rows);
      std::memcpy(static_cast<char*>(run.outs[o].raw()) + static_cast<size_t>(begin) * row,
                  ys[o].raw(), ys[o].nbytes());
    }
    run.scored = run.scored && ys[0].rank() == 2 && ys[0].dim(1) > 1;
    if (run.scored) run.correct += count_correct(ys[0], ds->labels(begin, rows), rows);
  }
  run.samples = n;
  return run;
}

void report_engine_run(const std::string& engine_path, const runtime::LoadedEngine& le,
                       const EngineRun& run, const std::vector<std::string>& output_files,
                       int64_t bs) {
  const runtime::Engine& e = *le.engine;
  const api::LatencyStats st = api::latency_stats(run.batch_ms);
  double total_ms = 0;
  for (double v : run.batch_ms) total_ms += v;
  const double ips = total_ms > 0 ? 1000.0 * static_cast<double>(run.samples) / total_ms : 0;
  const double acc =
      run.samples ? static_cast<double>(run.correct) / static_cast<double>(run.samples) : 0;
  if (common_flags().json) {
    nlohmann::ordered_json j;
    j["engine"] = engine_path;
    j["data"] = run.described;
    j["samples"] = run.samples;
    j["batch"] = bs;
    j["accuracy"] = run.scored ? nlohmann::ordered_json(acc) : nlohmann::ordered_json();
    if (run.scored) j["correct"] = run.correct;
    j["seconds"] = total_ms / 1000.0;
    j["median_ms"] = st.median_ms;
    j["p10_ms"] = st.p10_ms;
    j["p90_ms"] = st.p90_ms;
    j["images_per_s"] = ips;
    j["load_ms"] = le.stats.total_ms;
    j["outputs"] = nlohmann::ordered_json::array();
    for (size_t i = 0; i < run.outs.size(); ++i)
      j["outputs"].push_back({{"name", e.output_specs()[i].name},
                              {"dtype", dtype_name(run.outs[i].dtype())},
                              {"shape", run.outs[i].shape()}});
    print_json(j);
    return;
  }
  std::cout << "data: " << run.described << "\n";
  for (size_t i = 0; i < run.outs.size(); ++i) {
    std::cout << e.output_specs()[i].name << ": " << dtype_name(run.outs[i].dtype())
              << shape_str(run.outs[i].shape());
    if (i < output_files.size())
      std::cout << " -> " << output_files[i];
    else if (run.outs[i].numel() <= 64)
      for (float v : run.outs[i].to_floats()) std::cout << " " << v;
    std::cout << "\n";
  }
  std::printf(
      "ran %lld samples in %zu batch(es) of up to %lld: %.3f s total, median %.3f ms per "
      "batch (p10 %.3f, p90 %.3f), %.0f images/s; engine loaded in %.1f ms\n",
      static_cast<long long>(run.samples), run.batch_ms.size(), static_cast<long long>(bs),
      total_ms / 1000.0, st.median_ms, st.p10_ms, st.p90_ms, ips, le.stats.total_ms);
  if (run.scored)
    std::printf("accuracy: %.2f%% (%lld/%lld)\n", 100.0 * acc, static_cast<long long>(run.correct),
                static_cast<long long>(run.samples));
}

}  // namespace

int run_engine(const std::string& engine_path, const std::vector<std::string>& input_files,
               const data::DataSpec& data, const std::vector<std::string>& output_files,
               int64_t batch) {
  runtime::LoadedEngine le = runtime::load_engine(engine_path);
  const runtime::Engine& e = *le.engine;
  const std::vector<TensorSpec> ins = e.input_specs();
  if (output_files.size() > e.output_specs().size())
    invalid_input(str("the engine has ", e.output_specs().size(), " output(s), -o gave ",
                      output_files.size()))
        .key("--output")
        .raise();
  if (batch > e.max_batch())
    invalid_input(str("--batch ", batch, " is above the engine's maximum batch ", e.max_batch()))
        .key("--batch")
        .raise();
  const int64_t bs = batch > 0 ? batch : e.max_batch();
  if (ins.size() == 1 && ins[0].batched) check_rows_per_sample(e, engine_path);
  runtime::ExecutionContext ctx(le.engine);
  const EngineRun run = input_files.empty() ? run_on_data(ctx, ins, data, bs)
                                            : run_on_files(ctx, ins, input_files, bs);
  data::write_npy_files(output_files, {run.outs.begin(), run.outs.begin() + output_files.size()});
  report_engine_run(engine_path, le, run, output_files, bs);
  return 0;
}

}  // namespace mpq::cli
