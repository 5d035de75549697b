// mpq zoo NAME -o model.onnx [--batch N|dynamic] [--seed S]   |   mpq zoo --list   |   mpq list-zoo
// (-m NAME is the same as NAME, as every subcommand takes its model.)
#include <iostream>

#include "commands.h"
#include "common_flags.h"
#include "data/file_io.h"
#include "frontend/onnx/exporter.h"
#include "zoo/zoo.h"

namespace mpq::cli {
namespace {

int print_zoo_list() {
  if (common_flags().json) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& m : zoo::zoo_models())
      list.push_back({{"name", m.name}, {"input", m.input}, {"description", m.description}});
    print_json({{"models", list}});
    return 0;
  }
  for (const auto& m : zoo::zoo_models())
    std::cout << m.name << "  input [N," << shape_str(m.input).substr(1) << "  " << m.description
              << "\n";
  return 0;
}

// "dynamic" -> -1, else a positive integer.
int64_t parse_batch(const std::string& s) {
  if (s == "dynamic") return -1;
  size_t used = 0;
  int64_t v = 0;
  try {
    v = std::stoll(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != s.size() || v <= 0)
    invalid_input(str("batch must be a positive number or 'dynamic', got '", s, "'"))
        .key("--batch")
        .raise();
  return v;
}

struct ZooArgs {
  std::string name, out, batch = "dynamic";
  uint64_t seed = 0;
  bool list = false;
};

void register_zoo(CLI::App& app, std::function<int()>& action) {
  auto a = std::make_shared<ZooArgs>();
  auto* cmd = app.add_subcommand("zoo", "Write a zoo model (random seeded weights) as ONNX");
  auto* name = cmd->add_option("-m,--model", a->name, "Zoo model name (see --list)");
  cmd->add_option("name", a->name, "The same as --model")->excludes(name);
  cmd->add_option("-o,--output", a->out, "Output ONNX file");
  cmd->add_option("--batch", a->batch, "Input batch size: a number or 'dynamic'")
      ->capture_default_str();
  cmd->add_option("--seed", a->seed, "Weight initialization seed (same seed, same weights)")
      ->capture_default_str();
  cmd->add_flag("--list", a->list, "List the zoo models and exit");
  add_common_flags(cmd, "keys: name, output, input, nodes, parameters, seed; with --list: models[]",
                   "mpq zoo lenet5 -o lenet5.onnx --batch 64\nmpq zoo --list --json");
  cmd->callback([&action, a] {
    action = [a] {
      if (a->list) return print_zoo_list();
      if (a->name.empty())
        invalid_input("give a model name (mpq zoo --list shows them)").key("--model").raise();
      if (a->out.empty())
        invalid_input("give the output file with -o model.onnx").key("--output").raise();
      data::check_output_path(a->out);
      zoo::ZooOptions opt;
      opt.batch = parse_batch(a->batch);
      opt.seed = a->seed;
      zoo::ZooModel m = zoo::build_zoo_model(a->name, opt);
      export_onnx(*m.graph, a->out);
      const Value* in = m.graph->inputs()[0];
      if (common_flags().json) {
        print_json({{"name", a->name},
                    {"output", a->out},
                    {"input", {{"name", in->name}, {"shape", in->shape}}},
                    {"nodes", m.graph->nodes().size()},
                    {"parameters", m.num_parameters},
                    {"seed", a->seed}});
        return 0;
      }
      std::cout << "wrote " << a->name << " to " << a->out << ": input " << in->name << " "
                << shape_str(in->shape) << ", " << m.graph->nodes().size() << " nodes, "
                << m.num_parameters << " parameters, seed " << a->seed << "\n";
      return 0;
    };
  });

  auto* list = app.add_subcommand("list-zoo", "List the zoo models (same as mpq zoo --list)");
  add_common_flags(list, "models[].name/input/description", "mpq list-zoo --json");
  list->callback([&action] { action = [] { return print_zoo_list(); }; });
}

}  // namespace

MPQ_REGISTER_COMMAND(register_zoo);

}  // namespace mpq::cli
