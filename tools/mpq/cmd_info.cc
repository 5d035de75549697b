// mpq info: what a model contains: inputs/outputs, op histogram, parameters, multiply-accumulates,
// per-node table with PyTorch module paths and output types, and the nodes mpq cannot handle (a
// model with unsupported ops is still reported on).
#include <iostream>

#include "commands.h"
#include "frontend/onnx/importer.h"
#include "frontend/onnx/model_summary.h"
#include "ir/printer.h"

namespace mpq::cli {

namespace {
struct InfoArgs {
  std::string model;
  bool json = false, graph = false, no_nodes = false;
};

int run_info(const InfoArgs& a) {
  std::vector<UnsupportedNode> unsupported;
  ModelMeta meta;
  ImportOptions opts;
  opts.collect_unsupported = &unsupported;
  opts.meta = &meta;
  auto g = import_onnx(a.model, opts);
  ModelSummary s = summarize(*g, meta, unsupported, a.model);
  if (a.json) {
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
  cmd->add_option("model", args->model, "ONNX model file")->required();
  cmd->add_flag("--json", args->json, "Print machine-readable JSON instead of text");
  cmd->add_flag("--graph", args->graph,
                "Also print the graph in mpq's text form (one line per node)");
  cmd->add_flag("--no-nodes", args->no_nodes, "Leave out the per-node table (text output)");
  cmd->callback([&action, args] { action = [args] { return run_info(*args); }; });
}

MPQ_REGISTER_COMMAND(register_info);

}  // namespace mpq::cli
