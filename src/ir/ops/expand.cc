// Expand: broadcasts the input to a shape (numpy rules: a 1 in the shape keeps the input's dim).
// In mpq's canonical form the shape may hold -1 for "the run-time batch" when an optional third
// input is given: any value whose dim 0 is the batch (the symbolic-shape pass writes this form
// for shapes computed from Shape(input)[0], e.g. a class token expanded to the batch).
#include <cstring>

#include "core/limits.h"
#include "ir/ops/tensor_util.h"

namespace mpq::ops {

namespace {

// The target shape with -1 entries (batch) replaced by `batch` (-1 when unknown).
std::vector<int64_t> expand_target(std::vector<int64_t> spec, bool has_batch_ref, int64_t batch) {
  for (size_t i = 0; i < spec.size(); ++i) {
    if (spec[i] >= 0) continue;
    if (spec[i] != -1 || !has_batch_ref)
      invalid_input(str("shape[", i, "] = ", spec[i], " is invalid (dims are >= 0)"))
          .key("shape")
          .raise();
    spec[i] = batch;
  }
  return spec;
}

// Broadcast of the input shape with the target; -1 (the batch) behaves like an unknown dim.
Shape expand_shape(const Shape& x, const std::vector<int64_t>& spec) {
  return broadcast_shapes(x, Shape(spec.begin(), spec.end()));
}

}  // namespace

OpDef def_Expand() {
  OpDef d;
  d.doc = "broadcast to the shape given by input 1 (numpy rules)";
  d.min_inputs = 2;
  d.max_inputs = 3;
  d.infer = [](const Node& n) {
    const Value& x = in(n, 0);
    expect_index_dtype(n, 1);
    const Shape& ss = in(n, 1).shape;
    if (ss.size() != 1) invalid_input(str("shape must be 1-D, got ", shape_str(ss))).raise();
    if (ss[0] > kMaxRank)
      invalid_input(str("a target shape of ", ss[0], " entries (more than ", kMaxRank, " dims)"))
          .raise();
    if (auto spec = constant_ints(n, 1)) {
      // The batch is known here when the reference's dim 0 is (a graph at a fixed batch).
      const bool ref = n.has_input(2);
      if (ref && in(n, 2).shape.empty())
        invalid_input("the batch reference must have rank >= 1").raise();
      const int64_t batch = ref ? in(n, 2).shape[0] : -1;
      return std::vector<TypeInfo>{
          {x.dtype, expand_shape(x.shape, expand_target(*spec, ref, batch))}};
    }
    if (ss[0] < 0)
      unsupported("the length of the target shape is unknown until run time (output rank unknown)")
          .raise();
    const size_t r = std::max<size_t>(x.shape.size(), static_cast<size_t>(ss[0]));
    return std::vector<TypeInfo>{{x.dtype, Shape(r, -1)}};
  };
  d.forward = [](const Node&, const std::vector<Tensor>& x) {
    const bool ref = x.size() > 2 && !x[2].empty();
    if (ref && x[2].rank() == 0) invalid_input("the batch reference must have rank >= 1").raise();
    const auto spec = expand_target(x[1].to_int64s(), ref, ref ? x[2].dim(0) : -1);
    const Shape os = expand_shape(x[0].shape(), spec);
    Tensor y(x[0].dtype(), os);
    const size_t es = dtype_size(y.dtype());
    const auto* src = static_cast<const uint8_t*>(x[0].raw());
    auto* dst = static_cast<uint8_t*>(y.raw());
    broadcast_for_each<1>(os, {&x[0].shape()}, [&](int64_t k, const std::array<int64_t, 1>& i) {
      std::memcpy(dst + k * es, src + i[0] * es, es);
    });
    return std::vector<Tensor>{y};
  };
  d.quant = QuantRule::kPassthrough;
  d.onnx = onnx_op("Expand", 8);
  return d;
}

}  // namespace mpq::ops
