// The fp32 SIMT convolution configurations (conv_entries.cuh).
#include "backends/cuda/conv_entries.cuh"

namespace mpq::cuda {

void add_entries_f32(std::vector<Entry>& v) {
  v.push_back(f32_entry<128, 128, kLoadVec16>());
  v.push_back(f32_entry<128, 64, kLoadVec16>());
  v.push_back(f32_entry<64, 64, kLoadVec16>());
  v.push_back(f32_entry<32, 64, kLoadVec16>());
  v.push_back(f32_entry<32, 128, kLoadVec16>());
  v.push_back(f32_entry<128, 64, kLoadGather>());
  v.push_back(f32_entry<64, 64, kLoadGather>());
}

}  // namespace mpq::cuda
