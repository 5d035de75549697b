// mpq::Error -> the Python exceptions defined in mpq/_errors.py, carrying Status::to_string()'s
// one line and the code, file, node and key separately. Bad input (kInvalidInput, kNotFound) is
// mpq.InvalidInputError, a ValueError; kUnsupported is mpq.UnsupportedError; the rest mpq.Error
// (a RuntimeError).
#include "bindings.h"

namespace mpq::python {

namespace {

const char* exception_name(Code c) {
  if (c == Code::kInvalidInput || c == Code::kNotFound) return "InvalidInputError";
  if (c == Code::kUnsupported) return "UnsupportedError";
  return "Error";
}

void raise_status(const Status& s) {
  py::object cls = py::module_::import("mpq._errors").attr(exception_name(s.code));
  py::object exc = cls(s.to_string(), code_name(s.code), s.file, s.node, s.key);
  PyErr_SetObject(cls.ptr(), exc.ptr());
}

}  // namespace

void bind_errors(py::module_& m) {
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      raise_status(e.status());
    }
  });
}

}  // namespace mpq::python
