// The u8 tensor-core convolution configurations and the direct kernels for tiny K
// (conv_entries.cuh).
#include "backends/cuda/conv_entries.cuh"

namespace mpq::cuda {

void add_entries_u8(std::vector<Entry>& v) {
  add_tc<kMmaU8>(v);
  add_direct<kConvU8>(v);
}

}  // namespace mpq::cuda
