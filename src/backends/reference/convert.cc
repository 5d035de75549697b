#include "backends/reference/convert.h"

#include <cmath>
#include <vector>

namespace mpq {

namespace {

// Reads a tensor into logical-order (plain) floats.
std::vector<float> read_logical(const TensorSpec& spec, const void* src, int64_t batch) {
  Shape s = spec.shape_at(batch);
  const size_t n = static_cast<size_t>(shape_numel(s));
  std::vector<float> out(n);
  const bool q = spec.quant.has_value();
  const float scale = q ? spec.quant->scale.at(0) : 1.f;
  const int32_t zp = q && !spec.quant->zero_point.empty() ? spec.quant->zero_point[0] : 0;
  auto load = [&](size_t i) {
    double v = load_as_double(src, spec.dtype, i);
    return q ? static_cast<float>((v - zp) * scale) : static_cast<float>(v);
  };
  if (spec.layout == Layout::kNHWC && s.size() == 4) {
    size_t i = 0;
    for (int64_t b = 0; b < s[0]; ++b)
      for (int64_t c = 0; c < s[1]; ++c)
        for (int64_t h = 0; h < s[2]; ++h)
          for (int64_t w = 0; w < s[3]; ++w) out[i++] = load(offset4(Layout::kNHWC, s, b, c, h, w));
  } else {
    for (size_t i = 0; i < n; ++i) out[i] = load(i);
  }
  return out;
}

void write_logical(const TensorSpec& spec, const std::vector<float>& v, void* dst, int64_t batch) {
  Shape s = spec.shape_at(batch);
  const bool q = spec.quant.has_value();
  const float scale = q ? spec.quant->scale.at(0) : 1.f;
  const int32_t zp = q && !spec.quant->zero_point.empty() ? spec.quant->zero_point[0] : 0;
  auto store = [&](size_t at, float x) {
    // Division, not multiplication by 1/scale: identical to QuantizeLinear on ties.
    double y = q ? std::nearbyint(static_cast<double>(x / scale)) + zp : static_cast<double>(x);
    store_from_double(dst, spec.dtype, at, y);
  };
  if (spec.layout == Layout::kNHWC && s.size() == 4) {
    size_t i = 0;
    for (int64_t b = 0; b < s[0]; ++b)
      for (int64_t c = 0; c < s[1]; ++c)
        for (int64_t h = 0; h < s[2]; ++h)
          for (int64_t w = 0; w < s[3]; ++w) store(offset4(Layout::kNHWC, s, b, c, h, w), v[i++]);
  } else {
    for (size_t i = 0; i < v.size(); ++i) store(i, v[i]);
  }
}

}  // namespace

void convert_tensor(const TensorSpec& from, const void* src, const TensorSpec& to, void* dst,
                    int64_t batch) {
  if (shape_numel(from.shape_at(batch)) != shape_numel(to.shape_at(batch)))
    internal_error(str("convert: ", from.str(), " -> ", to.str())).raise();
  write_logical(to, read_logical(from, src, batch), dst, batch);
}

}  // namespace mpq
