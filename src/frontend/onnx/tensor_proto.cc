#include "frontend/onnx/tensor_proto.h"

#include <cstring>
#include <fstream>
#include <sstream>

#include "core/input_file.h"

namespace mpq::onnx_io {

std::string onnx_dtype_name(int code) {
  if (onnx::TensorProto_DataType_IsValid(code))
    return onnx::TensorProto_DataType_Name(static_cast<onnx::TensorProto_DataType>(code));
  return str("type code ", code);
}

namespace {

// Largest element count accepted from a file: guards against a lying header asking for a huge
// allocation (2^40 elements is far beyond any model mpq handles).
constexpr int64_t kMaxElements = int64_t{1} << 40;

Shape dims_of(const onnx::TensorProto& t) {
  Shape s;
  int64_t n = 1;
  for (int64_t d : t.dims()) {
    if (d < 0) invalid_input(str("tensor has a negative dimension ", d)).key(t.name()).raise();
    if (d > 0 && n > kMaxElements / d)
      invalid_input("tensor shape is too large (element count overflows)").key(t.name()).raise();
    n *= d;
    s.push_back(d);
  }
  return s;
}

template <typename Field>
void check_count(const onnx::TensorProto& t, const Field& f, int64_t numel, const char* field) {
  if (static_cast<int64_t>(f.size()) != numel)
    invalid_input(str("tensor ", field, " holds ", f.size(), " values, its shape ",
                      shape_str(Shape(t.dims().begin(), t.dims().end())), " needs ", numel))
        .key(t.name())
        .raise();
}

// Element count, dtype and which storage holds the data, after checking that they agree.
struct Layout {
  DType dtype;
  Shape shape;
  int64_t numel;
};

Layout check_layout(const onnx::TensorProto& t) {
  if (t.data_location() == onnx::TensorProto::EXTERNAL)
    internal_error("tensor with external data reached conversion before its data was loaded")
        .key(t.name())
        .raise();
  if (t.has_segment()) unsupported("segmented tensors are not supported").key(t.name()).raise();
  Layout l;
  if (!dtype_from_onnx(t.data_type(), &l.dtype))
    unsupported(str("tensor has data type ", onnx_dtype_name(t.data_type()),
                    ", which mpq does not support"))
        .key(t.name())
        .raise();
  l.shape = dims_of(t);
  l.numel = shape_numel(l.shape);
  const size_t bytes = static_cast<size_t>(l.numel) * dtype_size(l.dtype);
  if (t.has_raw_data()) {
    if (t.raw_data().size() != bytes)
      invalid_input(str("tensor raw_data has ", t.raw_data().size(), " bytes, its shape ",
                        shape_str(l.shape), " of ", dtype_name(l.dtype), " needs ", bytes))
          .key(t.name())
          .raise();
  } else if (l.dtype == DType::f32) {
    check_count(t, t.float_data(), l.numel, "float_data");
  } else if (l.dtype == DType::i64) {
    check_count(t, t.int64_data(), l.numel, "int64_data");
  } else {  // f16, bf16, bool, i8, u8, i32 live in int32_data
    check_count(t, t.int32_data(), l.numel, "int32_data");
  }
  return l;
}

}  // namespace

void validate_tensor_proto(const onnx::TensorProto& t) {
  try {
    check_layout(t);
  } catch (const Error& e) {
    if (e.status().code != Code::kUnsupported) throw;  // reported with the node that uses it
  }
}

Tensor tensor_from_proto(const onnx::TensorProto& t) {
  const Layout l = check_layout(t);
  const DType dt = l.dtype;
  const int64_t n = l.numel;
  Tensor out(dt, l.shape);
  if (t.has_raw_data()) {
    if (n) std::memcpy(out.raw(), t.raw_data().data(), t.raw_data().size());  // little-endian
    if (dt == DType::boolean) {
      auto* p = static_cast<uint8_t*>(out.raw());
      for (int64_t i = 0; i < n; ++i) p[i] = p[i] != 0;
    }
    return out;
  }
  // Typed fields: which one holds the data depends on the dtype (onnx.proto's comments).
  void* dst = out.raw();
  if (dt == DType::f32) {
    check_count(t, t.float_data(), n, "float_data");
    if (n) std::memcpy(dst, t.float_data().data(), n * 4);
  } else if (dt == DType::i64) {
    check_count(t, t.int64_data(), n, "int64_data");
    if (n) std::memcpy(dst, t.int64_data().data(), n * 8);
  } else if (dt == DType::f16 || dt == DType::bf16) {
    check_count(t, t.int32_data(), n, "int32_data");
    auto* p = static_cast<uint16_t*>(dst);
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<uint16_t>(t.int32_data(i));  // bit pattern
  } else if (dt == DType::boolean) {
    check_count(t, t.int32_data(), n, "int32_data");
    auto* p = static_cast<uint8_t*>(dst);
    for (int64_t i = 0; i < n; ++i) p[i] = t.int32_data(i) != 0;
  } else {  // i8, u8, i32: int32_data, stored with saturation into the narrower type
    check_count(t, t.int32_data(), n, "int32_data");
    for (int64_t i = 0; i < n; ++i) store_from_double(dst, dt, i, t.int32_data(i));
  }
  return out;
}

void tensor_to_proto(const Tensor& t, const std::string& name, onnx::TensorProto* out) {
  out->Clear();
  out->set_name(name);
  out->set_data_type(dtype_info(t.dtype()).onnx_code);
  for (int64_t d : t.shape()) out->add_dims(d);
  out->set_raw_data(std::string(static_cast<const char*>(t.raw()), t.nbytes()));
}

Tensor read_tensor_file(const std::string& path) {
  std::string bytes = read_input_file(path, "tensor file (.pb)");
  onnx::TensorProto t;
  if (!t.ParseFromString(bytes))
    invalid_input("not a serialized ONNX TensorProto (truncated or wrong format)")
        .file(path)
        .raise();
  try {
    return tensor_from_proto(t);
  } catch (const Error& e) {
    throw e.with_file(path);
  }
}

bool type_from_proto(const onnx::TypeProto& t, DType* dtype, Shape* shape, std::string* why) {
  if (!t.has_tensor_type()) {
    *why = "has a non-tensor type (sequence, map or optional)";
    return false;
  }
  const auto& tt = t.tensor_type();
  if (!dtype_from_onnx(tt.elem_type(), dtype)) {
    *why = str("has data type ", onnx_dtype_name(tt.elem_type()), ", which mpq does not support");
    return false;
  }
  if (!tt.has_shape()) {
    *why = "has no shape (unknown rank)";
    return false;
  }
  shape->clear();
  for (const auto& d : tt.shape().dim())
    shape->push_back(d.has_dim_value() && d.dim_value() >= 0 ? d.dim_value() : -1);
  return true;
}

void type_to_proto(DType dtype, const Shape& shape, onnx::TypeProto* out) {
  auto* tt = out->mutable_tensor_type();
  tt->set_elem_type(dtype_info(dtype).onnx_code);
  auto* s = tt->mutable_shape();
  s->clear_dim();
  for (int64_t d : shape) {
    auto* dim = s->add_dim();
    if (d >= 0) dim->set_dim_value(d);
  }
}

}  // namespace mpq::onnx_io
