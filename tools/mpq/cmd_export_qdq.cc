// mpq export-qdq --model m.onnx --calib calib.json [--config config_list.json]
//                [--layer-precision SPEC] [--default-precision P] [--force] -o m_qdq.onnx
// Writes the float model as a standard QDQ ONNX model with the quantization mpq's engine runs
// (api/qdq_export.h): ONNX Runtime runs it, TensorRT reads its explicit quantization, and
// `mpq build` reads it back to the same scales.
#include <iostream>

#include "api/qdq_export.h"
#include "commands.h"
#include "common_flags.h"
#include "data/file_io.h"
#include "model_arg.h"

namespace mpq::cli {
namespace {

struct ExportQdqArgs {
  std::string model, calib, config, layer_precision, default_precision, output;
  bool force = false, lenient = false;
};

int run_export_qdq(const ExportQdqArgs& a) {
  data::check_output_path(a.output);
  std::unique_ptr<Graph> g = load_model_arg(a.model);
  api::BuildInputs in;
  in.graph = g.get();
  in.model_name = a.model;
  in.table = api::read_table(a.calib, &in.calib_hash);
  in.calib_name = a.calib;
  in.config_list = a.config;
  in.lenient_config = a.lenient;
  in.layer_precision = a.layer_precision;
  in.force = a.force;
  in.options.default_precision = parse_default_precision(a.default_precision);
  api::QdqExportSummary s = api::export_qdq(std::move(in), a.output);
  for (const auto& w : s.warnings) warn(w);
  for (const auto& n : s.notes) note(n);
  if (common_flags().json) {
    print_json({{"output", a.output},
                {"int8_layers", s.int8_layers},
                {"activation_pairs", s.activation_pairs},
                {"float_layers", s.float_layers},
                {"warnings", s.warnings}});
    return 0;
  }
  std::printf(
      "wrote %s: %d int8 layer(s) with Q/DQ on their inputs and weights (%d activation "
      "Q/DQ pair(s)), %d conv/gemm layer(s) left in float\n",
      a.output.c_str(), s.int8_layers, s.activation_pairs, s.float_layers);
  return 0;
}

void register_export_qdq(CLI::App& app, std::function<int()>& action) {
  auto a = std::make_shared<ExportQdqArgs>();
  auto* cmd = app.add_subcommand(
      "export-qdq",
      "Write the model as a QDQ ONNX model (QuantizeLinear/DequantizeLinear) with mpq's scales "
      "and per-layer precisions, for ONNX Runtime and TensorRT");
  add_model_option(cmd, a->model, "ONNX model (float)");
  cmd->add_option("--calib", a->calib,
                  "Calibration table (`mpq calibrate`) or NNI calibration config (JSON)")
      ->required();
  cmd->add_option("--config", a->config,
                  "NNI config_list (JSON list) choosing the layers and bits, over --calib");
  cmd->add_option("--layer-precision", a->layer_precision,
                  "Per-layer precision over --calib/--config, e.g. 'conv1:int8,fc*:fp32'");
  cmd->add_option("--default-precision", a->default_precision,
                  "Precision of layers the table does not name: fp32 (default), bf16, fp16, int8");
  cmd->add_flag("--lenient", a->lenient,
                "--config: warn instead of failing where NNI's schema refuses the config_list");
  cmd->add_flag(
      "--force", a->force,
      "Use a calibration table computed on another model (a warning instead of an error)");
  cmd->add_option("-o,--output", a->output, "QDQ ONNX file to write")->required();
  add_common_flags(cmd, "keys: output, int8_layers, activation_pairs, float_layers, warnings",
                   "mpq export-qdq -m m.onnx --calib calib.json -o m_qdq.onnx");
  cmd->callback([&action, a] { action = [a] { return run_export_qdq(*a); }; });
}

}  // namespace

MPQ_REGISTER_COMMAND(register_export_qdq);

}  // namespace mpq::cli
