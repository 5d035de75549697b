"""Writes small ONNX models that are each wrong in one way (tests/cli/hardening_cli.sh).

Usage: make_bad_models.py OUT_DIR
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

out = sys.argv[1]


def save(name, nodes, inits, x, y, opset=13):
    g = h.make_graph(nodes, "g", [x], [y], initializer=inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.save(m, f"{out}/{name}.onnx")


def const(name, a):
    return nh.from_array(np.asarray(a), name)


img = h.make_tensor_value_info("x", T.FLOAT, ["N", 1, 8, 8])
vec = h.make_tensor_value_info("x", T.FLOAT, ["N", 784])
y4 = h.make_tensor_value_info("y", T.FLOAT, ["a", "b", "c", "d"])
y2 = h.make_tensor_value_info("y", T.FLOAT, ["a", "b"])
w = const("w", np.ones((2, 1, 3, 3), np.float32))
fc = const("w", np.ones((784, 10), np.float32))
matmul = h.make_node("MatMul", ["x", "w"], ["t"], name="fc")

# Window attributes that onnx's shape inference divides by (or that overflow oneDNN).
save("conv_stride0", [h.make_node("Conv", ["x", "w"], ["y"], name="conv", strides=[0, 0])], [w], img, y4)
for op in ("MaxPool", "AveragePool"):
    save(f"{op.lower()}_stride0",
         [h.make_node(op, ["x"], ["y"], name="pool", kernel_shape=[2, 2], strides=[0, 0])], [], img, y4)
save("avgpool_stride_huge",
     [h.make_node("AveragePool", ["x"], ["y"], name="pool", kernel_shape=[2, 2], strides=[2**62] * 2)],
     [], img, y4)
save("conv_dilation0", [h.make_node("Conv", ["x", "w"], ["y"], name="conv", dilations=[0, 0])], [w], img, y4)
save("maxpool_kernel0", [h.make_node("MaxPool", ["x"], ["y"], name="pool", kernel_shape=[0, 2])], [], img, y4)
# Pads that make a tensor of ~2^80 elements.
save("avgpool_pads_huge",
     [h.make_node("AveragePool", ["x"], ["y"], name="pool", kernel_shape=[2, 2], pads=[2**30] * 4)],
     [], img, y4)
save("pad_huge", [h.make_node("Pad", ["x", "p"], ["y"], name="pad")],
     [const("p", np.array([0, 0, 2**40, 2**40, 0, 0, 2**40, 2**40], np.int64))], img, y4)
save("pad_overflow", [h.make_node("Pad", ["x", "p"], ["y"], name="pad")],
     [const("p", np.array([0, 0, 2**62, 2**62, 0, 0, 2**62, 2**62], np.int64))], img, y4)
# Zero-sized weights.
for op in ("MatMul", "Gemm"):
    save(f"{op.lower()}_empty", [h.make_node(op, ["x", "w"], ["y"], name="fc")],
         [const("w", np.zeros((784, 0), np.float32))], vec, y2)
# Clip bounds.
for name, lo, hi in (("clip_min_above_max", 3.0, 1.0), ("clip_nan", np.nan, 1.0)):
    save(name, [matmul, h.make_node("Clip", ["t", "lo", "hi"], ["y"], name="clip")],
         [fc, const("lo", np.float32(lo)), const("hi", np.float32(hi))], vec, y2)
# A uint8 output with no scale.
save("cast_uint8", [matmul, h.make_node("Cast", ["t"], ["y"], name="cast", to=T.UINT8)], [fc], vec,
     h.make_tensor_value_info("y", T.UINT8, ["a", "b"]))
# Two rows per sample: a Concat along the batch axis (valid, but `mpq run` writes one row each).
save("concat_batch", [matmul, h.make_node("Concat", ["t", "t"], ["y"], name="cat", axis=0)], [fc], vec, y2)
# A node name that is not UTF-8 (python's onnx only writes valid strings: patch the bytes).
save("utf8_name", [h.make_node("Relu", ["x"], ["y"], name="reluQQ")], [], img, y4)
with open(f"{out}/utf8_name.onnx", "rb") as f:
    raw = f.read()
with open(f"{out}/utf8_name.onnx", "wb") as f:
    f.write(raw.replace(b"reluQQ", b"relu\xff\xfe"))
