// OpDef: the one description of an op (DESIGN.md §4). Every stage reads its slots; none keeps its
// own switch over op names. Each op fills one OpDef in src/ir/ops/<family>.cc.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ir/attribute.h"
#include "ir/graph.h"

namespace mpq {

// How an op behaves under int8 quantization (read by the quantizer and the planner).
enum class QuantRule {
  kFloatOnly,  // runs in float; int8 inputs are dequantized before it
  kRequant,    // computes in int8 with int32 accumulation, requantizes its output (conv, gemm, add)
  kPassthrough,  // moves/compares values: int8 in, int8 out with the same scale (relu, maxpool,
                 // reshape)
};
const char* quant_rule_name(QuantRule r);

struct AttrSpec {
  std::string name;
  AttrType type;
  std::optional<AttrValue> default_value;  // nullopt: required (unless `optional` is set)
  bool optional = false;                   // may be absent with no default (e.g. Conv kernel_shape)
};

// Static type of a value: what shape inference produces.
struct TypeInfo {
  DType dtype = DType::f32;
  Shape shape;
};

// Shape and dtype inference: reads node.inputs[i]->{dtype,shape,constant} and attributes; returns
// one TypeInfo per output. Throws kInvalidInput naming the node on a mismatch.
using InferFn = std::function<std::vector<TypeInfo>(const Node&)>;
// Reference forward (the fp32 oracle): inputs in node order (an omitted optional input is an empty
// Tensor); returns the outputs.
using ForwardFn = std::function<std::vector<Tensor>(const Node&, const std::vector<Tensor>&)>;
// Backward (training): given inputs, outputs and the gradient of each output, returns the gradient
// of each input (an empty Tensor where none flows, e.g. integer inputs).
using BackwardFn = std::function<std::vector<Tensor>(const Node&, const std::vector<Tensor>& inputs,
                                                     const std::vector<Tensor>& outputs,
                                                     const std::vector<Tensor>& grad_outputs)>;
// Multiply-accumulate count of one node, for `mpq info` (0 for data movement).
using FlopsFn = std::function<int64_t(const Node&)>;

class Graph;
// ONNX binding: which ONNX op this is and how older opsets map onto mpq's canonical form.
struct OnnxBinding {
  std::string op_type;  // empty: mpq-internal, not exported to the default domain
  int min_opset = 1;
  int max_opset = 18;
  std::string domain;  // "" = ai.onnx
  // Optional: rewrites an imported node of an older opset into the canonical form (e.g. Clip's
  // min/max attributes into inputs). Runs after attributes are converted and defaults filled.
  std::function<void(Graph&, Node&, int opset)> import_fixup;
  // Optional: attributes that exist only in mpq (not written on export).
  std::vector<std::string> internal_attrs;
};

// A closed interval of values (int8 range derivation through fused activations).
struct ValueRange {
  float lo = 0.f, hi = 0.f;
};

// How an element-wise op behaves as a fused epilogue of a Conv/Gemm (DESIGN.md §4). Fusion,
// range derivation and the reference forward of FusedConv/FusedGemm read this; backends map the
// op kind to their own implementation.
struct EpilogueTrait {
  // y = f(x; a, b), where (a, b) are the node's parameters as `params` reads them.
  float (*apply)(float x, float a, float b) = nullptr;
  // Reads (a, b) from a node of this op; false if the node cannot be fused (a Clip bound that is
  // not a constant). Unset: no parameters.
  std::function<bool(const Node&, float* a, float* b)> params;
  // Shape of f, for ranges: f does not increase below minimum_at(a, b) and does not decrease
  // above it (-inf: monotone non-decreasing, +inf: non-increasing). Unset: -inf.
  float (*minimum_at)(float a, float b) = nullptr;
  // The op that computes x * f(x; a, b) (Sigmoid: Silu), for the gated patterns that exporters
  // write as Mul(x, f(x)); nullopt when there is none.
  std::optional<OpKind> (*gated)(float a, float b) = nullptr;
};

struct OpDef {
  OpKind kind;
  std::string name;
  std::string doc;  // one line for the README op table
  int min_inputs = 1, max_inputs = 1;
  int min_outputs = 1, max_outputs = 1;
  std::vector<AttrSpec> attrs;
  InferFn infer;
  ForwardFn forward;
  BackwardFn backward;  // set by ops that training supports
  QuantRule quant = QuantRule::kFloatOnly;
  // Input 1 is a weight, quantized per output channel when constant (Conv, Gemm, MatMul): what
  // NNI calls a quantizable layer. Other requantizing ops (Add, Mul, averages) have none.
  bool weighted = false;
  // For weighted ops: the axis of input 1 that indexes output channels (Conv 0, Gemm transB ? 0 :
  // 1, MatMul the last), the axis per-channel weight scales run along.
  std::function<int(const Node&)> weight_channel_axis;
  FlopsFn flops;
  OnnxBinding onnx;
  // Attribute values / variants mpq does not handle (checked at import): returns an empty string if
  // supported, else the reason (the importer reports it with the node name).
  std::function<std::string(const Node&)> unsupported_reason;
  // Optional: rejects attribute values that no input shape can make valid (a zero stride, a
  // negative pad), reading the node's attributes and the ranks of its inputs where they are typed.
  // The importer runs it on every node before any shape inference (mpq's or ONNX's, which divides
  // by strides unchecked), the engine-file reader on every node it reads. Throws kInvalidInput
  // naming the key.
  std::function<void(const Node&)> check_attrs;
  // Optional: true where check_attrs could not rule out every bad value because an input's rank is
  // not declared (ONNX's shape inference would index dims with it unchecked; the importer then
  // skips ONNX's inference, and mpq's own, which knows every rank, checks the value).
  std::function<bool(const Node&)> needs_declared_ranks;
  // Set for element-wise ops that can be fused into a Conv/Gemm epilogue.
  std::optional<EpilogueTrait> epilogue;
};

// The registry, built once from ops.def.
const OpDef& op_def(OpKind k);
const std::vector<const OpDef*>& all_op_defs();
const OpDef* find_op_def(std::string_view name);
// Finds the op bound to an ONNX (domain, op_type) valid at `opset`.
const OpDef* find_onnx_op(std::string_view domain, std::string_view op_type, int opset);

// Whether n is a weighted op (OpDef::weighted) whose weight (input 1) is a constant.
bool has_constant_weight(const Node& n);

// Fills defaults for absent attributes; throws on a missing required attribute, a wrong type or an
// attribute the schema does not know (naming the node and key).
void apply_attr_schema(Node& n);
// Runs the op's infer on one node and stores the result on its outputs. Each output's element
// count is checked against max_tensor_elements() (an unknown batch counts as 1) unless
// `cap_sizes` is false: analyses that set the batch to a large sample turn that off, since the
// cap is on what one image may need.
void infer_node(Node& n, bool cap_sizes = true);
// Shape/dtype inference over the whole graph in topological order.
void infer_shapes(Graph& g);

}  // namespace mpq
