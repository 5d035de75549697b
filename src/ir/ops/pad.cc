// Pad: constant / reflect / edge padding (negative pads crop). Canonical form is opset 11+: pads
// and constant_value as inputs (opset 18's optional `axes` input too); the opset 2-10 `pads` and
// `value` attributes become constant inputs at import. Any dtype (byte copies).
#include <cstring>

#include "ir/ops/tensor_util.h"

namespace mpq::ops {

namespace {

// Per-dim (begin, end) pads for an input of rank r, from `pads` over `axes` (all dims if absent).
std::vector<std::pair<int64_t, int64_t>> per_dim_pads(
    const std::vector<int64_t>& pads, const std::optional<std::vector<int64_t>>& axes, int64_t r) {
  std::vector<int64_t> ax;
  if (axes) {
    for (int64_t a : *axes) ax.push_back(normalize_axis(a, r, "axes"));
    expect_unique_axes(ax, "axes");
  } else {
    for (int64_t i = 0; i < r; ++i) ax.push_back(i);
  }
  if (pads.size() != 2 * ax.size())
    invalid_input(str("pads has ", pads.size(), " values, expected ", 2 * ax.size(),
                      " (begin and end for each of ", ax.size(), " axes)"))
        .key("pads")
        .raise();
  std::vector<std::pair<int64_t, int64_t>> out(r, {0, 0});
  for (size_t i = 0; i < ax.size(); ++i) out[ax[i]] = {pads[i], pads[i + ax.size()]};
  return out;
}

Shape padded_shape(const Shape& s, const std::vector<std::pair<int64_t, int64_t>>& p) {
  Shape out(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    // Pads of any size: the sum is checked, so 2^62-element pads fail here, not as a wrapped size.
    const bool fits = s[i] < 0 || (!__builtin_add_overflow(s[i], p[i].first, &out[i]) &&
                                   !__builtin_add_overflow(out[i], p[i].second, &out[i]));
    if (!fits)
      invalid_input(str("pads ", p[i].first, " and ", p[i].second, " of dim ", i, " of shape ",
                        shape_str(s), " overflow the size arithmetic: fix the pads"))
          .key("pads")
          .raise();
    if (s[i] < 0) out[i] = -1;
    if (s[i] >= 0 && out[i] < 0)
      invalid_input(str("pads crop dim ", i, " of shape ", shape_str(s), " below zero"))
          .key("pads")
          .raise();
  }
  return out;
}

enum class Mode { kConstant, kReflect, kEdge };

Mode mode_of(const Node& n) {
  const std::string& m = n.attrs.s("mode");
  if (m == "constant") return Mode::kConstant;
  if (m == "reflect") return Mode::kReflect;
  if (m == "edge") return Mode::kEdge;
  invalid_input(str("mode '", m, "' is not one of constant, reflect, edge")).key("mode").raise();
}

// Source index along one dim for output position i - begin = j, or -1 for the constant value.
int64_t source_index(int64_t j, int64_t n, Mode mode) {
  if (j >= 0 && j < n) return j;
  if (mode == Mode::kConstant || n == 0) return -1;
  if (mode == Mode::kEdge) return j < 0 ? 0 : n - 1;
  if (n == 1) return 0;
  const int64_t period = 2 * (n - 1);  // reflect without repeating the edge, as numpy does
  int64_t m = j % period;
  if (m < 0) m += period;
  return m < n ? m : period - m;
}

std::vector<TypeInfo> pad_infer(const Node& n) {
  const Value& x = in(n, 0);
  mode_of(n);
  if (in(n, 1).dtype != DType::i64)
    invalid_input(str("pads must be int64, got ", dtype_name(in(n, 1).dtype))).raise();
  if (n.has_input(2) && in(n, 2).dtype != x.dtype)
    invalid_input(
        str("constant_value is ", dtype_name(in(n, 2).dtype), ", data is ", dtype_name(x.dtype)))
        .raise();
  if (n.has_input(3)) expect_index_dtype(n, 3);
  const int64_t r = static_cast<int64_t>(x.shape.size());
  auto pads = constant_ints(n, 1);
  std::optional<std::vector<int64_t>> axes;
  if (n.has_input(3)) {
    axes = constant_ints(n, 3);
    if (!axes) return std::vector<TypeInfo>{{x.dtype, Shape(r, -1)}};
  }
  if (!pads) {  // pads known at run time only: the padded dims are unknown
    Shape s(r, -1);
    if (axes) {
      s = x.shape;
      for (int64_t a : *axes) s[normalize_axis(a, r, "axes")] = -1;
    }
    return std::vector<TypeInfo>{{x.dtype, s}};
  }
  return std::vector<TypeInfo>{{x.dtype, padded_shape(x.shape, per_dim_pads(*pads, axes, r))}};
}

std::vector<Tensor> pad_forward(const Node& n, const std::vector<Tensor>& x) {
  const Tensor& t = x[0];
  const int r = t.rank();
  std::optional<std::vector<int64_t>> axes;
  if (x.size() > 3 && !x[3].empty()) axes = x[3].to_int64s();
  auto p = per_dim_pads(x[1].to_int64s(), axes, r);
  const Shape os = padded_shape(t.shape(), p);
  const Mode mode = mode_of(n);
  for (int i = 0; i < r; ++i)
    if (mode != Mode::kConstant && t.dim(i) == 0 && os[i] > 0)
      invalid_input(str("cannot pad an empty dim (", i, ") in ", n.attrs.s("mode"), " mode"))
          .raise();
  Tensor y(t.dtype(), os);
  const size_t es = dtype_size(t.dtype());
  // The constant fill value in the data's dtype (zero when absent).
  std::vector<uint8_t> fill(es, 0);
  if (x.size() > 2 && !x[2].empty()) {
    if (x[2].numel() != 1) invalid_input("constant_value must be a scalar").raise();
    std::memcpy(fill.data(), x[2].raw(), es);
  }
  const auto in_st = strides_of(t.shape());
  const auto* src = static_cast<const uint8_t*>(t.raw());
  auto* dst = static_cast<uint8_t*>(y.raw());
  std::vector<int64_t> idx(r, 0);
  for (int64_t k = 0, total = y.numel(); k < total; ++k) {
    int64_t off = 0;
    bool constant = false;
    for (int dd = 0; dd < r && !constant; ++dd) {
      const int64_t s = source_index(idx[dd] - p[dd].first, t.dim(dd), mode);
      if (s < 0) constant = true;
      off += s * in_st[dd];
    }
    std::memcpy(dst + k * es, constant ? fill.data() : src + off * es, es);
    for (int dd = r - 1; dd >= 0; --dd) {
      if (++idx[dd] < os[dd]) break;
      idx[dd] = 0;
    }
  }
  return std::vector<Tensor>{y};
}

// Constant `axes` (opset 18) are folded into full-rank pads: the opset 11-17 form.
void fold_pad_axes(Graph& g, Node& n) {
  if (n.inputs.size() < 4 || !n.inputs[3] || !n.inputs[0] || !n.inputs[0]->has_type) return;
  auto axes = constant_ints(n, 3);
  auto pads = constant_ints(n, 1);
  if (!axes || !pads) return;
  const int64_t r = static_cast<int64_t>(n.inputs[0]->shape.size());
  std::vector<int64_t> full(2 * r);
  auto p = per_dim_pads(*pads, axes, r);
  for (int64_t i = 0; i < r; ++i) full[i] = p[i].first, full[i + r] = p[i].second;
  g.set_input(
      &n, 1,
      g.add_constant(g.unique_value_name(n.name + "_pads"), Tensor::from<int64_t>({2 * r}, full)));
  g.set_input(&n, 3, nullptr);
  n.inputs.resize(3);
}

// Opset 2-10: the `pads` and `value` attributes become the pads and constant_value inputs.
void pad_attributes_to_inputs(Graph& g, Node& n) {
  if (!n.attrs.has("pads"))
    invalid_input("Pad before opset 11 requires the 'pads' attribute")
        .node(n.name)
        .key("pads")
        .raise();
  std::vector<int64_t> pads = n.attrs.ints("pads");
  const float value = n.attrs.f("value", 0.f);
  n.attrs.erase("pads");
  n.attrs.erase("value");
  n.inputs.resize(3, nullptr);
  g.set_input(&n, 1,
              g.add_constant(g.unique_value_name(n.name + "_pads"),
                             Tensor::from<int64_t>({static_cast<int64_t>(pads.size())}, pads)));
  // Opset 2-10 Pad is float-only: the value gets the data's float dtype when it is known.
  Tensor v = Tensor::scalar(value);
  if (n.inputs[0] && n.inputs[0]->has_type && is_float_dtype(n.inputs[0]->dtype))
    v = v.cast(n.inputs[0]->dtype);
  g.set_input(&n, 2, g.add_constant(g.unique_value_name(n.name + "_value"), v));
}

}  // namespace

OpDef def_Pad() {
  OpDef d;
  d.doc = "pad with a constant, by reflection or by edge replication (negative pads crop)";
  d.min_inputs = 2;
  d.quant = QuantRule::kPassthrough;  // zero padding is the zero point exactly
  d.max_inputs = 4;
  d.attrs = {attr_string("mode", "constant")};
  d.infer = pad_infer;
  d.forward = pad_forward;
  d.onnx = onnx_op("Pad", 2);
  d.onnx.internal_attrs = {"pads", "value"};  // opset 2-10
  d.onnx.import_fixup = [](Graph& g, Node& n, int opset) {
    if (opset >= 18)
      fold_pad_axes(g, n);
    else if (opset < 11)
      pad_attributes_to_inputs(g, n);
  };
  return d;
}

}  // namespace mpq::ops
