"""Writes a small ONNX model and calibration data for tests/cli/calibrate_cli.sh.

model.onnx: x[N,1,6,6] -> Conv "conv1" (2x1x3x3, pad 1) -> Relu "relu1" -> Flatten -> Gemm "fc" (72->3)
data.npy [64,1,6,6] float32; nan.npy (a NaN in sample 9); empty.npy [0,1,6,6]; wrong.npy [8,1,5,5]
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
rng = np.random.default_rng(0)
w1 = rng.standard_normal((2, 1, 3, 3)).astype(np.float32)
b1 = rng.standard_normal(2).astype(np.float32)
w2 = rng.standard_normal((3, 72)).astype(np.float32)
b2 = rng.standard_normal(3).astype(np.float32)
nodes = [
    helper.make_node("Conv", ["x", "conv1.weight", "conv1.bias"], ["c1"], name="/conv1/Conv",
                     pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
    helper.make_node("Relu", ["c1"], ["r1"], name="/relu1/Relu"),
    helper.make_node("Flatten", ["r1"], ["f"], name="/Flatten", axis=1),
    helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["y"], name="/fc/Gemm", transB=1),
]
graph = helper.make_graph(
    nodes, "calib_test",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 6, 6])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
    [numpy_helper.from_array(w1, "conv1.weight"), numpy_helper.from_array(b1, "conv1.bias"),
     numpy_helper.from_array(w2, "fc.weight"), numpy_helper.from_array(b2, "fc.bias")])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
model.ir_version = 8
onnx.save(model, f"{out}/model.onnx")
data = rng.standard_normal((64, 1, 6, 6)).astype(np.float32)
np.save(f"{out}/data.npy", data)
bad = data.copy()
bad[9, 0, 2, 3] = np.nan
np.save(f"{out}/nan.npy", bad)
np.save(f"{out}/empty.npy", np.zeros((0, 1, 6, 6), np.float32))
np.save(f"{out}/wrong.npy", np.zeros((8, 1, 5, 5), np.float32))
