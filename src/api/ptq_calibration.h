// Calibration with a cache, shared by `mpq calibrate --cache` and the engine build's
// post-training path (NNI's ModelSpeedupTensorRT(calib_data_loader=..., calibrate_type=...,
// calibration_cache=...)). The cache is an mpq calibration table reused only when its model hash,
// data hash and options all match; NNI's calibration.cache was reused silently, across models.
#pragma once

#include <string>
#include <vector>

#include "data/dataset.h"
#include "ir/graph.h"
#include "mpq/calibrator.h"
#include "quant/calibration_table.h"
#include "runtime/calibrator.h"

namespace mpq::api {

struct CachedCalibration {
  quant::CalibrationTable table;
  bool reused = false;  // read from the cache, no calibration run
  std::string why_not;  // why the cache was not reused ("" when reused or when there is none)
  std::string runner;   // the executor calibration ran on ("" when reused)
};

// Calibrates `ds` with `calib` (checked against the data first), or returns the cache's table
// when it matches; a fresh table is written to `cache` (when not empty). `batch_size`: the
// calibration executor's batch.
CachedCalibration calibrate_cached(const Graph& g, quant::Calibrator& calib,
                                   const data::Dataset& ds, const std::string& cache,
                                   int batch_size);

// The ranges of every tensor of `g` for a build, NNI's PTQ way: calibrated on `data` (or read
// from `cache` when it matches), the layers' bits left to the caller. One line per step taken
// (calibrated or reused) goes to `notes`.
quant::CalibrationTable calibrate_for_build(const Graph& g, const data::DataSpec& data,
                                            CalibrateOptions options, const std::string& cache,
                                            std::vector<std::string>* notes);

}  // namespace mpq::api
