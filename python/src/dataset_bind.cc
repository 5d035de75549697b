// Data for fit / evaluate / calibrate: a data spec string (data::open_dataset: fashion-mnist,
// IDX, NPY, a folder) or arrays held in Python, seen through the same Dataset interface so that
// the library's seeded shuffling and batching apply to both alike.
#include <cstring>
#include <utility>

#include "bindings.h"

namespace mpq::python {

namespace {

// Images [N, ...] f32 and labels [N] i64 (or none), viewed where they live.
class ArrayDataset : public data::Dataset {
 public:
  ArrayDataset(Tensor images, Tensor labels) : x_(std::move(images)), y_(std::move(labels)) {}
  int64_t size() const override { return x_.dim(0); }
  Shape sample_shape() const override { return Shape(x_.shape().begin() + 1, x_.shape().end()); }
  bool has_labels() const override { return !y_.empty(); }
  Tensor images(const std::vector<int64_t>& indices) const override {
    Shape shape = x_.shape();
    shape[0] = static_cast<int64_t>(indices.size());
    Tensor out(DType::f32, shape);
    const size_t row = x_.nbytes() / static_cast<size_t>(size());
    auto* dst = static_cast<char*>(out.raw());
    for (size_t i = 0; i < indices.size(); ++i)
      std::memcpy(dst + i * row, static_cast<const char*>(x_.raw()) + check(indices[i]) * row, row);
    return out;
  }
  Tensor labels(const std::vector<int64_t>& indices) const override {
    if (!has_labels()) invalid_input("the data has no labels (pass labels=...)").raise();
    Tensor out(DType::i64, {static_cast<int64_t>(indices.size())});
    for (size_t i = 0; i < indices.size(); ++i)
      out.data<int64_t>()[i] = y_.data<int64_t>()[check(indices[i])];
    return out;
  }
  std::string describe() const override {
    return str("arrays ", shape_str(x_.shape()), " (", size(), " samples)");
  }

 private:
  size_t check(int64_t i) const {
    if (i < 0 || i >= size())
      internal_error(str("sample ", i, " out of range [0, ", size(), ")")).raise();
    return static_cast<size_t>(i);
  }
  Tensor x_, y_;
};

}  // namespace

std::unique_ptr<data::Dataset> dataset_from_arrays(Tensor images, Tensor labels) {
  if (images.rank() < 1 || images.dim(0) < 1)
    throw py::value_error("data: expected images [N, ...] with N >= 1, got shape " +
                          shape_str(images.shape()));
  if (!labels.empty() && labels.dim(0) != images.dim(0))
    throw py::value_error(str("labels: shape ", shape_str(labels.shape()), " does not match the ",
                              images.dim(0), " images of shape ", shape_str(images.shape())));
  return std::make_unique<ArrayDataset>(std::move(images), std::move(labels));
}

// A data argument as the Python layer passes it: (spec string, labels path or None) or
// (images array, labels array or None).
std::unique_ptr<data::Dataset> dataset_arg(const py::object& data, const py::object& labels,
                                           const Shape& model_input) {
  if (py::isinstance<py::str>(data)) {
    data::DataSpec spec;
    spec.source = data.cast<std::string>();
    if (!labels.is_none()) spec.labels = labels.cast<std::string>();
    return data::open_dataset(spec, model_input);
  }
  Tensor y = labels.is_none() ? Tensor() : labels_from_array(labels, "labels");
  return dataset_from_arrays(tensor_from_array(data, "data"), std::move(y));
}

void bind_datasets(py::module_& m) {
  // The whole of a data spec as arrays: (images float32 [N, ...], labels int64 [N] or None).
  m.def(
      "load_dataset",
      [](const std::string& source, const Shape& input_shape, const std::string& labels,
         int64_t limit) {
        data::DataSpec spec;
        spec.source = source, spec.labels = labels, spec.limit = limit;
        std::unique_ptr<data::Dataset> d = data::open_dataset(spec, input_shape);
        py::object y = py::none();
        if (d->has_labels()) y = array_from_tensor(d->labels(0, d->size()));
        return py::make_tuple(array_from_tensor(d->images(0, d->size())), y);
      },
      py::arg("source"), py::arg("input_shape") = Shape{}, py::arg("labels") = "",
      py::arg("limit") = -1);
  m.def("fashion_mnist_dir", &data::fashion_mnist_dir);
}

}  // namespace mpq::python
