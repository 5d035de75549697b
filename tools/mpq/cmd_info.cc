// mpq info: what a model contains: inputs/outputs, op histogram, parameters, multiply-accumulates,
// per-node table with PyTorch module paths and output types, and the nodes mpq cannot handle (a
// model with unsupported ops is still reported on).
#include <iostream>

#include "commands.h"
#include "common_flags.h"
#include "frontend/onnx/importer.h"
#include "frontend/onnx/model_summary.h"
#include "ir/printer.h"
#include "model_arg.h"

namespace mpq::cli {

namespace {
struct InfoArgs {
  std::string model;
  bool graph = false, no_nodes = false;
};

int run_info(const InfoArgs& a) {
  std::vector<UnsupportedNode> unsupported;
  ModelMeta meta;
  ImportOptions opts;
  opts.collect_unsupported = &unsupported;
  opts.meta = &meta;
  auto g = load_model_arg(a.model, opts);
  ModelSummary s = summarize(*g, meta, unsupported, a.model);
  if (common_flags().json) {
    nlohmann::json j = summary_json(s);
    if (a.graph) j["graph"] = print_graph(*g);
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << summary_text(s, !a.no_nodes);
    if (a.graph) std::cout << "graph:\n" << print_graph(*g);
  }
  return 0;
}
}  // namespace

void register_info(CLI::App& app, std::function<int()>& action) {
  auto* cmd = app.add_subcommand(
      "info",
      "Show a model's inputs, outputs, ops, parameters, FLOPs, module paths and the ops "
      "mpq does not support");
  auto args = std::make_shared<InfoArgs>();
  add_model_option(cmd, args->model, "ONNX model file", ModelArg::kPositional);
  add_common_flags(cmd, "inputs, outputs, ops, parameters, nodes, unsupported",
                   "mpq info resnet18.onnx --no-nodes\nmpq info -m lenet5 --json");
  cmd->add_flag("--graph", args->graph,
                "Also print the graph in mpq's text form (one line per node)");
  cmd->add_flag("--no-nodes", args->no_nodes, "Leave out the per-node table (text output)");
  cmd->callback([&action, args] { action = [args] { return run_info(*args); }; });
}

MPQ_REGISTER_COMMAND(register_info);

}  // namespace mpq::cli
