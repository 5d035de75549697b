// mpq build --model m.onnx [--calib calib.json] [--config config_list.json]
//           [--default-precision fp32|bf16|fp16|int8] [--strict] [--batch N] [--backend B]
//           [--threads T] [--allow-host-fallback] [--force] -o m.mpqe
// Builds the mixed-precision engine and writes the engine file (atomically), then prints the
// manifest summary (one line per layer with `-v`; `mpq inspect` shows it any time).
#include <algorithm>
#include <chrono>
#include <iostream>

#include "api/build_engine.h"
#include "commands.h"
#include "common_flags.h"
#include "data/file_io.h"
#include "model_arg.h"

namespace mpq::cli {
namespace {

struct BuildArgs {
  std::string model, calib, config, default_precision, backend = "cpu", output;
  std::string unconfigured = "fp32", layer_precision;
  std::string calib_data, calibrate_type = "entropy", calibration_cache;
  int64_t calib_images = 1000;
  bool strict = false, force = false, allow_host_fallback = false, lenient = false;
  int64_t batch = kInferenceBatch;
  int threads = 0;
};

// The inputs of api::build_engine from the flags (the table, config and precision checks).
api::BuildInputs build_inputs(const BuildArgs& a, const Graph* g) {
  api::BuildInputs in;
  in.graph = g;
  in.model_name = a.model;
  if (!a.calib.empty()) {
    in.table = api::read_table(a.calib, &in.calib_hash);
    in.calib_name = a.calib;
  }
  if (!a.config.empty() && api::is_layer_dict_file(a.config)) {
    // NNI's PTQ dict {layer: {weight_bits, output_bits}}: per-layer bits, as a table.
    if (!a.calib.empty())
      invalid_input(str("--config ", a.config,
                        " is a per-layer dict (NNI's PTQ config) and --calib ", a.calib,
                        " gives the layers too: pass one"))
          .key("--config")
          .raise();
    in.table = api::read_table(a.config, &in.calib_hash);
    in.calib_name = a.config;
  } else {
    in.config_list = a.config;
  }
  in.calib_data.source = a.calib_data;
  in.calibrate.method = a.calibrate_type;
  in.calibrate.calib_images = a.calib_images;
  in.calibrate.batch_size = static_cast<int>(std::min<int64_t>(a.batch, 1024));
  in.calibrate.quiet = true;
  in.calibration_cache = a.calibration_cache;
  if (!a.calib_data.empty() && !a.calib.empty() && !api::is_layer_dict_file(a.calib) && in.table &&
      !in.table->tensors.empty())
    invalid_input(str("--calib ", a.calib,
                      " already holds ranges and --calib-data would compute "
                      "them again: pass one"))
        .key("--calib-data")
        .raise();
  in.lenient_config = a.lenient;
  in.lenient_qdq = a.lenient;
  in.unconfigured = a.unconfigured;
  in.layer_precision = a.layer_precision;
  in.force = a.force;
  in.options.default_precision = parse_default_precision(a.default_precision);
  in.options.strict = a.strict;
  in.options.max_batch = a.batch;
  in.options.threads = a.threads;
  in.options.backend = a.backend;
  in.options.allow_host_fallback = a.allow_host_fallback;
  return in;
}

void report_build(const BuildArgs& a, const api::BuildOutput& out,
                  const runtime::EngineFileInfo& info, double secs) {
  const plan::Manifest& m = out.engine->manifest();
  if (common_flags().verbose && !common_flags().json) std::cout << m.to_table();
  int counts[4] = {0, 0, 0, 0};
  int differ = 0;
  for (const auto& l : m.layers) {
    if (l.op == "Reorder") continue;
    ++counts[static_cast<int>(l.executed)];
    if (!l.reason.empty() && l.reason.rfind("fused into", 0) != 0) ++differ;
  }
  const plan::StepCounts sc = plan::count_steps(out.engine->plan());
  auto layers = [&](Precision p) { return counts[static_cast<int>(p)]; };
  if (common_flags().json) {
    nlohmann::ordered_json j;
    j["engine"] = a.output;
    j["model"] = a.model;
    j["seconds"] = secs;
    j["steps"] = out.engine->plan().steps.size();
    j["layers"] = {{"fp32", layers(Precision::kFp32)},
                   {"bf16", layers(Precision::kBf16)},
                   {"fp16", layers(Precision::kFp16)},
                   {"int8", layers(Precision::kInt8)}};
    j["average_bits"] = m.average_bits;
    j["layers_with_note"] = differ;
    j["boundaries"] = sc.boundaries;
    j["reference_steps"] = sc.host_steps;
    j["file_bytes"] = info.file_bytes;
    j["weight_bytes"] = info.weight_bytes;
    j["checksum"] = info.checksum;
    j["warnings"] = out.warnings;
    print_json(j);
    return;
  }
  std::printf(
      "built %s from %s in %.2f s: %zu steps (fp32 %d, bf16 %d, fp16 %d, int8 %d layers), "
      "average weight bits %.2f, %d layer(s) with a note (mpq inspect shows them)\n",
      a.output.c_str(), a.model.c_str(), secs, out.engine->plan().steps.size(),
      layers(Precision::kFp32), layers(Precision::kBf16), layers(Precision::kFp16),
      layers(Precision::kInt8), m.average_bits, differ);
  std::printf("precision/layout boundaries: %d Reorder step(s); reference steps: %d\n",
              sc.boundaries, sc.host_steps);
  std::printf("wrote %s (%llu bytes, weights %llu bytes, %s)\n", a.output.c_str(),
              static_cast<unsigned long long>(info.file_bytes),
              static_cast<unsigned long long>(info.weight_bytes), info.checksum.c_str());
}

int run_build(const BuildArgs& a) {
  data::check_output_path(a.output);  // before the build, which can take minutes
  const auto t0 = std::chrono::steady_clock::now();
  std::unique_ptr<Graph> g = load_model_arg(a.model);
  api::BuildOutput out = api::build_engine(build_inputs(a, g.get()));
  for (const auto& w : out.warnings) warn(w);
  for (const auto& n : out.notes) note(n);
  runtime::EngineFileInfo info = runtime::save_engine(*out.engine, out.info, a.output);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  report_build(a, out, info, secs);
  return 0;
}

void register_build(CLI::App& app, std::function<int()>& action) {
  auto a = std::make_shared<BuildArgs>();
  auto* cmd = app.add_subcommand(
      "build", "Build a mixed-precision engine from an ONNX model and a calibration table");
  add_model_option(cmd, a->model,
                   "ONNX model: float, or QDQ (QuantizeLinear/DequantizeLinear nodes fix its int8 "
                   "layers and scales; then no --calib)");
  cmd->add_option("--calib", a->calib,
                  "Calibration table (`mpq calibrate`) or NNI calibration config (JSON): ranges "
                  "and per-layer bits (8 int8, 16 16-bit float, 32 fp32)");
  cmd->add_option("--config", a->config,
                  "NNI config_list (JSON list) choosing the layers and bits, applied over --calib "
                  "(layers it does not select run at --default-precision), or NNI's PTQ dict "
                  "{layer: {weight_bits, output_bits}} (JSON object; with --calib-data)");
  cmd->add_option("--default-precision", a->default_precision,
                  "Precision of layers the table does not name: fp32 (default), bf16, fp16, int8. "
                  "When given, an int8 layer without a range falls back (recorded) instead of "
                  "failing");
  cmd->add_option("--unconfigured", a->unconfigured,
                  "Precision of layers --calib/--config do not name: fp32, or fastest (NNI's: the "
                  "faster of fp32 and 16-bit float, both engines timed at build; the manifest "
                  "says which). Excludes --default-precision")
      ->check(CLI::IsMember({"fp32", "fastest"}))
      ->capture_default_str();
  CLI::Option* calib_data = cmd->add_option(
      "--calib-data", a->calib_data,
      "NNI's post-training path: calibrate on this data first (fashion-mnist:train, "
      "images .npy/IDX, a folder of .npy); --config (NNI's PTQ dict or a config_list) "
      "or --calib (a PTQ dict) gives the bits");
  cmd->add_option("--calibrate-type", a->calibrate_type, "With --calib-data: the range method")
      ->check(CLI::IsMember({"entropy", "minmax", "percentile", "mse"}))
      ->capture_default_str()
      ->needs(calib_data);
  cmd->add_option("--calib-images", a->calib_images,
                  "With --calib-data: images sampled for calibration (0: all)")
      ->capture_default_str()
      ->needs(calib_data);
  cmd->add_option("--calibration-cache", a->calibration_cache,
                  "With --calib-data: reuse this table when its model hash, data hash and options "
                  "match, else calibrate and rewrite it")
      ->needs(calib_data);
  cmd->add_option(
      "--layer-precision", a->layer_precision,
      "Per-layer precision over --calib/--config, e.g. 'conv1:int8,fc*:fp16': node "
      "names or module paths (globs allowed), int8|fp16|bf16|fp32, the last match wins");
  cmd->add_flag("--lenient", a->lenient,
                "--config: warn instead of failing where NNI's schema refuses the config_list "
                "(unknown keys, op_names matching no layer); QDQ models: run Q/DQ patterns mpq "
                "cannot honour exactly in float (noted in the manifest) instead of failing");
  cmd->add_flag("--strict", a->strict,
                "Fail if any requested precision cannot be executed (TensorRT's obey mode)");
  cmd->add_option(
         "--batch", a->batch,
         "Maximum batch the engine runs (any batch 1..N runs; the inference batch default)")
      ->check(positive())
      ->capture_default_str();
  cmd->add_option("--backend", a->backend, "Backend: cpu (oneDNN), cuda, reference")
      ->capture_default_str();
  cmd->add_flag("--allow-host-fallback", a->allow_host_fallback,
                "Device backends (cuda): run steps without a device kernel on the host reference "
                "executor (one stderr line per step, noted in the manifest) instead of failing");
  cmd->add_option("--threads", a->threads, "Threads for building/packing (0: OMP_NUM_THREADS)")
      ->check(non_negative())
      ->capture_default_str();
  cmd->add_flag(
      "--force", a->force,
      "Use a calibration table computed on another model (a warning instead of an error)");
  add_common_flags(cmd, "keys: engine, steps, layers, average_bits, file_bytes, checksum, ...",
                   "mpq build -m lenet5 --calib calib.json --batch 64 -o lenet5.mpqe");
  cmd->add_option("-o,--output", a->output, "Engine file to write (.mpqe)")->required();
  cmd->callback([&action, a] { action = [a] { return run_build(*a); }; });
}

}  // namespace

MPQ_REGISTER_COMMAND(register_build);

}  // namespace mpq::cli
