// Ops that change only the shape (Flatten, Reshape, Squeeze, Unsqueeze), pass data through
// (Identity, inference-mode Dropout) or read it (Shape). They work for every dtype, share the
// input's storage, and keep int8 (with its scale) between int8 layers.
#include <algorithm>

#include "core/limits.h"
#include "ir/ops/tensor_util.h"

namespace mpq::ops {

namespace {

// A view of x with a new shape (same storage and quantization parameters).
Tensor view_as(const Tensor& x, const Shape& s) {
  if (shape_numel(s) != x.numel())
    invalid_input(str("cannot reshape ", shape_str(x.shape()), " (", x.numel(), " elements) to ",
                      shape_str(s)))
        .raise();
  return x.reshaped(s);
}

// Backward of every op here: the gradient reshaped to the data input's shape.
std::vector<Tensor> reshape_backward(const Node& n, const std::vector<Tensor>& x,
                                     const std::vector<Tensor>&, const std::vector<Tensor>& gy) {
  std::vector<Tensor> gx(x.size());
  gx[0] = to_f32(gy[0]).reshaped(x[0].shape());
  return gx;
}

int64_t prod(const Shape& s, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to; ++i) {
    if (s[i] < 0) return -1;
    p *= s[i];
  }
  return p;
}

// ONNX Reshape: 0 copies the input dim (unless allowzero), -1 is inferred. Input dims may be
// unknown (-1) at graph-build time; the result then has unknown dims where they cannot be derived.
Shape reshape_target(const Shape& in_shape, const std::vector<int64_t>& spec, bool allowzero) {
  Shape out(spec.size());
  std::vector<bool> copied(spec.size(), false);
  int infer_at = -1;
  bool has_zero = false;
  for (size_t i = 0; i < spec.size(); ++i) {
    const int64_t v = spec[i];
    if (v == 0 && !allowzero) {
      if (i >= in_shape.size())
        invalid_input(str("shape[", i, "] = 0 copies input dim ", i, ", but the input ",
                          shape_str(in_shape), " has rank ", in_shape.size()))
            .raise();
      out[i] = in_shape[i];
      copied[i] = true;
    } else if (v == -1) {
      if (infer_at >= 0) invalid_input("shape has more than one -1").raise();
      infer_at = static_cast<int>(i);
    } else if (v < -1) {
      invalid_input(str("shape[", i, "] = ", v, " is invalid (dims are >= -1)")).raise();
    } else {
      out[i] = v;
      has_zero |= v == 0;
    }
  }
  if (infer_at >= 0 && has_zero)
    invalid_input("shape has both -1 and a literal 0 (allowzero=1): the -1 dim is ambiguous")
        .raise();
  // Element count of the input over dims not copied in place (copied unknown dims cancel out).
  int64_t num = 1;
  bool fits = true;  // a product past int64 is no tensor any file can hold
  for (size_t j = 0; j < in_shape.size() && num >= 0; ++j) {
    if (j < copied.size() && copied[j]) continue;
    if (in_shape[j] < 0)
      num = -1;
    else
      fits &= checked_mul(num, in_shape[j], &num);
  }
  int64_t den = 1;
  for (size_t j = 0; j < out.size(); ++j)
    if (!copied[j] && static_cast<int>(j) != infer_at) fits &= checked_mul(den, out[j], &den);
  if (!fits)
    invalid_input(str("the element count of input ", shape_str(in_shape), " or of shape ",
                      shape_str(Shape(spec.begin(), spec.end())), " overflows"))
        .raise();
  if (infer_at >= 0) {
    if (num < 0) {
      out[infer_at] = -1;
    } else {
      if (den == 0 || num % den != 0)
        invalid_input(str("cannot reshape ", shape_str(in_shape), " to ", shape_str(Shape(spec)),
                          ": element counts do not divide"))
            .raise();
      out[infer_at] = num / den;
    }
  } else if (num >= 0 && num != den) {
    invalid_input(str("cannot reshape ", shape_str(in_shape), " to ", shape_str(Shape(spec)),
                      ": element counts differ"))
        .raise();
  }
  return out;
}

// Squeeze: the axes to drop (normalized); all 1-dims when `axes` is absent.
std::vector<int64_t> squeeze_axes(const Shape& s, const std::optional<std::vector<int64_t>>& axes) {
  std::vector<int64_t> out;
  const int64_t r = static_cast<int64_t>(s.size());
  if (!axes) {
    for (int64_t i = 0; i < r; ++i) {
      if (s[i] < 0)
        unsupported(str("Squeeze without axes on ", shape_str(s),
                        ": dims unknown until run time make the output rank unknown"))
            .raise();
      if (s[i] == 1) out.push_back(i);
    }
    return out;
  }
  for (int64_t a : *axes) {
    const int64_t k = normalize_axis(a, r, "axes");
    if (s[k] > 1 || s[k] == 0)
      invalid_input(
          str("cannot squeeze axis ", a, " of shape ", shape_str(s), ": its size is not 1"))
          .raise();
    out.push_back(k);
  }
  expect_unique_axes(out, "axes");
  return out;
}

Shape squeezed(const Shape& s, const std::vector<int64_t>& axes) {
  Shape out;
  for (int64_t i = 0; i < static_cast<int64_t>(s.size()); ++i)
    if (std::find(axes.begin(), axes.end(), i) == axes.end()) out.push_back(s[i]);
  return out;
}

Shape unsqueezed(const Shape& s, const std::vector<int64_t>& axes) {
  const int64_t r = static_cast<int64_t>(s.size() + axes.size());
  std::vector<int64_t> norm;
  for (int64_t a : axes) norm.push_back(normalize_axis(a, r, "axes"));
  expect_unique_axes(norm, "axes");
  Shape out(r);
  size_t src = 0;
  for (int64_t i = 0; i < r; ++i)
    out[i] = std::find(norm.begin(), norm.end(), i) != norm.end() ? 1 : s[src++];
  return out;
}

// Opset < 13 Squeeze/Unsqueeze: the `axes` attribute becomes a constant input.
void axes_attr_to_input(Graph& g, Node& n, int opset) {
  if (opset >= 13 || !n.attrs.has("axes")) return;
  std::vector<int64_t> axes = n.attrs.ints("axes");
  n.attrs.erase("axes");
  n.inputs.resize(2, nullptr);
  g.set_input(&n, 1,
              g.add_constant(g.unique_value_name(n.name + "_axes"),
                             Tensor::from<int64_t>({static_cast<int64_t>(axes.size())}, axes)));
}

std::vector<int64_t> tensor_ints(const Tensor& t) {
  return t.to_int64s();
}

std::pair<int64_t, int64_t> shape_range(const Node& n, int64_t r) {
  auto clampi = [r](int64_t v) {
    if (v < 0) v += r;
    return std::clamp<int64_t>(v, 0, r);
  };
  int64_t s = clampi(n.attrs.i("start", 0));
  int64_t e = n.attrs.has("end") ? clampi(n.attrs.i("end")) : r;
  return {s, std::max(s, e)};
}

}  // namespace

OpDef def_Flatten() {
  OpDef d;
  d.doc = "reshape to 2-D [prod(dims before axis), prod(dims from axis)]";
  d.attrs = {attr_int("axis", 1)};
  auto out_shape = [](const Node& n, const Shape& s) {
    const int64_t r = static_cast<int64_t>(s.size());
    int64_t a = n.attrs.i("axis");
    if (a < 0) a += r;
    if (a < 0 || a > r)
      invalid_input(str("axis ", n.attrs.i("axis"), " is out of range for rank ", r))
          .key("axis")
          .raise();
    return Shape{prod(s, 0, a), prod(s, a, s.size())};
  };
  d.infer = [out_shape](const Node& n) {
    return std::vector<TypeInfo>{{in(n, 0).dtype, out_shape(n, in(n, 0).shape)}};
  };
  d.forward = [out_shape](const Node& n, const std::vector<Tensor>& x) {
    return std::vector<Tensor>{view_as(x[0], out_shape(n, x[0].shape()))};
  };
  d.backward = reshape_backward;
  d.quant = QuantRule::kPassthrough;
  d.onnx = onnx_op("Flatten", 1);
  return d;
}

OpDef def_Reshape() {
  OpDef d;
  d.doc = "reshape to the shape given by input 1 (0 copies a dim unless allowzero, -1 is inferred)";
  d.min_inputs = d.max_inputs = 2;
  // allowzero exists from opset 14: optional so that nodes of older opsets stay valid on export.
  d.attrs = {{"allowzero", AttrType::kInt, std::nullopt, true}};
  d.infer = [](const Node& n) {
    const Value& x = in(n, 0);
    const Value& s = in(n, 1);
    if (s.dtype != DType::i64)
      invalid_input(str("shape must be int64, got ", dtype_name(s.dtype))).raise();
    if (s.shape.size() != 1)
      invalid_input(str("shape must be a 1-D tensor, got shape ", shape_str(s.shape))).raise();
    if (s.shape[0] > kMaxRank)
      invalid_input(
          str("a target shape of ", s.shape[0], " entries (more than ", kMaxRank, " dims)"))
          .raise();
    if (auto spec = constant_ints(n, 1))
      return std::vector<TypeInfo>{
          {x.dtype, reshape_target(x.shape, *spec, n.attrs.i("allowzero", 0))}};
    if (s.shape[0] < 0)
      unsupported("the length of the target shape is unknown until run time (output rank unknown)")
          .raise();
    return std::vector<TypeInfo>{{x.dtype, Shape(s.shape[0], -1)}};
  };
  d.forward = [](const Node& n, const std::vector<Tensor>& x) {
    Shape s = reshape_target(x[0].shape(), tensor_ints(x[1]), n.attrs.i("allowzero", 0));
    return std::vector<Tensor>{view_as(x[0], s)};
  };
  d.backward = reshape_backward;
  d.quant = QuantRule::kPassthrough;
  d.onnx = onnx_op("Reshape", 5);
  return d;
}

// Canonical form: axes as optional input 1 (opset 13+); the opset 1-12 attribute moves there.
OpDef def_Squeeze() {
  OpDef d;
  d.doc = "drop size-1 dims (those listed in input `axes`, or all)";
  d.min_inputs = 1;
  d.max_inputs = 2;
  d.infer = [](const Node& n) {
    const Value& x = in(n, 0);
    if (n.has_input(1)) {
      expect_index_dtype(n, 1);
      auto axes = constant_ints(n, 1);
      if (!axes) {  // axes known at run time only: the rank is known from their count
        const Shape& as = in(n, 1).shape;
        if (as.size() != 1 || as[0] < 0 || as[0] > static_cast<int64_t>(x.shape.size()))
          unsupported("Squeeze axes computed at run time make the output rank unknown").raise();
        return std::vector<TypeInfo>{{x.dtype, Shape(x.shape.size() - as[0], -1)}};
      }
      return std::vector<TypeInfo>{{x.dtype, squeezed(x.shape, squeeze_axes(x.shape, axes))}};
    }
    return std::vector<TypeInfo>{{x.dtype, squeezed(x.shape, squeeze_axes(x.shape, std::nullopt))}};
  };
  d.forward = [](const Node&, const std::vector<Tensor>& x) {
    std::optional<std::vector<int64_t>> axes;
    if (x.size() > 1 && !x[1].empty()) axes = tensor_ints(x[1]);
    return std::vector<Tensor>{
        view_as(x[0], squeezed(x[0].shape(), squeeze_axes(x[0].shape(), axes)))};
  };
  d.backward = reshape_backward;
  d.quant = QuantRule::kPassthrough;
  d.onnx = onnx_op("Squeeze", 1);
  d.onnx.internal_attrs = {"axes"};
  d.onnx.import_fixup = axes_attr_to_input;
  return d;
}

OpDef def_Unsqueeze() {
  OpDef d;
  d.doc = "insert size-1 dims at the output positions listed in input `axes`";
  d.min_inputs = d.max_inputs = 2;
  d.infer = [](const Node& n) {
    const Value& x = in(n, 0);
    expect_index_dtype(n, 1);
    auto axes = constant_ints(n, 1);
    if (!axes) {
      const Shape& as = in(n, 1).shape;
      if (as.size() != 1 || as[0] < 0)
        unsupported("Unsqueeze axes computed at run time make the output rank unknown").raise();
      return std::vector<TypeInfo>{{x.dtype, Shape(x.shape.size() + as[0], -1)}};
    }
    return std::vector<TypeInfo>{{x.dtype, unsqueezed(x.shape, *axes)}};
  };
  d.forward = [](const Node&, const std::vector<Tensor>& x) {
    return std::vector<Tensor>{view_as(x[0], unsqueezed(x[0].shape(), tensor_ints(x[1])))};
  };
  d.backward = reshape_backward;
  d.quant = QuantRule::kPassthrough;
  d.onnx = onnx_op("Unsqueeze", 1);
  d.onnx.internal_attrs = {"axes"};
  d.onnx.import_fixup = axes_attr_to_input;
  return d;
}

OpDef def_Identity() {
  OpDef d;
  d.doc = "y = x";
  d.infer = same_as_input0;
  d.forward = [](const Node&, const std::vector<Tensor>& x) { return std::vector<Tensor>{x[0]}; };
  d.backward = reshape_backward;
  d.quant = QuantRule::kPassthrough;
  d.onnx = onnx_op("Identity", 1);
  return d;
}

// Inference-mode Dropout: y = x and an all-true mask. Canonical form is opset 12+ (ratio and
// training_mode as optional inputs); the opset 7-11 `ratio` attribute is dropped at import.
OpDef def_Dropout() {
  OpDef d;
  d.doc = "identity at inference (optional all-true mask output)";
  d.min_inputs = 1;
  d.max_inputs = 3;
  d.max_outputs = 2;
  d.attrs = {{"seed", AttrType::kInt, std::nullopt, true}};
  d.infer = [](const Node& n) {
    const Value& x = in(n, 0);
    if (n.has_input(1) && !dtype_info(in(n, 1).dtype).is_float)
      invalid_input(str("ratio must be a float scalar, got ", dtype_name(in(n, 1).dtype))).raise();
    if (n.has_input(2) && in(n, 2).dtype != DType::boolean)
      invalid_input(str("training_mode must be a bool scalar, got ", dtype_name(in(n, 2).dtype)))
          .raise();
    return std::vector<TypeInfo>{{x.dtype, x.shape}, {DType::boolean, x.shape}};
  };
  d.forward = [](const Node& n, const std::vector<Tensor>& x) {
    const bool training = x.size() > 2 && !x[2].empty() && scalar_of(x[2], "training_mode") != 0;
    const double ratio = x.size() > 1 && !x[1].empty() ? scalar_of(x[1], "ratio") : 0.5;
    if (training && ratio != 0)
      unsupported(
          "training-mode Dropout with ratio > 0 draws random masks; mpq runs Dropout in "
          "inference mode (set training_mode to false)")
          .raise();
    std::vector<Tensor> out{x[0]};
    if (n.outputs.size() > 1) {
      Tensor mask(DType::boolean, x[0].shape());
      std::fill_n(static_cast<uint8_t*>(mask.raw()), mask.numel(), uint8_t{1});
      out.push_back(mask);
    }
    return out;
  };
  d.backward = reshape_backward;
  d.quant = QuantRule::kPassthrough;
  // Training mode is deterministic only when ratio is 0; a training_mode input that is not a
  // constant false (or a ratio that may be > 0) is rejected at import instead of failing later.
  d.unsupported_reason = [](const Node& n) -> std::string {
    if (!n.has_input(2)) return "";
    auto training = constant_input(n, 2);
    if (training && training->numel() == 1 && scalar_of(*training, "training_mode") == 0) return "";
    auto ratio = n.has_input(1) ? constant_input(n, 1) : std::nullopt;
    if (ratio && ratio->numel() == 1 && scalar_of(*ratio, "ratio") == 0) return "";
    return "training-mode Dropout (training_mode not a constant false, ratio not a constant 0) "
           "draws random masks; mpq runs Dropout in inference mode";
  };
  d.onnx = onnx_op("Dropout", 7);
  d.onnx.internal_attrs = {"ratio"};  // opset 7-11; meaningless at inference
  d.onnx.import_fixup = [](Graph&, Node& n, int opset) {
    n.attrs.erase("ratio");
    if (opset < 10 && n.outputs.size() > 1)
      unsupported(str("Dropout's mask output before opset 10 has the input's dtype; mpq supports "
                      "the opset 10+ bool mask (re-export at opset 10 or later)"))
          .node(n.name)
          .raise();
  };
  return d;
}

OpDef def_Shape() {
  OpDef d;
  d.doc = "the input's shape as int64 (dims start..end, opset 15)";
  // start/end exist from opset 15: optional so that older nodes stay valid on export.
  d.attrs = {{"start", AttrType::kInt, std::nullopt, true},
             {"end", AttrType::kInt, std::nullopt, true}};
  d.infer = [](const Node& n) {
    auto [s, e] = shape_range(n, static_cast<int64_t>(in(n, 0).shape.size()));
    return std::vector<TypeInfo>{{DType::i64, Shape{e - s}}};
  };
  d.forward = [](const Node& n, const std::vector<Tensor>& x) {
    auto [s, e] = shape_range(n, x[0].rank());
    std::vector<int64_t> dims(x[0].shape().begin() + s, x[0].shape().begin() + e);
    return std::vector<Tensor>{Tensor::from<int64_t>({e - s}, dims)};
  };
  d.onnx = onnx_op("Shape", 1);
  return d;
}

}  // namespace mpq::ops
