// Model test: a torchvision model exported by Debian's PyTorch (export_models.py) must import, run
// through the reference executor and match PyTorch's output within 1e-4 relative error
// (max |y - y_torch| / max |y_torch|); its Conv/Gemm nodes must carry the PyTorch module names of
// the Conv2d/Linear modules, with the multiply-accumulates PyTorch's shapes give; and export ->
// re-import must give the same graph. With `cpu`, the CPU engine (fp32, the batch of the input as
// its maximum) must match PyTorch within 1e-4 too; `cpu-only` checks only that and the re-export
// (for models whose Linear layers export as MatMul, which the module-path check does not map).
//   mpq_model_test <folder> <model name> [cpu|cpu-only]
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include "backends/reference/executor.h"
#include "frontend/onnx/exporter.h"
#include "frontend/onnx/importer.h"
#include "frontend/onnx/model_summary.h"
#include "frontend/onnx/tensor_proto.h"
#include "ir/op_def.h"
#include "ir/printer.h"
#include "passes/symbolic_batch.h"
#include "runtime/engine.h"

using namespace mpq;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Module paths: every Conv (Gemm) node names a Conv2d (Linear) module, and every such module is
// named by some node.
int check_module_paths(const Graph& g, const std::string& modules_file) {
  std::ifstream f(modules_file);
  if (!f) {
    std::cerr << modules_file << ": cannot read\n";
    return 1;
  }
  std::map<std::string, std::set<std::string>> expected;  // op -> module names
  std::string name, type;
  while (f >> name >> type) expected[type == "Linear" ? "Gemm" : "Conv"].insert(name);
  std::map<std::string, std::set<std::string>> found;
  int errors = 0;
  for (const auto& n : g.nodes()) {
    std::string op = n->def().onnx.op_type;
    if (!expected.count(op)) continue;
    if (!expected[op].count(n->module_path)) {
      std::cerr << "node '" << n->name << "' (" << op << "): module path '" << n->module_path
                << "' is not a module of that type in the PyTorch model\n";
      ++errors;
    }
    found[op].insert(n->module_path);
  }
  for (const auto& [op, names] : expected)
    for (const auto& m : names)
      if (!found[op].count(m)) {
        std::cerr << "module '" << m << "' has no " << op << " node\n";
        ++errors;
      }
  return errors;
}

// max |got - want| / max |want|, or a negative value if the shapes differ.
double rel_error(const Tensor& got, const Tensor& want, double* max_diff, double* max_ref) {
  if (got.shape() != want.shape()) {
    std::cerr << "output shape " << shape_str(got.shape()) << ", expected "
              << shape_str(want.shape()) << "\n";
    return -1;
  }
  std::vector<float> a = got.to_floats(), b = want.to_floats();
  *max_diff = 0, *max_ref = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    double d = std::abs(static_cast<double>(a[i]) - b[i]);
    *max_diff = std::isnan(d) ? INFINITY : std::max(*max_diff, d);
    *max_ref = std::max(*max_ref, std::abs(static_cast<double>(b[i])));
  }
  return *max_diff / std::max(*max_ref, 1e-30);
}

// g with every shape known at `batch`: shapes computed from a dynamic batch are resolved first
// (symbolic-batch pass), then the batch is fixed.
std::unique_ptr<Graph> at_batch(const Graph& g, int64_t batch) {
  auto c = g.clone();
  for (Value* v : c->inputs())
    if (!v->shape.empty()) v->shape[0] = -1;
  infer_shapes(*c);
  passes::PassContext ctx;
  std::vector<std::unique_ptr<passes::Pass>> ps;
  ps.push_back(passes::make_symbolic_batch());
  ps.push_back(passes::make_constant_folding());
  passes::run_passes(*c, ctx, ps);
  for (Value* v : c->inputs())
    if (!v->shape.empty()) v->shape[0] = batch;
  infer_shapes(*c);
  return c;
}

// The CPU engine at fp32 against PyTorch's output.
int check_cpu_engine(const Graph& g, const Tensor& x, const Tensor& want, const char* name) {
  plan::BuildOptions o;
  o.max_batch = x.dim(0);
  auto t0 = std::chrono::steady_clock::now();
  auto engine = runtime::Engine::build(g, nullptr, o);
  double t_build = seconds_since(t0);
  runtime::ExecutionContext ctx(engine);
  std::vector<Tensor> got = ctx.run({x});
  double max_diff = 0, max_ref = 0;
  double rel = got.size() == 1 ? rel_error(got[0], want, &max_diff, &max_ref) : -1;
  std::cout << name << " (cpu engine, fp32): build " << t_build << " s, max rel error " << rel
            << " (max abs diff " << max_diff << ")\n";
  if (rel >= 0 && rel <= 1e-4) return 0;
  std::cerr << "cpu engine: relative error " << rel << " exceeds 1e-4\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc == 4 ? argv[3] : "";
  if ((argc != 3 && argc != 4) || (argc == 4 && mode != "cpu" && mode != "cpu-only")) {
    std::cerr << "usage: mpq_model_test <folder> <model name> [cpu|cpu-only]\n";
    return 2;
  }
  const std::string base = std::string(argv[1]) + "/" + argv[2];
  try {
    auto t0 = std::chrono::steady_clock::now();
    auto g = import_onnx(base + ".onnx");
    double t_import = seconds_since(t0);
    Tensor x = onnx_io::read_tensor_file(base + "_input.pb");
    Tensor want = onnx_io::read_tensor_file(base + "_output.pb");
    if (mode == "cpu-only") {
      int errors = check_cpu_engine(*g, x, want, argv[2]);
      auto g2 = import_onnx_bytes(export_onnx_bytes(*g), base + " (re-exported)");
      if (print_graph(*g) != print_graph(*g2)) {
        std::cerr << "export -> import changed the graph\n";
        ++errors;
      }
      return errors ? 1 : 0;
    }
    t0 = std::chrono::steady_clock::now();
    std::vector<Tensor> got = ReferenceExecutor(*g).run({x});
    double t_run = seconds_since(t0);
    if (got.size() != 1 || got[0].shape() != want.shape()) {
      std::cerr << "output shape " << (got.empty() ? "none" : shape_str(got[0].shape()))
                << ", expected " << shape_str(want.shape()) << "\n";
      return 1;
    }
    std::vector<float> a = got[0].to_floats(), b = want.to_floats();
    double max_diff = 0, max_ref = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      double d = std::abs(static_cast<double>(a[i]) - b[i]);
      max_diff = std::isnan(d) ? INFINITY : std::max(max_diff, d);
      max_ref = std::max(max_ref, std::abs(static_cast<double>(b[i])));
    }
    double rel = max_diff / std::max(max_ref, 1e-30);
    std::cout << argv[2] << ": " << g->nodes().size() << " nodes, input " << shape_str(x.shape())
              << ", import " << t_import << " s, run " << t_run << " s, max rel error " << rel
              << " (max abs diff " << max_diff << ", max |y| " << max_ref << ")\n";
    int errors = rel <= 1e-4 ? 0 : 1;
    if (errors) std::cerr << "relative error " << rel << " exceeds 1e-4\n";
    errors += check_module_paths(*g, base + "_modules.txt");

    int64_t want_macs = -1, macs = 0;
    std::ifstream(base + "_macs.txt") >> want_macs;
    auto sized = at_batch(*g, x.dim(0));
    for (const auto& n : sized->nodes())
      if (n->def().onnx.op_type == "Conv" || n->def().onnx.op_type == "Gemm") macs += node_macs(*n);
    if (macs != want_macs) {
      std::cerr << "Conv/Gemm multiply-accumulates: " << macs << ", PyTorch's modules give "
                << want_macs << "\n";
      ++errors;
    }

    auto g2 = import_onnx_bytes(export_onnx_bytes(*g), base + " (re-exported)");
    if (print_graph(*g) != print_graph(*g2)) {
      std::cerr << "export -> import changed the graph\n";
      ++errors;
    }
    if (mode == "cpu") errors += check_cpu_engine(*g, x, want, argv[2]);
    return errors ? 1 : 0;
  } catch (const Error& e) {
    std::cerr << "mpq_model_test: " << e.status().to_string() << "\n";
    return 1;
  }
}
