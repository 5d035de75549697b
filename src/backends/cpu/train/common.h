// Shared pieces of the oneDNN training kernels: the stream (on the cpu backend's engine), memory
// descriptors of plan slots, and cached reorders between a plain parameter and the format a
// primitive prefers.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>
#include <optional>

#include "backends/cpu/dnnl_util.h"
#include "backends/train_kernel.h"

namespace mpq::train::dnnlk {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

using cpu::engine;
// The training step's stream (training runs one step at a time, on the calling thread).
dnnl::stream& stream();

// Descriptor of a slot's tensor: logical dims, physical layout (nchw/nhwc for rank 4, plain
// row-major otherwise).
memory::desc slot_desc(const Slot& s);
// A flat 1-D descriptor of n floats (element-wise primitives).
memory::desc flat_desc(int64_t n);
memory wrap(const memory::desc& md, const Tensor& t);
memory wrap(const memory::desc& md, void* p);

// Moves data between a fixed "user" descriptor and the descriptor a primitive chose. When both
// are equal no copy is made and the user buffer is used directly.
class Reorder {
 public:
  void init(const memory::desc& user, const memory::desc& prim);
  bool needed() const { return needed_; }
  // user -> primitive format; returns the memory to pass to the primitive.
  memory to_prim(void* user_ptr);
  // Primitive-format memory to write into (owned when a reorder is needed, else the user buffer).
  memory prim_target(void* user_ptr);
  // primitive format -> user buffer (after prim_target was written).
  void to_user(void* user_ptr);

 private:
  bool needed_ = false;
  memory user_, prim_;
  dnnl::reorder fwd_, back_;
  bool has_fwd_ = false, has_back_ = false;
};

// Runs one primitive with its arguments on the shared stream and waits for it.
void exec(const dnnl::primitive& p, const std::unordered_map<int, memory>& args);

}  // namespace mpq::train::dnnlk
