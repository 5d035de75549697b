// Split along one axis into the node's outputs: sizes from input `split` (opset 13+; the opset
// 2-12 attribute moves there at import), else equal parts (opset 18 `num_outputs`: the last part
// may be smaller). Any dtype (byte copies); int8 passes through with its scale.
#include <cstring>
#include <limits>

#include "ir/ops/tensor_util.h"

namespace mpq::ops {

namespace {

// Sizes of the parts along an axis of length `len` (-1 entries when len is unknown).
// `unknown_ok`: -1 entries stand for sizes known at run time only (shape inference).
std::vector<int64_t> split_sizes(const Node& n, int64_t len,
                                 const std::optional<std::vector<int64_t>>& split,
                                 bool unknown_ok = false) {
  const int64_t parts = static_cast<int64_t>(n.outputs.size());
  if (split) {
    if (static_cast<int64_t>(split->size()) != parts)
      invalid_input(str("split has ", split->size(), " entries for ", parts, " outputs"))
          .key("split")
          .raise();
    int64_t sum = 0;
    bool known = true;
    for (int64_t s : *split) {
      if (s < -1 || (s == -1 && !unknown_ok))
        invalid_input(str("split sizes must be >= 0, got ", s)).key("split").raise();
      known &= s >= 0;
      sum += s;
    }
    if (known && len >= 0 && sum != len)
      invalid_input(str("split sizes add up to ", sum, ", the axis has ", len))
          .key("split")
          .raise();
    return *split;
  }
  if (n.attrs.has("num_outputs") && n.attrs.i("num_outputs") != parts)
    invalid_input(
        str("num_outputs is ", n.attrs.i("num_outputs"), " but the node has ", parts, " outputs"))
        .key("num_outputs")
        .raise();
  if (len < 0) return std::vector<int64_t>(parts, -1);
  const bool uneven_ok = n.attrs.has("num_outputs");
  if (!uneven_ok && len % parts != 0)
    invalid_input(str("axis of size ", len, " does not split into ", parts, " equal parts"))
        .raise();
  const int64_t chunk = (len + parts - 1) / parts;
  std::vector<int64_t> sizes(parts, chunk);
  sizes.back() = len - chunk * (parts - 1);
  return sizes;
}

std::optional<std::vector<int64_t>> split_input(const std::vector<Tensor>& x) {
  if (x.size() > 1 && !x[1].empty()) return x[1].to_int64s();
  return std::nullopt;
}

// Opset < 13: the `split` attribute becomes a constant input.
void split_attr_to_input(Graph& g, Node& n, int opset) {
  if (opset >= 13 || !n.attrs.has("split")) return;
  std::vector<int64_t> s = n.attrs.ints("split");
  n.attrs.erase("split");
  n.inputs.resize(2, nullptr);
  g.set_input(&n, 1,
              g.add_constant(g.unique_value_name(n.name + "_split"),
                             Tensor::from<int64_t>({static_cast<int64_t>(s.size())}, s)));
}

}  // namespace

OpDef def_Split() {
  OpDef d;
  d.doc = "split along `axis` into parts of the sizes in input `split` (or equal parts)";
  d.min_inputs = 1;
  d.max_inputs = 2;
  d.max_outputs = std::numeric_limits<int>::max();
  d.attrs = {attr_int("axis", 0), {"num_outputs", AttrType::kInt, std::nullopt, true}};
  d.infer = [](const Node& n) {
    const Value& x = in(n, 0);
    const int64_t axis = normalize_axis(n.attrs.i("axis"), x.shape.size(), "axis");
    std::optional<std::vector<int64_t>> split;
    if (n.has_input(1)) {
      expect_index_dtype(n, 1);
      split = constant_ints(n, 1);
      if (!split) {  // sizes known at run time only: the ranks are known, the axis dims are not
        const Shape& ss = in(n, 1).shape;
        if (ss.size() != 1 || (ss[0] >= 0 && ss[0] != static_cast<int64_t>(n.outputs.size())))
          invalid_input(str("split must be 1-D with one entry per output (", n.outputs.size(),
                            "), got shape ", shape_str(ss)))
              .key("split")
              .raise();
        split = std::vector<int64_t>(n.outputs.size(), -1);
      }
    }
    std::vector<TypeInfo> out;
    for (int64_t s : split_sizes(n, x.shape[axis], split, true)) {
      Shape os = x.shape;
      os[axis] = s;
      out.push_back({x.dtype, os});
    }
    return out;
  };
  d.forward = [](const Node& n, const std::vector<Tensor>& x) {
    const Tensor& t = x[0];
    const int64_t axis = normalize_axis(n.attrs.i("axis"), t.rank(), "axis");
    const std::vector<int64_t> sizes =
        split_sizes(n, t.dim(static_cast<int>(axis)), split_input(x));
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < t.rank(); ++i) {
      if (i < axis) outer *= t.dim(static_cast<int>(i));
      if (i > axis) inner *= t.dim(static_cast<int>(i));
    }
    const size_t es = dtype_size(t.dtype());
    const size_t row = static_cast<size_t>(t.dim(static_cast<int>(axis)) * inner) * es;
    const auto* src = static_cast<const uint8_t*>(t.raw());
    std::vector<Tensor> out;
    size_t col = 0;
    for (int64_t s : sizes) {
      Shape os = t.shape();
      os[axis] = s;
      Tensor y(t.dtype(), os);
      const size_t chunk = static_cast<size_t>(s * inner) * es;
      auto* dst = static_cast<uint8_t*>(y.raw());
      for (int64_t o = 0; o < outer; ++o) std::memcpy(dst + o * chunk, src + o * row + col, chunk);
      col += chunk;
      out.push_back(y);
    }
    return out;
  };
  d.quant = QuantRule::kPassthrough;
  d.onnx = onnx_op("Split", 2);
  d.onnx.internal_attrs = {"split"};
  d.onnx.import_fixup = split_attr_to_input;
  return d;
}

}  // namespace mpq::ops
