// mpq.Model (an ONNX model or a zoo network in memory), the optimizers and LR schedules, and the
// float Trainer. Long calls release the GIL: they run on the library's own threads.
#include <utility>

#include "bindings.h"

namespace mpq::python {

namespace {

std::string stats_repr(const TrainStats& s) {
  return str("TrainStats(loss=", s.loss, ", accuracy=", s.accuracy, ", samples=", s.samples,
             ", steps=", s.steps, ", seconds=", s.seconds, ")");
}

void bind_optimizers(py::module_& m) {
  py::class_<SGD>(m, "SGD")
      .def(py::init([](double lr, double momentum, double dampening, double weight_decay,
                       bool nesterov) {
             return SGD{lr, momentum, dampening, weight_decay, nesterov};
           }),
           py::arg("lr") = 0.01, py::arg("momentum") = 0.0, py::arg("dampening") = 0.0,
           py::arg("weight_decay") = 0.0, py::arg("nesterov") = false)
      .def_readwrite("lr", &SGD::lr)
      .def_readwrite("momentum", &SGD::momentum)
      .def_readwrite("dampening", &SGD::dampening)
      .def_readwrite("weight_decay", &SGD::weight_decay)
      .def_readwrite("nesterov", &SGD::nesterov)
      .def("__repr__", [](const SGD& o) {
        return str("SGD(lr=", o.lr, ", momentum=", o.momentum, ", weight_decay=", o.weight_decay,
                   ")");
      });
  auto adam_like = [&](auto tag, const char* name, double wd) {
    using T = decltype(tag);
    py::class_<T>(m, name)
        .def(py::init([](double lr, double beta1, double beta2, double eps, double weight_decay) {
               return T{lr, beta1, beta2, eps, weight_decay};
             }),
             py::arg("lr") = 1e-3, py::arg("beta1") = 0.9, py::arg("beta2") = 0.999,
             py::arg("eps") = 1e-8, py::arg("weight_decay") = wd)
        .def_readwrite("lr", &T::lr)
        .def_readwrite("beta1", &T::beta1)
        .def_readwrite("beta2", &T::beta2)
        .def_readwrite("eps", &T::eps)
        .def_readwrite("weight_decay", &T::weight_decay);
  };
  adam_like(Adam{}, "Adam", 0.0);
  adam_like(AdamW{}, "AdamW", 0.01);

  py::class_<LrSchedule>(m, "LrSchedule")
      .def_static("constant", &LrSchedule::constant)
      .def_static("step", &LrSchedule::step, py::arg("step_size"), py::arg("gamma") = 0.1)
      .def_static("multi_step", &LrSchedule::multi_step, py::arg("milestones"),
                  py::arg("gamma") = 0.1)
      .def_static("cosine", &LrSchedule::cosine, py::arg("t_max"), py::arg("eta_min") = 0.0,
                  py::arg("per_iteration") = false)
      .def("at", &LrSchedule::at, py::arg("base_lr"), py::arg("epoch"), py::arg("iter") = 0,
           py::arg("iters_per_epoch") = 1);

  py::class_<TrainStats>(m, "TrainStats")
      .def_readonly("loss", &TrainStats::loss)
      .def_readonly("accuracy", &TrainStats::accuracy)
      .def_readonly("samples", &TrainStats::samples)
      .def_readonly("steps", &TrainStats::steps)
      .def_readonly("seconds", &TrainStats::seconds)
      .def_readonly("images_per_second", &TrainStats::images_per_second)
      .def("__repr__", &stats_repr);
}

void bind_trainer(py::module_& m) {
  py::class_<TrainerOptions>(m, "TrainerOptions")
      .def(py::init<>())
      .def_readwrite("optimizer", &TrainerOptions::optimizer)
      .def_readwrite("schedule", &TrainerOptions::schedule)
      .def_readwrite("batch_size", &TrainerOptions::batch_size)
      .def_readwrite("seed", &TrainerOptions::seed)
      .def_readwrite("shuffle", &TrainerOptions::shuffle)
      .def_readwrite("quiet", &TrainerOptions::quiet)
      .def_readwrite("max_steps_per_epoch", &TrainerOptions::max_steps_per_epoch);

  py::class_<Trainer>(m, "Trainer")
      .def(py::init<Model&, TrainerOptions>(), py::arg("model"), py::arg("options"),
           py::keep_alive<1, 2>())
      .def("train_step",
           [](Trainer& t, const py::object& x, const py::object& y) {
             Tensor xt = tensor_from_array(x, "train_step(x)");
             Tensor yt = labels_from_array(y, "train_step(labels)");
             py::gil_scoped_release release;
             return t.train_step(xt, yt);
           })
      .def("fit",
           [](Trainer& t, const Model& model, const py::object& data, const py::object& labels,
              int64_t epochs) {
             auto d = dataset_arg(data, labels, model.input_shape());
             py::gil_scoped_release release;
             return t.fit(*d, epochs);
           })
      .def("evaluate",
           [](Trainer& t, const Model& model, const py::object& data, const py::object& labels,
              int64_t batch_size) {
             auto d = dataset_arg(data, labels, model.input_shape());
             py::gil_scoped_release release;
             return t.evaluate(*d, batch_size);
           })
      .def("predict", [](Trainer& t, const py::object& x) {
        Tensor xt = tensor_from_array(x, "predict(x)");
        Tensor y;
        {
          py::gil_scoped_release release;
          y = t.predict(xt);
        }
        return array_from_tensor(y);
      });
}

}  // namespace

void bind_model(py::module_& m) {
  py::class_<Model>(m, "Model")
      .def_static("load", &Model::load, py::arg("path"))
      .def_static("zoo", &Model::zoo, py::arg("name"), py::arg("batch") = -1, py::arg("seed") = 0)
      .def("save", &Model::save, py::arg("path"))
      .def_property_readonly("num_inputs", &Model::num_inputs)
      .def("input_name", &Model::input_name, py::arg("i") = 0)
      .def("input_shape", &Model::input_shape, py::arg("i") = 0)
      // NNI's export_model leaves the trained float weights in the user's model: the same here.
      .def("_reload", [](Model& self, const std::string& path) { self = Model::load(path); });
  bind_optimizers(m);
  bind_trainer(m);
}

}  // namespace mpq::python
