#include "demo/pipeline.h"

#include <omp.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "api/engine_report.h"
#include "backends/backend.h"
#include "core/progress.h"
#include "core/status.h"
#include "data/dataset.h"
#include "data/file_io.h"
#include "demo/recipes.h"
#include "demo/table.h"
#include "frontend/onnx/exporter.h"
#include "ir/op_def.h"
#include "mpq/calibrator.h"
#include "mpq/model_speedup.h"
#include "mpq/qat_quantizer.h"
#include "quant/config_list.h"
#include "quant/observers.h"
#include "runtime/engine.h"
#include "train/trainer.h"
#include "zoo/zoo.h"

namespace mpq::demo {

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

std::string machine_description() {
  std::string cpu = "unknown CPU";
  std::ifstream f("/proc/cpuinfo");
  for (std::string line; std::getline(f, line);) {
    if (line.rfind("model name", 0) == 0) {
      auto c = line.find(':');
      if (c != std::string::npos) cpu = line.substr(line.find_first_not_of(' ', c + 1));
      break;
    }
  }
  return str(cpu, ", ", std::thread::hardware_concurrency(), " logical cores");
}

// The 1, 5 and 15-minute load averages ("" where /proc/loadavg is missing): latency on a busy
// machine is not latency on an idle one, so the report says how busy it was.
std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  if (!(f >> a >> b >> c)) return "";
  return str(a, " ", b, " ", c);
}

// Runs `f`; returns "" or the reason it failed (a stage failure becomes its row's text).
std::string guarded(const std::function<void()>& f) {
  try {
    f();
    return "";
  } catch (const Error& e) {
    return e.status().to_string();
  } catch (const std::exception& e) {
    return str("internal error: ", e.what());
  }
}

// The quantizable weighted layers of an engine (as api::average_bits counts them) with the
// precision each executes in.
std::string layer_precisions(const plan::Plan& p) {
  std::string s;
  for (const plan::Step& st : p.steps) {
    const Node& n = *st.node;
    if (!has_constant_weight(n) || n.inputs[1]->constant->rank() < 2)
      continue;
    s += str(s.empty() ? "" : ", ", n.label(), " ", precision_name(st.precision));
  }
  return s;
}

void fill_engine_facts(DemoRow& row, const ModelSpeedup& sp) {
  const plan::Plan& p = sp.engine()->plan();
  const api::BitsSummary b = api::average_bits(p);
  row.layers = b.layers;
  row.parameters = b.parameters;
  row.mean_bits = b.mean_bits;
  row.weighted_bits = b.weighted_bits;
  row.precisions = layer_precisions(p);
}

// Top-1 of every test sample through the engine (ModelSpeedup::inference, batches of the
// engine's size).
std::vector<int32_t> predict_all(ModelSpeedup& sp, const data::Dataset& test,
                                 const std::string& label, bool quiet) {
  const int64_t n = test.size(), chunk = 1024;
  std::vector<int32_t> pred(static_cast<size_t>(n));
  Progress bar(label, n, quiet);
  for (int64_t begin = 0; begin < n; begin += chunk) {
    const int64_t cnt = std::min(chunk, n - begin);
    Tensor out = sp.inference(test.images(begin, cnt)).output;
    const std::vector<float> y = out.to_floats();
    const int64_t classes = static_cast<int64_t>(y.size()) / cnt;
    for (int64_t i = 0; i < cnt; ++i) {
      const float* row = y.data() + i * classes;
      pred[begin + i] = static_cast<int32_t>(std::max_element(row, row + classes) - row);
    }
    bar.advance(cnt);
  }
  bar.finish();
  return pred;
}

double accuracy_of(const std::vector<int32_t>& pred, const data::Dataset& test) {
  const Tensor labels = test.labels(0, test.size());
  const std::vector<float> l = labels.to_floats();
  int64_t correct = 0;
  for (size_t i = 0; i < pred.size(); ++i) correct += pred[i] == static_cast<int32_t>(l[i]);
  return pred.empty() ? 0.0 : static_cast<double>(correct) / static_cast<double>(pred.size());
}

double agreement_of(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  if (a.empty() || a.size() != b.size()) return -1;
  int64_t same = 0;
  for (size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
  return static_cast<double>(same) / static_cast<double>(a.size());
}

void write_text(const std::string& path, const std::string& text) {
  data::write_file_atomic(path, [&](std::ostream& os) { os << text; });
}

// Checks the options the demo cannot run without (everything else fails per row).
void validate(const DemoOptions& o) {
  auto positive = [](int64_t v, const char* key, int64_t min) {
    if (v < min) invalid_input(str(key, " must be at least ", min, ", got ", v)).key(key).raise();
  };
  positive(o.batch, "--batch", 1);
  positive(o.iters, "--iters", 1);
  positive(o.warmup, "--warmup", 0);
  positive(o.epochs, "--epochs", 1);
  positive(o.qat_epochs, "--qat-epochs", 1);
  positive(o.calib_images, "--calib-images", 1);
  positive(o.threads, "--threads", 0);
  if (o.train_limit == 0 || o.train_limit < -1)
    invalid_input("--train-limit must be a positive number of images").key("--train-limit").raise();
  if (o.test_limit == 0 || o.test_limit < -1)
    invalid_input("--test-limit must be a positive number of images").key("--test-limit").raise();
  quant::CalibMethod method;
  if (!quant::parse_calib_method(o.calib_method, &method))
    invalid_input(str("unknown calibration method '", o.calib_method,
                      "' (expected entropy, minmax, percentile or mse)"))
        .key("--calib-method")
        .raise();
  if (!find_backend(o.backend)) {
    if (o.backend == "cuda")
      unsupported(
          "the cuda backend is not compiled into this mpq: configure with -DMPQ_CUDA=ON (needs the "
          "CUDA toolkit) and rebuild, or run with --backend cpu")
          .key("--backend")
          .raise();
    std::string known;
    for (const auto& b : backend_names()) known += (known.empty() ? "" : ", ") + b;
    invalid_input(str("unknown backend '", o.backend, "' (this build has: ", known, ")"))
        .key("--backend")
        .raise();
  }
}

// One engine of the table, kept until the latency phase.
struct Built {
  size_t row = 0;
  std::unique_ptr<ModelSpeedup> speedup;
};

}  // namespace

DemoReport run_demo(const DemoOptions& o, const std::function<void(const std::string&)>& log) {
  const auto t_all = Clock::now();
  validate(o);
  DemoReport rep;
  rep.options = o;
  rep.started_at = utc_now();
  rep.machine = machine_description();
  rep.load_start = load_average();
  rep.cores = static_cast<int>(std::thread::hardware_concurrency());
  if (const char* wp = std::getenv("OMP_WAIT_POLICY")) rep.omp_wait_policy = wp;
  rep.busy = !rep.load_start.empty() && std::stod(rep.load_start) > rep.cores;
  rep.threads = o.threads > 0 ? o.threads : omp_get_max_threads();
  auto say = [&](const std::string& s) {
    if (!o.quiet && log) log(s);
  };
  const ModelRecipe recipe = model_recipe(o.model, o.recipe);
  rep.float_recipe = recipe.float_train.description;
  rep.qat_recipe = recipe.qat.description;

  zoo::ZooOptions zopt;
  zopt.seed = o.seed;
  zoo::ZooModel zm = zoo::build_zoo_model(o.model, zopt);
  Graph& g = *zm.graph;
  rep.model_parameters = zm.num_parameters;
  for (const auto& e : zoo::zoo_models())
    if (e.name == o.model) rep.model_description = e.description;
  const Shape model_input = g.inputs()[0]->shape;
  Shape speed_shape = model_input;
  speed_shape[0] = o.batch;

  data::DataSpec train_spec, test_spec;
  train_spec.source = o.train_data;
  train_spec.limit = o.train_limit;
  test_spec.source = o.test_data;
  test_spec.limit = o.test_limit;
  std::unique_ptr<data::Dataset> train = data::open_dataset(train_spec, model_input);
  std::unique_ptr<data::Dataset> test = data::open_dataset(test_spec, model_input);
  if (!test->has_labels())
    invalid_input("the test data has no labels: accuracy needs them").key("--test-data").raise();
  rep.train_desc = train->describe();
  rep.test_desc = test->describe();
  rep.train_samples = train->size();
  rep.test_samples = test->size();
  rep.calib_desc = str(o.calib_method, " calibration on ", std::min(o.calib_images, train->size()),
                       " training images (seeded sample)");
  rep.timing = str("median of ", o.iters, " runs per engine after ", o.warmup,
                   " warm-up runs, engines interleaved round-robin; batch ", o.batch,
                   " of test images already in memory; ModelSpeedup::inference run time");

  std::filesystem::create_directories(o.out_dir);
  auto out_path = [&](const std::string& name) {
    return (std::filesystem::path(o.out_dir) / name).string();
  };
  SpeedupOptions sopt;
  sopt.batch_size = o.batch;
  sopt.backend = o.backend;
  sopt.threads = o.threads;

  const int num_stages = 3 + static_cast<int>(recipe.variants.size());
  int stage = 0;
  auto stage_line = [&](const std::string& what) {
    return str("[", ++stage, "/", num_stages, "] ", what);
  };

  // --- 1. float training
  auto t0 = Clock::now();
  say(stage_line(str("float training: ", o.model, ", ", o.epochs, " epoch(s) on ", rep.train_desc,
                     ", ", rep.float_recipe)));
  const std::string float_err = guarded([&] {
    train::TrainOptions to;
    to.optimizer = recipe.float_train.optimizer;
    to.schedule = recipe.float_train.schedule;
    to.batch_size = recipe.float_train.batch_size;
    to.seed = o.seed;
    to.quiet = o.quiet;
    to.label = "train fp32";
    train::Trainer trainer(g, to);
    for (const train::EpochResult& e : trainer.fit(*train, o.epochs)) {
      rep.float_train_loss = e.loss;
      rep.float_train_accuracy = e.accuracy;
      rep.float_train_seconds += e.seconds;
      rep.float_images_per_s = e.images_per_second;
    }
    // The trainer leaves the input at its last batch size; give the model its dynamic batch
    // back so the engines and the calibrator see the model as built.
    g.inputs()[0]->shape = model_input;
    infer_shapes(g);
    export_onnx(g, out_path("model_fp32.onnx"));
  });
  rep.stages.push_back({"float training", since(t0)});
  if (float_err.empty())
    say(str("      loss ", fixed(rep.float_train_loss, 4), ", train accuracy ",
            fixed(100.0 * rep.float_train_accuracy, 2), "%, ", fixed(since(t0), 1), " s"));
  else
    say("      failed: " + float_err);

  std::vector<Built> built;
  std::vector<int32_t> fp32_pred;

  // Builds the engine of row `r` and measures its accuracy; keeps it for the latency phase.
  auto build_and_eval = [&](size_t r, std::unique_ptr<ModelSpeedup> sp) {
    DemoRow& row = rep.rows[r];
    const auto tb = Clock::now();
    row.build_s = sp->compress();
    for (const auto& w : sp->warnings()) rep.notes.push_back(str(row.id, ": ", w));
    fill_engine_facts(row, *sp);
    rep.stages.push_back({str(row.id, " engine build"), since(tb)});
    const auto te = Clock::now();
    std::vector<int32_t> pred = predict_all(*sp, *test, str("eval ", row.id), o.quiet);
    rep.stages.push_back({str(row.id, " test accuracy"), since(te)});
    row.accuracy = accuracy_of(pred, *test);
    if (row.id == "fp32") fp32_pred = pred;
    row.agreement = agreement_of(pred, fp32_pred);
    if (o.save_engines) {
      row.engine_file = out_path(row.id + ".mpqe");
      sp->export_quantized_model(row.engine_file);
    }
    row.ok = true;
    built.push_back({r, std::move(sp)});
  };

  // --- 2. fp32 engine
  rep.rows.push_back({});
  {
    DemoRow& row = rep.rows.back();
    row.id = "fp32";
    row.method = "float";
    row.strategy = "all in 32bit";
    row.description = "the float model, every layer fp32";
  }
  t0 = Clock::now();
  say(stage_line("fp32 engine: build, test accuracy"));
  if (!float_err.empty()) {
    rep.rows[0].error = "float training failed: " + float_err;
  } else {
    const std::string err = guarded([&] {
      build_and_eval(0, std::make_unique<ModelSpeedup>(g, speed_shape, std::nullopt, sopt));
    });
    if (!err.empty()) rep.rows[0].error = "fp32 engine failed: " + err;
  }
  say(rep.rows[0].ok ? str("      accuracy ", fixed(100.0 * rep.rows[0].accuracy, 2), "%, ",
                           fixed(since(t0), 1), " s")
                     : "      " + rep.rows[0].error);

  // --- 3. the quantized variants
  std::optional<quant::CalibrationTable> ptq_table;  // one calibration serves every PTQ row
  std::string ptq_err;
  double ptq_seconds = 0.0;
  for (const Variant& v : recipe.variants) {
    const size_t r = rep.rows.size();
    rep.rows.push_back({});
    DemoRow& row = rep.rows[r];
    row.id = v.id;
    row.method = v.method;
    row.strategy = v.strategy;
    row.description = v.description;
    t0 = Clock::now();
    say(stage_line(str(v.method, " ", v.strategy, " (", v.id, "): ", v.description)));
    if (!float_err.empty()) {
      row.error = "float training failed: " + float_err;
      say("      skipped: " + row.error);
      continue;
    }
    std::string err = guarded([&] {
      if (!v.config_list.empty()) {
        row.config_file = out_path(v.id + ".config.json");
        write_text(row.config_file, v.config_list);
      }
      if (v.method == "QAT") {
        quant::ConfigList cl = quant::ConfigList::parse_string(v.config_list, row.config_file);
        for (const auto& w : cl.warnings()) rep.notes.push_back(str(v.id, ": ", w));
        QatOptions qo;
        qo.batch_size = recipe.qat.batch_size;
        qo.schedule = recipe.qat.schedule;
        qo.seed = o.seed;
        qo.quiet = o.quiet;
        QatQuantizer q(g, cl, recipe.qat.optimizer, qo);
        const auto tq = Clock::now();
        q.fit(*train, o.qat_epochs);
        row.simulated_accuracy = q.evaluate(*test).accuracy;
        row.calib_file = out_path(v.id + ".calib.json");
        quant::CalibrationTable table = q.export_model(out_path(v.id + ".onnx"), row.calib_file);
        row.quantize_s = since(tq);
        rep.stages.push_back({str(v.id, " QAT"), row.quantize_s});
        build_and_eval(r, std::make_unique<ModelSpeedup>(q.float_graph(), speed_shape,
                                                         std::move(table), sopt));
      } else {
        if (!ptq_table && ptq_err.empty()) {
          const auto tc = Clock::now();
          ptq_err = guarded([&] {
            CalibrateOptions co;
            co.method = o.calib_method;
            co.calib_images = o.calib_images;
            co.seed = o.seed;
            co.quiet = o.quiet;
            co.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
            Calibrator c(g, co);
            ptq_table = c.calibrate(*train);
            for (const auto& w : c.warnings()) rep.notes.push_back("calibration: " + w);
            Calibrator::save(*ptq_table, out_path("ptq.calib.json"));
          });
          ptq_seconds = since(tc);
          rep.stages.push_back({"PTQ calibration", ptq_seconds});
        }
        if (!ptq_err.empty()) return;  // the row says why below
        row.calib_file = out_path("ptq.calib.json");
        row.quantize_s = ptq_seconds;
        SpeedupOptions vo = sopt;
        vo.config_list = row.config_file;  // the variant's bits over the shared ranges
        build_and_eval(r, std::make_unique<ModelSpeedup>(g, speed_shape, *ptq_table, vo));
      }
    });
    DemoRow& done = rep.rows[r];
    if (err.empty() && v.method == "PTQ" && !ptq_err.empty())
      err = "calibration failed: " + ptq_err;
    if (!err.empty()) {
      done.ok = false;
      done.error = str(v.method, " failed: ", err);
      say("      " + done.error);
    } else {
      std::string sim;
      if (done.simulated_accuracy >= 0)
        sim = str(" (QAT model ", fixed(100.0 * done.simulated_accuracy, 2), "%)");
      say(str("      accuracy ", fixed(100.0 * done.accuracy, 2), "%", sim, ", mean bits ",
              fixed(done.mean_bits, 1), ", ", fixed(since(t0), 1), " s"));
    }
  }

  // --- 4. latency, every engine side by side
  t0 = Clock::now();
  say(stage_line(str("latency at batch ", o.batch, ": ", o.warmup, " warm-up + ", o.iters,
                     " timed runs per engine, interleaved")));
  if (!built.empty()) {
    std::vector<int64_t> idx(static_cast<size_t>(o.batch));
    for (int64_t i = 0; i < o.batch; ++i) idx[i] = i % test->size();
    const Tensor x = test->images(idx);
    std::vector<std::vector<double>> ms(built.size());
    std::vector<std::string> errs(built.size());
    Progress bar("latency", static_cast<int64_t>(built.size()) * (o.warmup + o.iters), o.quiet,
                 "run");
    for (int it = 0; it < o.warmup + o.iters; ++it) {
      for (size_t b = 0; b < built.size(); ++b) {
        if (!errs[b].empty()) continue;
        errs[b] = guarded([&] {
          const double s = built[b].speedup->inference(x).seconds;
          if (it >= o.warmup) ms[b].push_back(1000.0 * s);
        });
        bar.advance();
      }
    }
    bar.finish();
    for (size_t b = 0; b < built.size(); ++b) {
      DemoRow& row = rep.rows[built[b].row];
      if (!errs[b].empty()) {
        row.ok = false;
        row.error = "latency run failed: " + errs[b];
        continue;
      }
      const api::LatencyStats st = api::latency_stats(ms[b]);
      row.latency_ms = st.median_ms;
      row.p10_ms = st.p10_ms;
      row.p90_ms = st.p90_ms;
      row.runs = static_cast<int>(ms[b].size());
    }
  }
  rep.stages.push_back({"latency", since(t0)});
  const DemoRow& fp32 = rep.rows[0];
  for (DemoRow& row : rep.rows)
    if (row.ok && fp32.ok && row.latency_ms > 0 && fp32.latency_ms > 0)
      row.speedup = fp32.latency_ms / row.latency_ms;
  say(str("      ", fixed(since(t0), 1), " s"));
  rep.load_end = load_average();
  rep.total_seconds = since(t_all);
  return rep;
}

}  // namespace mpq::demo
