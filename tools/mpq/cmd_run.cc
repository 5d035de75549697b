// mpq run -m m.onnx (--input x.npy... | --data SPEC) [-o y.npy...] [--batch B] [--json]
// mpq run -e m.mpqe (--input x.npy... | --data SPEC) [-o y.npy...] [--batch B] [--json]
// Runs a model through the reference executor, or a built engine (run_engine.cc): on given
// input tensors, or over a dataset in batches (printing top-1 accuracy when the data has labels).
#include <chrono>
#include <cstring>
#include <iostream>

#include "backends/reference/executor.h"
#include "commands.h"
#include "common_flags.h"
#include "data/file_io.h"
#include "data/npy.h"
#include "data/sampler.h"
#include "data_options.h"
#include "model_arg.h"
#include "run_engine.h"

namespace mpq::cli {
namespace {

struct RunArgs {
  std::string model, engine;
  std::vector<std::string> inputs, outputs;
  data::DataSpec data;
  int64_t batch = kInferenceBatch;
};

// The reference run's result for --json: one entry per output (values when there are at most 64
// and no file takes them).
nlohmann::ordered_json outputs_json(const RunArgs& a, const Graph& g,
                                    const std::vector<Tensor>& ys) {
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  for (size_t i = 0; i < ys.size(); ++i) {
    nlohmann::ordered_json o = {{"name", g.outputs()[i]->name},
                                {"dtype", dtype_name(ys[i].dtype())},
                                {"shape", ys[i].shape()}};
    if (i < a.outputs.size())
      o["file"] = a.outputs[i];
    else if (ys[i].numel() <= 64)
      o["values"] = ys[i].to_floats();
    arr.push_back(o);
  }
  return arr;
}

void print_tensor(const std::string& name, const Tensor& t) {
  std::cout << name << ": " << dtype_name(t.dtype()) << shape_str(t.shape());
  if (t.numel() <= 64) {
    std::cout << " =";
    for (float v : t.to_floats()) std::cout << " " << v;
  }
  std::cout << "\n";
}

void write_outputs(const RunArgs& a, const std::vector<Tensor>& outs) {
  data::write_npy_files(a.outputs, {outs.begin(), outs.begin() + a.outputs.size()});
}

int run_on_inputs(const RunArgs& a, const Graph& g) {
  if (a.inputs.size() != g.inputs().size())
    invalid_input(
        str("the model takes ", g.inputs().size(), " input(s), --input gave ", a.inputs.size()))
        .key("--input")
        .raise();
  std::vector<Tensor> xs;
  for (const auto& f : a.inputs) xs.push_back(data::read_array_file(f));
  try {
    check_run_inputs(g, xs);
  } catch (const Error& e) {
    // Name the file that holds the offending input.
    for (size_t i = 0; i < g.inputs().size(); ++i)
      if (e.status().key == g.inputs()[i]->name) throw e.with_file(a.inputs[i]);
    throw;
  }
  std::vector<Tensor> ys = ReferenceExecutor(g).run(xs);
  write_outputs(a, ys);
  if (common_flags().json) {
    print_json({{"model", a.model}, {"inputs", a.inputs}, {"outputs", outputs_json(a, g, ys)}});
    return 0;
  }
  for (size_t i = 0; i < ys.size(); ++i)
    if (i >= a.outputs.size()) print_tensor(g.outputs()[i]->name, ys[i]);
  return 0;
}

// Every sample's outputs, and the top-1 count when output 0 is [N, classes] and there are labels.
struct DatasetRun {
  std::vector<Tensor> outputs;
  int64_t samples = 0, correct = 0;
  bool scored = false;
};

// Runs the dataset in batches of `bs` (the last one zero-padded to `bs` when the batch is fixed).
DatasetRun run_batches(const Graph& g, const data::Dataset& ds, int64_t bs, bool fixed) {
  ReferenceExecutor exec(g);
  data::BatchOptions bo;
  bo.batch_size = bs;
  data::BatchIterator it(ds, bo);
  const int64_t n = ds.size();
  DatasetRun run;
  run.outputs.resize(g.outputs().size());
  std::vector<size_t> row_bytes(run.outputs.size());
  run.scored = ds.has_labels();
  data::Batch b;
  while (it.next(b)) {
    const int64_t real = static_cast<int64_t>(b.indices.size());
    Tensor x = b.images;
    if (real < bs && fixed) {
      Shape s = x.shape();
      s[0] = bs;
      Tensor padded(DType::f32, s);
      std::memcpy(padded.raw(), x.raw(), x.nbytes());
      x = padded;
    }
    std::vector<Tensor> ys = exec.run({x});
    for (size_t o = 0; o < ys.size(); ++o) {
      const Tensor& y = ys[o];
      if (y.rank() == 0 || y.dim(0) != x.dim(0))
        unsupported(
            str("output has shape ", shape_str(y.shape()), ", not one row per sample; use --input"))
            .key(g.outputs()[o]->name)
            .raise();
      if (run.outputs[o].empty()) {
        Shape s = y.shape();
        s[0] = n;
        run.outputs[o] = Tensor(y.dtype(), s);
        row_bytes[o] = y.nbytes() / static_cast<size_t>(y.dim(0));
      }
      std::memcpy(static_cast<char*>(run.outputs[o].raw()) + run.samples * row_bytes[o], y.raw(),
                  real * row_bytes[o]);
    }
    run.scored = run.scored && ys[0].rank() == 2 && ys[0].dim(1) > 1;
    if (run.scored) run.correct += count_correct(ys[0], b.labels, real);
    run.samples += real;
  }
  return run;
}

int run_on_dataset(const RunArgs& a, const Graph& g) {
  if (g.inputs().size() != 1)
    unsupported(str("--data feeds models with one input; this one has ", g.inputs().size(),
                    " (use --input)"))
        .key("--data")
        .raise();
  const Value& in = *g.inputs()[0];
  if (in.dtype != DType::f32)
    unsupported(
        str("--data gives f32 images; the model input is ", dtype_name(in.dtype), " (use --input)"))
        .key(in.name)
        .raise();
  if (in.shape.empty())
    invalid_input("the model input has no batch dimension").key(in.name).raise();
  auto ds = data::open_dataset(a.data, in.shape);
  // A static batch dimension fixes the batch; the last partial batch is zero-padded and trimmed.
  const int64_t fixed = in.shape[0];
  const int64_t bs = fixed > 0 ? fixed : a.batch;
  const auto t0 = std::chrono::steady_clock::now();
  const DatasetRun run = run_batches(g, *ds, bs, fixed > 0);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  write_outputs(a, run.outputs);
  const double acc = run.samples ? static_cast<double>(run.correct) / run.samples : 0;
  if (common_flags().json) {
    nlohmann::ordered_json j = {{"model", a.model},       {"data", ds->describe()},
                                {"samples", run.samples}, {"batch", bs},
                                {"seconds", secs},        {"accuracy", nullptr}};
    if (run.scored) j["accuracy"] = acc, j["correct"] = run.correct;
    j["outputs"] = nlohmann::ordered_json::array();
    for (size_t i = 0; i < run.outputs.size(); ++i)
      j["outputs"].push_back({{"name", g.outputs()[i]->name},
                              {"dtype", dtype_name(run.outputs[i].dtype())},
                              {"shape", run.outputs[i].shape()}});
    print_json(j);
    return 0;
  }
  std::cout << "data: " << ds->describe() << "\n";
  std::cout << "ran " << run.samples << " samples in batches of " << bs << " (reference executor, "
            << secs << " s)\n";
  if (run.scored)
    std::cout << "accuracy: " << 100.0 * acc << "% (" << run.correct << "/" << run.samples << ")\n";
  else if (ds->has_labels())
    std::cout << "accuracy: not computed (output 0 is not [N, classes])\n";
  return 0;
}

void register_run(CLI::App& app, std::function<int()>& action) {
  auto a = std::make_shared<RunArgs>();
  auto* cmd = app.add_subcommand(
      "run", "Run a model (reference executor) or an engine on tensors or a dataset");
  auto* model = add_model_option(cmd, a->model, "ONNX model run on the reference executor",
                                 ModelArg::kOptional);
  model->excludes(add_engine_option(cmd, a->engine, false, true)
                      ->description("Engine file (.mpqe, `mpq build`): run it instead of a model"));
  auto* input = cmd->add_option("-i,--input", a->inputs,
                                "Input tensor file (.npy or IDX), one per model input, in order");
  auto* data = add_data_options(cmd, a->data);
  input->excludes(data);
  cmd->add_option("-o,--output", a->outputs,
                  "Write model output i to the i-th file given (.npy); outputs without a file are "
                  "printed (with --input)");
  auto* batch_opt =
      cmd->add_option("--batch", a->batch,
                      "Batch size for --data when the model's batch dimension is dynamic (the "
                      "inference batch default; with --engine: default and limit are its maximum "
                      "batch)")
          ->check(positive())
          ->capture_default_str();
  add_common_flags(cmd,
                   "keys: samples, accuracy, outputs[].name/dtype/shape; with --engine also "
                   "median_ms, p10_ms, p90_ms, images_per_s",
                   "mpq run -m lenet5 --data fashion-mnist:test --limit 100\n"
                   "mpq run -e m.mpqe -i x.npy -o y.npy --json");
  cmd->callback([&action, a, batch_opt] {
    const bool batch_given = batch_opt->count() > 0;
    action = [a, batch_given] {
      for (const std::string& o : a->outputs) data::check_output_path(o);  // before the run
      if (a->inputs.empty() && a->data.empty())
        invalid_input("give the input with --input x.npy or --data SPEC").key("--input").raise();
      if (!a->engine.empty())
        return run_engine(a->engine, a->inputs, a->data, a->outputs, batch_given ? a->batch : 0);
      if (a->model.empty())
        invalid_input("give the model with -m/--model m.onnx (or a zoo name) or -e/--engine m.mpqe")
            .key("--model")
            .raise();
      auto g = load_model_arg(a->model);
      if (a->outputs.size() > g->outputs().size())
        invalid_input(
            str("the model has ", g->outputs().size(), " output(s), -o gave ", a->outputs.size()))
            .key("--output")
            .raise();
      return a->inputs.empty() ? run_on_dataset(*a, *g) : run_on_inputs(*a, *g);
    };
  });
}

}  // namespace

MPQ_REGISTER_COMMAND(register_run);

}  // namespace mpq::cli
