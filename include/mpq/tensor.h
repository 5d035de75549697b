// Tensor: shape + dtype + 64-byte-aligned storage (owning, or a view into another buffer) +
// optional QuantParams. Copying a Tensor shares its storage; clone() copies the bytes.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mpq/dtype.h"
#include "mpq/quant_params.h"
#include "mpq/status.h"

namespace mpq {

using Shape = std::vector<int64_t>;  // -1 marks a dimension unknown until run time

int64_t shape_numel(const Shape& s);    // product of dims; -1 if any dim is unknown
std::string shape_str(const Shape& s);  // "[1,3,224,224]", "?" for unknown dims
bool shape_is_static(const Shape& s);

constexpr size_t kTensorAlignment = 64;

class Tensor {
 public:
  Tensor() = default;
  // Allocates zero-filled, 64-byte-aligned storage.
  Tensor(DType dtype, Shape shape);
  // A view over memory owned elsewhere (kept alive by `owner`, may be null for caller-managed).
  static Tensor view(DType dtype, Shape shape, void* data, std::shared_ptr<void> owner = nullptr);
  template <typename T>
  static Tensor from(Shape shape, const std::vector<T>& values) {
    Tensor t(DTypeOf<T>::value, std::move(shape));
    if (static_cast<size_t>(t.numel()) != values.size())
      internal_error(
          str("Tensor::from: ", values.size(), " values for shape ", shape_str(t.shape())))
          .raise();
    std::copy(values.begin(), values.end(), t.data<T>());
    return t;
  }
  static Tensor scalar(float v) { return from<float>({}, {v}); }

  bool defined() const { return data_ != nullptr || numel() == 0; }
  bool empty() const { return !data_ && shape_.empty(); }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t dim(int i) const { return shape_[i < 0 ? i + rank() : i]; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }

  void* raw() { return data_; }
  const void* raw() const { return data_; }
  template <typename T>
  T* data() {
    check_type(DTypeOf<T>::value);
    return static_cast<T*>(data_);
  }
  template <typename T>
  const T* data() const {
    check_type(DTypeOf<T>::value);
    return static_cast<const T*>(data_);
  }

  const std::optional<QuantParams>& quant() const { return quant_; }
  void set_quant(std::optional<QuantParams> q) { quant_ = std::move(q); }

  // Same storage, new shape (numel must match).
  Tensor reshaped(Shape shape) const;
  Tensor clone() const;
  // Element-wise conversion (float<->int with half-to-even rounding and saturation).
  Tensor cast(DType to) const;
  // Reads all elements as float (convenience for tests and reference kernels).
  std::vector<float> to_floats() const;
  std::vector<int64_t> to_int64s() const;

 private:
  void check_type(DType t) const;

  DType dtype_ = DType::f32;
  Shape shape_;
  std::shared_ptr<void> storage_;  // keeps data_ alive
  void* data_ = nullptr;
  std::optional<QuantParams> quant_;
};

}  // namespace mpq
