#include "ir/ops/window.h"

#include <algorithm>
#include <cstring>

#include "ir/ops/op_util.h"

namespace mpq::ops {

namespace {

int64_t floor_div(int64_t a, int64_t b) {  // b > 0
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}
int64_t ceil_div(int64_t a, int64_t b) {
  return -floor_div(-a, b);
}

std::vector<int64_t> ints_or(const Node& n, const char* key, size_t size, int64_t fill,
                             int64_t min_value) {
  if (!n.attrs.has(key)) return std::vector<int64_t>(size, fill);
  std::vector<int64_t> v = n.attrs.ints(key);
  if (v.size() != size)
    invalid_input(str("has ", v.size(), " values, expected ", size, " for a ",
                      size / (fill ? 1 : 2), "-D window"))
        .node(n.name)
        .key(key)
        .raise();
  for (int64_t x : v)
    if (x < min_value)
      invalid_input(str("value ", x, " must be >= ", min_value)).node(n.name).key(key).raise();
  return v;
}

}  // namespace

void check_window_attrs(const Node& n) {
  auto check = [&](const char* key, int64_t lo) {
    if (!n.attrs.has(key)) return;
    for (int64_t v : n.attrs.ints(key))
      if (v < lo || v > kMaxWindowAttr)
        invalid_input(str("value ", v, " is out of range: expected ", lo, "..", kMaxWindowAttr,
                          " (fix the attribute in the exporter or the model)"))
            .node(n.name)
            .key(key)
            .raise();
  };
  check("strides", 1);
  check("dilations", 1);
  check("kernel_shape", 1);
  check("pads", 0);
  check("output_padding", 0);
  if (n.attrs.has("group") && n.attrs.i("group") < 1)
    invalid_input(str("group ", n.attrs.i("group"), " must be >= 1"))
        .node(n.name)
        .key("group")
        .raise();
  check_window_attr_sizes(n);
}

// Where the input ranks are known (declared in the file), the weights' rank and the attributes'
// lengths must agree with them: onnx's shape inference indexes by them without checking (a
// ConvTranspose whose W has a lower rank than X reads past W's dims).
void check_window_attr_sizes(const Node& n) {
  const Value* x = n.input(0);
  if (!x || !x->has_type || x->shape.size() < 2) return;
  const size_t r = x->shape.size(), spatial = r - 2;
  const Value* w = n.input(1);
  if (w && w->has_type && w->shape.size() != r)
    invalid_input(str("weights W must have rank ", r, " like X ", shape_str(x->shape), ", got ",
                      shape_str(w->shape)))
        .node(n.name)
        .raise();
  for (const char* key : {"kernel_shape", "strides", "dilations", "output_padding", "pads"}) {
    const size_t want = std::string(key) == "pads" ? 2 * spatial : spatial;
    if (n.attrs.has(key) && n.attrs.ints(key).size() != want)
      invalid_input(str("has ", n.attrs.ints(key).size(), " values, expected ", want, " (X ",
                        shape_str(x->shape), " has ", spatial, " spatial dims)"))
          .node(n.name)
          .key(key)
          .raise();
  }
}

void check_window_rank(const Node& n, const Shape& x) {
  if (x.size() == 5)
    unsupported(str("3-D ", n.op_name(), " is not supported; mpq handles 1-D and 2-D"))
        .node(n.name)
        .raise();
  if (x.size() != 3 && x.size() != 4)
    invalid_input(str("input X must be N x C x [H x] W (rank 3 or 4), got ", shape_str(x)))
        .node(n.name)
        .raise();
}

ConvKernel conv_kernel(const Node& n, const Shape& x, const Shape& w) {
  check_window_rank(n, x);
  const size_t r = x.size();
  if (w.size() != r)
    invalid_input(
        str("weights W must have rank ", r, " like X ", shape_str(x), ", got ", shape_str(w)))
        .node(n.name)
        .raise();
  ConvKernel c;
  c.group = n.attrs.i("group", 1);
  if (c.group < 1)
    invalid_input(str("group ", c.group, " must be >= 1")).node(n.name).key("group").raise();
  c.kernel.assign(w.begin() + 2, w.end());
  if (!n.attrs.has("kernel_shape")) return c;
  const auto& ks = n.attrs.ints("kernel_shape");
  if (ks.size() != r - 2)
    invalid_input(str("has ", ks.size(), " values for a ", r - 2, "-D convolution"))
        .node(n.name)
        .key("kernel_shape")
        .raise();
  for (size_t i = 0; i < ks.size(); ++i) {
    if (ks[i] < 1 || (c.kernel[i] >= 0 && c.kernel[i] != ks[i]))
      invalid_input(str("kernel_shape ", shape_str(ks), " does not match weights W ", shape_str(w)))
          .node(n.name)
          .key("kernel_shape")
          .raise();
    c.kernel[i] = ks[i];
  }
  return c;
}

std::vector<Axis> resolve_window(const Node& n, const std::vector<int64_t>& in,
                                 const std::vector<int64_t>& kernel, bool ceil_mode) {
  const size_t nsp = kernel.size();
  const std::string auto_pad = n.attrs.has("auto_pad") ? n.attrs.s("auto_pad") : "NOTSET";
  if (auto_pad != "NOTSET" && auto_pad != "VALID" && auto_pad != "SAME_UPPER" &&
      auto_pad != "SAME_LOWER")
    invalid_input(
        str("unknown value '", auto_pad, "' (expected NOTSET, SAME_UPPER, SAME_LOWER or VALID)"))
        .node(n.name)
        .key("auto_pad")
        .raise();
  const auto strides = ints_or(n, "strides", nsp, 1, 1);
  const auto dilations = ints_or(n, "dilations", nsp, 1, 1);
  const auto pads = ints_or(n, "pads", 2 * nsp, 0, 0);
  const bool same = auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER";
  if (auto_pad != "NOTSET" && std::any_of(pads.begin(), pads.end(), [](int64_t p) { return p; }))
    invalid_input(str("explicit pads cannot be combined with auto_pad ", auto_pad))
        .node(n.name)
        .key("pads")
        .raise();
  std::vector<Axis> axes(nsp);
  for (size_t i = 0; i < nsp; ++i) {
    Axis& a = axes[i];
    a.in = in[i], a.k = kernel[i], a.stride = strides[i], a.dil = dilations[i];
    if (a.k == 0 || a.k < -1)
      invalid_input(str("kernel size ", a.k, " must be >= 1"))
          .node(n.name)
          .key("kernel_shape")
          .raise();
    if (same) {
      a.out = a.in < 0 ? -1 : ceil_div(a.in, a.stride);
      if (a.in >= 0 && a.k > 0) {
        int64_t total = std::max<int64_t>(0, (a.out - 1) * a.stride + a.extent() - a.in);
        int64_t small = total / 2, big = total - small;
        a.pad_begin = auto_pad == "SAME_UPPER" ? small : big;
        a.pad_end = total - a.pad_begin;
      }
      continue;
    }
    a.pad_begin = pads[i], a.pad_end = pads[i + nsp];
    if (a.in < 0 || a.k < 0) {
      a.out = -1;
      continue;
    }
    int64_t span = a.in + a.pad_begin + a.pad_end - a.extent();
    if (span < 0)
      invalid_input(str("window of extent ", a.extent(), " (kernel ", a.k, ", dilation ", a.dil,
                        ") does not fit spatial dim ", i, " of size ", a.in, " plus padding ",
                        a.pad_begin + a.pad_end))
          .node(n.name)
          .key("kernel_shape")
          .raise();
    a.out = (ceil_mode ? ceil_div(span, a.stride) : span / a.stride) + 1;
    if (ceil_mode && (a.out - 1) * a.stride >= a.in + a.pad_begin) --a.out;
  }
  return axes;
}

int window_spatial_rank(const Node& n, int data_input, int kernel_input) {
  if (n.attrs.has("kernel_shape")) return static_cast<int>(n.attrs.ints("kernel_shape").size());
  auto rank_of = [&](int i) -> int {
    const Value* v = i >= 0 ? n.input(i) : nullptr;
    if (!v) return -1;
    if (v->is_constant()) return v->constant->rank();
    return v->has_type ? static_cast<int>(v->shape.size()) : -1;
  };
  int r = rank_of(kernel_input);
  if (r < 0) r = rank_of(data_input);
  return r < 2 ? 0 : r - 2;
}

Plane to_plane(const std::vector<Axis>& axes) {
  if (axes.size() == 1) return {Axis{}, axes[0]};
  if (axes.size() != 2) internal_error(str("to_plane: ", axes.size(), " spatial axes")).raise();
  return {axes[0], axes[1]};
}

void valid_range(const Axis& a, int64_t kk, int64_t* lo, int64_t* hi) {
  const int64_t off = kk * a.dil - a.pad_begin;  // input index = o * stride + off
  *lo = std::clamp<int64_t>(ceil_div(-off, a.stride), 0, a.out);
  *hi = std::clamp<int64_t>(floor_div(a.in - 1 - off, a.stride) + 1, *lo, a.out);
}

void im2col(const float* x, int64_t C, const Plane& p, float* col, int64_t oh0, int64_t oh1,
            int64_t ld) {
  const int64_t H = p.h.in, W = p.w.in, OW = p.w.out, P = (oh1 - oh0) * OW;
  if (ld < 0) ld = P;
  for (int64_t c = 0; c < C; ++c) {
    for (int64_t kh = 0; kh < p.h.k; ++kh) {
      int64_t hlo, hhi;
      valid_range(p.h, kh, &hlo, &hhi);
      hlo = std::clamp(hlo, oh0, oh1), hhi = std::clamp(hhi, hlo, oh1);
      for (int64_t kw = 0; kw < p.w.k; ++kw, col += ld) {
        int64_t wlo, whi;
        valid_range(p.w, kw, &wlo, &whi);
        std::fill(col, col + (hlo - oh0) * OW, 0.f);
        std::fill(col + (hhi - oh0) * OW, col + P, 0.f);
        for (int64_t oh = hlo; oh < hhi; ++oh) {
          float* dst = col + (oh - oh0) * OW;
          const int64_t ih = oh * p.h.stride - p.h.pad_begin + kh * p.h.dil;
          const float* src =
              x + (c * H + ih) * W + (wlo * p.w.stride - p.w.pad_begin + kw * p.w.dil);
          std::fill(dst, dst + wlo, 0.f);
          std::fill(dst + whi, dst + OW, 0.f);
          if (p.w.stride == 1)
            std::memcpy(dst + wlo, src, static_cast<size_t>(whi - wlo) * sizeof(float));
          else
            for (int64_t ow = wlo; ow < whi; ++ow) dst[ow] = src[(ow - wlo) * p.w.stride];
        }
      }
    }
  }
}

void col2im_add(const float* col, int64_t C, const Plane& p, float* x, int64_t oh0, int64_t oh1,
                int64_t ld) {
  const int64_t H = p.h.in, W = p.w.in, OW = p.w.out;
  if (ld < 0) ld = (oh1 - oh0) * OW;
  for (int64_t c = 0; c < C; ++c) {
    for (int64_t kh = 0; kh < p.h.k; ++kh) {
      int64_t hlo, hhi;
      valid_range(p.h, kh, &hlo, &hhi);
      hlo = std::clamp(hlo, oh0, oh1), hhi = std::clamp(hhi, hlo, oh1);
      for (int64_t kw = 0; kw < p.w.k; ++kw, col += ld) {
        int64_t wlo, whi;
        valid_range(p.w, kw, &wlo, &whi);
        for (int64_t oh = hlo; oh < hhi; ++oh) {
          const float* src = col + (oh - oh0) * OW;
          const int64_t ih = oh * p.h.stride - p.h.pad_begin + kh * p.h.dil;
          float* dst = x + (c * H + ih) * W + (wlo * p.w.stride - p.w.pad_begin + kw * p.w.dil);
          if (p.w.stride == 1)
            for (int64_t ow = wlo; ow < whi; ++ow) dst[ow - wlo] += src[ow];
          else
            for (int64_t ow = wlo; ow < whi; ++ow) dst[(ow - wlo) * p.w.stride] += src[ow];
        }
      }
    }
  }
}

namespace {
int64_t im2col_budget = int64_t{1} << 20;  // floats (4 MB)
}

ColBlocking im2col_blocking(int64_t N, int64_t col_rows, const Plane& p) {
  // Batching pays while a GEMM is narrow; past ~512 columns it only pushes the im2col buffer out
  // of L2, so aim at ~1 MB of columns (wider for shallow K, where per-call overhead dominates).
  constexpr int64_t kSmallImage = 1024;  // output pixels below which images are batched
  const int64_t P = std::max<int64_t>(1, p.h.out * p.w.out);
  const int64_t cols =
      std::clamp<int64_t>((int64_t{1} << 18) / std::max<int64_t>(col_rows, 1), 512, 4096);
  ColBlocking b;
  if (P < kSmallImage && N > 1)
    b.imgs = std::max<int64_t>(
        1, std::min({N, (cols + P - 1) / P, im2col_budget / std::max<int64_t>(1, col_rows * P)}));
  if (b.imgs > 1)
    b.rows = std::max<int64_t>(p.h.out, 1);
  else
    b.rows = std::clamp<int64_t>(im2col_budget / std::max<int64_t>(1, col_rows * p.w.out), 1,
                                 std::max<int64_t>(1, p.h.out));
  return b;
}

int64_t set_im2col_budget(int64_t floats) {
  std::swap(im2col_budget, floats);
  return floats;
}

std::vector<int64_t> window_input_spatial(const Node& n, size_t i, bool allow_int8) {
  const Value& v = in(n, i);
  if (!allow_int8 || (v.dtype != DType::i8 && v.dtype != DType::u8)) expect_float(n, i);
  const size_t r = v.shape.size();
  if (r == 5)
    unsupported(str("3-D ", n.op_name(), " (input '", v.name, "' of shape ", shape_str(v.shape),
                    ") is not supported; mpq handles 1-D and 2-D windows"))
        .node(n.name)
        .raise();
  if (r != 3 && r != 4)
    invalid_input(str("input ", i, " ('", v.name, "') must be N x C x [H x] W (rank 3 or 4), got ",
                      shape_str(v.shape)))
        .node(n.name)
        .raise();
  return {v.shape.begin() + 2, v.shape.end()};
}

Shape window_output_shape(int64_t N, int64_t C, const std::vector<Axis>& axes) {
  Shape s{N, C};
  for (const Axis& a : axes) s.push_back(a.out);
  return s;
}

}  // namespace mpq::ops
