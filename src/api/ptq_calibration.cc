#include "api/ptq_calibration.h"

#include <filesystem>
#include <optional>

#include "api/calibration_runner.h"
#include "quant/model_hash.h"

namespace mpq::api {

CachedCalibration calibrate_cached(const Graph& g, quant::Calibrator& calib,
                                   const data::Dataset& ds, const std::string& cache,
                                   int batch_size) {
  calib.check_data(ds);
  CachedCalibration r;
  if (!cache.empty()) {
    const std::string mh = quant::model_hash(g);
    const std::string dh = quant::data_hash(ds, calib.sample(ds));
    std::optional<quant::CalibrationTable> cached;
    if (!std::filesystem::exists(cache)) {
      r.why_not = "it does not exist yet";
    } else {
      try {
        cached = quant::read_calibration_table(cache);
        r.why_not = quant::cache_mismatch(*cached, mh, dh, calib.options_json(ds));
      } catch (const Error& e) {
        r.why_not = str("it cannot be read (", e.status().to_string(), ")");
      }
    }
    if (r.why_not.empty()) {
      r.table = std::move(*cached);
      r.reused = true;
      return r;
    }
  }
  // The engine's threads: OMP_NUM_THREADS / all cores (the calibrator's threads are histograms').
  std::unique_ptr<quant::BatchRunner> runner =
      make_calibration_runner(g, calib.options().executor, batch_size, 0);
  r.runner = runner->name();
  r.table = calib.run(ds, runner.get());
  if (!cache.empty()) quant::write_calibration_table(r.table, cache);
  return r;
}

quant::CalibrationTable calibrate_for_build(const Graph& g, const data::DataSpec& data,
                                            CalibrateOptions options, const std::string& cache,
                                            std::vector<std::string>* notes) {
  if (g.inputs().size() != 1)
    unsupported(str("calibration needs a model with one input, this one has ", g.inputs().size()))
        .raise();
  options.config_list.clear();  // ranges for every tensor; the bits come from the build's config
  std::vector<std::string> warnings;
  std::unique_ptr<quant::Calibrator> calib = make_calibrator(g, options, "", &warnings);
  std::unique_ptr<data::Dataset> ds = data::open_dataset(data, g.inputs()[0]->shape);
  CachedCalibration c = calibrate_cached(g, *calib, *ds, cache, options.batch_size);
  if (c.reused)
    notes->push_back(str("calibration cache ", cache,
                         " matches this model, data and options: reused it (no calibration run)"));
  else
    notes->push_back(str("calibrated on ", c.table.header.num_samples, " images of ",
                         ds->describe(), " (", c.table.header.method, ", ", c.runner, " executor)",
                         cache.empty() ? std::string()
                                       : str("; calibration cache ", cache,
                                             " not used: ", c.why_not, "; rewritten")));
  c.table.layers.clear();
  return c.table;
}

}  // namespace mpq::api
