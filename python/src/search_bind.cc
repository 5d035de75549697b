// mpq/search.h: per-layer sensitivity and the automatic precision search on real engines. The
// reports cross into Python as their JSON text (python/mpq/search.py parses them).
#include "bindings.h"

namespace mpq::python {

namespace {

// A calibration argument: JSON text when `is_text`, else a file path.
quant::CalibrationTable table_arg(const std::string& value, bool is_text) {
  return is_text ? quant::parse_calibration_table(value, "<calibration config>")
                 : Calibrator::load(value);
}

std::optional<Tensor> labels_of(const data::Dataset& d) {
  if (!d.has_labels()) return std::nullopt;
  return d.labels(0, d.size());
}

}  // namespace

void bind_search(py::module_& m) {
  py::class_<SearchOptions>(m, "SearchOptions")
      .def(py::init<>())
      .def_readwrite("backend", &SearchOptions::backend)
      .def_readwrite("batch_size", &SearchOptions::batch_size)
      .def_readwrite("threads", &SearchOptions::threads)
      .def_readwrite("metric", &SearchOptions::metric)
      .def_readwrite("max_drop", &SearchOptions::max_drop)
      .def_readwrite("min_sqnr_db", &SearchOptions::min_sqnr_db)
      .def_readwrite("time_budget_s", &SearchOptions::time_budget_s)
      .def_readwrite("seed", &SearchOptions::seed)
      .def_readwrite("timing_runs", &SearchOptions::timing_runs)
      .def_readwrite("latency", &SearchOptions::latency)
      .def_readwrite("force", &SearchOptions::force);
  py::class_<SensitivityOptions>(m, "SensitivityOptions")
      .def(py::init<>())
      .def_readwrite("backend", &SensitivityOptions::backend)
      .def_readwrite("batch_size", &SensitivityOptions::batch_size)
      .def_readwrite("threads", &SensitivityOptions::threads)
      .def_readwrite("metric", &SensitivityOptions::metric)
      .def_readwrite("force", &SensitivityOptions::force);

  // (report JSON, chosen config_list JSON or None, frontier SVG)
  m.def("precision_search",
        [](const Model& model, const std::string& calibration, bool is_text, const py::object& data,
           const py::object& labels, const SearchOptions& options) {
          const quant::CalibrationTable table = table_arg(calibration, is_text);
          auto d = dataset_arg(data, labels, model.input_shape());
          std::string json, svg;
          std::optional<std::string> config;
          {
            py::gil_scoped_release release;
            const SearchReport r =
                precision_search(model, table, d->images(0, d->size()), labels_of(*d), options);
            json = search_json(r);
            svg = search_svg(r);
            if (r.chosen) config = search_config_list(r, r.points[*r.chosen]);
          }
          return py::make_tuple(json, config, svg);
        });
  // (report JSON, SVG)
  m.def("layer_sensitivity",
        [](const Model& model, const std::string& calibration, bool is_text, const py::object& data,
           const py::object& labels, const SensitivityOptions& options) {
          const quant::CalibrationTable table = table_arg(calibration, is_text);
          auto d = dataset_arg(data, labels, model.input_shape());
          std::string json, svg;
          {
            py::gil_scoped_release release;
            const SensitivityReport r =
                layer_sensitivity(model, table, d->images(0, d->size()), labels_of(*d), options);
            json = sensitivity_json(r);
            svg = sensitivity_svg(r);
          }
          return py::make_tuple(json, svg);
        });
}

}  // namespace mpq::python
