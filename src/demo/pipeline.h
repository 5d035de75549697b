// `mpq demo`: the seed's quantization-speedup tables produced live, from training to engine.
//
//   zoo model ─► float training ─► fp32 engine ──────────────────────────┐
//                      │                                                 │
//                      ├─► QAT (config_list) ─► export_model ─► engine ──┼─► accuracy on the test
//                      └─► PTQ (entropy calibration) ─────────► engine ──┘   set, latency at the
//                                                                            batch (round robin)
// Every stage is guarded: a stage that fails marks its row (and the rows that depend on it) with
// the reason, and the table is still produced.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace mpq::demo {

struct DemoOptions {
  std::string model = "mnist_naive";
  std::string backend = "cpu";
  std::string recipe = "nni";        // float training recipe (recipes.h)
  std::string out_dir = "out/demo";  // configs, calibration tables, models, results
  std::string train_data = "fashion-mnist:train";
  std::string test_data = "fashion-mnist:test";
  int64_t train_limit = -1;  // first N training images; -1 = all
  int64_t test_limit = -1;   // first N test images; -1 = all
  int64_t epochs = 1;        // float training
  int64_t qat_epochs = 1;
  std::string calib_method = "entropy";
  int64_t calib_images = 1000;
  int64_t batch = 128;  // latency batch = the engines' maximum batch
  int iters = 50;       // timed runs per engine (median reported)
  int warmup = 5;       // untimed runs per engine first
  int threads = 0;      // engine threads; 0 = library default
  uint64_t seed = 0;
  bool quiet = false;  // no progress bars / stage lines
  bool quick = false;  // recorded in the report (the CLI sets the smaller sizes)
  bool save_engines = false;
};

struct StageTime {
  std::string name;
  double seconds = 0.0;
};

struct DemoRow {
  std::string id;           // "fp32", "qat_mixed", ...
  std::string method;       // "float", "QAT", "PTQ"
  std::string strategy;     // "all in 32bit", "mixed precision", "all in 8bit"
  std::string description;  // the config it comes from
  std::string config_file, calib_file, engine_file;  // written to the output folder ("" if none)
  bool ok = false;
  std::string error;  // why the row has no numbers (failed or skipped stage)
  // Executed weight bits over the quantizable weighted layers (Conv/Gemm/MatMul).
  int layers = 0;
  int64_t parameters = 0;
  double mean_bits = 0.0;          // plain mean over layers (the seed's "average bit")
  double weighted_bits = 0.0;      // weighted by parameter count
  std::string precisions;          // "conv1 int8, conv2 int8, fc1 fp32, fc2 fp32"
  double accuracy = -1;            // engine top-1 on the test set, 0..1
  double agreement = -1;           // top-1 agreement with the fp32 engine, 0..1
  double simulated_accuracy = -1;  // QAT: the fake-quantized model's top-1 (eval mode)
  double latency_ms = -1, p10_ms = -1, p90_ms = -1;
  int runs = 0;
  double speedup = -1;  // fp32 median / this median
  double quantize_s = 0, build_s = 0;
};

struct DemoReport {
  DemoOptions options;
  std::string model_description;
  int64_t model_parameters = 0;
  std::string train_desc, test_desc;  // datasets as opened (name and size)
  int64_t train_samples = 0, test_samples = 0;
  std::string float_recipe, qat_recipe, calib_desc;
  std::string machine;               // CPU model and core count
  std::string load_start, load_end;  // /proc/loadavg's 1/5/15-minute load averages
  int cores = 0;                     // logical cores
  std::string omp_wait_policy;       // $OMP_WAIT_POLICY ("" = libgomp's default, spinning)
  bool busy = false;   // load above the core count at the start (latencies are inflated)
  int threads = 0;     // engine threads used
  std::string timing;  // how latency was measured
  double float_train_loss = -1, float_train_accuracy = -1, float_train_seconds = 0;
  double float_images_per_s = 0;
  std::vector<DemoRow> rows;  // fp32 first, then the variants in recipe order
  std::vector<StageTime> stages;
  std::vector<std::string> notes;  // warnings from config_lists, builds, calibration
  double total_seconds = 0.0;
  std::string started_at;  // UTC, ISO 8601
};

// Runs the whole demo. Throws mpq::Error only for bad options (unknown model, backend not compiled
// in, unreadable data); failures of a stage are recorded in the rows. `log` receives one line per
// stage ("[3/8] QAT mixed precision ... 41.2 s") unless options.quiet.
DemoReport run_demo(const DemoOptions& options,
                    const std::function<void(const std::string&)>& log = {});

}  // namespace mpq::demo
