// mpq::Calibrator: post-training calibration of a model on data, into a calibration table (its
// JSON text crosses into Python).
#include "bindings.h"

namespace mpq::python {

void bind_calibrate(py::module_& m) {
  py::class_<CalibrateOptions>(m, "CalibrateOptions")
      .def(py::init<>())
      .def_readwrite("method", &CalibrateOptions::method)
      .def_readwrite("percentile", &CalibrateOptions::percentile)
      .def_readwrite("entropy_floor", &CalibrateOptions::entropy_floor)
      .def_readwrite("calib_images", &CalibrateOptions::calib_images)
      .def_readwrite("seed", &CalibrateOptions::seed)
      .def_readwrite("batch_size", &CalibrateOptions::batch_size)
      .def_readwrite("threads", &CalibrateOptions::threads)
      .def_readwrite("quiet", &CalibrateOptions::quiet)
      .def_readwrite("config_list", &CalibrateOptions::config_list)
      .def_readwrite("lenient_config", &CalibrateOptions::lenient_config)
      .def_readwrite("executor", &CalibrateOptions::executor);

  // One call: the Calibrator keeps the model by reference only for its own lifetime.
  m.def(
      "calibrate",
      [](const Model& model, const py::object& data, const py::object& labels,
         const CalibrateOptions& options, const std::string& path) {
        auto d = dataset_arg(data, labels, model.input_shape());
        std::string json;
        std::vector<std::string> warnings;
        {
          py::gil_scoped_release release;
          Calibrator calibrator(model.graph(), options);
          quant::CalibrationTable table = calibrator.calibrate(*d);
          if (!path.empty()) Calibrator::save(table, path);
          json = quant::calibration_table_to_json(table);
          warnings = calibrator.warnings();
        }
        return py::make_tuple(json, warnings);
      },
      py::arg("model"), py::arg("data"), py::arg("labels"), py::arg("options"),
      py::arg("path") = "");
  m.def("calibration_table_json", [](const std::string& path) {
    return quant::calibration_table_to_json(Calibrator::load(path));
  });
}

}  // namespace mpq::python
