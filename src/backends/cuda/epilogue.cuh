// The fused epilogue shared by every convolution/GEMM kernel: scale and bias, post-op chain
// (activations and the residual sum), requantization or conversion, store.
#pragma once

#include <cuda_fp16.h>

#include "backends/cuda/conv_params.h"

namespace mpq::cuda {

__device__ __forceinline__ float load_as_float(const void* base, int32_t dt, int64_t off,
                                               float scale, int32_t zp) {
  switch (dt) {
    case kDtF32:
      return static_cast<const float*>(base)[off];
    case kDtF16:
      return __half2float(static_cast<const __half*>(base)[off]);
    case kDtS8:
      return scale * static_cast<float>(static_cast<const int8_t*>(base)[off] - zp);
    default:
      return scale * static_cast<float>(static_cast<const uint8_t*>(base)[off] - zp);
  }
}

// Round half to even with saturation (ONNX QuantizeLinear): __float2int_rn rounds to nearest even
// and saturates out-of-range values; NaN gives 0, i.e. the zero point.
__device__ __forceinline__ int32_t quantize_to(float v, float scale, int32_t zp, int32_t lo,
                                               int32_t hi) {
  int32_t q = __float2int_rn(v / scale);
  q = q > 0x3fffffff ? 0x3fffffff : (q < -0x3fffffff ? -0x3fffffff : q);
  q += zp;
  return q < lo ? lo : (q > hi ? hi : q);
}

__device__ __forceinline__ void store_from_float(void* base, int32_t dt, int64_t off, float v,
                                                 float scale, int32_t zp) {
  switch (dt) {
    case kDtF32:
      static_cast<float*>(base)[off] = v;
      break;
    case kDtF16:
      static_cast<__half*>(base)[off] = __float2half_rn(v);
      break;
    case kDtS8:
      static_cast<int8_t*>(base)[off] = static_cast<int8_t>(quantize_to(v, scale, zp, -128, 127));
      break;
    default:
      static_cast<uint8_t*>(base)[off] = static_cast<uint8_t>(quantize_to(v, scale, zp, 0, 255));
      break;
  }
}

// The post-ops that are not clamps (kOpSigmoid on), on post-op k of e: f(v * op_s) * op_rs.
__device__ __forceinline__ float smooth_post_op(const Epilogue& e, int k, float v) {
  const float x = v * e.op_s[k];
  float y = x;
  switch (e.ops[k]) {
    case kOpSigmoid:
      y = 1.f / (1.f + expf(-x));
      break;
    case kOpTanh:
      y = tanhf(x);
      break;
    case kOpHardSigmoid:
      y = fmaxf(0.f, fminf(1.f, e.op_a[k] * x + e.op_b[k]));
      break;
    case kOpHardSwish:
      y = x * fmaxf(0.f, fminf(1.f, x * (1.f / 6.f) + 0.5f));
      break;
    case kOpSilu:
      y = x / (1.f + expf(-x));
      break;
    case kOpGelu:
      y = 0.5f * x * (1.f + erff(x * 0.70710678118654752f));
      break;
    default:
      break;
  }
  return y * e.op_rs[k];
}

// Post-op chain on one value at output offset `off` (the residual has the output's shape).
__device__ __forceinline__ float apply_post_ops(const Epilogue& e, float v, int64_t off) {
  for (int i = 0; i < e.nops; ++i) {
    switch (e.ops[i]) {
      case kOpRelu:
        v = fmaxf(v, 0.f);
        break;
      case kOpClip:
        v = fminf(fmaxf(v, e.op_a[i]), e.op_b[i]);
        break;
      case kOpLeaky:
        v = v >= 0.f ? v : e.op_a[i] * v;
        break;
      case kOpAdd:
        v += load_as_float(e.res, e.res_dt, off, e.res_scale, e.res_zp);
        break;
      default:
        v = smooth_post_op(e, i, v);
        break;
    }
  }
  return v;
}

// Finishes one accumulator value of output channel oc at offset off.
__device__ __forceinline__ float finish_value(const Epilogue& e, float acc, int oc, int64_t off) {
  return apply_post_ops(e, fmaf(e.alpha[oc], acc, e.beta[oc]), off);
}

// The int8 kernels' epilogue (Epilogue::int_acc): oneDNN 2.x's operation order, with explicit
// _rn intrinsics so that nvcc contracts nothing into an FMA that oneDNN does not have. v[] holds
// float(acc - zcomp), a[] the output scales, b[] the biases in accumulator units.
// oneDNN's sum post-op: one FMA with the sum scale when the residual is int8 in the output's byte
// size; otherwise the residual was dequantized by a reorder first (rv: r - z_r for int8
// residuals, exact; the value for float ones).
__device__ __forceinline__ float int_add_residual(const Epilogue& e, float t, float rv) {
  const bool res_q = e.res_dt == kDtU8 || e.res_dt == kDtS8;
  const bool out_q = e.out_dt == kDtU8 || e.out_dt == kDtS8;
  return !res_q  ? __fadd_rn(t, rv)
         : out_q ? __fmaf_rn(rv, e.res_scale, t)
                 : __fadd_rn(t, __fmul_rn(rv, e.res_scale));
}

__device__ __forceinline__ void store4_int(const Epilogue& e, void* y, int64_t off, const float* v,
                                           const float* a, const float* b, int count) {
  const bool vec = count == 4 && (off & 3) == 0;
  const bool res_q = e.res_dt == kDtU8 || e.res_dt == kDtS8;
  const bool out_q = e.out_dt == kDtU8 || e.out_dt == kDtS8;
  float rv[4] = {0.f, 0.f, 0.f, 0.f};
  if (e.res) {
    if (res_q && vec) {
      const uint32_t u =
          __ldg(reinterpret_cast<const uint32_t*>(static_cast<const uint8_t*>(e.res) + off));
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int q = e.res_dt == kDtU8
                          ? static_cast<int>((u >> (8 * i)) & 0xff)
                          : static_cast<int>(static_cast<int8_t>((u >> (8 * i)) & 0xff));
        rv[i] = __fsub_rn(static_cast<float>(q), static_cast<float>(e.res_zp));
      }
    } else {
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        if (i >= count) break;
        const float r = load_as_float(e.res, e.res_dt, off + i, 1.f, 0);
        rv[i] = res_q ? __fsub_rn(r, static_cast<float>(e.res_zp)) : r;
      }
    }
  }
  float r[4];
  if (e.fast) {  // clamp, (+ residual), clamp: the common chains without the post-op loop
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      float t = fminf(fmaxf(__fmul_rn(__fadd_rn(v[i], b[i]), a[i]), e.lo1), e.hi1);
      if (e.has_res) t = int_add_residual(e, t, rv[i]);
      r[i] = fminf(fmaxf(t, e.lo2), e.hi2);
    }
  } else {
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      float t = __fmul_rn(__fadd_rn(v[i], b[i]), a[i]);
      for (int k = 0; k < e.nops; ++k) {
        const int op = e.ops[k];
        if (op == kOpRelu) t = fmaxf(t, 0.f);
        if (op == kOpClip) t = fminf(fmaxf(t, e.op_a[k]), e.op_b[k]);
        if (op == kOpLeaky) t = t > 0.f ? t : __fmul_rn(t, e.op_a[k]);
        if (op == kOpAdd) t = int_add_residual(e, t, rv[i]);
        if (op >= kOpSigmoid) t = smooth_post_op(e, k, t);
      }
      r[i] = t;
    }
  }
  if (out_q) {
    const float lo = e.out_dt == kDtS8 ? -128.f : 0.f, hi = e.out_dt == kDtS8 ? 127.f : 255.f;
    const float zy = static_cast<float>(e.out_zp);
    uint32_t u = 0;
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const float t = fminf(fmaxf(__fadd_rn(r[i], zy), lo), hi);
      u |= (static_cast<uint32_t>(__float2int_rn(t)) & 0xffu) << (8 * i);
    }
    if (vec) {
      *reinterpret_cast<uint32_t*>(static_cast<uint8_t*>(y) + off) = u;
    } else {
      for (int i = 0; i < count; ++i)
        static_cast<uint8_t*>(y)[off + i] = static_cast<uint8_t>((u >> (8 * i)) & 0xffu);
    }
    return;
  }
  if (vec && e.out_dt == kDtF32) {
    *reinterpret_cast<float4*>(static_cast<float*>(y) + off) = make_float4(r[0], r[1], r[2], r[3]);
    return;
  }
  for (int i = 0; i < count; ++i) store_from_float(y, e.out_dt, off + i, r[i], 1.f, 0);
}

// The float kernels' epilogue: `count` (1..4) consecutive output channels at off.. from
// accumulators v[] with their scales a[] and biases b[] (already read by the caller).
// long-function: split into device functions with the other conv kernels, the conv layers ran
// 8-16% slower on the H200 (bench/zoo at batch 32: resnet18 int8 0.69 -> 0.76 ms, vgg11_bn fp16
// 2.23 -> 2.60 ms; register allocation moved), so it stays one function.
__device__ __forceinline__ void store4_float(const Epilogue& e, void* y, int64_t off,
                                             const float* v, const float* a, const float* b,
                                             int count) {
  if (e.fast && count == 4 && (off & 3) == 0) {
    // The common chains in a few instructions: vector residual load, clamps, multiply-quantize.
    float rv[4] = {0.f, 0.f, 0.f, 0.f};
    if (e.has_res) {
      switch (e.res_dt) {
        case kDtU8:
        case kDtS8: {
          const uint32_t u =
              __ldg(reinterpret_cast<const uint32_t*>(static_cast<const uint8_t*>(e.res) + off));
#pragma unroll
          for (int i = 0; i < 4; ++i) {
            const int q = e.res_dt == kDtU8
                              ? static_cast<int>((u >> (8 * i)) & 0xff)
                              : static_cast<int>(static_cast<int8_t>((u >> (8 * i)) & 0xff));
            rv[i] = e.res_scale * static_cast<float>(q - e.res_zp);
          }
          break;
        }
        case kDtF16: {
          const uint2 u =
              __ldg(reinterpret_cast<const uint2*>(static_cast<const __half*>(e.res) + off));
          const float2 f0 = __half22float2(*reinterpret_cast<const __half2*>(&u.x));
          const float2 f1 = __half22float2(*reinterpret_cast<const __half2*>(&u.y));
          rv[0] = f0.x, rv[1] = f0.y, rv[2] = f1.x, rv[3] = f1.y;
          break;
        }
        default: {
          const float4 f =
              __ldg(reinterpret_cast<const float4*>(static_cast<const float*>(e.res) + off));
          rv[0] = f.x, rv[1] = f.y, rv[2] = f.z, rv[3] = f.w;
          break;
        }
      }
    }
    // The f32 and f16 stores below repeat the general path's: this function stays one piece
    // (see above).
    float r[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      float t = fminf(fmaxf(fmaf(a[i], v[i], b[i]), e.lo1), e.hi1) + rv[i];
      r[i] = fminf(fmaxf(t, e.lo2), e.hi2);
    }
    switch (e.out_dt) {
      case kDtF32:
        *reinterpret_cast<float4*>(static_cast<float*>(y) + off) =
            make_float4(r[0], r[1], r[2], r[3]);
        return;
      case kDtF16: {
        __half2 h0 = __floats2half2_rn(r[0], r[1]), h1 = __floats2half2_rn(r[2], r[3]);
        uint2 u;
        u.x = *reinterpret_cast<uint32_t*>(&h0);
        u.y = *reinterpret_cast<uint32_t*>(&h1);
        *reinterpret_cast<uint2*>(static_cast<__half*>(y) + off) = u;
        return;
      }
      default: {
        const int lo = e.out_dt == kDtS8 ? -128 : 0, hi = e.out_dt == kDtS8 ? 127 : 255;
        uint32_t u = 0;
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          int q = __float2int_rn(r[i] * e.out_inv_scale) + e.out_zp;
          q = min(max(q, lo), hi);
          u |= (static_cast<uint32_t>(q) & 0xffu) << (8 * i);
        }
        *reinterpret_cast<uint32_t*>(static_cast<uint8_t*>(y) + off) = u;
        return;
      }
    }
  }
  float r[4];
#pragma unroll
  for (int i = 0; i < 4; ++i)
    r[i] = i < count ? apply_post_ops(e, fmaf(a[i], v[i], b[i]), off + i) : 0.f;
  if (count == 4 && (off & 3) == 0) {
    switch (e.out_dt) {
      case kDtF32:
        *reinterpret_cast<float4*>(static_cast<float*>(y) + off) =
            make_float4(r[0], r[1], r[2], r[3]);
        return;
      case kDtF16: {
        __half2 h0 = __floats2half2_rn(r[0], r[1]), h1 = __floats2half2_rn(r[2], r[3]);
        uint2 u;
        u.x = *reinterpret_cast<uint32_t*>(&h0);
        u.y = *reinterpret_cast<uint32_t*>(&h1);
        *reinterpret_cast<uint2*>(static_cast<__half*>(y) + off) = u;
        return;
      }
      case kDtS8:
      case kDtU8: {
        const bool s8 = e.out_dt == kDtS8;
        const int lo = s8 ? -128 : 0, hi = s8 ? 127 : 255;
        uint32_t u = 0;
#pragma unroll
        for (int i = 0; i < 4; ++i)
          u |= (static_cast<uint32_t>(quantize_to(r[i], e.out_scale, e.out_zp, lo, hi)) & 0xffu)
               << (8 * i);
        *reinterpret_cast<uint32_t*>(static_cast<uint8_t*>(y) + off) = u;
        return;
      }
      default:
        break;
    }
  }
  for (int i = 0; i < count; ++i)
    store_from_float(y, e.out_dt, off + i, r[i], e.out_scale, e.out_zp);
}

// Either epilogue, chosen at run time (kernels that know their arithmetic call store4_int or
// store4_float directly, so that only one of them is compiled in).
__device__ __forceinline__ void store4(const Epilogue& e, void* y, int64_t off, const float* v,
                                       const float* a, const float* b, int count) {
  if (e.int_acc)
    store4_int(e, y, off, v, a, b, count);
  else
    store4_float(e, y, off, v, a, b, count);
}

// The same, reading the scales and biases of channels oc.. itself; out of line, for kernels that
// call it from many unrolled places.
static __device__ __noinline__ void store_run(const Epilogue& e, void* y, int64_t off, int oc,
                                              const float* v, int count) {
  float a[4], b[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    a[i] = i < count ? __ldg(e.alpha + oc + i) : 0.f;
    b[i] = i < count ? __ldg(e.beta + oc + i) : 0.f;
  }
  store4(e, y, off, v, a, b, count);
}

}  // namespace mpq::cuda
