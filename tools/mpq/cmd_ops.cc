// mpq ops: the supported-ops table, generated from the op registry and the kernel registry (the
// README's table is this command's --markdown output, so it cannot drift from the code).
#include <iostream>
#include <map>
#include <set>

#include "backends/backend.h"
#include "commands.h"
#include "common_flags.h"
#include "ir/op_def.h"

namespace mpq::cli {

namespace {

// "cpu: fp32 bf16 int8" for one op, from the kernels registered for it.
std::string kernels_of(OpKind op) {
  std::map<std::string, std::set<std::string>> by_backend;
  for (const KernelInfo& k : KernelRegistry::instance().all())
    if (k.op == op && k.backend != "reference")
      by_backend[k.backend].insert(precision_name(k.precision));
  std::string out;
  for (const auto& [backend, precisions] : by_backend) {
    if (!out.empty()) out += "; ";
    out += backend + ":";
    for (const auto& p : precisions) out += " " + p;
  }
  return out.empty() ? "reference only" : out;
}

nlohmann::ordered_json ops_json() {
  nlohmann::ordered_json ops = nlohmann::ordered_json::array();
  for (const OpDef* d : all_op_defs()) {
    nlohmann::ordered_json o;
    o["name"] = d->name;
    o["onnx"] = d->onnx.op_type.empty() ? nlohmann::ordered_json()
                                        : nlohmann::ordered_json{{"domain", d->onnx.domain},
                                                                 {"op_type", d->onnx.op_type},
                                                                 {"min_opset", d->onnx.min_opset},
                                                                 {"max_opset", d->onnx.max_opset}};
    o["quant_rule"] = quant_rule_name(d->quant);
    o["training"] = static_cast<bool>(d->backward);
    o["kernels"] = kernels_of(d->kind);
    o["doc"] = d->doc;
    ops.push_back(o);
  }
  return {{"ops", ops}};
}

int run_ops(bool markdown) {
  if (common_flags().json) {
    print_json(ops_json());
    return 0;
  }
  if (markdown) {
    std::cout << "| op | ONNX binding | quant rule | training | kernels | what it computes |\n"
              << "|---|---|---|---|---|---|\n";
  }
  for (const OpDef* d : all_op_defs()) {
    std::string binding =
        d->onnx.op_type.empty()
            ? "mpq-internal"
            : str(d->onnx.domain.empty() ? "" : d->onnx.domain + "::", d->onnx.op_type, " (opset ",
                  d->onnx.min_opset, "-", d->onnx.max_opset, ")");
    const char* train = d->backward ? "yes" : "-";
    if (markdown)
      std::cout << "| " << d->name << " | " << binding << " | " << quant_rule_name(d->quant)
                << " | " << train << " | " << kernels_of(d->kind) << " | " << d->doc << " |\n";
    else
      std::cout << d->name << "\t" << binding << "\t" << quant_rule_name(d->quant) << "\t"
                << "backward=" << train << "\t" << kernels_of(d->kind) << "\n";
  }
  return 0;
}

void register_ops(CLI::App& app, std::function<int()>& action) {
  auto* cmd = app.add_subcommand(
      "ops",
      "List every op mpq knows: ONNX binding and opsets, quantization rule, whether it "
      "trains, and the optimized kernels per backend and precision");
  auto markdown = std::make_shared<bool>(false);
  cmd->add_flag("--markdown", *markdown, "Print a Markdown table (the README's op table)");
  add_common_flags(cmd, "ops[].name/onnx/quant_rule/training/kernels/doc",
                   "mpq ops --markdown\nmpq ops --json");
  cmd->callback([&action, markdown] { action = [markdown] { return run_ops(*markdown); }; });
}

}  // namespace

MPQ_REGISTER_COMMAND(register_ops);

}  // namespace mpq::cli
