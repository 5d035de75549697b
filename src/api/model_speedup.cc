// include/mpq/model_speedup.h over api::build_engine, runtime::Engine and the engine file.
#include "mpq/model_speedup.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "api/build_engine.h"
#include "frontend/onnx/importer.h"
#include "quant/model_hash.h"
#include "runtime/engine.h"
#include "runtime/engine_file.h"

namespace mpq {

namespace {

std::optional<Precision> parse_default(const std::string& s) {
  if (s.empty()) return std::nullopt;
  auto p = parse_precision(s);
  if (!p)
    invalid_input(str("unknown default precision '", s, "' (expected fp32, bf16, fp16 or int8)"))
        .key("default_precision")
        .raise();
  return p;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

ModelSpeedup::ModelSpeedup(const std::string& model, Shape input_shape,
                           CalibrationSource calibration, SpeedupOptions options)
    : options_(std::move(options)) {
  graph_ = import_onnx(model);
  model_name_ = model;
  init(std::move(input_shape), std::move(calibration));
}

ModelSpeedup::ModelSpeedup(const Graph& graph, Shape input_shape, CalibrationSource calibration,
                           SpeedupOptions options)
    : options_(std::move(options)) {
  graph_ = graph.clone();
  model_name_ = graph.name.empty() ? "<graph>" : graph.name;
  init(std::move(input_shape), std::move(calibration));
}

ModelSpeedup::~ModelSpeedup() = default;
ModelSpeedup::ModelSpeedup(ModelSpeedup&&) noexcept = default;
ModelSpeedup& ModelSpeedup::operator=(ModelSpeedup&&) noexcept = default;

void ModelSpeedup::init(Shape input_shape, CalibrationSource calibration) {
  if (options_.batch_size < 1)
    invalid_input(str("batch_size must be at least 1, got ", options_.batch_size))
        .key("batch_size")
        .raise();
  parse_default(options_.default_precision);  // validate early
  if (graph_->inputs().size() != 1)
    unsupported(
        str("ModelSpeedup feeds models with one input; this one has ", graph_->inputs().size()))
        .file(model_name_)
        .raise();
  model_hash_ = quant::model_hash(*graph_);  // of the model as given (what calibrate hashed)
  Value* in = graph_->inputs()[0];
  if (input_shape.size() != in->shape.size())
    invalid_input(str("input_shape ", shape_str(input_shape), " has rank ", input_shape.size(),
                      ", the model input has shape ", shape_str(in->shape)))
        .file(model_name_)
        .key(in->name)
        .raise();
  for (size_t d = 1; d < input_shape.size(); ++d) {
    if (input_shape[d] < 1)
      invalid_input(str("input_shape ", shape_str(input_shape), " has a non-positive dimension"))
          .key("input_shape")
          .raise();
    if (in->shape[d] >= 0 && in->shape[d] != input_shape[d])
      invalid_input(str("input_shape ", shape_str(input_shape), " does not match the model input ",
                        shape_str(in->shape), " (dimension ", d, ")"))
          .file(model_name_)
          .key(in->name)
          .raise();
    in->shape[d] = input_shape[d];
  }
  input_shape_ = std::move(input_shape);
  if (!calibration.path().empty()) {
    table_ = api::read_table(calibration.path(), &calib_hash_);
    calib_name_ = calibration.path();
  } else if (calibration.table()) {
    table_ = calibration.table();
  }
}

int64_t ModelSpeedup::batch_limit() const {
  const int64_t m = engine_ ? engine_->max_batch() : options_.batch_size;
  return std::min<int64_t>(m, options_.batch_size);
}

void ModelSpeedup::set_engine(std::shared_ptr<const runtime::Engine> e) {
  engine_ = std::move(e);
  ctx_ = std::make_unique<runtime::ExecutionContext>(engine_, options_.threads);
}

double ModelSpeedup::compress() {
  const auto t0 = std::chrono::steady_clock::now();
  api::BuildInputs in;
  in.graph = graph_.get();
  in.model_name = model_name_;
  in.model_hash = model_hash_;
  in.table = table_;
  in.calib_name = calib_name_;
  in.calib_hash = calib_hash_;
  in.config_list = options_.config_list;
  in.lenient_config = options_.lenient_config;
  in.lenient_qdq = options_.lenient_qdq;
  in.unconfigured = options_.unconfigured;
  in.extra_layer_bits = options_.extra_layer_bits;
  in.layer_precision = options_.layer_precision;
  in.calib_data.source = options_.calib_data;
  in.calibrate.method = options_.calibrate_type;
  in.calibrate.calib_images = options_.calib_images;
  in.calibrate.batch_size = static_cast<int>(std::min<int64_t>(options_.batch_size, 1024));
  in.calibration_cache = options_.calibration_cache;
  in.force = options_.force;
  in.options.default_precision = parse_default(options_.default_precision);
  in.options.strict = options_.strict;
  in.options.max_batch = options_.batch_size;
  in.options.threads = options_.threads;
  in.options.backend = options_.backend;
  in.options.allow_host_fallback = options_.allow_host_fallback;
  api::BuildOutput out = api::build_engine(std::move(in));
  warnings_ = out.warnings;
  set_engine(out.engine);
  return seconds_since(t0);
}

void ModelSpeedup::require_engine() {
  if (!engine_) compress();
}

std::vector<Tensor> ModelSpeedup::inference_all(const Tensor& data, double* seconds) {
  require_engine();
  const TensorSpec in = engine_->input_specs().at(0);
  bool ok = data.dtype() == DType::f32 && data.rank() == static_cast<int>(in.shape.size()) &&
            data.rank() >= 1 && data.dim(0) >= 1;
  for (int d = 1; ok && d < data.rank(); ++d) ok = data.dim(d) == in.shape[d];
  if (!ok) {
    Shape want = in.shape;
    want[0] = -1;
    invalid_input(str("inference data is ", dtype_name(data.dtype()), shape_str(data.shape()),
                      "; the engine takes f32", shape_str(want), " (any number of rows)"))
        .key(in.name)
        .raise();
  }
  const int64_t n = data.dim(0), bs = batch_limit();
  const size_t in_row = data.nbytes() / static_cast<size_t>(n);
  std::vector<Tensor> outs;
  std::vector<size_t> out_row;
  double total = 0.0;
  for (int64_t begin = 0; begin < n; begin += bs) {
    const int64_t rows = std::min(bs, n - begin);
    Shape s = data.shape();
    s[0] = rows;
    // A view of the rows: no copy of the input.
    Tensor chunk = Tensor::view(DType::f32, s,
                                const_cast<char*>(static_cast<const char*>(data.raw())) +
                                    static_cast<size_t>(begin) * in_row);
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<Tensor> ys = ctx_->run({chunk});
    total += seconds_since(t0);
    if (outs.empty()) {
      for (const Tensor& y : ys) {
        if (y.rank() == 0 || y.dim(0) != rows)
          unsupported(
              str("model output has shape ", shape_str(y.shape()), ", not one row per input row"))
              .raise();
        Shape os = y.shape();
        os[0] = n;
        outs.emplace_back(y.dtype(), os);
        out_row.push_back(y.nbytes() / static_cast<size_t>(rows));
      }
    }
    for (size_t o = 0; o < ys.size(); ++o)
      std::memcpy(static_cast<char*>(outs[o].raw()) + static_cast<size_t>(begin) * out_row[o],
                  ys[o].raw(), ys[o].nbytes());
  }
  if (seconds) *seconds = total;
  return outs;
}

InferenceResult ModelSpeedup::inference(const Tensor& data) {
  InferenceResult r;
  std::vector<Tensor> outs = inference_all(data, &r.seconds);
  r.output = outs.at(0);
  return r;
}

void ModelSpeedup::export_quantized_model(const std::string& path) {
  require_engine();
  runtime::EngineFileInfo info;
  info.producer = api::producer_string();
  info.model_name = model_name_;
  info.model_hash = model_hash_;
  info.calib_name = calib_name_;
  info.calib_hash = calib_hash_;
  info.config_name = options_.config_list;
  runtime::save_engine(*engine_, info, path);
}

void ModelSpeedup::load_quantized_model(const std::string& path) {
  runtime::LoadedEngine le = runtime::load_engine(path);
  if (!le.info.model_hash.empty() && le.info.model_hash != model_hash_) {
    const std::string msg = str("the engine was built from another model (model hash ",
                                le.info.model_hash, ", this model's is ", model_hash_, ")");
    if (!options_.force)
      invalid_input(msg + ": rebuild it, or set force to use it anyway")
          .file(path)
          .key("model_hash")
          .raise();
    warnings_.push_back(path + ": " + msg + " (used anyway: force)");
  }
  const TensorSpec in = le.engine->input_specs().at(0);
  for (size_t d = 1; d < input_shape_.size(); ++d)
    if (in.shape.size() != input_shape_.size() || in.shape[d] != input_shape_[d])
      invalid_input(str("the engine's input is ", shape_str(in.shape), ", input_shape is ",
                        shape_str(input_shape_)))
          .file(path)
          .key(in.name)
          .raise();
  load_ms_ = le.stats.total_ms;
  set_engine(le.engine);
}

const plan::Manifest& ModelSpeedup::manifest() const {
  if (!engine_) invalid_input("no engine yet: call compress() or load_quantized_model()").raise();
  return engine_->manifest();
}

}  // namespace mpq
