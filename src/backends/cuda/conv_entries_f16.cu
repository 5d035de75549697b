// The f16 tensor-core convolution configurations (conv_entries.cuh).
#include "backends/cuda/conv_entries.cuh"

namespace mpq::cuda {

void add_entries_f16(std::vector<Entry>& v) {
  add_tc<kMmaF16>(v);
}

}  // namespace mpq::cuda
