// include/mpq/calibrator.h over quant::Calibrator.
#include "mpq/calibrator.h"

#include "api/calibration_runner.h"
#include "runtime/calibrator.h"

namespace mpq {

Calibrator::Calibrator(const Graph& graph, CalibrateOptions opts)
    : graph_(&graph), opts_(std::move(opts)) {
  impl_ = api::make_calibrator(graph, opts_, "", &config_warnings_);
}

Calibrator::~Calibrator() = default;
Calibrator::Calibrator(Calibrator&&) noexcept = default;

quant::CalibrationTable Calibrator::calibrate(const data::Dataset& data) {
  impl_->check_data(data);
  std::unique_ptr<quant::BatchRunner> runner =
      api::make_calibration_runner(*graph_, impl_->options().executor, opts_.batch_size, 0);
  return impl_->run(data, runner.get());
}

std::vector<std::string> Calibrator::warnings() const {
  std::vector<std::string> w = config_warnings_;
  w.insert(w.end(), impl_->warnings().begin(), impl_->warnings().end());
  return w;
}

void Calibrator::save(const quant::CalibrationTable& table, const std::string& path) {
  quant::write_calibration_table(table, path);
}

quant::CalibrationTable Calibrator::load(const std::string& path) {
  return quant::read_calibration_table(path);
}

}  // namespace mpq
