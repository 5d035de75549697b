// The vectorized requantizing rows (the AVX-512 / AVX2 clone that runs on this machine) give the
// bytes of the scalar expression they replace: the product and the sum rounded separately (no
// FMA), half to even, saturated. Scales chosen so that many results land exactly on .5.
#ifdef MPQ_HAVE_DNNL
#include <gtest/gtest.h>

#include <vector>

#include "backends/cpu/int8_store.h"
#include "backends/cpu/requant_rows.h"

namespace mpq::cpu {
namespace {

// The scalar reference, kept from contraction by rounding the product through a volatile.
template <typename Tout>
Tout scalar(float a, float x, float b) {
  volatile float p = a * x;
  return store_requant<Tout>(p + b);
}

template <typename Tin, typename Tout>
void check_all_bytes() {
  // Per channel: every byte value once (a row of 256 channels per input byte pattern).
  const std::vector<float> as = {0.5f, 1.f, 0.1f, 3.3333333f, 0.0078125f, 1.0000001f};
  const std::vector<float> bs = {0.f, 0.5f, -17.5f, 127.25f, 300.f, -3.1f};
  std::vector<Tin> x(256);
  for (int v = 0; v < 256; ++v) x[v] = static_cast<Tin>(v);
  for (float a : as)
    for (float b : bs) {
      std::vector<float> A(256, a), B(256, b);
      // Distinct A per channel too: a times a power-of-two-ish ramp.
      for (int c = 0; c < 256; c += 2) A[c] = a * (1.f + c / 256.f);
      std::vector<Tout> y(256), u(256);
      requant_channels(x.data(), y.data(), A.data(), B.data(), 256);
      requant_uniform(x.data(), u.data(), 256, a, b);
      for (int c = 0; c < 256; ++c) {
        const float xv = static_cast<float>(x[c]);
        ASSERT_EQ(y[c], scalar<Tout>(A[c], xv, B[c])) << "a " << A[c] << " b " << b << " x " << xv;
        ASSERT_EQ(u[c], scalar<Tout>(xv, a, b)) << "m " << a << " c " << b << " x " << xv;
      }
    }
}

TEST(CpuRequantRows, MatchTheScalarExpressionForEveryByte) {
  check_all_bytes<uint8_t, uint8_t>();
  check_all_bytes<uint8_t, int8_t>();
  check_all_bytes<int8_t, uint8_t>();
  check_all_bytes<int8_t, int8_t>();
}

TEST(CpuRequantRows, SaturateAndRoundHalfToEven) {
  const std::vector<uint8_t> x = {0, 1, 2, 3, 5, 255};
  std::vector<uint8_t> y(x.size());
  // x * 0.5 + 0: 0, 0.5 -> 0, 1, 1.5 -> 2, 2.5 -> 2, 127.5 -> 128.
  requant_uniform(x.data(), y.data(), 6, 0.5f, 0.f);
  EXPECT_EQ(y, (std::vector<uint8_t>{0, 0, 1, 2, 2, 128}));
  std::vector<int8_t> s(x.size());
  // x * 1 - 100: -100, -99, -98, -97, -95, 155 -> saturates at 127.
  requant_uniform(x.data(), s.data(), 6, 1.f, -100.f);
  EXPECT_EQ(s, (std::vector<int8_t>{-100, -99, -98, -97, -95, 127}));
  // x * 2 - 300 saturates at 0 for u8 out.
  requant_uniform(x.data(), y.data(), 6, 2.f, -300.f);
  EXPECT_EQ(y, (std::vector<uint8_t>{0, 0, 0, 0, 0, 210}));
}

}  // namespace
}  // namespace mpq::cpu
#endif
