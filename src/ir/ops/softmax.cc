// Softmax and LogSoftmax over one axis (opset 13 semantics, the canonical form). Opset < 13
// coerced the input to 2-D at `axis` (softmax over all trailing dims together); such nodes are
// rewritten at import into Flatten(axis) -> op(axis=1) -> Reshape(Shape(x)) unless `axis` is the
// last dim, where both meanings agree. Float only.
#include <cmath>
#include <limits>

#include "ir/ops/tensor_util.h"

namespace mpq::ops {

namespace {

struct AxisSplit {
  int64_t outer = 1, n = 1, inner = 1;
};

AxisSplit split_at(const Shape& s, int64_t axis) {
  AxisSplit a;
  for (int64_t i = 0; i < static_cast<int64_t>(s.size()); ++i)
    (i < axis ? a.outer : i == axis ? a.n : a.inner) *= s[i];
  return a;
}

int64_t softmax_axis(const Node& n, int64_t rank) {
  return normalize_axis(n.attrs.i("axis", -1), rank, "axis");
}

// Softmax (log_space = false) or LogSoftmax along `axis` in fp32.
Tensor softmax_f32(const Tensor& x, int64_t axis, bool log_space) {
  Tensor y(DType::f32, x.shape());
  AxisSplit s = split_at(x.shape(), axis);
  const float* px = x.data<float>();
  float* py = y.data<float>();
  for (int64_t o = 0; o < s.outer; ++o)
    for (int64_t i = 0; i < s.inner; ++i) {
      const int64_t base = o * s.n * s.inner + i;
      float mx = -std::numeric_limits<float>::infinity();
      for (int64_t k = 0; k < s.n; ++k) mx = std::max(mx, px[base + k * s.inner]);
      double sum = 0;
      for (int64_t k = 0; k < s.n; ++k)
        sum += std::exp(static_cast<double>(px[base + k * s.inner] - mx));
      const float lse = static_cast<float>(std::log(sum));
      for (int64_t k = 0; k < s.n; ++k) {
        const float z = px[base + k * s.inner] - mx;
        py[base + k * s.inner] =
            log_space ? z - lse : static_cast<float>(std::exp(static_cast<double>(z)) / sum);
      }
    }
  return y;
}

// Gradient along the axis: softmax dx = y * (g - sum(g * y)); log-softmax dx = g - exp(y) * sum(g).
Tensor softmax_backward(const Tensor& y, const Tensor& g, int64_t axis, bool log_space) {
  Tensor gx(DType::f32, y.shape());
  AxisSplit s = split_at(y.shape(), axis);
  const float *py = y.data<float>(), *pg = g.data<float>();
  float* out = gx.data<float>();
  for (int64_t o = 0; o < s.outer; ++o)
    for (int64_t i = 0; i < s.inner; ++i) {
      const int64_t base = o * s.n * s.inner + i;
      double dot = 0;
      for (int64_t k = 0; k < s.n; ++k) {
        const int64_t j = base + k * s.inner;
        dot += log_space ? pg[j] : static_cast<double>(pg[j]) * py[j];
      }
      for (int64_t k = 0; k < s.n; ++k) {
        const int64_t j = base + k * s.inner;
        out[j] = log_space ? static_cast<float>(pg[j] - std::exp(py[j]) * dot)
                           : static_cast<float>(py[j] * (pg[j] - dot));
      }
    }
  return gx;
}

// Opset < 13: default axis 1 and coerced-2-D semantics (see the file comment).
void legacy_softmax_fixup(Graph& g, Node& n, int opset) {
  if (opset >= 13) return;
  const int64_t axis = n.attrs.i("axis", 1);
  Value* x = n.inputs.empty() ? nullptr : n.inputs[0];
  if (!x || n.outputs.empty()) return;  // infer reports the missing input or output
  if (x->has_type) {
    const int64_t r = static_cast<int64_t>(x->shape.size());
    if (normalize_axis(axis, r, "axis") == r - 1) {
      n.attrs.set("axis", axis);
      return;
    }
  }
  Attributes fa;
  fa.set("axis", axis);
  Node* flat = g.add_node(OpKind::Flatten, g.unique_node_name(n.name + "_to2d"), {x}, 1, fa);
  g.set_input(&n, 0, flat->outputs[0]);
  n.attrs.set("axis", int64_t{1});
  Value* y = n.outputs[0];
  Value* y2d = g.add_value(g.unique_value_name(y->name + "_2d"));
  y2d->producer = &n;
  n.outputs[0] = y2d;
  // The original shape: a constant when x's shape is static, else computed by Shape(x).
  Value* shape = nullptr;
  std::vector<Node*> added{flat};
  if (x->has_type && shape_is_static(x->shape)) {
    shape =
        g.add_constant(g.unique_value_name(n.name + "_shape"),
                       Tensor::from<int64_t>({static_cast<int64_t>(x->shape.size())}, x->shape));
  } else {
    added.push_back(g.add_node(OpKind::Shape, g.unique_node_name(n.name + "_shape"), {x}, 1));
    shape = added.back()->outputs[0];
  }
  Node* back = g.add_node(OpKind::Reshape, g.unique_node_name(n.name + "_fromto2d"), {y2d, shape},
                          std::vector<std::string>{});
  back->outputs.push_back(y);
  y->producer = back;
  y->producer_index = 0;
  added.push_back(back);
  for (Node* m : added) apply_attr_schema(*m);
}

OpDef softmax_def(bool log_space) {
  OpDef d;
  d.doc = log_space ? "log(softmax(x)) along `axis` (numerically stable)"
                    : "exp(x) / sum(exp(x)) along `axis`";
  // Optional in the schema: its ONNX default depends on the opset (1 before 13, -1 from 13 on);
  // absent means -1, and the import fixup writes older opsets' value explicitly.
  d.attrs = {{"axis", AttrType::kInt, std::nullopt, true}};
  d.infer = [](const Node& n) {
    expect_float(n, 0);
    softmax_axis(n, static_cast<int64_t>(in(n, 0).shape.size()));
    return same_as_input0(n);
  };
  d.forward = [log_space](const Node& n, const std::vector<Tensor>& x) {
    Tensor y = softmax_f32(to_f32(x[0]), softmax_axis(n, x[0].rank()), log_space);
    return std::vector<Tensor>{from_f32(y, x[0].dtype())};
  };
  d.backward = [log_space](const Node& n, const std::vector<Tensor>&, const std::vector<Tensor>& y,
                           const std::vector<Tensor>& gy) {
    return std::vector<Tensor>{
        softmax_backward(to_f32(y[0]), to_f32(gy[0]), softmax_axis(n, y[0].rank()), log_space)};
  };
  d.flops = [](const Node& n) { return 3 * out_numel(n); };  // exp, sum, divide per element
  d.onnx = onnx_op(log_space ? "LogSoftmax" : "Softmax", 1);
  d.onnx.import_fixup = legacy_softmax_fixup;
  return d;
}

}  // namespace

OpDef def_Softmax() {
  return softmax_def(false);
}
OpDef def_LogSoftmax() {
  return softmax_def(true);
}

}  // namespace mpq::ops
