// mpq/qdq.h: a model with mpq's scales and per-layer precisions written as a standard QDQ ONNX
// model (QDQ import needs no binding: ModelSpeedup builds a QDQ model given no calibration).
#include "bindings.h"
#include "mpq/qdq.h"

namespace mpq::python {

void bind_qdq(py::module_& m) {
  // (int8 layers, float layers, activation pairs, warnings)
  m.def("export_qdq", [](const Model& model, const std::string& calibration, bool is_text,
                         const std::string& path, const std::string& config_list,
                         const std::string& layer_precision, const std::string& default_precision,
                         bool force) {
    CalibrationSource source = is_text ? CalibrationSource(quant::parse_calibration_table(
                                             calibration, "<calibration config>"))
                                       : CalibrationSource(calibration);
    QdqExportOptions options;
    options.config_list = config_list;
    options.layer_precision = layer_precision;
    options.default_precision = default_precision;
    options.force = force;
    QdqExportResult r;
    {
      py::gil_scoped_release release;
      r = export_qdq(model, source, path, options);
    }
    return py::make_tuple(r.int8_layers, r.float_layers, r.activation_pairs, r.warnings);
  });
}

}  // namespace mpq::python
