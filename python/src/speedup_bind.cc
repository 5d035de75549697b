// mpq::ModelSpeedup with its options, and the manifest as a list of dicts (one per step).
#include <utility>

#include "bindings.h"

namespace mpq::python {

namespace {

void bind_speedup_options(py::module_& m) {
  py::class_<SpeedupOptions>(m, "SpeedupOptions")
      .def(py::init<>())
      .def_readwrite("batch_size", &SpeedupOptions::batch_size)
      .def_readwrite("backend", &SpeedupOptions::backend)
      .def_readwrite("default_precision", &SpeedupOptions::default_precision)
      .def_readwrite("strict", &SpeedupOptions::strict)
      .def_readwrite("threads", &SpeedupOptions::threads)
      .def_readwrite("force", &SpeedupOptions::force)
      .def_readwrite("config_list", &SpeedupOptions::config_list)
      .def_readwrite("lenient_config", &SpeedupOptions::lenient_config)
      .def_readwrite("allow_host_fallback", &SpeedupOptions::allow_host_fallback)
      .def_readwrite("unconfigured", &SpeedupOptions::unconfigured)
      .def_readwrite("extra_layer_bits", &SpeedupOptions::extra_layer_bits)
      .def_readwrite("layer_precision", &SpeedupOptions::layer_precision)
      .def_readwrite("calib_data", &SpeedupOptions::calib_data)
      .def_readwrite("calibrate_type", &SpeedupOptions::calibrate_type)
      .def_readwrite("calibration_cache", &SpeedupOptions::calibration_cache)
      .def_readwrite("calib_images", &SpeedupOptions::calib_images);
}

py::dict layer_dict(const plan::LayerReport& l) {
  py::dict d;
  d["name"] = l.name;
  d["module_path"] = l.module_path;
  d["op"] = l.op;
  d["requested"] = precision_name(l.requested);
  d["source"] = l.source;
  d["executed"] = precision_name(l.executed);
  d["backend"] = l.backend;
  d["kernel"] = l.kernel;
  d["impl"] = l.impl;
  d["fused"] = l.fused;
  d["input_dtype"] = l.input_dtype;
  d["output_dtype"] = l.output_dtype;
  d["reason"] = l.reason;
  return d;
}

// The calibration argument: None, a path, or a table's JSON text (`is_text`).
CalibrationSource calibration_arg(const py::object& config, bool is_text) {
  if (config.is_none()) return {};
  const std::string s = config.cast<std::string>();
  if (is_text) return quant::parse_calibration_table(s, "<config>");
  return s;
}

}  // namespace

void bind_speedup(py::module_& m) {
  bind_speedup_options(m);
  py::class_<ModelSpeedup>(m, "ModelSpeedup")
      .def(py::init([](const std::string& path, Shape shape, const py::object& config,
                       bool config_is_text, SpeedupOptions o) {
             return std::make_unique<ModelSpeedup>(path, std::move(shape),
                                                   calibration_arg(config, config_is_text), o);
           }),
           py::arg("model"), py::arg("input_shape"), py::arg("config"), py::arg("config_is_text"),
           py::arg("options"))
      .def(py::init([](const Model& model, Shape shape, const py::object& config,
                       bool config_is_text, SpeedupOptions o) {
             return std::make_unique<ModelSpeedup>(model.graph(), std::move(shape),
                                                   calibration_arg(config, config_is_text), o);
           }),
           py::arg("model"), py::arg("input_shape"), py::arg("config"), py::arg("config_is_text"),
           py::arg("options"))
      .def("compress", &ModelSpeedup::compress, py::call_guard<py::gil_scoped_release>())
      .def("inference",
           [](ModelSpeedup& s, const py::object& data) {
             Tensor x = tensor_from_array(data, "inference(data)");
             InferenceResult r;
             {
               py::gil_scoped_release release;
               r = s.inference(x);
             }
             return py::make_tuple(array_from_tensor(r.output), r.seconds);
           })
      .def("export_quantized_model", &ModelSpeedup::export_quantized_model,
           py::call_guard<py::gil_scoped_release>())
      .def("load_quantized_model", &ModelSpeedup::load_quantized_model,
           py::call_guard<py::gil_scoped_release>())
      .def_property_readonly("compressed", &ModelSpeedup::compressed)
      .def("manifest",
           [](const ModelSpeedup& s) {
             py::list rows;
             for (const plan::LayerReport& l : s.manifest().layers) rows.append(layer_dict(l));
             return rows;
           })
      .def("manifest_table", [](const ModelSpeedup& s) { return s.manifest().to_table(); })
      .def_property_readonly("average_bits",
                             [](const ModelSpeedup& s) { return s.manifest().average_bits; })
      .def_property_readonly("warnings", &ModelSpeedup::warnings)
      .def_property_readonly("load_ms", &ModelSpeedup::load_ms);
}

}  // namespace mpq::python
