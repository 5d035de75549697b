// The Hopper int8 convolution configurations (igemm_wgmma.cuh) and their launch: the two TMA
// tensor maps (the NHWC input as a 4-D tensor, the packed weights as a 2-D one) are encoded on the
// host for each launch, through the driver's cuTensorMapEncodeTiled (looked up at run time, so
// that binaries still link against cudart only).
#include <cudaTypedefs.h>

#include "backends/cuda/conv_entries.cuh"
#include "backends/cuda/igemm_wgmma.cuh"

namespace mpq::cuda {

namespace {

PFN_cuTensorMapEncodeTiled_v12000 encode_tiled() {
  static const PFN_cuTensorMapEncodeTiled_v12000 fn = [] {
    void* f = nullptr;
    cudaDriverEntryPointQueryResult q = cudaDriverEntryPointSymbolNotFound;
    if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &f, 12000, cudaEnableDefault,
                                         &q) != cudaSuccess ||
        q != cudaDriverEntryPointSuccess)
      return static_cast<PFN_cuTensorMapEncodeTiled_v12000>(nullptr);
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(f);
  }();
  return fn;
}

// A byte tensor of `rank` dims (innermost first) read in boxes of `box` with the 64-byte swizzle
// the kernel's descriptors expect; reads outside the tensor give zeros.
bool encode(CUtensorMap* map, const void* base, int rank, const cuuint64_t* dims,
            const cuuint64_t* strides, const cuuint32_t* box) {
  const cuuint32_t unit[4] = {1, 1, 1, 1};
  return encode_tiled()(map, CU_TENSOR_MAP_DATA_TYPE_UINT8, rank, const_cast<void*>(base), dims,
                        strides, box, unit, CU_TENSOR_MAP_INTERLEAVE_NONE,
                        CU_TENSOR_MAP_SWIZZLE_64B, CU_TENSOR_MAP_L2_PROMOTION_L2_128B,
                        CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) == CUDA_SUCCESS;
}

template <int BM, int BN, int S, int Kind>
cudaError_t launch_wgmma(const ConvParams& p, dim3 grid, int smem, cudaStream_t s) {
  // Encoded here, on the host, a few microseconds: once per captured CUDA graph, or per launch
  // only in engines that run eagerly (host fallback steps) or while tactics are timed.
  if (!encode_tiled() || !wgmma_fits(p, BM)) return cudaErrorInvalidValue;
  // The A box: 64 channels x whole output rows of one image, or x whole images.
  const int64_t hw = static_cast<int64_t>(p.OH) * p.OW;
  const cuuint32_t bh = static_cast<cuuint32_t>(hw >= BM ? BM / p.OW : p.OH);
  const cuuint32_t bn = static_cast<cuuint32_t>(hw >= BM ? 1 : BM / hw);
  const cuuint64_t xdims[4] = {static_cast<cuuint64_t>(p.C), static_cast<cuuint64_t>(p.W),
                               static_cast<cuuint64_t>(p.H), static_cast<cuuint64_t>(p.N)};
  const cuuint64_t xstrides[3] = {xdims[0], xdims[0] * xdims[1], xdims[0] * xdims[1] * xdims[2]};
  const cuuint32_t xbox[4] = {64, static_cast<cuuint32_t>(p.OW), bh, bn};
  const cuuint64_t wdims[2] = {static_cast<cuuint64_t>(p.Kpad), static_cast<cuuint64_t>(p.OCpad)};
  const cuuint64_t wstrides[1] = {wdims[0]};
  const cuuint32_t wbox[2] = {64, BN};
  CUtensorMap tx, tw;
  if (!encode(&tx, p.x, 4, xdims, xstrides, xbox) || !encode(&tw, p.w, 2, wdims, wstrides, wbox))
    return cudaErrorInvalidValue;
  return launch_pdl(igemm_wgmma_kernel<BM, BN, S, Kind>, grid, dim3(BM * 2), smem, s, p, tx, tw);
}

template <int BM, int BN, int S, int Kind>
cudaError_t attr_wgmma(int smem) {
  return cudaFuncSetAttribute(igemm_wgmma_kernel<BM, BN, S, Kind>,
                              cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
}

template <int BM, int BN, int S, int Kind>
Entry wgmma_entry() {
  Entry e;
  e.cfg.kind = Kind;
  e.cfg.vec = kLoadVec16;
  e.cfg.bm = BM;
  e.cfg.bn = BN;
  e.cfg.threads = BM * 2;
  e.cfg.smem = wgmma_smem_bytes(BM, BN, S);
  e.cfg.wgmma = 1;
  e.cfg.name = std::string("wgmma_") + kind_name(Kind) + "_" + std::to_string(BM) + "x" +
               std::to_string(BN) + "x64_s" + std::to_string(S) + "_tma";
  e.launch = launch_wgmma<BM, BN, S, Kind>;
  e.attr = attr_wgmma<BM, BN, S, Kind>;
  return e;
}

template <int Kind>
void add_wgmma(std::vector<Entry>& v) {
  v.push_back(wgmma_entry<128, 128, 4, Kind>());
  v.push_back(wgmma_entry<128, 64, 4, Kind>());
  v.push_back(wgmma_entry<64, 128, 4, Kind>());
  v.push_back(wgmma_entry<64, 64, 4, Kind>());
  // Deeper pipelines for long K (few CTAs, many k-tiles each: the TMA latency is exposed).
  v.push_back(wgmma_entry<64, 128, 8, Kind>());
  v.push_back(wgmma_entry<64, 64, 8, Kind>());
}

}  // namespace

bool wgmma_compiled() {
#ifdef MPQ_CUDA_SM90A_BUILD
  return true;
#else
  return false;
#endif
}

std::string wgmma_fallback_note(int sm, bool compiled) {
  if (sm == 90 && compiled) return "";
  const std::string head = "int8 convolutions run on the sm_80 mma.sync kernels: ";
  if (sm != 90)
    return head + "the Hopper TMA + wgmma kernels need an sm_90 GPU (this one is sm_" +
           std::to_string(sm) + ")";
  return head + "this build has no sm_90a code for the Hopper TMA + wgmma kernels (build with " +
         "MPQ_CUDA_ARCHS including 90a)";
}

bool wgmma_available() {
#ifdef MPQ_CUDA_SM90A_BUILD
  static const bool ok = [] {
    int dev = 0, major = 0, minor = 0;
    if (cudaGetDevice(&dev) != cudaSuccess ||
        cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess ||
        cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev) != cudaSuccess)
      return false;
    return major == 9 && minor == 0 && encode_tiled() != nullptr;
  }();
  return ok && !debug_options().cuda_no_wgmma;
#else
  return false;
#endif
}

void add_entries_wgmma(std::vector<Entry>& v) {
  add_wgmma<kMmaS8>(v);
  add_wgmma<kMmaU8>(v);
}

}  // namespace mpq::cuda
