// mpq run --model m.onnx (--input x.npy... | --data SPEC) [-o y.npy...] [--batch B]
// mpq run --engine m.mpqe (--input x.npy... | --data SPEC) [-o y.npy...] [--batch B] [--json]
// Runs a model through the reference executor, or a built engine (run_engine.cc): on given
// input tensors, or over a dataset in batches (printing top-1 accuracy when the data has labels).
#include <chrono>
#include <cstring>
#include <iostream>

#include "backends/reference/executor.h"
#include "commands.h"
#include "data/file_io.h"
#include "data/npy.h"
#include "data/sampler.h"
#include "data_options.h"
#include "frontend/onnx/importer.h"
#include "run_engine.h"

namespace mpq::cli {
namespace {

struct RunArgs {
  std::string model, engine;
  bool json = false;
  std::vector<std::string> inputs, outputs;
  data::DataSpec data;
  int64_t batch = 64;
};

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
  for (size_t i = 0; i < ys.size(); ++i)
    if (i >= a.outputs.size()) print_tensor(g.outputs()[i]->name, ys[i]);
  write_outputs(a, ys);
  return 0;
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
  std::cout << "data: " << ds->describe() << "\n";
  ReferenceExecutor exec(g);
  data::BatchOptions bo;
  bo.batch_size = bs;
  data::BatchIterator it(*ds, bo);
  const int64_t n = ds->size();
  std::vector<Tensor> all(g.outputs().size());
  std::vector<size_t> row_bytes(all.size());
  int64_t done = 0, correct = 0;
  bool can_score = ds->has_labels();
  const auto t0 = std::chrono::steady_clock::now();
  data::Batch b;
  while (it.next(b)) {
    const int64_t real = static_cast<int64_t>(b.indices.size());
    Tensor x = b.images;
    if (real < bs && fixed > 0) {
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
      if (all[o].empty()) {
        Shape s = y.shape();
        s[0] = n;
        all[o] = Tensor(y.dtype(), s);
        row_bytes[o] = y.nbytes() / static_cast<size_t>(y.dim(0));
      }
      std::memcpy(static_cast<char*>(all[o].raw()) + done * row_bytes[o], y.raw(),
                  real * row_bytes[o]);
    }
    if (can_score && ys[0].rank() == 2 && ys[0].dim(1) > 1) {
      const std::vector<float> v = ys[0].to_floats();
      const int64_t c = ys[0].dim(1);
      const int64_t* lab = b.labels.data<int64_t>();
      for (int64_t r = 0; r < real; ++r) {
        int64_t best = 0;
        for (int64_t j = 1; j < c; ++j)
          if (v[r * c + j] > v[r * c + best]) best = j;
        correct += best == lab[r];
      }
    } else {
      can_score = false;
    }
    done += real;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "ran " << done << " samples in batches of " << bs << " (reference executor, " << secs
            << " s)\n";
  if (can_score)
    std::cout << "accuracy: " << 100.0 * static_cast<double>(correct) / static_cast<double>(done)
              << "% (" << correct << "/" << done << ")\n";
  else if (ds->has_labels())
    std::cout << "accuracy: not computed (output 0 is not [N, classes])\n";
  write_outputs(a, all);
  return 0;
}

void register_run(CLI::App& app, std::function<int()>& action) {
  auto a = std::make_shared<RunArgs>();
  auto* cmd =
      app.add_subcommand("run", "Run a model with the reference executor on tensors or a dataset");
  auto* model = cmd->add_option("-m,--model", a->model, "ONNX model file (reference executor)");
  auto* engine = cmd->add_option("-e,--engine", a->engine,
                                 "Engine file (.mpqe, `mpq build`): run it instead of a model");
  model->excludes(engine);
  cmd->add_flag("--json", a->json,
                "With --engine: print JSON (accuracy, samples, median_ms, p10_ms, p90_ms, "
                "images_per_s, seconds)");
  auto* input = cmd->add_option("-i,--input", a->inputs,
                                "Input tensor file (.npy or IDX), one per model input, in order");
  auto* data = add_data_options(cmd, a->data);
  input->excludes(data);
  cmd->add_option("-o,--output", a->outputs,
                  "Write model output i to the i-th file given (.npy); outputs without a file are "
                  "printed (with --input)");
  auto* batch_opt =
      cmd->add_option("--batch", a->batch,
                      "Batch size for --data when the model's batch dimension is dynamic (with "
                      "--engine: default and limit are its maximum batch)")
          ->check(CLI::PositiveNumber)
          ->capture_default_str();
  cmd->callback([&action, a, batch_opt] {
    const bool batch_given = batch_opt->count() > 0;
    action = [a, batch_given] {
      for (const std::string& o : a->outputs) data::check_output_path(o);  // before the run
      if (a->inputs.empty() && a->data.empty())
        invalid_input("give the input with --input x.npy or --data SPEC").key("--input").raise();
      if (!a->engine.empty())
        return run_engine(a->engine, a->inputs, a->data, a->outputs, batch_given ? a->batch : 0,
                          a->json);
      if (a->model.empty())
        invalid_input("give the model with --model m.onnx or --engine m.mpqe")
            .key("--model")
            .raise();
      auto g = import_onnx(a->model);
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
