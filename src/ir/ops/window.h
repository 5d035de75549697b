// Sliding-window geometry shared by Conv, ConvTranspose and the pooling ops: ONNX's kernel_shape /
// strides / dilations / pads / auto_pad / ceil_mode attributes resolved into one Axis per spatial
// dimension, plus im2col / col2im over NCHW planes.
#pragma once

#include <string>
#include <vector>

#include "ir/op_def.h"

namespace mpq::ops {

// One spatial axis of a window op. `in` or `out` is -1 when unknown before run time.
struct Axis {
  int64_t in = 1, out = 1;
  int64_t k = 1, stride = 1, dil = 1;
  int64_t pad_begin = 0, pad_end = 0;
  int64_t extent() const { return (k - 1) * dil + 1; }  // receptive size of the dilated kernel
};

// Reads auto_pad / strides / dilations / pads of node `n` for kernel sizes `kernel` (one per
// spatial dim) and input sizes `in` and returns the resolved axes with output sizes:
//   NOTSET/VALID: out = floor_or_ceil((in + pads - extent) / stride) + 1; with ceil_mode a last
//   window that would start past the input and its left padding is dropped (PyTorch's rule, which
//   the ONNX reference follows);  SAME_UPPER/SAME_LOWER: out = ceil(in / stride) with the total
//   padding split (the odd one goes at the end for SAME_UPPER, at the beginning for SAME_LOWER).
// Throws kInvalidInput naming the key on wrong sizes/values or a non-positive output size.
std::vector<Axis> resolve_window(const Node& n, const std::vector<int64_t>& in,
                                 const std::vector<int64_t>& kernel, bool ceil_mode);

// Attribute values of a window op that no shape can make valid: strides, dilations and
// kernel_shape in 1..kMaxWindowAttr, pads and output_padding in 0..kMaxWindowAttr, group >= 1.
// OpDef::check_attrs of Conv, ConvTranspose and the pools.
constexpr int64_t kMaxWindowAttr = (int64_t{1} << 31) - 1;
void check_window_attrs(const Node& n);
// The part of check_window_attrs that needs the input ranks (skipped where they are unknown): W's
// rank is X's, kernel_shape / strides / dilations / output_padding have rank - 2 values and pads
// twice that.
void check_window_attr_sizes(const Node& n);

// X of a window op is N x C x [H x] W: rank 3 or 4; rank 5 (3-D) is kUnsupported, any other rank
// kInvalidInput.
void check_window_rank(const Node& n, const Shape& x);

// What Conv and ConvTranspose check alike: X is rank 3 or 4 (3-D is kUnsupported), W has X's
// rank, group >= 1, and kernel_shape (when given: one value >= 1 per spatial dim) agrees with
// W's spatial dims, which may be unknown (-1). Returns the kernel size per spatial dim.
struct ConvKernel {
  int64_t group = 1;
  std::vector<int64_t> kernel;
};
ConvKernel conv_kernel(const Node& n, const Shape& x, const Shape& w);

// Spatial rank of a window op from its attributes / input types when they are known (0 if none
// says), for unsupported_reason checks at import time.
int window_spatial_rank(const Node& n, int data_input, int kernel_input);

// A 2-D view of the axes (1-D ops get a leading axis of size 1).
struct Plane {
  Axis h, w;
};
Plane to_plane(const std::vector<Axis>& axes);

// im2col of one channel group for output rows [oh0, oh1): x is [C, H, W]; col becomes
// [C * KH * KW, (oh1 - oh0) * OW] with row stride `ld` (-1: (oh1 - oh0) * OW), zeros where the
// window reads padding.
void im2col(const float* x, int64_t C, const Plane& p, float* col, int64_t oh0, int64_t oh1,
            int64_t ld = -1);
// col2im: the adjoint of im2col; adds col [C * KH * KW, (oh1 - oh0) * OW] into x [C, H, W].
void col2im_add(const float* col, int64_t C, const Plane& p, float* x, int64_t oh0, int64_t oh1,
                int64_t ld = -1);

// How a conv-like op splits its GEMMs: `imgs` whole images side by side per GEMM when an image
// has few output pixels (a narrow GEMM wastes the kernel), else one image in chunks of `rows`
// output rows. The im2col buffer (col_rows x imgs * rows * OW floats) stays within a few MB.
struct ColBlocking {
  int64_t imgs = 1, rows = 1;
};
ColBlocking im2col_blocking(int64_t N, int64_t col_rows, const Plane& p);
// Sets the im2col budget in floats (tests use a tiny one to exercise chunking); returns the old
// one. Not thread-safe.
int64_t set_im2col_budget(int64_t floats);

// Valid output range [lo, hi) along one axis for kernel tap `kk`: the outputs whose input index
// o * stride - pad_begin + kk * dil falls inside [0, in).
void valid_range(const Axis& a, int64_t kk, int64_t* lo, int64_t* hi);

// Checks that input `i` is a float tensor (or int8/uint8 when `allow_int8`) of rank 3 (1-D
// window) or 4 (2-D) and returns its spatial sizes; rank 5 (3-D) throws kUnsupported, other
// ranks kInvalidInput.
std::vector<int64_t> window_input_spatial(const Node& n, size_t i, bool allow_int8 = false);

// Shape [N, C, out...] helper.
Shape window_output_shape(int64_t N, int64_t C, const std::vector<Axis>& axes);

}  // namespace mpq::ops
