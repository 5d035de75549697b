// Fused post-ops as typed values (DESIGN.md §4). A FusedConv/FusedGemm applies its post-ops in
// order to the Conv/Gemm result: each is an op with an epilogue trait (Relu, Clip, Sigmoid, Silu,
// ...) with its parameters, or Add, the residual sum with the host's input 3. Only this accessor
// knows how the list is stored in the node's attributes (for the engine file and ONNX export).
#pragma once

#include <vector>

#include "ir/op_def.h"

namespace mpq {

struct PostOp {
  OpKind kind;
  float a = 0.f, b = 0.f;  // the op's parameters (EpilogueTrait::params); 0 for Add
  bool operator==(const PostOp&) const = default;
};

// The attributes that hold the list (declared by FusedConv/FusedGemm's schema): the op names in
// order, and two floats per op.
inline constexpr const char* kPostOpsAttr = "post_ops";
inline constexpr const char* kPostOpParamsAttr = "post_op_params";

// The post-ops of a node (empty if it has none). Throws invalid_input naming the node and the
// key for an op that is not a post-op or parameters that do not match the list.
std::vector<PostOp> post_ops(const Node& n);
// Replaces the post-ops of a node (an empty list removes the attributes).
void set_post_ops(Node& n, const std::vector<PostOp>& ops);

// The epilogue trait of an element-wise post-op; throws internal_error for Add and other ops.
const EpilogueTrait& epilogue_of(OpKind k);
// f(x) for an element-wise post-op.
float apply_post_op(const PostOp& p, float x);
// The image of r under an element-wise post-op.
ValueRange post_op_range(const PostOp& p, ValueRange r);

}  // namespace mpq
