// The pieces of the extension module mpq._mpq, one file per concern; module.cc calls each
// bind_* in turn. The Python layer (python/mpq/) checks dtypes and shapes against the model and
// gives NNI's signatures; this layer converts arrays without copying and maps mpq::Error onto
// the Python exceptions of mpq._errors.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>

#include "mpq/mpq.h"

namespace mpq::python {

namespace py = pybind11;

// A float32 array (or any object with the buffer protocol) as a Tensor: a view over its memory
// when it is C-contiguous (kept alive by the tensor), a copy otherwise. Another dtype is a
// ValueError naming `what`, the dtype and the shape.
Tensor tensor_from_array(const py::handle& obj, const std::string& what);
// Integer labels [N] as an i64 tensor (a copy: labels are small). Raises ValueError otherwise.
Tensor labels_from_array(const py::handle& obj, const std::string& what);
// The tensor's storage as a numpy array (no copy; the array keeps the storage alive). bf16, which
// numpy lacks, is converted to float32.
py::array array_from_tensor(const Tensor& t);

// Images [N, ...] and optional labels [N] (empty Tensor: none) as a Dataset, viewed in place.
std::unique_ptr<data::Dataset> dataset_from_arrays(Tensor images, Tensor labels);
// A data argument: a data spec string (with a labels path or None), opened for a model input of
// `model_input`; or an images array (with a labels array or None).
std::unique_ptr<data::Dataset> dataset_arg(const py::object& data, const py::object& labels,
                                           const Shape& model_input);

void bind_errors(py::module_& m);
void bind_arrays(py::module_& m);
void bind_datasets(py::module_& m);
void bind_model(py::module_& m);
void bind_qat(py::module_& m);
void bind_speedup(py::module_& m);
void bind_calibrate(py::module_& m);
void bind_search(py::module_& m);
void bind_qdq(py::module_& m);

}  // namespace mpq::python
