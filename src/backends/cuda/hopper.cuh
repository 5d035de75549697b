// Hopper (sm_90a) building blocks of the wgmma convolution kernel (igemm_wgmma.cuh): mbarriers,
// TMA tensor loads and warpgroup MMA on shared-memory descriptors. Only code compiled for sm_90a
// may call them (MPQ_SM90A below); the kernels are empty for other targets and never chosen there.
#pragma once

#include <cstdint>

#include "backends/cuda/igemm_tc.cuh"

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define MPQ_SM90A 1
#endif

namespace mpq::cuda::sm90 {

__device__ __forceinline__ void mbar_init(uint32_t bar, uint32_t count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count));
}
// Makes the initialized barriers visible to the TMA unit (the async proxy).
__device__ __forceinline__ void mbar_fence_init() {
  asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
}
__device__ __forceinline__ void mbar_expect_tx(uint32_t bar, uint32_t bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes)
               : "memory");
}
__device__ __forceinline__ void mbar_wait(uint32_t bar, uint32_t parity) {
  uint32_t done = 0;
  do {
    asm volatile(
        "{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n"
        "selp.u32 %0, 1, 0, p;\n}\n"
        : "=r"(done)
        : "r"(bar), "r"(parity)
        : "memory");
  } while (!done);
}

// One box of a tensor map into shared memory; the barrier counts its bytes. Coordinates are
// elements, innermost first; boxes reaching outside the tensor read zeros there.
__device__ __forceinline__ void tma_load_4d(uint32_t dst, const void* map, uint32_t bar, int c0,
                                            int c1, int c2, int c3) {
  asm volatile(
      "cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"
      " [%0], [%1, {%2, %3, %4, %5}], [%6];\n" ::"r"(dst),
      "l"(map), "r"(c0), "r"(c1), "r"(c2), "r"(c3), "r"(bar)
      : "memory");
}
__device__ __forceinline__ void tma_load_2d(uint32_t dst, const void* map, uint32_t bar, int c0,
                                            int c1) {
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"
      " [%0], [%1, {%2, %3}], [%4];\n" ::"r"(dst),
      "l"(map), "r"(c0), "r"(c1), "r"(bar)
      : "memory");
}

// Descriptor of a K-major operand in shared memory stored as the TMA's 64-byte swizzle writes
// it: rows of 64 bytes, 8-row groups 512 bytes apart (the stride byte offset); the leading byte
// offset is unused for a swizzled K-major operand whose k32 step lies inside one row. The start
// address moves by 32 bytes for the second k32 step of a row.
__device__ __forceinline__ uint64_t desc_sw64(uint32_t saddr) {
  return static_cast<uint64_t>((saddr & 0x3ffff) >> 4) | (uint64_t{1} << 16) |
         (uint64_t{512 >> 4} << 32) | (uint64_t{2} << 62);
}

__device__ __forceinline__ void wgmma_fence() {
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
}
__device__ __forceinline__ void wgmma_commit() {
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
}
// Waits until at most N committed groups of this warpgroup's MMAs are still running.
template <int N>
__device__ __forceinline__ void wgmma_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}

// D (m64 x N, s32, N/2 registers per thread) += A (m64 x k32, u8/s8) * B (k32 x N, s8).
template <int N, int Kind>
struct Wgmma;

// The asm text needs the operand types as literals: one macro per N, the A type as its argument.
#define MPQ_WGMMA_N64(ATYPE)                                                                       \
  asm volatile(                                                                                    \
      "{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"                                                 \
      "wgmma.mma_async.sync.aligned.m64n64k32.s32." ATYPE                                          \
      ".s8 {"                                                                                      \
      "%0, %1, %2, %3, %4, %5, %6, %7,"                                                            \
      "%8, %9, %10, %11, %12, %13, %14, %15,"                                                      \
      "%16, %17, %18, %19, %20, %21, %22, %23,"                                                    \
      "%24, %25, %26, %27, %28, %29, %30, %31}, %32, %33, p;\n}\n"                                 \
      : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3]), "+r"(d[4]), "+r"(d[5]), "+r"(d[6]),        \
        "+r"(d[7]), "+r"(d[8]), "+r"(d[9]), "+r"(d[10]), "+r"(d[11]), "+r"(d[12]), "+r"(d[13]),    \
        "+r"(d[14]), "+r"(d[15]), "+r"(d[16]), "+r"(d[17]), "+r"(d[18]), "+r"(d[19]), "+r"(d[20]), \
        "+r"(d[21]), "+r"(d[22]), "+r"(d[23]), "+r"(d[24]), "+r"(d[25]), "+r"(d[26]), "+r"(d[27]), \
        "+r"(d[28]), "+r"(d[29]), "+r"(d[30]), "+r"(d[31])                                         \
      : "l"(a), "l"(b), "r"(1))

#define MPQ_WGMMA_N128(ATYPE)                                                                      \
  asm volatile(                                                                                    \
      "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"                                                 \
      "wgmma.mma_async.sync.aligned.m64n128k32.s32." ATYPE                                         \
      ".s8 {"                                                                                      \
      "%0, %1, %2, %3, %4, %5, %6, %7,"                                                            \
      "%8, %9, %10, %11, %12, %13, %14, %15,"                                                      \
      "%16, %17, %18, %19, %20, %21, %22, %23,"                                                    \
      "%24, %25, %26, %27, %28, %29, %30, %31,"                                                    \
      "%32, %33, %34, %35, %36, %37, %38, %39,"                                                    \
      "%40, %41, %42, %43, %44, %45, %46, %47,"                                                    \
      "%48, %49, %50, %51, %52, %53, %54, %55,"                                                    \
      "%56, %57, %58, %59, %60, %61, %62, %63}, %64, %65, p;\n}\n"                                 \
      : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3]), "+r"(d[4]), "+r"(d[5]), "+r"(d[6]),        \
        "+r"(d[7]), "+r"(d[8]), "+r"(d[9]), "+r"(d[10]), "+r"(d[11]), "+r"(d[12]), "+r"(d[13]),    \
        "+r"(d[14]), "+r"(d[15]), "+r"(d[16]), "+r"(d[17]), "+r"(d[18]), "+r"(d[19]), "+r"(d[20]), \
        "+r"(d[21]), "+r"(d[22]), "+r"(d[23]), "+r"(d[24]), "+r"(d[25]), "+r"(d[26]), "+r"(d[27]), \
        "+r"(d[28]), "+r"(d[29]), "+r"(d[30]), "+r"(d[31]), "+r"(d[32]), "+r"(d[33]), "+r"(d[34]), \
        "+r"(d[35]), "+r"(d[36]), "+r"(d[37]), "+r"(d[38]), "+r"(d[39]), "+r"(d[40]), "+r"(d[41]), \
        "+r"(d[42]), "+r"(d[43]), "+r"(d[44]), "+r"(d[45]), "+r"(d[46]), "+r"(d[47]), "+r"(d[48]), \
        "+r"(d[49]), "+r"(d[50]), "+r"(d[51]), "+r"(d[52]), "+r"(d[53]), "+r"(d[54]), "+r"(d[55]), \
        "+r"(d[56]), "+r"(d[57]), "+r"(d[58]), "+r"(d[59]), "+r"(d[60]), "+r"(d[61]), "+r"(d[62]), \
        "+r"(d[63])                                                                                \
      : "l"(a), "l"(b), "r"(1))

template <>
struct Wgmma<64, kMmaS8> {
  __device__ __forceinline__ static void mma(int32_t* d, uint64_t a, uint64_t b) {
    MPQ_WGMMA_N64("s8");
  }
};
template <>
struct Wgmma<64, kMmaU8> {
  __device__ __forceinline__ static void mma(int32_t* d, uint64_t a, uint64_t b) {
    MPQ_WGMMA_N64("u8");
  }
};
template <>
struct Wgmma<128, kMmaS8> {
  __device__ __forceinline__ static void mma(int32_t* d, uint64_t a, uint64_t b) {
    MPQ_WGMMA_N128("s8");
  }
};
template <>
struct Wgmma<128, kMmaU8> {
  __device__ __forceinline__ static void mma(int32_t* d, uint64_t a, uint64_t b) {
    MPQ_WGMMA_N128("u8");
  }
};

}  // namespace mpq::cuda::sm90
