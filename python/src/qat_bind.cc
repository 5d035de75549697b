// NNI's config_list and mpq::QatQuantizer. Calibration tables cross into Python as their JSON
// text (calibration_table_to_json), which mpq/quantization.py turns into NNI's dict.
#include <utility>

#include "bindings.h"

namespace mpq::python {

namespace {

void bind_config_list(py::module_& m) {
  py::class_<quant::ConfigList>(m, "ConfigList")
      .def_static(
          "parse_string",
          [](const std::string& text, const std::string& source, bool lenient) {
            return quant::ConfigList::parse_string(text, source, {lenient});
          },
          py::arg("text"), py::arg("source") = "<config_list>", py::arg("lenient") = false)
      .def_static(
          "parse_file",
          [](const std::string& path, bool lenient) {
            return quant::ConfigList::parse_file(path, {lenient});
          },
          py::arg("path"), py::arg("lenient") = false)
      .def_property_readonly("warnings", &quant::ConfigList::warnings)
      .def_property_readonly("source", &quant::ConfigList::source);
}

void bind_qat_options(py::module_& m) {
  py::class_<QatOptions>(m, "QatOptions")
      .def(py::init<>())
      .def_readwrite("batch_size", &QatOptions::batch_size)
      .def_readwrite("seed", &QatOptions::seed)
      .def_readwrite("shuffle", &QatOptions::shuffle)
      .def_readwrite("quiet", &QatOptions::quiet)
      .def_readwrite("schedule", &QatOptions::schedule)
      .def_readwrite("fold_bn", &QatOptions::fold_bn)
      .def_readwrite("max_steps_per_epoch", &QatOptions::max_steps_per_epoch);
}

// Runs f on a batch `x` without the GIL and returns its tensor as an array.
template <typename F>
py::array run_on(const py::object& x, const char* what, F&& f) {
  Tensor xt = tensor_from_array(x, what);
  Tensor y;
  {
    py::gil_scoped_release release;
    y = f(xt);
  }
  return array_from_tensor(y);
}

}  // namespace

void bind_qat(py::module_& m) {
  bind_config_list(m);
  bind_qat_options(m);
  py::class_<QatQuantizer>(m, "QatQuantizer")
      // The model is copied (weights included): the Python Model stays as it was.
      .def(py::init([](const Model& model, const quant::ConfigList& config_list,
                       OptimizerConfig optimizer, QatOptions options) {
             return std::make_unique<QatQuantizer>(model, config_list, optimizer, options);
           }),
           py::arg("model"), py::arg("config_list"), py::arg("optimizer"), py::arg("options"))
      .def("compress", &QatQuantizer::compress, py::call_guard<py::gil_scoped_release>())
      .def("train_step",
           [](QatQuantizer& q, const py::object& x, const py::object& y) {
             Tensor xt = tensor_from_array(x, "train_step(x)");
             Tensor yt = labels_from_array(y, "train_step(labels)");
             py::gil_scoped_release release;
             return q.train_step(xt, yt);
           })
      .def("forward",
           [](QatQuantizer& q, const py::object& x) {
             return run_on(x, "forward(x)", [&](const Tensor& t) { return q.forward(t).clone(); });
           })
      .def("backward",
           [](QatQuantizer& q, const py::object& grad) {
             Tensor g = tensor_from_array(grad, "backward(grad)");
             py::gil_scoped_release release;
             q.backward(g);
           })
      .def("step", &QatQuantizer::step, py::call_guard<py::gil_scoped_release>())
      .def("fit",
           [](QatQuantizer& q, const Shape& input, const py::object& data, const py::object& labels,
              int64_t epochs) {
             auto d = dataset_arg(data, labels, input);
             py::gil_scoped_release release;
             return q.fit(*d, epochs);
           })
      .def("evaluate",
           [](QatQuantizer& q, const Shape& input, const py::object& data, const py::object& labels,
              int64_t batch_size) {
             auto d = dataset_arg(data, labels, input);
             py::gil_scoped_release release;
             return q.evaluate(*d, batch_size);
           })
      .def("predict",
           [](QatQuantizer& q, const py::object& x) {
             return run_on(x, "predict(x)", [&](const Tensor& t) { return q.predict(t); });
           })
      .def("export_model",
           [](QatQuantizer& q, const std::string& model_path, const std::string& calib_path) {
             py::gil_scoped_release release;
             return quant::calibration_table_to_json(q.export_model(model_path, calib_path));
           })
      .def("load_calibration_config",
           [](QatQuantizer& q, const std::string& json_text) {
             q.load_calibration_config(quant::parse_calibration_table(json_text, "<config>"));
           })
      .def_property_readonly("warnings", &QatQuantizer::warnings)
      .def_property_readonly("steps", &QatQuantizer::steps)
      .def("summary", &QatQuantizer::summary);
}

}  // namespace mpq::python
