// mpq sensitivity --model m.onnx --calib calib.json --data SPEC [--metric sqnr|agreement|accuracy]
//                 [-o report.json] [--svg chart.svg]
// Per-layer quantization sensitivity on real engines (api/sensitivity.h): each quantizable layer
// int8 alone, and every layer int8 but it, against the fp32 engine on the validation data; ranks
// the layers, prints a table and a one-line verdict, writes JSON and an SVG bar chart.
#include <omp.h>

#include <cstdio>
#include <iostream>

#include "api/build_engine.h"
#include "api/sensitivity.h"
#include "commands.h"
#include "common_flags.h"
#include "core/progress.h"
#include "core/staged_outputs.h"
#include "data/file_io.h"
#include "data_options.h"
#include "model_arg.h"
#include "validation_inputs.h"

namespace mpq::cli {

namespace {

struct SensitivityArgs {
  std::string model, calib, output, svg;
  data::DataSpec data;
  api::SensitivityOptions opt;
  SensitivityArgs() { opt.batch_size = kInferenceBatch; }
};

void print_ranking(const api::SensitivityReport& r) {
  std::printf("%-4s %-40s %-10s %12s %12s\n", "rank", "layer", "op", "alone", "without");
  for (size_t i = 0; i < r.layers.size(); ++i) {
    const api::LayerSensitivity& l = r.layers[i];
    std::printf("%-4zu %-40s %-10s %12s %12s\n", i + 1, api::display_name(l).c_str(), l.op.c_str(),
                api::metric_text(l.alone, r.metric).c_str(),
                api::metric_text(l.without, r.metric).c_str());
  }
  std::printf("mpq: %s\n", api::sensitivity_verdict(r).c_str());
}

int run_sensitivity(const SensitivityArgs& a) {
  if (!a.output.empty()) data::check_output_path(a.output);
  if (!a.svg.empty()) data::check_output_path(a.svg);
  if (a.opt.threads > 0) omp_set_num_threads(a.opt.threads);
  const ValidationInputs in = load_validation_inputs(a.model, a.calib, a.data, "sensitivity");
  api::SensitivityOptions opt = a.opt;
  opt.calib_name = a.calib;
  const auto layers = static_cast<int64_t>(api::quantizable_layers(*in.graph).size());
  const bool quiet = common_flags().quiet || common_flags().json;
  Progress bar("sensitivity", 2 + 2 * layers, quiet, "engines");
  api::SensitivityReport r = api::layer_sensitivity(*in.graph, in.table, in.images, in.labels, opt,
                                                    [&](int, int) { bar.advance(); });
  bar.finish();
  if (common_flags().json)
    std::cout << api::sensitivity_json(r) << "\n";
  else
    print_ranking(r);
  StagedOutputs out;  // the JSON and the SVG: both or neither
  if (!a.output.empty())
    data::write_file_atomic(out.stage(a.output),
                            [&](std::ostream& o) { o << api::sensitivity_json(r); });
  if (!a.svg.empty())
    data::write_file_atomic(out.stage(a.svg),
                            [&](std::ostream& o) { o << api::sensitivity_svg(r); });
  out.commit();
  return 0;
}

void register_sensitivity(CLI::App& app, std::function<int()>& action) {
  auto* cmd = app.add_subcommand(
      "sensitivity",
      "Per-layer quantization sensitivity on real engines: each layer int8 alone and all but it, "
      "ranked by SQNR, top-1 agreement or accuracy");
  auto a = std::make_shared<SensitivityArgs>();
  add_model_option(cmd, a->model, "ONNX model (float)");
  cmd->add_option("--calib", a->calib, "Calibration table (`mpq calibrate`) or NNI config")
      ->required();
  add_data_options(cmd, a->data)->required();
  cmd->add_option("--metric", a->opt.metric, "What ranks the layers")
      ->capture_default_str()
      ->check(CLI::IsMember({"sqnr", "agreement", "accuracy"}));
  cmd->add_option("--backend", a->opt.backend, "cpu or cuda")
      ->capture_default_str()
      ->check(CLI::IsMember({"cpu", "cuda"}));
  cmd->add_option("--batch", a->opt.batch_size, "Engine batch (the inference batch default)")
      ->capture_default_str()
      ->check(positive());
  cmd->add_option("--threads", a->opt.threads, "Threads (default: OMP_NUM_THREADS, else all cores)")
      ->check(non_negative());
  cmd->add_option("--output,-o", a->output, "Write the report as JSON");
  cmd->add_option("--svg", a->svg, "Write a bar chart of the layers as SVG");
  cmd->add_flag("--force", a->opt.force, "Accept a calibration table made on another model");
  add_common_flags(cmd, "the report: layers ranked with their alone/without fidelity",
                   "mpq sensitivity -m m.onnx --calib calib.json --data fashion-mnist:test "
                   "--limit 500 -o sensitivity.json --svg sensitivity.svg");
  cmd->callback([&action, a] { action = [a] { return run_sensitivity(*a); }; });
}

}  // namespace

MPQ_REGISTER_COMMAND(register_sensitivity);

}  // namespace mpq::cli
