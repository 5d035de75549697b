// mpq: the public C++ API in one include.
//   mpq::ModelSpeedup  build / run / save / load a mixed-precision engine (NNI's ModelSpeedup)
//   mpq::Calibrator    post-training calibration into a calibration table
//   mpq::Error, mpq::Status, mpq::Result, mpq::capture   errors (never an abort on bad input)
//   mpq::Tensor        64-byte-aligned tensors (Tensor::from<float>(shape, values))
// Lower levels (runtime::Engine / ExecutionContext, import_onnx, data::open_dataset) are in the
// headers under src/ that these include.
#pragma once

#include "core/status.h"
#include "core/tensor.h"
#include "frontend/onnx/importer.h"
#include "mpq/calibrator.h"
#include "mpq/model_speedup.h"
#include "runtime/engine.h"
#include "runtime/engine_file.h"
