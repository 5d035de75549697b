// mpq._mpq: the extension module under the Python package mpq (python/mpq/__init__.py).
#include "bindings.h"

PYBIND11_MODULE(_mpq, m) {
  m.doc() = "mpq's C++ API (include/mpq/): use the package mpq, which wraps it in NNI's shapes";
  using namespace mpq::python;
  bind_errors(m);
  bind_arrays(m);
  bind_datasets(m);
  bind_model(m);
  bind_qat(m);
  bind_speedup(m);
  bind_calibrate(m);
  bind_search(m);
  bind_qdq(m);
}
