#include "backends/cuda/cuda_util.h"

#include "backends/cuda/launch.h"

namespace mpq::cuda {

void check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return;
  cudaGetLastError();  // clear a sticky launch error so that later calls report their own
  internal_error(str("CUDA: ", what, ": ", cudaGetErrorName(e), " (", cudaGetErrorString(e), ")"))
      .raise();
}

std::string device_unavailable_reason() {
  static const std::string reason = [] {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
      cudaGetLastError();
      return str("no CUDA device (", cudaGetErrorString(e), ")");
    }
    if (n == 0) return std::string("no CUDA device");
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, 0) != cudaSuccess)
      return std::string("cannot query CUDA device 0");
    if (p.major < 8)
      return str("CUDA device ", p.name, " has compute capability ", p.major, ".", p.minor,
                 "; mpq's CUDA kernels need 8.0 or newer");
    if (kernel_image_check() != cudaSuccess)
      return str("CUDA device ", p.name, " is sm_", p.major, p.minor,
                 ", which this mpq's kernels were not built for: rebuild with -DMPQ_CUDA_ARCHS=",
                 p.major, p.minor);
    return std::string();
  }();
  return reason;
}

std::string device_name() {
  if (!device_unavailable_reason().empty()) return "";
  cudaDeviceProp p{};
  if (cudaGetDeviceProperties(&p, 0) != cudaSuccess) return "";
  return p.name;
}

int device_sm() {
  static const int sm = [] {
    if (!device_unavailable_reason().empty()) return 0;
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, 0) != cudaSuccess) return 0;
    return p.major * 10 + p.minor;
  }();
  return sm;
}

DeviceBuffer::DeviceBuffer(size_t bytes) : n_(bytes) {
  if (bytes) MPQ_CUDA_CHECK(cudaMalloc(&p_, bytes));
}

DeviceBuffer::DeviceBuffer(const void* host, size_t bytes) : DeviceBuffer(bytes) {
  if (bytes) MPQ_CUDA_CHECK(cudaMemcpy(p_, host, bytes, cudaMemcpyHostToDevice));
}

DeviceBuffer::~DeviceBuffer() {
  if (p_) cudaFree(p_);
}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
  if (this != &o) {
    if (p_) cudaFree(p_);
    p_ = o.p_, n_ = o.n_;
    o.p_ = nullptr, o.n_ = 0;
  }
  return *this;
}

PinnedBuffer::PinnedBuffer(size_t bytes) : n_(bytes) {
  if (bytes) MPQ_CUDA_CHECK(cudaMallocHost(&p_, bytes));
}

PinnedBuffer::~PinnedBuffer() {
  if (p_) cudaFreeHost(p_);
}

CudaContext::CudaContext() {
  MPQ_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
}

CudaContext::~CudaContext() {
  if (stream_) cudaStreamDestroy(stream_);
}

void CudaContext::end_run() {
  MPQ_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

CudaContext& cuda_ctx(const KernelArgs& a) {
  auto* c = dynamic_cast<CudaContext*>(a.ctx);
  if (!c) internal_error("a CUDA kernel ran without a CUDA context").raise();
  return *c;
}

cudaStream_t stream_of(const KernelArgs& a) {
  return cuda_ctx(a).stream();
}

void* CudaContext::workspace(size_t bytes) {
  if (ws_.bytes() < bytes) {
    MPQ_CUDA_CHECK(cudaStreamSynchronize(stream_));
    ws_ = DeviceBuffer(bytes);
  }
  return ws_.get();
}

bool is_q(DType t) {
  return t == DType::i8 || t == DType::u8;
}

int32_t dt_code(DType t) {
  switch (t) {
    case DType::f32:
      return kDtF32;
    case DType::f16:
      return kDtF16;
    case DType::i8:
      return kDtS8;
    case DType::u8:
      return kDtU8;
    default:
      unsupported(str("the CUDA kernels do not handle ", dtype_name(t), " tensors")).raise();
  }
  return kDtF32;
}

ElemDesc elem_desc(const TensorSpec& s) {
  ElemDesc d;
  d.dt = dt_code(s.dtype);
  if (is_q(s.dtype)) {
    if (!s.quant || s.quant->scale.empty())
      internal_error("quantized tensor without quantization parameters: " + s.str()).raise();
    if (s.quant->per_channel())
      unsupported("per-channel activation quantization: " + s.str()).raise();
    d.scale = s.quant->scale[0];
    d.zp = s.quant->zero_point.empty() ? 0 : s.quant->zero_point[0];
  }
  d.nhwc = s.shape.size() == 4 && s.layout == Layout::kNHWC;
  return d;
}

}  // namespace mpq::cuda
