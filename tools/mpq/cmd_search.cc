// mpq search --model m.onnx --calib calib.json --data SPEC [--backend cpu|cuda]
//            [--max-accuracy-drop 0.5] [--time-budget 10m] [--seed N] -o config_list.json
// Automatic mixed precision on real engines (api/precision_search.h): writes the chosen plan as
// an NNI config_list, the whole search as JSON and the Pareto frontier as SVG.
#include <omp.h>

#include <cstdio>
#include <iostream>

#include "api/build_engine.h"
#include "api/precision_search.h"
#include "commands.h"
#include "common_flags.h"
#include "core/progress.h"
#include "core/staged_outputs.h"
#include "data/file_io.h"
#include "data_options.h"
#include "model_arg.h"
#include "validation_inputs.h"
#include "wait_policy.h"

namespace mpq::cli {

namespace {

struct SearchArgs {
  std::string model, calib, output, report, svg, budget = "10m";
  data::DataSpec data;
  api::SearchOptions opt;
  SearchArgs() { opt.batch_size = kInferenceBatch; }
};

// "90", "90s", "10m", "1h" -> seconds.
double parse_budget(const std::string& text) {
  size_t used = 0;
  double v = -1;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  const std::string unit = text.substr(used);
  const double scale = unit.empty() || unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : 0;
  if (used == 0 || scale == 0 || !(v > 0))
    invalid_input(str("time budget '", text, "': a positive number of seconds, or with s, m or h"))
        .key("--time-budget")
        .raise();
  return v * scale;
}

void print_frontier(const api::SearchReport& r) {
  std::printf("%-9s %10s %12s %9s %9s %12s  %s\n", "origin", "latency_ms", r.metric.c_str(),
              "mean_bits", "wtd_bits", "engine_bytes", "");
  for (size_t i : r.frontier) {
    const api::SearchPoint& p = r.points[i];
    std::printf("%-9s %10.3f %12s %9.2f %9.2f %12lld  %s\n", p.origin.c_str(), p.latency_ms,
                api::metric_text(p.fidelity, r.metric).c_str(), p.mean_bits, p.weighted_bits,
                static_cast<long long>(p.engine_bytes), r.chosen == i ? "<- chosen" : "");
  }
  if (r.cost_model_predictions > 0)
    std::printf("cost model: median error %.1f%% over %d plans predicted before they were timed\n",
                100.0 * r.cost_model_median_error, r.cost_model_predictions);
}

int run_search(SearchArgs& a) {
  a.opt.time_budget_s = parse_budget(a.budget);
  // Timings on a busy machine: spinning OpenMP waits would distort them.
  rerun_with_passive_wait_if_busy();
  if (!a.output.empty()) data::check_output_path(a.output);
  if (!a.report.empty()) data::check_output_path(a.report);
  if (!a.svg.empty()) data::check_output_path(a.svg);
  if (a.opt.threads > 0) omp_set_num_threads(a.opt.threads);
  const ValidationInputs in = load_validation_inputs(a.model, a.calib, a.data, "search");
  a.opt.calib_name = a.calib;
  const bool quiet = common_flags().quiet || common_flags().json;
  Progress bar("search", 1, quiet, "engines");
  api::SearchReport r = api::precision_search(*in.graph, in.table, in.images, in.labels, a.opt,
                                              [&](int done, int total, const std::string& phase) {
                                                bar.set_total(total);
                                                bar.set_status(phase);
                                                bar.advance(done - bar.done());
                                              });
  bar.finish();
  if (!common_flags().json) print_frontier(r);
  // The report is written even when the budget ran out: the partial frontier is kept.
  StagedOutputs report;  // the JSON report and its SVG: both or neither
  if (!a.report.empty())
    data::write_file_atomic(report.stage(a.report),
                            [&](std::ostream& o) { o << api::search_json(r); });
  if (!a.svg.empty())
    data::write_file_atomic(report.stage(a.svg), [&](std::ostream& o) { o << api::search_svg(r); });
  report.commit();
  if (!r.baselines_complete)
    invalid_input(str("the time budget (", a.budget, ") ran out after ", r.points.size(),
                      " of the 3 uniform plans (", r.seconds, " s)",
                      a.report.empty() ? "" : "; the partial report is written",
                      ": allow more time"))
        .key("--time-budget")
        .raise();
  if (r.chosen && !a.output.empty())
    data::write_file_atomic(
        a.output, [&](std::ostream& o) { o << api::search_config_list(r, r.points[*r.chosen]); });
  if (common_flags().json) {
    std::cout << api::search_json(r) << "\n";
  } else {
    std::printf("mpq: %s\n", api::search_verdict(r).c_str());
    if (r.chosen && !a.output.empty())
      std::printf("wrote %s: mpq build --model %s --calib %s --config %s\n", a.output.c_str(),
                  a.model.c_str(), a.calib.c_str(), a.output.c_str());
  }
  return r.chosen ? 0 : 3;
}

void register_search(CLI::App& app, std::function<int()>& action) {
  auto* cmd = app.add_subcommand(
      "search",
      "Automatic mixed precision: per-layer int8 / 16-bit / fp32 chosen on real engines (timed "
      "whole, run on validation data); writes the fastest plan within the target as a config_list");
  auto a = std::make_shared<SearchArgs>();
  add_model_option(cmd, a->model, "ONNX model (float)");
  cmd->add_option("--calib", a->calib, "Calibration table (`mpq calibrate`) or NNI config")
      ->required();
  add_data_options(cmd, a->data)->required();
  cmd->add_option("--output,-o", a->output, "Write the chosen plan as an NNI config_list (JSON)");
  cmd->add_option("--report", a->report, "Write every measured plan and the frontier as JSON");
  cmd->add_option("--svg", a->svg, "Write the latency/fidelity frontier as SVG");
  cmd->add_option("--metric", a->opt.metric,
                  "Fidelity: accuracy (needs labels), agreement (top-1 with fp32) or sqnr "
                  "(default: accuracy with labels, else agreement)")
      ->check(CLI::IsMember({"sqnr", "agreement", "accuracy"}));
  cmd->add_option("--max-accuracy-drop", a->opt.max_drop,
                  "Target for accuracy/agreement: points below the fp32 engine")
      ->capture_default_str()
      ->check(non_negative());
  cmd->add_option("--min-sqnr", a->opt.min_sqnr_db, "Target for --metric sqnr (dB)")
      ->capture_default_str();
  cmd->add_option("--backend", a->opt.backend, "cpu or cuda")
      ->capture_default_str()
      ->check(CLI::IsMember({"cpu", "cuda"}));
  cmd->add_option("--time-budget", a->budget, "Wall-clock budget: seconds, or 90s, 10m, 1h")
      ->capture_default_str();
  cmd->add_option("--seed", a->opt.seed, "Exploration seed")->capture_default_str();
  cmd->add_option("--batch", a->opt.batch_size,
                  "Engine batch (timed at this batch; the inference batch default)")
      ->capture_default_str()
      ->check(positive());
  cmd->add_option("--timing-runs", a->opt.timing_runs, "Timed runs per engine (fastest counts)")
      ->capture_default_str()
      ->check(positive());
  cmd->add_option("--latency", a->opt.latency,
                  "measured (engines timed) or estimated (static MAC estimate: deterministic)")
      ->capture_default_str()
      ->check(CLI::IsMember({"measured", "estimated"}));
  cmd->add_option("--threads", a->opt.threads, "Threads (default: OMP_NUM_THREADS, else all cores)")
      ->check(non_negative());
  cmd->add_flag("--force", a->opt.force, "Accept a calibration table made on another model");
  add_common_flags(cmd, "the search report: every measured plan, the frontier, the chosen plan",
                   "mpq search -m m.onnx --calib calib.json --data fashion-mnist:test --limit 500 "
                   "--max-accuracy-drop 0.5 -o config_list.json");
  cmd->callback([&action, a] { action = [a] { return run_search(*a); }; });
}

}  // namespace

MPQ_REGISTER_COMMAND(register_search);

}  // namespace mpq::cli
