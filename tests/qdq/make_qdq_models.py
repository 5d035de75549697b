#!/usr/bin/python3
"""Small QDQ models for tests/qdq/qdq_cli.sh, in ONNX Runtime quantize_static's shape.

  /usr/bin/python3 tests/qdq/make_qdq_models.py OUT_DIR

x[N,3,8,8] -> Q/DQ -> Conv "conv" (int8 weights through DequantizeLinear, int32 bias through
DequantizeLinear) -> Relu -> Q/DQ -> Flatten -> Q/DQ -> Gemm "fc" (int8 weights) -> y[N,5]
  u8_pc.onnx   uint8 activations (zero points != 0), per-channel conv weights, per-tensor fc
  i8_pt.onnx   int8 activations (zero points != 0), per-tensor weights everywhere
  x.npy        16 inputs
Bad ones (each names its node in mpq's error):
  zero_scale.onnx, negative_scale.onnx   a QuantizeLinear scale of 0 / -0.05
  act_per_channel.onnx                   the input quantized per channel (axis 1)
  uint8_weights.onnx                     conv weights uint8 with zero point 128
  weight_only.onnx                       quantized conv weights, float input (no Q/DQ on x)
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(0)
W_CONV = rng.standard_normal((4, 3, 3, 3)).astype(np.float32) * 0.3
B_CONV = rng.standard_normal(4).astype(np.float32) * 0.1
W_FC = rng.standard_normal((5, 4 * 6 * 6)).astype(np.float32) * 0.1
B_FC = rng.standard_normal(5).astype(np.float32) * 0.1


def qweight(w, per_channel, dtype=np.int8):
    if per_channel:
        s = np.abs(w.reshape(w.shape[0], -1)).max(1) / 127
        q = np.round(w / s.reshape(-1, *([1] * (w.ndim - 1))))
        return q.astype(dtype), s.astype(np.float32)
    s = np.float32(np.abs(w).max() / 127)
    return np.round(w / s).astype(dtype), np.array(s, np.float32)


def build(act="u8", conv_pc=True, bad=None):
    inits, nodes = [], []

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def qdq(x, scale, zp, name, axis=None):
        dt = np.uint8 if act == "u8" else np.int8
        s, z = const(name + "_s", np.array(scale, np.float32)), const(name + "_z", np.array(zp, dt))
        kw = {} if axis is None else {"axis": axis}
        nodes.append(helper.make_node("QuantizeLinear", [x, s, z], [name + "_q"], name=name + "_Q", **kw))
        nodes.append(helper.make_node("DequantizeLinear", [name + "_q", s, z], [name + "_dq"],
                                      name=name + "_DQ", **kw))
        return name + "_dq"

    def dq_weight(name, w, pc, dtype=np.int8, zp=0):
        q, s = qweight(w, pc, dtype)
        if dtype == np.uint8:
            q = (q.astype(np.int32) + zp).clip(0, 255).astype(np.uint8)
        z = np.full(s.shape, zp, dtype)
        kw = {"axis": 0} if pc else {}
        nodes.append(helper.make_node("DequantizeLinear", [const(name + "_q", q), const(name + "_s", s),
                                                           const(name + "_z", z)], [name], name=name + "_DQ", **kw))
        return name, s

    z_in = 120 if act == "u8" else -3
    s_in = 0.05
    if bad == "zero_scale":
        s_in = 0.0
    if bad == "negative_scale":
        s_in = -0.05
    if bad == "act_per_channel":
        x = qdq("x", [s_in] * 3, [z_in] * 3, "x", axis=1)
    elif bad == "weight_only":
        x = "x"
    else:
        x = qdq("x", s_in, z_in, "x")
    wdt, wzp = (np.uint8, 128) if bad == "uint8_weights" else (np.int8, 0)
    w, sw = dq_weight("conv.w", W_CONV, conv_pc, wdt, wzp)
    bq = np.round(B_CONV / (s_in * sw if s_in > 0 else sw)).astype(np.int32)
    b_s = (abs(s_in) or 1.0) * sw * np.ones(4, np.float32)
    nodes.append(helper.make_node("DequantizeLinear", [const("conv.bq", bq), const("conv.bs", b_s.astype(np.float32))],
                                  ["conv.b"], name="conv.b_DQ", axis=0))
    nodes.append(helper.make_node("Conv", [x, w, "conv.b"], ["c"], name="conv", kernel_shape=[3, 3]))
    nodes.append(helper.make_node("Relu", ["c"], ["r"], name="relu"))
    r = qdq("r", 0.02, 0 if act == "u8" else -128, "r")
    nodes.append(helper.make_node("Flatten", [r], ["f"], name="flatten", axis=1))
    f = qdq("f", 0.02, 0 if act == "u8" else -128, "f")
    wf, _ = dq_weight("fc.w", W_FC, False)
    nodes.append(helper.make_node("Gemm", [f, wf, const("fc.b", B_FC)], ["y"], name="fc", transB=1))
    g = helper.make_graph(nodes, "qdq_test",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 5])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m


def main():
    out = sys.argv[1]
    onnx.save(build("u8", True), os.path.join(out, "u8_pc.onnx"))
    onnx.save(build("i8", False), os.path.join(out, "i8_pt.onnx"))
    for bad in ["zero_scale", "negative_scale", "act_per_channel", "uint8_weights", "weight_only"]:
        onnx.save(build("u8", True, bad), os.path.join(out, bad + ".onnx"))
    np.save(os.path.join(out, "x.npy"), rng.standard_normal((16, 3, 8, 8)).astype(np.float32))


if __name__ == "__main__":
    main()
