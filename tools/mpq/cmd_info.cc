// mpq info: what a model contains (filled in by the ONNX importer work).
#include <iostream>

#include "commands.h"
#include "ir/op_def.h"

namespace mpq::cli {

void register_info(CLI::App& app, std::function<int()>& action) {
  auto* cmd = app.add_subcommand("info", "Show a model's inputs, outputs, ops, parameters and FLOPs");
  auto model = std::make_shared<std::string>();
  cmd->add_option("model", *model, "ONNX model file")->required();
  cmd->callback([&action, model] {
    action = [model] {
      std::cout << "registered ops: " << all_op_defs().size() << "\n";
      return 0;
    };
  });
}

MPQ_REGISTER_COMMAND(register_info);

}  // namespace mpq::cli
