// Helpers shared by op definitions: input checks, broadcasting, spec builders, unary maps.
#pragma once

#include <cmath>
#include <functional>

#include "ir/op_def.h"

namespace mpq::ops {

// Attribute spec shorthands.
inline AttrSpec attr_int(const std::string& n, int64_t d) { return {n, AttrType::kInt, d}; }
inline AttrSpec attr_float(const std::string& n, float d) { return {n, AttrType::kFloat, d}; }
inline AttrSpec attr_string(const std::string& n, std::string d) {
  return {n, AttrType::kString, std::move(d)};
}
inline AttrSpec attr_ints_opt(const std::string& n) { return {n, AttrType::kInts, std::nullopt, true}; }
inline AttrSpec attr_required(const std::string& n, AttrType t) { return {n, t, std::nullopt}; }

// Input type checks used by infer functions (throw kInvalidInput; infer_node adds the node name).
const Value& in(const Node& n, size_t i);  // throws if the input is missing
void expect_rank(const Node& n, size_t i, int rank);
void expect_float(const Node& n, size_t i);

// Numpy-style broadcast of two shapes (unknown dims -1 broadcast as unknown).
Shape broadcast_shapes(const Shape& a, const Shape& b);
// Same shape/dtype as input 0 (unary ops).
std::vector<TypeInfo> same_as_input0(const Node& n);

// Element-wise f32 map over input 0 (reference forward of unary ops).
Tensor map_unary(const Tensor& x, const std::function<float(float)>& f);
// Broadcasting binary op over f32 (or any dtype through double).
Tensor map_binary(const Tensor& a, const Tensor& b, DType out,
                  const std::function<double(double, double)>& f);

// Normalizes a possibly negative axis against `rank`; throws naming `key` if out of range.
int64_t normalize_axis(int64_t axis, int64_t rank, const char* key = "axis");

// Strides of a contiguous row-major shape.
std::vector<int64_t> strides_of(const Shape& s);

}  // namespace mpq::ops
