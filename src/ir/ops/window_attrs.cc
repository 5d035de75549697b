#include "ir/ops/window_attrs.h"

#include "ir/op_def.h"
#include "ir/ops/window.h"

namespace mpq::ops {

namespace {

bool is_conv(const Node& n) {
  return n.op == OpKind::Conv || n.op == OpKind::FusedConv;
}
bool is_pool(const Node& n) {
  return n.op == OpKind::MaxPool || n.op == OpKind::AveragePool;
}

std::vector<int64_t> ints_or(const Node& n, const char* key, size_t count, int64_t def) {
  if (n.attrs.has(key) && !n.attrs.ints(key).empty()) return n.attrs.ints(key);
  return std::vector<int64_t>(count, def);
}

}  // namespace

ConvAttrs conv_attrs(const Node& n) {
  if (n.attrs.has("auto_pad") && n.attrs.s("auto_pad") != "NOTSET" && !n.attrs.s("auto_pad").empty())
    internal_error("window op with auto_pad " + n.attrs.s("auto_pad") + " was not canonicalized")
        .node(n.name)
        .raise();
  ConvAttrs a;
  if (n.attrs.has("kernel_shape")) a.kernel = n.attrs.ints("kernel_shape");
  if (a.kernel.empty() && is_conv(n) && n.has_input(1)) {
    const Shape& w = n.inputs[1]->shape;
    a.kernel.assign(w.begin() + std::min<size_t>(2, w.size()), w.end());
  }
  const size_t r = a.kernel.size();
  a.strides = ints_or(n, "strides", r, 1);
  a.dilations = ints_or(n, "dilations", r, 1);
  a.pads = ints_or(n, "pads", 2 * r, 0);
  a.group = n.attrs.has("group") ? n.attrs.i("group") : 1;
  return a;
}

int weight_output_axis(const Node& n) {
  const Value* w = n.input(1);
  const int rank = w ? static_cast<int>(w->shape.size()) : 0;
  if (n.op == OpKind::Gemm || n.op == OpKind::FusedGemm) return n.attrs.i("transB", 0) ? 0 : 1;
  if (n.op == OpKind::MatMul) return rank - 1;
  return 0;
}

bool canonicalize_window(Node& n) {
  if (!is_conv(n) && !is_pool(n)) return false;
  const Value* x = n.input(0);
  if (!x || x->shape.size() < 3) return false;
  const std::vector<int64_t> in(x->shape.begin() + 2, x->shape.end());
  for (int64_t d : in)
    if (d < 0) return false;
  std::vector<int64_t> kernel;
  if (is_conv(n)) {
    const Value* w = n.input(1);
    if (!w || w->shape.size() != x->shape.size()) return false;
    kernel = conv_kernel(n, x->shape, w->shape).kernel;
  } else {
    if (!n.attrs.has("kernel_shape")) return false;
    kernel = n.attrs.ints("kernel_shape");
  }
  const bool ceil = is_pool(n) && n.attrs.i("ceil_mode", 0) != 0;
  const std::vector<Axis> axes = resolve_window(n, in, kernel, ceil);
  std::vector<int64_t> strides, dils, pads(2 * axes.size());
  for (size_t i = 0; i < axes.size(); ++i) {
    strides.push_back(axes[i].stride);
    dils.push_back(axes[i].dil);
    pads[i] = axes[i].pad_begin;
    pads[axes.size() + i] = axes[i].pad_end;
  }
  n.attrs.set("kernel_shape", kernel);
  n.attrs.set("strides", strides);
  n.attrs.set("pads", pads);
  if (is_conv(n) || n.op == OpKind::MaxPool) n.attrs.set("dilations", dils);
  n.attrs.set("auto_pad", std::string("NOTSET"));
  return true;
}

}  // namespace mpq::ops
