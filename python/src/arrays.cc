// numpy <-> Tensor without copies where the layout allows: a C-contiguous float32 array becomes
// a Tensor view that holds a reference to the array; an engine output becomes an array whose base
// object owns the Tensor's storage.
#include <cstring>
#include <vector>

#include "bindings.h"

namespace mpq::python {

namespace {

std::string shape_of(const py::array& a) {
  std::string s = "[";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s += (i ? "," : "") + std::to_string(a.shape(i));
  return s + "]";
}

Shape dims_of(const py::array& a) {
  return Shape(a.shape(), a.shape() + a.ndim());
}

// Keeps a Python object alive for as long as a Tensor views its memory; the last reference may
// drop on a thread without the GIL.
std::shared_ptr<void> hold(py::object obj) {
  return std::shared_ptr<void>(new py::object(std::move(obj)), [](void* p) {
    py::gil_scoped_acquire gil;
    delete static_cast<py::object*>(p);
  });
}

}  // namespace

Tensor tensor_from_array(const py::handle& obj, const std::string& what) {
  py::array a = py::array::ensure(obj);
  if (!a)
    throw py::value_error(what + ": expected a float32 array, got " +
                          std::string(py::str(py::type::of(obj))));
  if (!py::isinstance<py::array_t<float>>(a))
    throw py::value_error(str(what, ": expected float32 data, got ",
                              std::string(py::str(a.dtype())), " of shape ", shape_of(a)));
  if (a.flags() & py::array::c_style)
    return Tensor::view(DType::f32, dims_of(a), a.mutable_data(), hold(a));
  // Strided or Fortran-ordered: one copy into a contiguous tensor.
  auto c = py::array_t<float, py::array::c_style>::ensure(a);
  Tensor t(DType::f32, dims_of(c));
  std::memcpy(t.raw(), c.data(), t.nbytes());
  return t;
}

Tensor labels_from_array(const py::handle& obj, const std::string& what) {
  py::array a = py::array::ensure(obj);
  const bool integers = a && (a.dtype().kind() == 'i' || a.dtype().kind() == 'u');
  if (!integers || a.ndim() != 1)
    throw py::value_error(str(what, ": expected integer labels of shape [N], got ",
                              a ? std::string(py::str(a.dtype())) + " of shape " + shape_of(a)
                                : std::string(py::str(py::type::of(obj)))));
  auto i64 = py::array_t<int64_t, py::array::c_style | py::array::forcecast>::ensure(a);
  Tensor t(DType::i64, {a.shape(0)});
  std::memcpy(t.raw(), i64.data(), t.nbytes());
  return t;
}

py::array array_from_tensor(const Tensor& tensor) {
  // numpy's names for mpq's storage types (bf16 has none: converted to float32 first).
  static const std::pair<DType, const char*> kNames[] = {
      {DType::f32, "float32"}, {DType::f16, "float16"}, {DType::i8, "int8"},
      {DType::u8, "uint8"},    {DType::i32, "int32"},   {DType::i64, "int64"},
      {DType::boolean, "bool"}};
  Tensor t = tensor.dtype() == DType::bf16 ? tensor.cast(DType::f32) : tensor;
  const char* name = "float32";
  for (const auto& [d, n] : kNames)
    if (d == t.dtype()) name = n;
  auto* owner = new Tensor(t);
  py::capsule base(owner, [](void* p) { delete static_cast<Tensor*>(p); });
  std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end());
  return py::array(py::dtype(name), shape, t.raw(), base);
}

void bind_arrays(py::module_& m) {
  // For the tests: whether a tensor made from this array shares its memory.
  m.def("_shares_memory",
        [](const py::array& a) { return tensor_from_array(a, "array").raw() == a.data(); });
}

}  // namespace mpq::python
