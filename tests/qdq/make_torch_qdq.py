#!/usr/bin/python3
"""A PyTorch FX int8 model of a trained mnist_naive, as PyTorch quantizes it and as QDQ ONNX.

  /usr/bin/python3 tests/qdq/make_torch_qdq.py --init trained.onnx --out DIR [--calib-images 1000]

Reads the float weights from --init (e.g. `mpq train --model mnist_naive`), quantizes with FX
graph mode (prepare_fx with the fbgemm qconfig: uint8 per-tensor activations, int8 per-channel
symmetric weights; calibrated on the first --calib-images Fashion-MNIST training images) and writes
  DIR/qdq.onnx         convert_to_reference_fx exported by torch.onnx (opset 13): QuantizeLinear /
                       DequantizeLinear on every activation and on every weight
  DIR/torch_pred.npy   top-1 of the fbgemm int8 model (convert_fx) on the 10000 test images, int64
It also checks that the exported reference model computes what the fbgemm model computes.

torch 1.13's exporter has no symbolic for quantize_per_channel (the reference modules' weight
rounding), so each reference Conv2d/Linear is exported through fake_quantize_per_channel_affine
with the same scales and zero points: the same rounding (half to even), saturation and values.
"""
import argparse
import copy
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch.ao.quantization import get_default_qconfig_mapping
from torch.ao.quantization.quantize_fx import convert_fx, convert_to_reference_fx, prepare_fx
import torch.ao.nn.quantized.reference as nnqr

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench", "peers"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench", "train"))
import fashion  # noqa: E402
import models  # noqa: E402
from torch_train import load_init  # noqa: E402


class FakeQuantWeightLayer(torch.nn.Module):
    """A reference quantized Conv2d/Linear whose weight rounding torch.onnx can export."""

    def __init__(self, ref):
        super().__init__()
        self.weight = torch.nn.Parameter(ref.weight.detach().clone())
        self.bias = torch.nn.Parameter(ref.bias.detach().clone())
        self.register_buffer("w_scale", ref.weight_scale.detach().clone().float())
        self.register_buffer("w_zero_point", ref.weight_zero_point.detach().clone().int())
        self.axis = int(ref.weight_axis)
        self.conv = isinstance(ref, torch.nn.Conv2d)
        if self.conv:
            self.conv_args = (ref.stride, ref.padding, ref.dilation, ref.groups)

    def forward(self, x):
        w = torch.fake_quantize_per_channel_affine(self.weight, self.w_scale, self.w_zero_point,
                                                   self.axis, -128, 127)
        if self.conv:
            return F.conv2d(x, w, self.bias, *self.conv_args)
        return F.linear(x, w, self.bias)


def exportable(ref):
    for name, mod in list(ref.named_children()):
        if isinstance(mod, (nnqr.Conv2d, nnqr.Linear)):
            if mod.weight_qscheme != torch.per_channel_affine or mod.weight_dtype != torch.qint8:
                raise SystemExit(f"error: {name}: expected per-channel int8 weights")
            setattr(ref, name, FakeQuantWeightLayer(mod))
    ref.recompile()
    return ref


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--init", required=True, help="trained mnist_naive (ONNX)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--calib-images", type=int, default=1000)
    a = ap.parse_args()
    torch.set_num_threads(1)
    model = models.build("mnist_naive")
    load_init(model, a.init)
    model.eval()
    shape = models.INPUT_SHAPE["mnist_naive"]
    xc, _ = fashion.load("train", shape, a.calib_images)
    xt, _ = fashion.load("test", shape)
    xc, xt = torch.from_numpy(xc), torch.from_numpy(xt)
    prepared = prepare_fx(model, get_default_qconfig_mapping("fbgemm"), (xc[:1],))
    with torch.no_grad():
        prepared(xc)
        int8 = convert_fx(copy.deepcopy(prepared))
        ref = exportable(convert_to_reference_fx(copy.deepcopy(prepared)))
        pred = int8(xt).argmax(1).numpy()
        ref_pred = ref(xt).argmax(1).numpy()
    same = float((pred == ref_pred).mean())
    if same < 0.999:
        raise SystemExit(f"error: the exported reference model agrees with fbgemm on {same:.4f}")
    np.save(os.path.join(a.out, "torch_pred.npy"), pred.astype(np.int64))
    torch.onnx.export(ref, xc[:2], os.path.join(a.out, "qdq.onnx"), opset_version=13,
                      input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "N"}, "output": {0: "N"}})
    print(f"torch int8 (fbgemm) agrees with its reference model on {same:.4f} of the test set")


if __name__ == "__main__":
    main()
