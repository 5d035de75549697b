// mpq::Calibrator — post-training calibration in one call (thin over src/quant).
//
//   auto graph = mpq::import_onnx("model.onnx");
//   auto data = mpq::data::open_dataset({"fashion-mnist:train"}, graph->inputs()[0]->shape);
//   mpq::Calibrator calib(*graph, {.method = "entropy", .calib_images = 1000});
//   mpq::quant::CalibrationTable table = calib.calibrate(*data);
//   mpq::Calibrator::save(table, "calib.json");      // what `mpq build --calib` reads
//
// Errors are mpq::Error (a Status naming the file, node and key); nothing aborts on bad input.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mpq/calibration_table.h"

namespace mpq {

class Graph;
namespace data {
class Dataset;
}
namespace quant {
class Calibrator;
}

struct CalibrateOptions {
  std::string method = "entropy";  // entropy | minmax | percentile | mse
  double percentile = 99.99;       // for "percentile": the percentile of |x| kept
  double entropy_floor = 99.99;    // for "entropy": never clip below this percentile (0: plain KL)
  int64_t calib_images = 1000;     // images sampled (seeded) from the dataset; <= 0: all
  uint64_t seed = 0;
  int batch_size = 32;
  int threads = 1;              // histogram threads; the table does not depend on it
  bool quiet = true;            // progress bar on stderr (only when it is a terminal)
  std::string config_list;      // path of an NNI config_list (JSON); empty: 8 bits for every
                                // quantizable layer
  bool lenient_config = false;  // config_list: warn where NNI's schema refuses (unknown keys,
                                // op_names matching no layer) instead of failing
  // The float executor the images run on: "auto" (the CPU fp32 engine when this build has one,
  // else the reference executor), "cpu" or "reference" (observes every value, fused or not).
  std::string executor = "auto";
};

class Calibrator {
 public:
  // Validates the options and parses/resolves the config_list against `graph` (kept by reference).
  Calibrator(const Graph& graph, CalibrateOptions opts = {});
  ~Calibrator();
  Calibrator(Calibrator&&) noexcept;

  quant::CalibrationTable calibrate(const data::Dataset& data);
  // Warnings from the config_list (unknown keys, names matching nothing) and from calibration.
  std::vector<std::string> warnings() const;

  static void save(const quant::CalibrationTable& table, const std::string& path);  // atomic
  static quant::CalibrationTable load(const std::string& path);  // mpq table or NNI config

 private:
  const Graph* graph_;
  CalibrateOptions opts_;
  std::vector<std::string> config_warnings_;
  std::unique_ptr<quant::Calibrator> impl_;
};

}  // namespace mpq
