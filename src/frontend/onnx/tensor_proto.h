// Conversions between ONNX protobuf messages and mpq's Tensor/dtype/shape: TensorProto (raw_data
// and the typed fields) and TypeProto. Shared by the importer, the exporter and the conformance
// runner (which reads the test data sets' input_N.pb / output_N.pb).
#pragma once

#include <onnx/onnx_pb.h>

#include <string>

#include "core/tensor.h"

namespace mpq::onnx_io {

// The ONNX name of a TensorProto data type code ("FLOAT", "DOUBLE", ...).
std::string onnx_dtype_name(int code);

// Converts a TensorProto holding its data inline (raw_data or typed fields) into a Tensor.
// Throws kUnsupported for a dtype mpq does not have (naming the tensor as the key), kInvalidInput
// for a negative dim, a data size that does not match the shape, or external data that was not
// loaded (see model_io.h).
Tensor tensor_from_proto(const onnx::TensorProto& t);

// The checks of tensor_from_proto without converting (dims, data size against the shape); an
// unsupported dtype is not an error here (the importer reports it with the node that uses it).
void validate_tensor_proto(const onnx::TensorProto& t);

// Writes a Tensor as a TensorProto (raw_data, little-endian).
void tensor_to_proto(const Tensor& t, const std::string& name, onnx::TensorProto* out);

// Reads a serialized TensorProto file (the conformance data sets' *.pb).
Tensor read_tensor_file(const std::string& path);

// The dtype/shape of a tensor-typed TypeProto; unknown dims (dim_param or none) become -1.
// Returns false with `why` set when the type is not a tensor, has no shape, or has a dtype mpq
// does not support.
bool type_from_proto(const onnx::TypeProto& t, DType* dtype, Shape* shape, std::string* why);
void type_to_proto(DType dtype, const Shape& shape, onnx::TypeProto* out);

}  // namespace mpq::onnx_io
