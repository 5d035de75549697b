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
    if (!has_constant_weight(n) || n.inputs[1]->constant->rank() < 2) continue;
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

// Each engine's latency samples (ms) and the error that stopped its runs, in `Built` order.
struct Timings {
  std::vector<std::vector<double>> ms;
  std::vector<std::string> errs;
};

// One run of the demo: the model, its data and the report, filled in stage by stage.
class DemoRun {
 public:
  DemoRun(const DemoOptions& o, const std::function<void(const std::string&)>& log)
      : o_(o), log_(log) {}

  DemoReport run() {
    const auto t_all = Clock::now();
    validate(o_);
    describe_machine();
    recipe_ = model_recipe(o_.model, o_.recipe);
    rep_.float_recipe = recipe_.float_train.description;
    rep_.qat_recipe = recipe_.qat.description;
    build_model();
    open_data();
    std::filesystem::create_directories(o_.out_dir);
    sopt_.batch_size = o_.batch;
    sopt_.backend = o_.backend;
    sopt_.threads = o_.threads;
    num_stages_ = 3 + static_cast<int>(recipe_.variants.size());

    train_float();
    fp32_engine();
    for (const Variant& v : recipe_.variants) quantized_engine(v);
    measure_latency();
    rep_.load_end = load_average();
    rep_.total_seconds = since(t_all);
    return std::move(rep_);
  }

 private:
  void say(const std::string& s) const {
    if (!o_.quiet && log_) log_(s);
  }
  std::string out_path(const std::string& name) const {
    return (std::filesystem::path(o_.out_dir) / name).string();
  }
  std::string stage_line(const std::string& what) {
    return str("[", ++stage_, "/", num_stages_, "] ", what);
  }

  void describe_machine() {
    rep_.options = o_;
    rep_.started_at = utc_now();
    rep_.machine = machine_description();
    rep_.load_start = load_average();
    rep_.cores = static_cast<int>(std::thread::hardware_concurrency());
    if (const char* wp = std::getenv("OMP_WAIT_POLICY")) rep_.omp_wait_policy = wp;
    rep_.busy = !rep_.load_start.empty() && std::stod(rep_.load_start) > rep_.cores;
    rep_.threads = o_.threads > 0 ? o_.threads : omp_get_max_threads();
  }

  void build_model() {
    zoo::ZooOptions zopt;
    zopt.seed = o_.seed;
    zm_ = zoo::build_zoo_model(o_.model, zopt);
    rep_.model_parameters = zm_.num_parameters;
    for (const auto& e : zoo::zoo_models())
      if (e.name == o_.model) rep_.model_description = e.description;
    model_input_ = graph().inputs()[0]->shape;
    speed_shape_ = model_input_;
    speed_shape_[0] = o_.batch;
  }
  Graph& graph() { return *zm_.graph; }

  void open_data() {
    data::DataSpec train_spec, test_spec;
    train_spec.source = o_.train_data;
    train_spec.limit = o_.train_limit;
    test_spec.source = o_.test_data;
    test_spec.limit = o_.test_limit;
    train_ = data::open_dataset(train_spec, model_input_);
    test_ = data::open_dataset(test_spec, model_input_);
    if (!test_->has_labels())
      invalid_input("the test data has no labels: accuracy needs them").key("--test-data").raise();
    rep_.train_desc = train_->describe();
    rep_.test_desc = test_->describe();
    rep_.train_samples = train_->size();
    rep_.test_samples = test_->size();
    rep_.calib_desc =
        str(o_.calib_method, " calibration on ", std::min(o_.calib_images, train_->size()),
            " training images (seeded sample)");
    rep_.timing = str("median of ", o_.iters, " runs per engine after ", o_.warmup,
                      " warm-up runs, engines interleaved round-robin; batch ", o_.batch,
                      " of test images already in memory; ModelSpeedup::inference run time");
  }

  // --- 1. float training
  void train_float() {
    const auto t0 = Clock::now();
    say(stage_line(str("float training: ", o_.model, ", ", o_.epochs, " epoch(s) on ",
                       rep_.train_desc, ", ", rep_.float_recipe)));
    float_err_ = guarded([&] { fit_float(); });
    rep_.stages.push_back({"float training", since(t0)});
    if (float_err_.empty())
      say(str("      loss ", fixed(rep_.float_train_loss, 4), ", train accuracy ",
              fixed(100.0 * rep_.float_train_accuracy, 2), "%, ", fixed(since(t0), 1), " s"));
    else
      say("      failed: " + float_err_);
  }

  void fit_float() {
    train::TrainOptions to;
    to.optimizer = recipe_.float_train.optimizer;
    to.schedule = recipe_.float_train.schedule;
    to.batch_size = recipe_.float_train.batch_size;
    to.seed = o_.seed;
    to.quiet = o_.quiet;
    to.label = "train fp32";
    train::Trainer trainer(graph(), to);
    for (const train::EpochResult& e : trainer.fit(*train_, o_.epochs)) {
      rep_.float_train_loss = e.loss;
      rep_.float_train_accuracy = e.accuracy;
      rep_.float_train_seconds += e.seconds;
      rep_.float_images_per_s = e.images_per_second;
    }
    // The trainer leaves the input at its last batch size; give the model its dynamic batch
    // back so the engines and the calibrator see the model as built.
    graph().inputs()[0]->shape = model_input_;
    infer_shapes(graph());
    export_onnx(graph(), out_path("model_fp32.onnx"));
  }

  // Builds the engine of row `r` and measures its accuracy; keeps it for the latency phase.
  void build_and_eval(size_t r, std::unique_ptr<ModelSpeedup> sp) {
    DemoRow& row = rep_.rows[r];
    const auto tb = Clock::now();
    row.build_s = sp->compress();
    for (const auto& w : sp->warnings()) rep_.notes.push_back(str(row.id, ": ", w));
    fill_engine_facts(row, *sp);
    rep_.stages.push_back({str(row.id, " engine build"), since(tb)});
    const auto te = Clock::now();
    std::vector<int32_t> pred = predict_all(*sp, *test_, str("eval ", row.id), o_.quiet);
    rep_.stages.push_back({str(row.id, " test accuracy"), since(te)});
    row.accuracy = accuracy_of(pred, *test_);
    if (row.id == "fp32") fp32_pred_ = pred;
    row.agreement = agreement_of(pred, fp32_pred_);
    if (o_.save_engines) {
      row.engine_file = out_path(row.id + ".mpqe");
      sp->export_quantized_model(row.engine_file);
    }
    row.ok = true;
    built_.push_back({r, std::move(sp)});
  }

  // --- 2. fp32 engine
  void fp32_engine() {
    rep_.rows.push_back({});
    {
      DemoRow& row = rep_.rows.back();
      row.id = "fp32";
      row.method = "float";
      row.strategy = "all in 32bit";
      row.description = "the float model, every layer fp32";
    }
    const auto t0 = Clock::now();
    say(stage_line("fp32 engine: build, test accuracy"));
    if (!float_err_.empty()) {
      rep_.rows[0].error = "float training failed: " + float_err_;
    } else {
      const std::string err = guarded([&] {
        build_and_eval(0,
                       std::make_unique<ModelSpeedup>(graph(), speed_shape_, std::nullopt, sopt_));
      });
      if (!err.empty()) rep_.rows[0].error = "fp32 engine failed: " + err;
    }
    say(rep_.rows[0].ok ? str("      accuracy ", fixed(100.0 * rep_.rows[0].accuracy, 2), "%, ",
                              fixed(since(t0), 1), " s")
                        : "      " + rep_.rows[0].error);
  }

  // --- 3. the quantized variants
  void quantized_engine(const Variant& v) {
    const size_t r = rep_.rows.size();
    rep_.rows.push_back({});
    DemoRow& row = rep_.rows[r];
    row.id = v.id;
    row.method = v.method;
    row.strategy = v.strategy;
    row.description = v.description;
    const auto t0 = Clock::now();
    say(stage_line(str(v.method, " ", v.strategy, " (", v.id, "): ", v.description)));
    if (!float_err_.empty()) {
      row.error = "float training failed: " + float_err_;
      say("      skipped: " + row.error);
      return;
    }
    const std::string err = guarded([&] {
      if (!v.config_list.empty()) {
        row.config_file = out_path(v.id + ".config.json");
        write_text(row.config_file, v.config_list);
      }
      if (v.method == "QAT")
        qat_engine(v, r);
      else
        ptq_engine(r);
    });
    report_variant(v, r, err, t0);
  }

  void qat_engine(const Variant& v, size_t r) {
    DemoRow& row = rep_.rows[r];
    quant::ConfigList cl = quant::ConfigList::parse_string(v.config_list, row.config_file);
    for (const auto& w : cl.warnings()) rep_.notes.push_back(str(v.id, ": ", w));
    QatOptions qo;
    qo.batch_size = recipe_.qat.batch_size;
    qo.schedule = recipe_.qat.schedule;
    qo.seed = o_.seed;
    qo.quiet = o_.quiet;
    QatQuantizer q(graph(), cl, recipe_.qat.optimizer, qo);
    const auto tq = Clock::now();
    q.fit(*train_, o_.qat_epochs);
    row.simulated_accuracy = q.evaluate(*test_).accuracy;
    row.calib_file = out_path(v.id + ".calib.json");
    quant::CalibrationTable table = q.export_model(out_path(v.id + ".onnx"), row.calib_file);
    row.quantize_s = since(tq);
    rep_.stages.push_back({str(v.id, " QAT"), row.quantize_s});
    build_and_eval(
        r, std::make_unique<ModelSpeedup>(q.float_graph(), speed_shape_, std::move(table), sopt_));
  }

  // One calibration serves every PTQ row: the first PTQ row runs it.
  void ptq_engine(size_t r) {
    if (!ptq_table_ && ptq_err_.empty()) calibrate_ptq();
    if (!ptq_err_.empty()) return;  // the row says why (report_variant)
    DemoRow& row = rep_.rows[r];
    row.calib_file = out_path("ptq.calib.json");
    row.quantize_s = ptq_seconds_;
    SpeedupOptions vo = sopt_;
    vo.config_list = row.config_file;  // the variant's bits over the shared ranges
    build_and_eval(r, std::make_unique<ModelSpeedup>(graph(), speed_shape_, *ptq_table_, vo));
  }

  void calibrate_ptq() {
    const auto tc = Clock::now();
    ptq_err_ = guarded([&] {
      CalibrateOptions co;
      co.method = o_.calib_method;
      co.calib_images = o_.calib_images;
      co.seed = o_.seed;
      co.quiet = o_.quiet;
      co.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
      Calibrator c(graph(), co);
      ptq_table_ = c.calibrate(*train_);
      for (const auto& w : c.warnings()) rep_.notes.push_back("calibration: " + w);
      Calibrator::save(*ptq_table_, out_path("ptq.calib.json"));
    });
    ptq_seconds_ = since(tc);
    rep_.stages.push_back({"PTQ calibration", ptq_seconds_});
  }

  void report_variant(const Variant& v, size_t r, std::string err, Clock::time_point t0) {
    DemoRow& done = rep_.rows[r];
    if (err.empty() && v.method == "PTQ" && !ptq_err_.empty())
      err = "calibration failed: " + ptq_err_;
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
  void measure_latency() {
    const auto t0 = Clock::now();
    say(stage_line(str("latency at batch ", o_.batch, ": ", o_.warmup, " warm-up + ", o_.iters,
                       " timed runs per engine, interleaved")));
    if (!built_.empty()) record_latency(time_engines());
    rep_.stages.push_back({"latency", since(t0)});
    const DemoRow& fp32 = rep_.rows[0];
    for (DemoRow& row : rep_.rows)
      if (row.ok && fp32.ok && row.latency_ms > 0 && fp32.latency_ms > 0)
        row.speedup = fp32.latency_ms / row.latency_ms;
    say(str("      ", fixed(since(t0), 1), " s"));
  }

  // Runs the engines round-robin on one batch of test images.
  Timings time_engines() {
    std::vector<int64_t> idx(static_cast<size_t>(o_.batch));
    for (int64_t i = 0; i < o_.batch; ++i) idx[i] = i % test_->size();
    const Tensor x = test_->images(idx);
    Timings t{std::vector<std::vector<double>>(built_.size()),
              std::vector<std::string>(built_.size())};
    Progress bar("latency", static_cast<int64_t>(built_.size()) * (o_.warmup + o_.iters), o_.quiet,
                 "run");
    for (int it = 0; it < o_.warmup + o_.iters; ++it) {
      for (size_t b = 0; b < built_.size(); ++b) {
        if (!t.errs[b].empty()) continue;
        t.errs[b] = guarded([&] {
          const double s = built_[b].speedup->inference(x).seconds;
          if (it >= o_.warmup) t.ms[b].push_back(1000.0 * s);
        });
        bar.advance();
      }
    }
    bar.finish();
    return t;
  }

  void record_latency(const Timings& t) {
    for (size_t b = 0; b < built_.size(); ++b) {
      DemoRow& row = rep_.rows[built_[b].row];
      if (!t.errs[b].empty()) {
        row.ok = false;
        row.error = "latency run failed: " + t.errs[b];
        continue;
      }
      const api::LatencyStats st = api::latency_stats(t.ms[b]);
      row.latency_ms = st.median_ms;
      row.p10_ms = st.p10_ms;
      row.p90_ms = st.p90_ms;
      row.runs = static_cast<int>(t.ms[b].size());
    }
  }

  const DemoOptions& o_;
  const std::function<void(const std::string&)>& log_;
  DemoReport rep_;
  ModelRecipe recipe_;
  zoo::ZooModel zm_;
  Shape model_input_, speed_shape_;
  std::unique_ptr<data::Dataset> train_, test_;
  SpeedupOptions sopt_;
  int num_stages_ = 0, stage_ = 0;
  std::string float_err_;  // empty when the float training succeeded
  std::vector<Built> built_;
  std::vector<int32_t> fp32_pred_;
  std::optional<quant::CalibrationTable> ptq_table_;
  std::string ptq_err_;
  double ptq_seconds_ = 0.0;
};

}  // namespace

DemoReport run_demo(const DemoOptions& o, const std::function<void(const std::string&)>& log) {
  return DemoRun(o, log).run();
}

}  // namespace mpq::demo
