// Gemm (ONNX Gemm-7/9/11/13: Y = alpha * op(A) * op(B) + beta * C, C unidirectionally broadcast to
// [M, N]) and MatMul (numpy matmul: 1-D operands promoted and their dim removed, batch dims
// broadcast). Both run on the blocked GEMM kernel.
#include <algorithm>

#include "ir/ops/compute_util.h"
#include "ir/ops/gemm_kernel.h"
#include "ir/ops/op_util.h"

namespace mpq::ops {

namespace {

// ---------------------------------------------------------------- Gemm

struct GemmDims {
  int64_t M, N, K;
};

GemmDims gemm_dims(const Node& n, const Shape& a, const Shape& b, const Shape* c) {
  if (a.size() != 2 || b.size() != 2)
    invalid_input(str("Gemm inputs A and B must be 2-D, got ", shape_str(a), " and ", shape_str(b)))
        .node(n.name)
        .raise();
  const bool ta = n.attrs.i("transA", 0) != 0, tb = n.attrs.i("transB", 0) != 0;
  const int64_t M = ta ? a[1] : a[0], Ka = ta ? a[0] : a[1];
  const int64_t Kb = tb ? b[1] : b[0], N = tb ? b[0] : b[1];
  if (Ka >= 0 && Kb >= 0 && Ka != Kb)
    invalid_input(str("inner dimensions differ: A ", shape_str(a), (ta ? " (transposed)" : ""),
                      " and B ", shape_str(b), (tb ? " (transposed)" : ""), " give K = ", Ka,
                      " and ", Kb))
        .node(n.name)
        .raise();
  if (c) {
    if (c->size() > 2)
      invalid_input(str("C must have rank <= 2, got ", shape_str(*c))).node(n.name).raise();
    const Shape y{M, N};
    for (size_t i = 0; i < c->size(); ++i) {
      const int64_t cd = (*c)[i], yd = y[2 - c->size() + i];
      if (cd != 1 && cd >= 0 && yd >= 0 && cd != yd)
        invalid_input(
            str("C ", shape_str(*c), " does not broadcast to the output [", M, ",", N, "]"))
            .node(n.name)
            .raise();
    }
  }
  return {M, N, Ka >= 0 ? Ka : Kb};
}

std::vector<TypeInfo> infer_gemm(const Node& n) {
  expect_float(n, 0);
  expect_float(n, 1);
  const Value& a = in(n, 0);
  const Value& b = in(n, 1);
  const Value* c = n.input(2);
  for (const Value* v : {&b, c})
    if (v && v->dtype != a.dtype)
      invalid_input(
          str("input '", v->name, "' is ", dtype_name(v->dtype), " but A is ", dtype_name(a.dtype)))
          .node(n.name)
          .raise();
  GemmDims d = gemm_dims(n, a.shape, b.shape, c ? &c->shape : nullptr);
  return {{a.dtype, {d.M, d.N}}};
}

// Strides (in elements) that broadcast an array of shape `s` (rank <= 2) over [M, N].
void broadcast_2d(const Shape& s, int64_t M, int64_t N, int64_t* sm, int64_t* sn) {
  const int64_t dm = s.size() == 2 ? s[0] : 1;
  const int64_t dn = s.empty() ? 1 : s.back();
  *sn = dn == 1 ? 0 : 1;
  *sm = dm == 1 ? 0 : dn;
  (void)M, (void)N;
}

std::vector<Tensor> gemm_forward(const Node& n, const std::vector<Tensor>& in) {
  const Tensor A = as_f32(in[0]), B = as_f32(in[1]);
  const bool has_c = in.size() > 2 && !in[2].empty();
  const Tensor C = has_c ? as_f32(in[2]) : Tensor();
  GemmDims d = gemm_dims(n, A.shape(), B.shape(), has_c ? &C.shape() : nullptr);
  const bool ta = n.attrs.i("transA", 0) != 0, tb = n.attrs.i("transB", 0) != 0;
  const float alpha = n.attrs.f("alpha", 1.f), beta = n.attrs.f("beta", 1.f);
  Tensor Y(DType::f32, {d.M, d.N});
  float* y = Y.data<float>();
  float out_beta = 0.f;
  if (has_c && beta != 0.f) {  // Y = beta * C (broadcast), then Y += alpha * op(A) op(B)
    int64_t sm, sn;
    broadcast_2d(C.shape(), d.M, d.N, &sm, &sn);
    const float* c = C.data<float>();
    for (int64_t i = 0; i < d.M; ++i)
      for (int64_t j = 0; j < d.N; ++j) y[i * d.N + j] = beta * c[i * sm + j * sn];
    out_beta = 1.f;
  }
  sgemm(ta, tb, d.M, d.N, d.K, alpha, A.data<float>(), A.dim(1), B.data<float>(), B.dim(1),
        out_beta, y, d.N);
  return {from_f32(Y, in[0].dtype())};
}

std::vector<Tensor> gemm_backward(const Node& n, const std::vector<Tensor>& in,
                                  const std::vector<Tensor>&, const std::vector<Tensor>& gout) {
  const Tensor A = as_f32(in[0]), B = as_f32(in[1]), GY = as_f32(gout[0]);
  const bool has_c = in.size() > 2 && !in[2].empty();
  const Shape cshape = has_c ? in[2].shape() : Shape{};
  GemmDims d = gemm_dims(n, A.shape(), B.shape(), has_c ? &cshape : nullptr);
  const bool ta = n.attrs.i("transA", 0) != 0, tb = n.attrs.i("transB", 0) != 0;
  const float alpha = n.attrs.f("alpha", 1.f), beta = n.attrs.f("beta", 1.f);
  const float* a = A.data<float>();
  const float* b = B.data<float>();
  const float* gy = GY.data<float>();
  const int64_t lda = A.dim(1), ldb = B.dim(1);
  Tensor GA(DType::f32, A.shape()), GB(DType::f32, B.shape());
  // d op(A) = alpha dY op(B)^T [M, K]; stored transposed when transA.
  if (!ta)
    sgemm(false, !tb, d.M, d.K, d.N, alpha, gy, d.N, b, ldb, 0.f, GA.data<float>(), d.K);
  else
    sgemm(tb, true, d.K, d.M, d.N, alpha, b, ldb, gy, d.N, 0.f, GA.data<float>(), d.M);
  // d op(B) = alpha op(A)^T dY [K, N]; stored transposed when transB.
  if (!tb)
    sgemm(!ta, false, d.K, d.N, d.M, alpha, a, lda, gy, d.N, 0.f, GB.data<float>(), d.N);
  else
    sgemm(true, ta, d.N, d.K, d.M, alpha, gy, d.N, a, lda, 0.f, GB.data<float>(), d.K);
  std::vector<Tensor> grads{from_f32(GA, in[0].dtype()), from_f32(GB, in[1].dtype())};
  if (in.size() > 2) {
    Tensor GC;
    if (has_c) {  // dC = beta * dY summed over the broadcast dims
      GC = Tensor(DType::f32, cshape);
      int64_t sm, sn;
      broadcast_2d(cshape, d.M, d.N, &sm, &sn);
      std::vector<double> acc(static_cast<size_t>(GC.numel()), 0.0);
      for (int64_t i = 0; i < d.M; ++i)
        for (int64_t j = 0; j < d.N; ++j) acc[i * sm + j * sn] += gy[i * d.N + j];
      float* gc = GC.data<float>();
      for (size_t k = 0; k < acc.size(); ++k) gc[k] = static_cast<float>(beta * acc[k]);
      GC = from_f32(GC, in[2].dtype());
    }
    grads.push_back(GC);
  }
  return grads;
}

// ---------------------------------------------------------------- MatMul

// Numpy matmul geometry: A [..., M, K] x B [..., K, N] -> Y [batch..., M, N] (1-D operands are
// promoted to [1, K] / [K, 1] and the promoted dim is dropped from Y).
struct MatMulDims {
  int64_t M, N, K;
  Shape batch;                        // broadcast batch shape
  std::vector<int64_t> a_off, b_off;  // per batch index: offset (in matrices) into A / B
  Shape out;
};

MatMulDims matmul_dims(const Node& n, const Shape& a0, const Shape& b0, bool offsets) {
  if (a0.empty() || b0.empty())
    invalid_input(
        str("MatMul inputs must have rank >= 1, got ", shape_str(a0), " and ", shape_str(b0)))
        .node(n.name)
        .raise();
  Shape a = a0, b = b0;
  if (a.size() == 1) a.insert(a.begin(), 1);
  if (b.size() == 1) b.push_back(1);
  MatMulDims d;
  d.M = a[a.size() - 2], d.K = a.back(), d.N = b.back();
  const int64_t Kb = b[b.size() - 2];
  if (d.K >= 0 && Kb >= 0 && d.K != Kb)
    invalid_input(str("inner dimensions differ: A ", shape_str(a0), " and B ", shape_str(b0)))
        .node(n.name)
        .raise();
  if (d.K < 0) d.K = Kb;
  const Shape ab(a.begin(), a.end() - 2), bb(b.begin(), b.end() - 2);
  try {
    d.batch = broadcast_shapes(ab, bb);
  } catch (const Error&) {
    invalid_input(
        str("batch dimensions of A ", shape_str(a0), " and B ", shape_str(b0), " do not broadcast"))
        .node(n.name)
        .raise();
  }
  d.out = d.batch;
  if (a0.size() > 1) d.out.push_back(d.M);
  if (b0.size() > 1) d.out.push_back(d.N);
  if (!offsets) return d;
  // Offsets of each broadcast batch index into A and B (an odometer over the batch shape).
  const size_t r = d.batch.size();
  auto bstrides = [&](const Shape& s) {
    std::vector<int64_t> st(r, 0);
    int64_t acc = 1;
    for (size_t i = s.size(); i-- > 0;) {
      st[r - s.size() + i] = s[i] == 1 ? 0 : acc;
      acc *= s[i];
    }
    return st;
  };
  const auto sa = bstrides(ab), sb = bstrides(bb);
  const int64_t nb = shape_numel(d.batch);
  std::vector<int64_t> idx(r, 0);
  int64_t ia = 0, ib = 0;
  for (int64_t k = 0; k < nb; ++k) {
    d.a_off.push_back(ia), d.b_off.push_back(ib);
    for (size_t q = r; q-- > 0;) {
      ++idx[q], ia += sa[q], ib += sb[q];
      if (idx[q] < d.batch[q]) break;
      ia -= sa[q] * d.batch[q], ib -= sb[q] * d.batch[q], idx[q] = 0;
    }
  }
  return d;
}

std::vector<TypeInfo> infer_matmul(const Node& n) {
  expect_float(n, 0);
  expect_float(n, 1);
  const Value& a = in(n, 0);
  const Value& b = in(n, 1);
  if (a.dtype != b.dtype)
    invalid_input(
        str("inputs have different dtypes: ", dtype_name(a.dtype), " and ", dtype_name(b.dtype)))
        .node(n.name)
        .raise();
  return {{a.dtype, matmul_dims(n, a.shape, b.shape, false).out}};
}

std::vector<Tensor> matmul_forward(const Node& n, const std::vector<Tensor>& in) {
  const Tensor A = as_f32(in[0]), B = as_f32(in[1]);
  MatMulDims d = matmul_dims(n, A.shape(), B.shape(), true);
  Tensor Y(DType::f32, d.out);
  const float* a = A.data<float>();
  const float* b = B.data<float>();
  float* y = Y.data<float>();
  for (size_t k = 0; k < d.a_off.size(); ++k)
    sgemm(false, false, d.M, d.N, d.K, 1.f, a + d.a_off[k] * d.M * d.K, d.K,
          b + d.b_off[k] * d.K * d.N, d.N, 0.f, y + static_cast<int64_t>(k) * d.M * d.N, d.N);
  return {from_f32(Y, in[0].dtype())};
}

// dA = dY B^T and dB = A^T dY per batch index, summed into broadcast batch entries.
std::vector<Tensor> matmul_backward(const Node& n, const std::vector<Tensor>& in,
                                    const std::vector<Tensor>&, const std::vector<Tensor>& gout) {
  const Tensor A = as_f32(in[0]), B = as_f32(in[1]), GY = as_f32(gout[0]);
  MatMulDims d = matmul_dims(n, A.shape(), B.shape(), true);
  Tensor GA(DType::f32, A.shape()), GB(DType::f32, B.shape());
  const float* a = A.data<float>();
  const float* b = B.data<float>();
  const float* gy = GY.data<float>();
  float* ga = GA.data<float>();
  float* gb = GB.data<float>();
  for (size_t k = 0; k < d.a_off.size(); ++k) {
    const float* gyk = gy + static_cast<int64_t>(k) * d.M * d.N;
    sgemm(false, true, d.M, d.K, d.N, 1.f, gyk, d.N, b + d.b_off[k] * d.K * d.N, d.N, 1.f,
          ga + d.a_off[k] * d.M * d.K, d.K);
    sgemm(true, false, d.K, d.N, d.M, 1.f, a + d.a_off[k] * d.M * d.K, d.K, gyk, d.N, 1.f,
          gb + d.b_off[k] * d.K * d.N, d.N);
  }
  return {from_f32(GA, in[0].dtype()), from_f32(GB, in[1].dtype())};
}

}  // namespace

OpDef def_Gemm() {
  OpDef d;
  d.doc = "alpha * op(A) * op(B) + beta * C (transA, transB, C broadcast to [M, N])";
  d.min_inputs = 2, d.max_inputs = 3;
  d.attrs = {attr_float("alpha", 1.f), attr_float("beta", 1.f), attr_int("transA", 0),
             attr_int("transB", 0)};
  d.infer = infer_gemm;
  d.forward = gemm_forward;
  d.backward = gemm_backward;
  d.quant = QuantRule::kRequant;
  d.weighted = true;
  d.weight_channel_axis = [](const Node& n) { return n.attrs.i("transB", 0) ? 0 : 1; };
  d.flops = [](const Node& n) -> int64_t {
    const Value* a = n.input(0);
    const Value* y = n.outputs.empty() ? nullptr : n.outputs[0];
    if (!a || !y || !a->has_type || !y->has_type || a->shape.size() < 2) return 0;
    // (FusedGemm's A may have rank > 2: its rows are the leading dims.)
    const int64_t K = known_dim(n.attrs.i("transA", 0) ? a->shape[0] : a->shape.back());
    return known_numel(y->shape) * K;
  };
  d.onnx.op_type = "Gemm", d.onnx.min_opset = 1, d.onnx.max_opset = 18;
  // Gemm-1/6 had a `broadcast` flag; Gemm-7 made C unidirectionally broadcastable, which covers
  // both settings, so the flag is accepted at import and dropped.
  d.onnx.internal_attrs = {"broadcast"};
  d.onnx.import_fixup = [](Graph&, Node& n, int) { n.attrs.erase("broadcast"); };
  return d;
}

OpDef def_MatMul() {
  OpDef d;
  d.doc = "numpy matmul (batch dims broadcast, 1-D operands promoted)";
  d.min_inputs = d.max_inputs = 2;
  d.infer = infer_matmul;
  d.forward = matmul_forward;
  d.backward = matmul_backward;
  d.quant = QuantRule::kRequant;
  d.weighted = true;
  d.weight_channel_axis = [](const Node& n) {
    const Value* w = n.input(1);
    return w && !w->shape.empty() ? static_cast<int>(w->shape.size()) - 1 : 1;
  };
  d.flops = [](const Node& n) -> int64_t {
    const Value* a = n.input(0);
    const Value* y = n.outputs.empty() ? nullptr : n.outputs[0];
    if (!a || !y || !a->has_type || !y->has_type || a->shape.empty()) return 0;
    return known_numel(y->shape) * known_dim(a->shape.back());
  };
  d.onnx.op_type = "MatMul", d.onnx.min_opset = 1, d.onnx.max_opset = 18;
  return d;
}

}  // namespace mpq::ops
