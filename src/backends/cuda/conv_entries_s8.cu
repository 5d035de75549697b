// The s8 tensor-core convolution configurations and the direct kernels for tiny K
// (conv_entries.cuh).
#include "backends/cuda/conv_entries.cuh"

namespace mpq::cuda {

void add_entries_s8(std::vector<Entry>& v) {
  add_tc<kMmaS8>(v);
  add_direct<kConvS8>(v);
}

}  // namespace mpq::cuda
