#include "core/quant_math.h"

#include <algorithm>
#include <limits>

namespace mpq::quant {

const char* quant_dtype_name(QuantDtype d) {
  return d == QuantDtype::kInt ? "int" : "uint";
}

const char* quant_scheme_name(QuantScheme s) {
  switch (s) {
    case QuantScheme::kPerTensorAffine:
      return "per_tensor_affine";
    case QuantScheme::kPerTensorSymmetric:
      return "per_tensor_symmetric";
    case QuantScheme::kPerChannelAffine:
      return "per_channel_affine";
    case QuantScheme::kPerChannelSymmetric:
      return "per_channel_symmetric";
  }
  return "?";
}

bool parse_quant_dtype(std::string_view s, QuantDtype* out) {
  if (s == "int") return *out = QuantDtype::kInt, true;
  if (s == "uint") return *out = QuantDtype::kUint, true;
  return false;
}

bool parse_quant_scheme(std::string_view s, QuantScheme* out) {
  for (QuantScheme c : {QuantScheme::kPerTensorAffine, QuantScheme::kPerTensorSymmetric,
                        QuantScheme::kPerChannelAffine, QuantScheme::kPerChannelSymmetric})
    if (s == quant_scheme_name(c)) return *out = c, true;
  return false;
}

QRange quant_range(int bits, QuantDtype dtype) {
  if (bits < 1 || bits > 32)
    invalid_input(str("quantization bits must be in 1..32, got ", bits)).key("quant_bits").raise();
  if (dtype == QuantDtype::kInt) {
    const int64_t m = (int64_t{1} << (bits - 1)) - 1;
    return {-m, m};
  }
  return {0, (int64_t{1} << bits) - 1};
}

namespace {
constexpr float kMinScale = std::numeric_limits<float>::min();
}  // namespace

ScaleZeroPoint compute_scale_zero_point(float rmin, float rmax, int bits, QuantDtype dtype,
                                        bool symmetric) {
  if (!std::isfinite(rmin) || !std::isfinite(rmax))
    invalid_input(str("range [", rmin, ", ", rmax, "] is not finite")).raise();
  if (rmin > rmax) invalid_input(str("range min ", rmin, " > max ", rmax)).raise();
  const QRange r = quant_range(bits, dtype);
  if (r.qmax == r.qmin)
    invalid_input(str(quant_dtype_name(dtype), " with ", bits, " bit has a single level"))
        .key("quant_bits")
        .raise();
  rmin = std::min(rmin, 0.f);
  rmax = std::max(rmax, 0.f);
  const float levels = static_cast<float>(r.qmax - r.qmin);
  ScaleZeroPoint out;
  if (symmetric) {
    const float amax = std::max(std::fabs(rmin), std::fabs(rmax));
    out.scale = amax / (levels / 2.f);
    // Python's // on non-negative ints: floor.
    out.zero_point = dtype == QuantDtype::kInt ? 0 : (r.qmin + r.qmax) / 2;
  } else {
    out.scale = (rmax - rmin) / levels;
    // A range wider than FLT_MAX overflows in float; its scale does not.
    if (std::isinf(out.scale))
      out.scale = static_cast<float>((static_cast<double>(rmax) - rmin) / levels);
    if (out.scale >= kMinScale)
      out.zero_point = r.qmin - static_cast<int64_t>(std::nearbyint(rmin / out.scale));
    else
      out.zero_point = r.qmin;
  }
  // An all-zero range (or one so small that its scale would be subnormal, whose reciprocal
  // overflows in requantization): any scale represents it, as zeros.
  if (!(out.scale >= kMinScale)) out.scale = 1.f;
  out.zero_point = std::clamp(out.zero_point, r.qmin, r.qmax);
  return out;
}

TensorQuant tensor_quant_from_ranges(const std::vector<float>& mins, const std::vector<float>& maxs,
                                     int bits, QuantDtype dtype, QuantScheme scheme, int axis) {
  if (mins.size() != maxs.size() || mins.empty())
    internal_error("tensor_quant_from_ranges: min/max lists differ in length or are empty").raise();
  TensorQuant q;
  q.bits = bits;
  q.dtype = dtype;
  q.range = quant_range(bits, dtype);
  q.axis = is_per_channel(scheme) ? axis : -1;
  for (size_t i = 0; i < mins.size(); ++i) {
    ScaleZeroPoint s =
        compute_scale_zero_point(mins[i], maxs[i], bits, dtype, is_symmetric(scheme));
    q.scale.push_back(s.scale);
    q.zero_point.push_back(s.zero_point);
  }
  return q;
}

void channel_min_max(const Tensor& t, int axis, std::vector<float>* mins,
                     std::vector<float>* maxs) {
  if (axis < 0 || axis >= t.rank())
    invalid_input(
        str("per-channel axis ", axis, " is out of range for shape ", shape_str(t.shape())))
        .raise();
  const int64_t channels = t.dim(axis);
  int64_t inner = 1;
  for (int d = axis + 1; d < t.rank(); ++d) inner *= t.dim(d);
  const int64_t outer = channels ? t.numel() / (channels * inner) : 0;
  mins->assign(channels, std::numeric_limits<float>::infinity());
  maxs->assign(channels, -std::numeric_limits<float>::infinity());
  const float* p = t.data<float>();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < channels; ++c) {
      const float* row = p + (o * channels + c) * inner;
      float lo = (*mins)[c], hi = (*maxs)[c];
      for (int64_t i = 0; i < inner; ++i) lo = std::min(lo, row[i]), hi = std::max(hi, row[i]);
      (*mins)[c] = lo, (*maxs)[c] = hi;
    }
  for (int64_t c = 0; c < channels; ++c)
    if ((*mins)[c] > (*maxs)[c]) (*mins)[c] = (*maxs)[c] = 0.f;  // empty channel
}

TensorQuant tensor_quant_from_data(const Tensor& t, int bits, QuantDtype dtype, QuantScheme scheme,
                                   int axis) {
  std::vector<float> mins, maxs;
  if (is_per_channel(scheme)) {
    channel_min_max(t, axis, &mins, &maxs);
  } else {
    channel_min_max(t.reshaped({1, t.numel()}), 0, &mins, &maxs);
  }
  return tensor_quant_from_ranges(mins, maxs, bits, dtype, scheme, axis);
}

namespace {
// Calls f(i, channel) for every element of x.
template <typename F>
void for_each_channel(const Tensor& x, int axis, F f) {
  const int64_t n = x.numel();
  if (axis < 0) {
    for (int64_t i = 0; i < n; ++i) f(i, 0);
    return;
  }
  const int64_t channels = x.dim(axis);
  int64_t inner = 1;
  for (int d = axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
  for (int64_t i = 0; i < n; ++i) f(i, (i / inner) % channels);
}

void check_channels(const Tensor& x, const TensorQuant& q) {
  if (q.axis >= x.rank() ||
      (q.axis >= 0 ? static_cast<int64_t>(q.scale.size()) != x.dim(q.axis) : q.scale.size() != 1))
    internal_error(str("quantization parameters (", q.scale.size(), " scales, axis ", q.axis,
                       ") do not fit shape ", shape_str(x.shape())))
        .raise();
}
}  // namespace

Tensor fake_quantize(const Tensor& x, const TensorQuant& q) {
  check_channels(x, q);
  Tensor y(DType::f32, x.shape());
  const float* px = x.data<float>();
  float* py = y.data<float>();
  for_each_channel(x, q.axis, [&](int64_t i, int64_t c) {
    py[i] = fake_quantize_value(px[i], q.scale[c], q.zero_point[c], q.range);
  });
  return y;
}

std::vector<int64_t> quantize_tensor(const Tensor& x, const TensorQuant& q) {
  check_channels(x, q);
  std::vector<int64_t> out(static_cast<size_t>(x.numel()));
  const float* px = x.data<float>();
  for_each_channel(x, q.axis, [&](int64_t i, int64_t c) {
    out[i] = quantize_value(px[i], q.scale[c], q.zero_point[c], q.range);
  });
  return out;
}

}  // namespace mpq::quant
