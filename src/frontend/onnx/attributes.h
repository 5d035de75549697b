// Conversions between ONNX AttributeProto and mpq's typed attribute values (ir/attribute.h).
#pragma once

#include <onnx/onnx_pb.h>

#include "ir/attribute.h"

namespace mpq::onnx_io {

// Converts one attribute. Throws kUnsupported (key = attribute name) for attribute kinds mpq has
// no value for (graphs, sparse tensors, type protos), kInvalidInput for a malformed attribute.
AttrValue attr_from_proto(const onnx::AttributeProto& a);

void attr_to_proto(const std::string& name, const AttrValue& v, onnx::AttributeProto* out);

}  // namespace mpq::onnx_io
