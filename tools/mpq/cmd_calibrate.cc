// mpq calibrate: post-training calibration of an ONNX model on data; writes the calibration table
// (every tensor's range + NNI's per-layer keys) that `mpq build --calib` reads.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "api/calibration_runner.h"
#include "api/ptq_calibration.h"
#include "commands.h"
#include "common_flags.h"
#include "data/file_io.h"
#include "data_options.h"
#include "frontend/onnx/importer.h"
#include "model_arg.h"
#include "runtime/calibrator.h"
#include "quant/model_hash.h"

namespace mpq::cli {

namespace {

struct CalibrateArgs {
  std::string model, cache, output;
  data::DataSpec data;
  CalibrateOptions options;  // mpq::Calibrator's (method, images, config_list, executor, ...)
  CalibrateArgs() {
    options.threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  }
};

void print_result(const CalibrateArgs& a, const quant::CalibrationTable& t, bool reused,
                  const std::string& data, const std::string& runner, double secs) {
  if (common_flags().json) {
    print_json({{"output", a.output},
                {"tensors", t.tensors.size()},
                {"weights", t.weights.size()},
                {"layers", t.layers.size()},
                {"samples", t.header.num_samples},
                {"method", t.header.method},
                {"data", data},
                {"executor", runner},
                {"cache", a.cache.empty() ? nlohmann::json() : nlohmann::json(a.cache)},
                {"reused_cache", reused},
                {"seconds", secs}});
    return;
  }
  if (reused) {
    std::cout << "wrote " << a.output << " (" << t.tensors.size() << " tensors, " << t.layers.size()
              << " layers) from the cache\n";
    return;
  }
  std::printf(
      "calibrated %zu tensors and %zu weights on %lld images of %s (%s, %s executor) in %.2f s\n",
      t.tensors.size(), t.weights.size(), static_cast<long long>(t.header.num_samples),
      data.c_str(), t.header.method.c_str(), runner.c_str(), secs);
  std::printf("wrote %s (%zu layers%s)\n", a.output.c_str(), t.layers.size(),
              a.cache.empty() || a.cache == a.output ? "" : str("; cache ", a.cache).c_str());
}

int run_calibrate(CalibrateArgs a) {
  data::check_output_path(a.output);  // before calibrating, not after it
  a.options.quiet = common_flags().quiet || common_flags().json;
  const auto t0 = std::chrono::steady_clock::now();
  std::unique_ptr<Graph> g = load_model_arg(a.model);
  if (g->inputs().empty()) invalid_input("the model has no inputs").file(a.model).raise();
  std::vector<std::string> warnings;
  std::unique_ptr<quant::Calibrator> calib = api::make_calibrator(*g, a.options, "--", &warnings);
  for (const auto& w : warnings) warn(w);
  std::unique_ptr<data::Dataset> ds = data::open_dataset(a.data, g->inputs()[0]->shape);

  api::CachedCalibration c = api::calibrate_cached(*g, *calib, *ds, a.cache, a.options.batch_size);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (c.reused) {
    quant::write_calibration_table(c.table, a.output);
    // Said even with -q: which of the two happened is part of the result.
    std::cerr << "mpq: calibration cache " << a.cache
              << " matches this model, data and options: reused it (no calibration run)\n";
    print_result(a, c.table, true, ds->describe(), c.runner, secs);
    return 0;
  }
  if (!a.cache.empty())
    std::cerr << "mpq: calibration cache " << a.cache << " not used: " << c.why_not
              << "; calibrated\n";
  for (const auto& w : calib->warnings()) warn(w);
  quant::write_calibration_table(c.table, a.output);
  if (calib->unobserved_count())
    note(str(calib->unobserved_count(),
             " values computed inside fused engine steps have no range of their own (an int8 "
             "engine never quantizes them; --executor reference records them too)"));
  print_result(a, c.table, false, ds->describe(), c.runner, secs);
  return 0;
}

}  // namespace

void register_calibrate(CLI::App& app, std::function<int()>& action) {
  auto* cmd = app.add_subcommand(
      "calibrate",
      "Post-training calibration: run the float model on sampled images and write every tensor's "
      "range plus NNI's per-layer keys");
  auto a = std::make_shared<CalibrateArgs>();
  add_model_option(cmd, a->model, "ONNX model (float)");
  add_data_options(cmd, a->data)->required();
  cmd->add_option(
      "--config", a->options.config_list,
      "NNI config_list (JSON) choosing the layers and bits; default: 8 bits for every "
      "quantizable layer (the requant ops: Conv, Gemm, MatMul, Add, BatchNormalization, "
      "AveragePool, GlobalAveragePool, ReduceMean)");
  cmd->add_option("--method", a->options.method,
                  "Range method: entropy (KL, TensorRT's 128-level search), minmax, percentile, "
                  "mse")
      ->capture_default_str();
  cmd->add_option("--percentile", a->options.percentile,
                  "For --method percentile: the percentile of |x| kept, in (0, 100]")
      ->capture_default_str();
  cmd->add_option("--entropy-floor", a->options.entropy_floor,
                  "For --method entropy: never clip below this percentile of |x| (0 = TensorRT's "
                  "plain KL threshold)")
      ->capture_default_str();
  cmd->add_option("--calib-images", a->options.calib_images,
                  "Images sampled (seeded) from the data; 0 = all")
      ->capture_default_str()
      ->check(non_negative());
  cmd->add_option("--seed", a->options.seed, "Sampling seed")->capture_default_str();
  cmd->add_option("--batch", a->options.batch_size,
                  "Images per executor run: part of the result, so the library's default (not the "
                  "inference batch 128), and CLI and API tables agree")
      ->capture_default_str()
      ->check(positive());
  cmd->add_option("--threads", a->options.threads,
                  "Histogram threads (default: all cores; the table does not depend on it)")
      ->capture_default_str()
      ->check(positive());
  cmd->add_option("--cache", a->cache,
                  "Reuse this table when its model hash, data hash and options match (says so "
                  "either way); otherwise calibrate and write it");
  cmd->add_option("--executor", a->options.executor,
                  "Float executor the images run on: auto (the CPU fp32 engine when built in), "
                  "cpu (observes the tensors the engine materializes: those an int8 engine "
                  "quantizes), or reference (every value of the graph, several times slower)")
      ->capture_default_str();
  add_common_flags(cmd,
                   "keys: output, tensors, weights, layers, samples, method, reused_cache, ...",
                   "mpq calibrate -m lenet5 --data fashion-mnist:train --calib-images 500 -o "
                   "calib.json");
  cmd->add_flag("--lenient", a->options.lenient_config,
                "Warn instead of failing where NNI's schema refuses the config_list (unknown keys, "
                "op_names matching no layer)");
  cmd->add_option("-o,--output", a->output, "Calibration table to write (JSON)")->required();
  cmd->callback([&action, a] { action = [a] { return run_calibrate(*a); }; });
}

MPQ_REGISTER_COMMAND(register_calibrate);

}  // namespace mpq::cli
