// Reorder (ai.mpq): a precision/layout boundary the plan builder inserts (quantize, dequantize,
// bf16<->f32, NCHW<->NHWC). In the float IR it is the identity; what it converts between is in the
// plan's tensor specs of its input and output.
#include "ir/ops/op_util.h"

namespace mpq::ops {

OpDef def_Reorder() {
  OpDef d;
  d.doc = "precision/layout boundary inserted by the plan builder (identity on values)";
  d.infer = same_as_input0;
  d.forward = [](const Node&, const std::vector<Tensor>& x) {
    return std::vector<Tensor>{x[0].clone()};
  };
  d.quant = QuantRule::kPassthrough;
  d.onnx.op_type = "Reorder";
  d.onnx.min_opset = 1;
  d.onnx.max_opset = 18;
  d.onnx.domain = "ai.mpq";
  return d;
}

}  // namespace mpq::ops
