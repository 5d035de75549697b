// Typed views of a canonical window op (Conv, FusedConv, MaxPool, AveragePool after the
// canonicalize pass): explicit kernel, strides, dilations and begin/end pads per spatial axis,
// no auto_pad. Backends read these instead of re-parsing attributes.
#pragma once

#include <cstdint>
#include <vector>

#include "ir/graph.h"

namespace mpq::ops {

struct ConvAttrs {
  std::vector<int64_t> kernel, strides, dilations;
  std::vector<int64_t> pads;  // begin of every axis, then end of every axis (ONNX order)
  int64_t group = 1;
  size_t rank() const { return kernel.size(); }
  int64_t pad_begin(size_t axis) const { return pads[axis]; }
  int64_t pad_end(size_t axis) const { return pads[rank() + axis]; }
};

// The view of a canonical node; throws kInternal if auto_pad is still set (the pass did not run).
ConvAttrs conv_attrs(const Node& n);

// Which axis of a weighted op's weight holds the output channels (per-channel quantization):
// Conv 0, Gemm 0 with transB else 1, MatMul the last.
int weight_output_axis(const Node& n);

// Resolves auto_pad and attribute defaults of a window op whose input spatial sizes are known,
// in place (kernel_shape from the weight for convolutions). False if the node is not a window
// op or its spatial sizes are unknown.
bool canonicalize_window(Node& n);

}  // namespace mpq::ops
