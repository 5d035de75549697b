// Forward tests of the compute-heavy ops (Conv, ConvTranspose, Gemm, MatMul, pooling,
// BatchNormalization): each against a naive direct-loop implementation written here from the ONNX
// spec, on random shapes and attribute combinations, plus hand-computed edge cases.
#include <algorithm>
#include <cmath>
#include <random>

#include "ir/ops/window.h"
#include "op_test_util.h"

namespace mpq {
namespace {

using testing::expect_close;
using testing::random_tensor;
using testing::run_node;

// ----------------------------------------------------------------- geometry from the ONNX spec

struct AxisGeo {
  int64_t out, pb, pe;
};

AxisGeo spec_axis(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe,
                  const std::string& auto_pad, bool ceil_mode) {
  const int64_t ext = (k - 1) * d + 1;
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    const int64_t out = (in + s - 1) / s;
    const int64_t total = std::max<int64_t>(0, (out - 1) * s + ext - in);
    const int64_t begin = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
    return {out, begin, total - begin};
  }
  if (auto_pad == "VALID") pb = pe = 0;
  const int64_t num = in + pb + pe - ext;
  if (num < 0) return {0, pb, pe};  // the window does not fit: an error
  int64_t out = (ceil_mode ? (num + s - 1) / s : num / s) + 1;
  if (ceil_mode && (out - 1) * s >= in + pb) --out;
  return {out, pb, pe};
}

Attributes attrs_of(std::initializer_list<std::pair<const char*, AttrValue>> kv) {
  Attributes a;
  for (const auto& [k, v] : kv) a.set(k, v);
  return a;
}

// ----------------------------------------------------------------- naive conv (7 loops)

// X [N, C, H, W], W [M, C/G, KH, KW]; explicit pads.
Tensor naive_conv(const Tensor& X, const Tensor& Wt, const Tensor* B, int64_t G, int64_t sh,
                  int64_t sw, int64_t dh, int64_t dw, AxisGeo gh, AxisGeo gw) {
  const int64_t N = X.dim(0), C = X.dim(1), H = X.dim(2), W = X.dim(3);
  const int64_t M = Wt.dim(0), Cg = Wt.dim(1), KH = Wt.dim(2), KW = Wt.dim(3), Mg = M / G;
  EXPECT_EQ(C, Cg * G);
  Tensor Y(DType::f32, {N, M, gh.out, gw.out});
  const float* x = X.data<float>();
  const float* w = Wt.data<float>();
  float* y = Y.data<float>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t oh = 0; oh < gh.out; ++oh)
        for (int64_t ow = 0; ow < gw.out; ++ow) {
          double acc = B ? B->data<float>()[m] : 0.0;
          const int64_t g = m / Mg;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t kh = 0; kh < KH; ++kh)
              for (int64_t kw = 0; kw < KW; ++kw) {
                const int64_t ih = oh * sh - gh.pb + kh * dh, iw = ow * sw - gw.pb + kw * dw;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                acc += static_cast<double>(x[((n * C + g * Cg + c) * H + ih) * W + iw]) *
                       w[((m * Cg + c) * KH + kh) * KW + kw];
              }
          y[((n * M + m) * gh.out + oh) * gw.out + ow] = static_cast<float>(acc);
        }
  return Y;
}

struct ConvCase {
  int64_t N, G, Cg, Mg, H, W, KH, KW, sh, sw, dh, dw, pt, pl, pb, pr;
  std::string auto_pad;
  bool bias, one_d;
};

void check_conv(const ConvCase& c, std::mt19937& rng, const std::string& what) {
  const int64_t H = c.one_d ? 1 : c.H, KH = c.one_d ? 1 : c.KH;
  Tensor X = random_tensor(rng, {c.N, c.G * c.Cg, H, c.W});
  Tensor Wt = random_tensor(rng, {c.G * c.Mg, c.Cg, KH, c.KW});
  Tensor B = random_tensor(rng, {c.G * c.Mg});
  AxisGeo gh =
      c.one_d ? AxisGeo{1, 0, 0} : spec_axis(H, KH, c.sh, c.dh, c.pt, c.pb, c.auto_pad, false);
  AxisGeo gw = spec_axis(c.W, c.KW, c.sw, c.dw, c.pl, c.pr, c.auto_pad, false);
  Attributes a;
  a.set("group", c.G);
  a.set("auto_pad", c.auto_pad);
  if (c.one_d) {
    a.set("strides", std::vector<int64_t>{c.sw});
    a.set("dilations", std::vector<int64_t>{c.dw});
    if (c.auto_pad == "NOTSET") a.set("pads", std::vector<int64_t>{c.pl, c.pr});
    a.set("kernel_shape", std::vector<int64_t>{c.KW});
  } else {
    a.set("strides", std::vector<int64_t>{c.sh, c.sw});
    a.set("dilations", std::vector<int64_t>{c.dh, c.dw});
    if (c.auto_pad == "NOTSET") a.set("pads", std::vector<int64_t>{c.pt, c.pl, c.pb, c.pr});
  }
  Tensor want = naive_conv(X, Wt, c.bias ? &B : nullptr, c.G, c.one_d ? 1 : c.sh, c.sw,
                           c.one_d ? 1 : c.dh, c.dw, gh, gw);
  std::vector<Tensor> ins{X, Wt};
  if (c.one_d) {
    ins[0] = X.reshaped({c.N, c.G * c.Cg, c.W});
    ins[1] = Wt.reshaped({c.G * c.Mg, c.Cg, c.KW});
    want = want.reshaped({c.N, c.G * c.Mg, gw.out});
  }
  if (c.bias) ins.push_back(B);
  Tensor got = run_node(OpKind::Conv, a, ins)[0];
  expect_close(got, want, 1e-4f, 1e-4f, what);
}

TEST(ConvForward, RandomShapesMatchDirectLoops) {
  std::mt19937 rng(7);
  auto r = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const char* pads[] = {"NOTSET", "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};
  int tested = 0;
  for (int t = 0; tested < 60; ++t) {
    ConvCase c;
    c.N = r(1, 2);
    const int kind = r(0, 3);  // 0: plain, 1: grouped, 2: depthwise, 3: depthwise multiplier
    c.G = kind == 0 ? 1 : r(2, 4);
    c.Cg = kind >= 2 ? 1 : r(1, 3);
    c.Mg = kind == 2 ? 1 : r(1, 3);
    c.H = r(1, 9), c.W = r(1, 11), c.KH = r(1, 3), c.KW = r(1, 4);
    c.sh = r(1, 3), c.sw = r(1, 3), c.dh = r(1, 2), c.dw = r(1, 3);
    c.pt = r(0, 2), c.pl = r(0, 2), c.pb = r(0, 2), c.pr = r(0, 2);
    c.auto_pad = pads[r(0, 4)];
    c.bias = r(0, 1);
    c.one_d = r(0, 4) == 0;
    const int64_t H = c.one_d ? 1 : c.H, KH = c.one_d ? 1 : c.KH;
    AxisGeo gh = spec_axis(H, KH, c.sh, c.dh, c.pt, c.pb, c.auto_pad, false);
    AxisGeo gw = spec_axis(c.W, c.KW, c.sw, c.dw, c.pl, c.pr, c.auto_pad, false);
    if (!c.one_d && gh.out < 1) continue;  // the window does not fit: tested separately
    if (gw.out < 1) continue;
    const int64_t old = ops::set_im2col_budget(t % 3 ? int64_t{1} << 20 : 1);
    check_conv(c, rng, "conv case " + std::to_string(t));
    ops::set_im2col_budget(old);
    ++tested;
  }
}

TEST(ConvForward, ChunkedIm2colMatchesDirectLoops) {
  std::mt19937 rng(12);
  // A natural chunking: 360 x 3600 col floats exceed the default budget.
  check_conv({1, 1, 40, 8, 60, 60, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, "NOTSET", true, false}, rng,
             "chunked 60x60");
  // One output row per chunk, with strides, dilations, padding and groups.
  const int64_t old = ops::set_im2col_budget(1);
  check_conv({2, 2, 3, 2, 11, 9, 3, 2, 2, 1, 2, 2, 2, 1, 0, 1, "NOTSET", true, false}, rng,
             "row chunks");
  check_conv({1, 1, 2, 3, 7, 8, 3, 3, 1, 2, 1, 1, 0, 0, 0, 0, "SAME_LOWER", false, false}, rng,
             "row chunks same");
  ops::set_im2col_budget(old);
}

TEST(ConvForward, ImagesBatchedIntoOneGemmWithAPartialLastBlock) {
  std::mt19937 rng(13);
  // 5 images of 4x5 outputs, Kc = 3*3*2 = 18: a budget of two images' columns gives blocks 2+2+1.
  const int64_t old = ops::set_im2col_budget(2 * 18 * 20);
  check_conv({5, 1, 2, 7, 6, 7, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, "NOTSET", true, false}, rng,
             "batched 3x3");
  check_conv({5, 2, 3, 2, 4, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, "NOTSET", true, false}, rng,
             "batched pointwise, groups");
  ops::set_im2col_budget(old);
}

TEST(ConvForward, LargeShapesExerciseGemmBlocking) {
  std::mt19937 rng(11);
  // K = 40*3*3 = 360 (> one 256-deep slice), N = 21*21, M = 70 (partial micro-tiles).
  check_conv({1, 1, 40, 70, 21, 21, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, "NOTSET", true, false}, rng,
             "large 3x3");
  // Pointwise (1x1, stride 1): no im2col.
  check_conv({2, 1, 33, 17, 7, 9, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, "NOTSET", true, false}, rng,
             "pointwise");
  // Strided 7x7 stem-like conv and a depthwise 3x3 stride 2.
  check_conv({1, 1, 3, 16, 30, 30, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, "NOTSET", false, false}, rng,
             "stem");
  check_conv({2, 24, 1, 1, 15, 15, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, "NOTSET", true, false}, rng,
             "depthwise");
}

TEST(ConvForward, KernelShapeFromWeightsAndSameUpperOddPad) {
  // 1x1x4x4 input, 2x2 kernel of ones, stride 1, SAME_UPPER: the extra pad row/col goes at the end.
  std::vector<float> xv(16);
  for (int i = 0; i < 16; ++i) xv[i] = static_cast<float>(i);
  Tensor X = Tensor::from<float>({1, 1, 4, 4}, xv);
  Tensor W = Tensor::from<float>({1, 1, 2, 2}, {1, 1, 1, 1});
  Tensor Y = run_node(OpKind::Conv, attrs_of({{"auto_pad", std::string("SAME_UPPER")}}), {X, W})[0];
  ASSERT_EQ(Y.shape(), (Shape{1, 1, 4, 4}));
  EXPECT_EQ(Y.to_floats()[0], 0 + 1 + 4 + 5);
  EXPECT_EQ(Y.to_floats()[3], 3 + 7);  // last column sees padding on the right
  EXPECT_EQ(Y.to_floats()[15], 15);    // bottom-right corner: one real pixel
  Tensor L = run_node(OpKind::Conv, attrs_of({{"auto_pad", std::string("SAME_LOWER")}}), {X, W})[0];
  EXPECT_EQ(L.to_floats()[0], 0);  // SAME_LOWER: the pad goes first
  EXPECT_EQ(L.to_floats()[15], 10 + 11 + 14 + 15);
}

// ----------------------------------------------------------------- ConvTranspose

// Direct scatter: Y[n, g*Mg + m, ih*s - pb + kh*d, ...] += X[n, g*Cg + c, ih, iw] * W[g*Cg + c, m,
// kh, kw].
Tensor naive_deconv(const Tensor& X, const Tensor& Wt, const Tensor* B, int64_t G, int64_t s[2],
                    int64_t d[2], int64_t pb[2], int64_t out[2]) {
  const int64_t N = X.dim(0), C = X.dim(1), H = X.dim(2), W = X.dim(3);
  const int64_t Mg = Wt.dim(1), KH = Wt.dim(2), KW = Wt.dim(3), Cg = C / G, M = Mg * G;
  std::vector<double> acc(static_cast<size_t>(N * M * out[0] * out[1]), 0.0);
  const float* x = X.data<float>();
  const float* w = Wt.data<float>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t ih = 0; ih < H; ++ih)
        for (int64_t iw = 0; iw < W; ++iw)
          for (int64_t m = 0; m < Mg; ++m)
            for (int64_t kh = 0; kh < KH; ++kh)
              for (int64_t kw = 0; kw < KW; ++kw) {
                const int64_t oh = ih * s[0] - pb[0] + kh * d[0],
                              ow = iw * s[1] - pb[1] + kw * d[1];
                if (oh < 0 || oh >= out[0] || ow < 0 || ow >= out[1]) continue;
                const int64_t oc = (c / Cg) * Mg + m;
                acc[((n * M + oc) * out[0] + oh) * out[1] + ow] +=
                    static_cast<double>(x[((n * C + c) * H + ih) * W + iw]) *
                    w[((c * Mg + m) * KH + kh) * KW + kw];
              }
  Tensor Y(DType::f32, {N, M, out[0], out[1]});
  float* y = Y.data<float>();
  for (size_t i = 0; i < acc.size(); ++i)
    y[i] = static_cast<float>(acc[i] + (B ? B->data<float>()[(i / (out[0] * out[1])) % M] : 0.0));
  return Y;
}

TEST(ConvTransposeForward, RandomShapesMatchDirectScatter) {
  std::mt19937 rng(3);
  auto r = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int t = 0; t < 30; ++t) {
    const int64_t G = r(1, 3), Cg = r(1, 3), Mg = r(1, 3), N = r(1, 2), H = r(1, 6), W = r(1, 6);
    int64_t k[2] = {r(1, 3), r(1, 3)}, s[2] = {r(1, 3), r(1, 3)}, d[2] = {r(1, 2), r(1, 2)};
    int64_t pads[4] = {r(0, 1), r(0, 1), r(0, 1), r(0, 1)}, op[2] = {0, 0};
    for (int i = 0; i < 2; ++i) op[i] = r(0, std::max(s[i], d[i]) - 1);
    const int mode = r(0, 2);  // 0: pads, 1: output_shape, 2: SAME_UPPER / SAME_LOWER
    Tensor X = random_tensor(rng, {N, G * Cg, H, W});
    Tensor Wt = random_tensor(rng, {G * Cg, Mg, k[0], k[1]});
    Tensor B = random_tensor(rng, {G * Mg});
    Attributes a;
    a.set("group", G);
    a.set("strides", std::vector<int64_t>{s[0], s[1]});
    a.set("dilations", std::vector<int64_t>{d[0], d[1]});
    int64_t in_sz[2] = {H, W}, out[2], pb[2];
    std::string auto_pad = "NOTSET";
    for (int i = 0; i < 2; ++i) {
      const int64_t full = s[i] * (in_sz[i] - 1) + op[i] + (k[i] - 1) * d[i] + 1;
      if (mode == 0) {
        out[i] = full - pads[i] - pads[i + 2], pb[i] = pads[i];
      } else {
        out[i] = mode == 1 ? full + r(-1, 1) : in_sz[i] * s[i];
        const int64_t total = full - out[i];
        // ONNX: SAME_UPPER puts floor(total/2) first, otherwise total - floor(total/2).
        const int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
        auto_pad = mode == 2 ? (t % 2 ? "SAME_UPPER" : "SAME_LOWER") : "NOTSET";
        pb[i] = auto_pad == "SAME_UPPER" ? half : total - half;
      }
    }
    if (out[0] < 1 || out[1] < 1) continue;
    const int64_t old_budget = ops::set_im2col_budget(t % 2 ? 1 : int64_t{1} << 20);
    if (mode == 0) a.set("pads", std::vector<int64_t>{pads[0], pads[1], pads[2], pads[3]});
    if (mode == 1) a.set("output_shape", std::vector<int64_t>{out[0], out[1]});
    if (mode == 2) a.set("auto_pad", auto_pad);
    if (op[0] || op[1]) a.set("output_padding", std::vector<int64_t>{op[0], op[1]});
    const bool bias = t % 3 != 0;
    Tensor want = naive_deconv(X, Wt, bias ? &B : nullptr, G, s, d, pb, out);
    std::vector<Tensor> ins{X, Wt};
    if (bias) ins.push_back(B);
    expect_close(run_node(OpKind::ConvTranspose, a, ins)[0], want, 1e-4f, 1e-4f,
                 "deconv case " + std::to_string(t));
    ops::set_im2col_budget(old_budget);
  }
}

// ----------------------------------------------------------------- Gemm / MatMul

TEST(GemmForward, RandomShapesTransposesAndBroadcastC) {
  std::mt19937 rng(5);
  auto r = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int t = 0; t < 40; ++t) {
    const int64_t M = r(1, 40), N = r(1, 40), K = r(1, 70);
    const bool ta = r(0, 1), tb = r(0, 1);
    const float alpha = t % 4 ? 0.75f : 1.f, beta = t % 3 ? -1.5f : 1.f;
    Tensor A = random_tensor(rng, ta ? Shape{K, M} : Shape{M, K});
    Tensor B = random_tensor(rng, tb ? Shape{N, K} : Shape{K, N});
    const int cform = r(0, 6);
    const Shape cs[] = {{}, {}, {1}, {N}, {M, 1}, {1, N}, {M, N}};
    Tensor C = random_tensor(rng, cs[cform]);
    Tensor want(DType::f32, {M, N});
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k)
          s += static_cast<double>(ta ? A.data<float>()[k * M + i] : A.data<float>()[i * K + k]) *
               (tb ? B.data<float>()[j * K + k] : B.data<float>()[k * N + j]);
        double c = 0;
        if (cform > 0) {
          const Shape& s2 = cs[cform];
          const int64_t ci = s2.size() == 2 && s2[0] != 1 ? i : 0;
          const int64_t cj = !s2.empty() && s2.back() != 1 ? j : 0;
          c = C.data<float>()[ci * (s2.empty() ? 1 : s2.back()) + cj];
        }
        want.data<float>()[i * N + j] = static_cast<float>(alpha * s + beta * c);
      }
    Attributes a = attrs_of(
        {{"transA", int64_t{ta}}, {"transB", int64_t{tb}}, {"alpha", alpha}, {"beta", beta}});
    std::vector<Tensor> ins{A, B};
    if (cform > 0) ins.push_back(C);
    expect_close(run_node(OpKind::Gemm, a, ins)[0], want, 1e-4f, 1e-4f,
                 "gemm case " + std::to_string(t));
  }
}

// Naive numpy matmul with broadcasting over batch dims.
Tensor naive_matmul(const Tensor& A, const Tensor& B) {
  Shape a = A.shape(), b = B.shape();
  const bool a1 = a.size() == 1, b1 = b.size() == 1;
  if (a1) a.insert(a.begin(), 1);
  if (b1) b.push_back(1);
  const int64_t M = a[a.size() - 2], K = a.back(), N = b.back();
  const size_t r = std::max(a.size(), b.size()) - 2;
  Shape batch(r);
  auto dim = [&](const Shape& s, size_t i) -> int64_t {  // batch dim i (right-aligned), 1 if absent
    const size_t sb = s.size() - 2;
    return i + sb < r ? 1 : s[i + sb - r];
  };
  for (size_t i = 0; i < r; ++i) batch[i] = std::max(dim(a, i), dim(b, i));
  Shape out = batch;
  if (!a1) out.push_back(M);
  if (!b1) out.push_back(N);
  Tensor Y(DType::f32, out);
  const int64_t nb = shape_numel(batch);
  for (int64_t q = 0; q < nb; ++q) {
    int64_t rem = q, ia = 0, ib = 0, sa = 1, sb = 1;
    for (size_t i = r; i-- > 0;) {
      const int64_t idx = rem % batch[i];
      rem /= batch[i];
      ia += (dim(a, i) == 1 ? 0 : idx) * sa, ib += (dim(b, i) == 1 ? 0 : idx) * sb;
      sa *= dim(a, i), sb *= dim(b, i);
    }
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k)
          s += static_cast<double>(A.data<float>()[(ia * M + i) * K + k]) *
               B.data<float>()[(ib * K + k) * N + j];
        Y.data<float>()[(q * M + i) * N + j] = static_cast<float>(s);
      }
  }
  return Y;
}

TEST(MatMulForward, BatchedBroadcastAndOneDimensionalOperands) {
  std::mt19937 rng(9);
  auto r = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int t = 0; t < 40; ++t) {
    const int64_t M = r(1, 9), N = r(1, 9), K = r(1, 20);
    const int ra = r(1, 4), rb = r(1, 4);
    Shape a, b;
    for (int i = 0; i < std::max(ra, rb) - 2; ++i) {
      const int64_t d = r(1, 3);
      const int pick = r(0, 2);  // broadcast on either side
      if (i >= std::max(ra, rb) - 2 - (ra - 2)) a.push_back(pick == 0 ? 1 : d);
      if (i >= std::max(ra, rb) - 2 - (rb - 2)) b.push_back(pick == 1 ? 1 : d);
    }
    if (ra == 1)
      a = {K};
    else
      a.push_back(M), a.push_back(K);
    if (rb == 1)
      b = {K};
    else
      b.push_back(K), b.push_back(N);
    Tensor A = random_tensor(rng, a), B = random_tensor(rng, b);
    expect_close(run_node(OpKind::MatMul, {}, {A, B})[0], naive_matmul(A, B), 1e-4f, 1e-4f,
                 "matmul " + shape_str(a) + " x " + shape_str(b));
  }
}

TEST(MatMulForward, VectorTimesVectorIsAScalar) {
  Tensor a = Tensor::from<float>({3}, {1, 2, 3}), b = Tensor::from<float>({3}, {4, 5, 6});
  Tensor y = run_node(OpKind::MatMul, {}, {a, b})[0];
  EXPECT_EQ(y.rank(), 0);
  EXPECT_EQ(y.to_floats()[0], 32.f);
}

// ----------------------------------------------------------------- pooling

struct PoolCase {
  int64_t N, C, H, W, KH, KW, sh, sw, dh, dw, pt, pl, pb, pr;
  std::string auto_pad;
  bool ceil, include_pad, one_d;
};

// Naive pooling: max ignores padding; average divides by the positions inside the input, or with
// count_include_pad by those inside the padded extent [-pad_begin, in + pad_end).
Tensor naive_pool(const Tensor& X, bool is_max, bool include_pad, int64_t KH, int64_t KW,
                  int64_t sh, int64_t sw, int64_t dh, int64_t dw, AxisGeo gh, AxisGeo gw) {
  const int64_t N = X.dim(0), C = X.dim(1), H = X.dim(2), W = X.dim(3);
  Tensor Y(DType::f32, {N, C, gh.out, gw.out});
  const float* x = X.data<float>();
  float* y = Y.data<float>();
  for (int64_t p = 0; p < N * C; ++p)
    for (int64_t oh = 0; oh < gh.out; ++oh)
      for (int64_t ow = 0; ow < gw.out; ++ow) {
        double s = 0, m = -INFINITY;
        int64_t valid = 0, padded = 0;
        for (int64_t kh = 0; kh < KH; ++kh)
          for (int64_t kw = 0; kw < KW; ++kw) {
            const int64_t ih = oh * sh - gh.pb + kh * dh, iw = ow * sw - gw.pb + kw * dw;
            if (ih >= -gh.pb && ih < H + gh.pe && iw >= -gw.pb && iw < W + gw.pe) ++padded;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            const float v = x[(p * H + ih) * W + iw];
            s += v, m = std::max<double>(m, v), ++valid;
          }
        y[(p * gh.out + oh) * gw.out + ow] =
            static_cast<float>(is_max ? m : s / static_cast<double>(include_pad ? padded : valid));
      }
  return Y;
}

void check_pool(const PoolCase& c, bool is_max, std::mt19937& rng, const std::string& what) {
  const int64_t H = c.one_d ? 1 : c.H, KH = c.one_d ? 1 : c.KH;
  AxisGeo gh =
      c.one_d ? AxisGeo{1, 0, 0} : spec_axis(H, KH, c.sh, c.dh, c.pt, c.pb, c.auto_pad, c.ceil);
  AxisGeo gw = spec_axis(c.W, c.KW, c.sw, c.dw, c.pl, c.pr, c.auto_pad, c.ceil);
  Tensor X = random_tensor(rng, {c.N, c.C, H, c.W});
  Tensor want = naive_pool(X, is_max, c.include_pad, KH, c.KW, c.one_d ? 1 : c.sh, c.sw,
                           c.one_d ? 1 : c.dh, c.dw, gh, gw);
  Attributes a;
  a.set("auto_pad", c.auto_pad);
  a.set("ceil_mode", int64_t{c.ceil});
  auto sp = [&](int64_t h, int64_t w) {
    return c.one_d ? std::vector<int64_t>{w} : std::vector<int64_t>{h, w};
  };
  a.set("kernel_shape", sp(KH, c.KW));
  a.set("strides", sp(c.sh, c.sw));
  if (is_max)
    a.set("dilations", sp(c.dh, c.dw));
  else
    a.set("count_include_pad", int64_t{c.include_pad});
  if (c.auto_pad == "NOTSET")
    a.set("pads", c.one_d ? std::vector<int64_t>{c.pl, c.pr}
                          : std::vector<int64_t>{c.pt, c.pl, c.pb, c.pr});
  Tensor in = c.one_d ? X.reshaped({c.N, c.C, c.W}) : X;
  if (c.one_d) want = want.reshaped({c.N, c.C, gw.out});
  Tensor got = run_node(is_max ? OpKind::MaxPool : OpKind::AveragePool, a, {in})[0];
  expect_close(got, want, 1e-5f, 1e-5f, what);
}

void random_pools(bool is_max, uint32_t seed) {
  std::mt19937 rng(seed);
  auto r = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const char* pads[] = {"NOTSET", "NOTSET", "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};
  int tested = 0;
  for (int t = 0; tested < 80; ++t) {
    PoolCase c;
    c.N = r(1, 2), c.C = r(1, 3), c.H = r(1, 9), c.W = r(1, 10);
    c.KH = r(1, 3), c.KW = r(1, 4), c.sh = r(1, 3), c.sw = r(1, 3);
    c.dh = is_max ? r(1, 2) : 1, c.dw = is_max ? r(1, 2) : 1;
    // Pads smaller than the kernel (as PyTorch and the ONNX tests use them).
    c.pt = r(0, c.KH - 1), c.pb = r(0, c.KH - 1), c.pl = r(0, c.KW - 1), c.pr = r(0, c.KW - 1);
    c.auto_pad = pads[r(0, 5)];
    c.ceil = r(0, 1), c.include_pad = r(0, 1), c.one_d = r(0, 4) == 0;
    const int64_t H = c.one_d ? 1 : c.H, KH = c.one_d ? 1 : c.KH;
    if (!c.one_d && spec_axis(H, KH, c.sh, c.dh, c.pt, c.pb, c.auto_pad, c.ceil).out < 1) continue;
    if (spec_axis(c.W, c.KW, c.sw, c.dw, c.pl, c.pr, c.auto_pad, c.ceil).out < 1) continue;
    if ((H - 1) * c.dh + 1 < 0) continue;
    check_pool(c, is_max, rng,
               std::string(is_max ? "maxpool" : "avgpool") + " case " + std::to_string(t));
    ++tested;
  }
}

TEST(PoolForward, MaxPoolRandomMatchesDirectLoops) {
  random_pools(true, 21);
}
TEST(PoolForward, AveragePoolRandomMatchesDirectLoops) {
  random_pools(false, 22);
}

TEST(PoolForward, CeilModeDropsAWindowStartingInTheEndPadding) {
  // in 5, kernel 3, stride 3, pads 1/1, ceil: (5+2-3)/3 = 1.33 -> 3 windows, but the third would
  // start at 5 (= in + pad_begin - 1 + 1), inside the end padding: PyTorch and ONNX keep 2.
  Tensor X = Tensor::from<float>({1, 1, 5}, {1, 5, 2, 4, 3});
  Attributes a = attrs_of({{"kernel_shape", std::vector<int64_t>{3}},
                           {"strides", std::vector<int64_t>{3}},
                           {"pads", std::vector<int64_t>{1, 1}},
                           {"ceil_mode", int64_t{1}}});
  Tensor Y = run_node(OpKind::MaxPool, a, {X})[0];
  EXPECT_EQ(Y.to_floats(), (std::vector<float>{5, 4}));
}

TEST(PoolForward, AveragePoolCeilOverhangIsNotCountedAsPadding) {
  // in 6, kernel 3, stride 2, pads 1/1, ceil: windows start at -1, 1, 3, 5; the last covers
  // [5, 8) of which [5, 7) is inside the padded extent: divisor 2 with count_include_pad.
  Tensor X = Tensor::from<float>({1, 1, 6}, {1, 2, 3, 4, 5, 6});
  Attributes a = attrs_of({{"kernel_shape", std::vector<int64_t>{3}},
                           {"strides", std::vector<int64_t>{2}},
                           {"pads", std::vector<int64_t>{1, 1}},
                           {"ceil_mode", int64_t{1}},
                           {"count_include_pad", int64_t{1}}});
  Tensor Y = run_node(OpKind::AveragePool, a, {X})[0];
  EXPECT_EQ(Y.to_floats(), (std::vector<float>{3.f / 3, 9.f / 3, 15.f / 3, 6.f / 2}));
  a.set("count_include_pad", int64_t{0});
  Y = run_node(OpKind::AveragePool, a, {X})[0];
  EXPECT_EQ(Y.to_floats(), (std::vector<float>{3.f / 2, 9.f / 3, 15.f / 3, 6.f / 1}));
}

TEST(PoolForward, MaxPoolInt8AndUint8) {
  Tensor X = Tensor::from<int8_t>({1, 1, 2, 3}, {-128, -5, 7, 3, 127, -1});
  Attributes a = attrs_of(
      {{"kernel_shape", std::vector<int64_t>{2, 2}}, {"pads", std::vector<int64_t>{0, 1, 0, 0}}});
  Tensor Y = run_node(OpKind::MaxPool, a, {X})[0];
  EXPECT_EQ(Y.dtype(), DType::i8);
  EXPECT_EQ(Y.to_floats(), (std::vector<float>{3, 127, 127}));
  Tensor U = Tensor::from<uint8_t>({1, 1, 1, 4}, {0, 255, 3, 200});
  Attributes b = attrs_of(
      {{"kernel_shape", std::vector<int64_t>{1, 2}}, {"strides", std::vector<int64_t>{1, 2}}});
  EXPECT_EQ(run_node(OpKind::MaxPool, b, {U})[0].to_floats(), (std::vector<float>{255, 200}));
}

TEST(PoolForward, GlobalAveragePoolAnyRank) {
  std::mt19937 rng(4);
  for (Shape s : {Shape{2, 3, 5}, Shape{2, 3, 4, 5}, Shape{1, 2, 3, 2, 2}}) {
    Tensor X = random_tensor(rng, s);
    Shape out = s;
    std::fill(out.begin() + 2, out.end(), 1);
    Tensor want(DType::f32, out);
    const int64_t S = X.numel() / (s[0] * s[1]);
    for (int64_t p = 0; p < s[0] * s[1]; ++p) {
      double acc = 0;
      for (int64_t i = 0; i < S; ++i) acc += X.data<float>()[p * S + i];
      want.data<float>()[p] = static_cast<float>(acc / S);
    }
    expect_close(run_node(OpKind::GlobalAveragePool, {}, {X})[0], want, 1e-6f, 1e-5f,
                 "gap " + shape_str(s));
  }
}

// ----------------------------------------------------------------- BatchNormalization

TEST(BatchNormForward, MatchesFormulaForRanks2To4) {
  std::mt19937 rng(8);
  for (Shape s : {Shape{4, 3}, Shape{2, 3, 5}, Shape{2, 3, 4, 5}}) {
    const int64_t C = s[1];
    Tensor X = random_tensor(rng, s), sc = random_tensor(rng, {C}), b = random_tensor(rng, {C});
    Tensor mean = random_tensor(rng, {C}), var = random_tensor(rng, {C}, 0.1f, 2.f);
    const float eps = 1e-3f;
    Tensor want(DType::f32, s);
    const int64_t S = X.numel() / (s[0] * C);
    for (int64_t i = 0; i < X.numel(); ++i) {
      const int64_t c = (i / S) % C;
      want.data<float>()[i] = static_cast<float>(
          (X.data<float>()[i] - mean.data<float>()[c]) /
              std::sqrt(static_cast<double>(var.data<float>()[c]) + eps) * sc.data<float>()[c] +
          b.data<float>()[c]);
    }
    Tensor got = run_node(OpKind::BatchNormalization, attrs_of({{"epsilon", eps}}),
                          {X, sc, b, mean, var})[0];
    expect_close(got, want, 1e-5f, 1e-5f, "bn " + shape_str(s));
  }
}

}  // namespace
}  // namespace mpq
