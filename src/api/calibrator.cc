// include/mpq/calibrator.h over quant::Calibrator.
#include "mpq/calibrator.h"

#include <fstream>
#include <sstream>

#include "api/calibration_runner.h"
#include "quant/calibrator.h"
#include "quant/model_hash.h"

namespace mpq {

Calibrator::Calibrator(const Graph& graph, CalibrateOptions opts)
    : graph_(&graph), opts_(std::move(opts)) {
  quant::CalibrationOptions o;
  if (!quant::parse_calib_method(opts_.method, &o.method))
    invalid_input(str("unknown calibration method '", opts_.method,
                      "' (expected entropy, minmax, percentile or mse)"))
        .key("method")
        .raise();
  o.method_options.percentile = opts_.percentile;
  o.method_options.entropy_floor_percentile = opts_.entropy_floor;
  o.calib_images = opts_.calib_images;
  o.seed = opts_.seed;
  o.batch_size = opts_.batch_size;
  o.threads = opts_.threads;
  o.quiet = opts_.quiet;
  o.executor = api::resolve_executor(opts_.executor, "executor");
  std::optional<quant::ResolvedConfig> cfg;
  std::string hash;
  if (!opts_.config_list.empty()) {
    std::ifstream f(opts_.config_list, std::ios::binary);
    if (!f) not_found("cannot open the config_list file").file(opts_.config_list).raise();
    std::stringstream ss;
    ss << f.rdbuf();
    quant::ConfigList c = quant::ConfigList::parse_string(ss.str(), opts_.config_list);
    quant::Fnv1a64 h;
    h.string(ss.str());
    hash = h.hex();
    config_warnings_ = c.warnings();
    cfg = c.resolve(graph);
    config_warnings_.insert(config_warnings_.end(), cfg->warnings.begin(), cfg->warnings.end());
  }
  impl_ = std::make_unique<quant::Calibrator>(graph, o, std::move(cfg), opts_.config_list, hash);
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
