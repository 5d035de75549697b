// mpq: the public C++ API in one include (link mpq::mpq, or `pkg-config --cflags --libs mpq`).
//   mpq::Model         a network: Model::load("m.onnx"), Model::zoo("mnist_naive")
//   mpq::quant::ConfigList  NNI's config_list (parse_file / parse_string)
//   mpq::Trainer       float training of a Model in place
//   mpq::QatQuantizer  quantization-aware training in NNI's shape (compress, fit, export_model)
//   mpq::Calibrator    post-training calibration into a quant::CalibrationTable
//   mpq::ModelSpeedup  build / run / save / load a mixed-precision engine (NNI's ModelSpeedup)
//   mpq::precision_search, mpq::layer_sensitivity   mixed precision chosen on real engines
//   mpq::export_qdq    the model as QDQ ONNX with mpq's scales (QDQ models build as they are)
//   mpq::data::open_dataset  Fashion-MNIST, IDX and NPY files as batches
//   mpq::Tensor        64-byte-aligned tensors (Tensor::from<float>(shape, values))
//   mpq::Error, mpq::Status, mpq::Result, mpq::capture   errors (never an abort on bad input)
// These headers are self-contained: the library's internals (graph IR, planner, backends) are not
// installed.
#pragma once

#include "mpq/calibration_table.h"
#include "mpq/calibrator.h"
#include "mpq/config_list.h"
#include "mpq/dataset.h"
#include "mpq/losses.h"
#include "mpq/manifest.h"
#include "mpq/model.h"
#include "mpq/model_speedup.h"
#include "mpq/optimizer.h"
#include "mpq/precision.h"
#include "mpq/qat_quantizer.h"
#include "mpq/qdq.h"
#include "mpq/search.h"
#include "mpq/status.h"
#include "mpq/tensor.h"
#include "mpq/trainer.h"
