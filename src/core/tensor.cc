#include "core/tensor.h"

#include <cstdlib>
#include <cstring>
#include <sstream>

namespace mpq {

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0) return -1;
    n *= d;
  }
  return n;
}

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) os << ',';
    if (s[i] < 0)
      os << '?';
    else
      os << s[i];
  }
  os << ']';
  return os.str();
}

bool shape_is_static(const Shape& s) { return shape_numel(s) >= 0; }

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  int64_t n = numel();
  if (n < 0) internal_error("Tensor: cannot allocate shape " + shape_str(shape_)).raise();
  size_t bytes = nbytes();
  size_t rounded = (bytes + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment;
  if (rounded == 0) rounded = kTensorAlignment;
  void* p = std::aligned_alloc(kTensorAlignment, rounded);
  if (!p) internal_error(str("Tensor: out of memory allocating ", bytes, " bytes")).raise();
  std::memset(p, 0, rounded);
  storage_ = std::shared_ptr<void>(p, [](void* q) { std::free(q); });
  data_ = p;
}

Tensor Tensor::view(DType dtype, Shape shape, void* data, std::shared_ptr<void> owner) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.storage_ = std::move(owner);
  t.data_ = data;
  return t;
}

Tensor Tensor::reshaped(Shape shape) const {
  if (shape_numel(shape) != numel())
    internal_error("reshape " + shape_str(shape_) + " -> " + shape_str(shape)).raise();
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t(dtype_, shape_);
  if (nbytes()) std::memcpy(t.data_, data_, nbytes());
  t.quant_ = quant_;
  return t;
}

Tensor Tensor::cast(DType to) const {
  if (to == dtype_) return clone();
  Tensor t(to, shape_);
  const size_t n = static_cast<size_t>(numel());
  for (size_t i = 0; i < n; ++i) store_from_double(t.data_, to, i, load_as_double(data_, dtype_, i));
  return t;
}

std::vector<float> Tensor::to_floats() const {
  const size_t n = static_cast<size_t>(numel());
  std::vector<float> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(load_as_double(data_, dtype_, i));
  return out;
}

std::vector<int64_t> Tensor::to_int64s() const {
  const size_t n = static_cast<size_t>(numel());
  std::vector<int64_t> out(n);
  if (dtype_ == DType::i64) {
    if (n) std::memcpy(out.data(), data_, n * 8);  // an empty tensor may hold no buffer
    return out;
  }
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<int64_t>(load_as_double(data_, dtype_, i));
  return out;
}

void Tensor::check_type(DType t) const {
  if (t != dtype_ && !(dtype_size(t) == dtype_size(dtype_) && !dtype_info(t).is_float &&
                       !dtype_info(dtype_).is_float && dtype_ == DType::boolean))
    internal_error(str("tensor is ", dtype_name(dtype_), ", accessed as ", dtype_name(t))).raise();
}

}  // namespace mpq
