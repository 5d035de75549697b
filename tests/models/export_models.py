#!/usr/bin/python3
"""Exports torchvision models with Debian's PyTorch for the model tests.

For each model: <out>/<name>.onnx (random weights, eval mode, opset 13), <name>_input.pb and
<name>_output.pb (a fixed random input and PyTorch's output, as ONNX TensorProto), and
<name>_modules.txt (the model's Conv2d/Linear module names, to check mpq's module paths) and
<name>_macs.txt (multiply-accumulates of those modules for this input, to check mpq's counts).
Batch-norm running statistics are randomized so that folding them is really exercised.
Runs with /usr/bin/python3 (Debian's torch 1.13, torchvision 0.14, onnx 1.12). Models already
exported by this version of the script are kept.
"""
import hashlib
import os
import sys

import onnx
import torch
import torchvision
from onnx import numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "zoo"))
from zoo_models import build  # noqa: E402 - one definition of how the zoo's models are built

# name -> input size (N, C, H, W). The reference executor runs each in about a second.
MODELS = {
    "resnet18": (1, 3, 224, 224),
    "mobilenet_v2": (1, 3, 224, 224),
    "squeezenet1_1": (1, 3, 224, 224),
    "vgg11_bn": (1, 3, 224, 224),
    "googlenet": (1, 3, 224, 224),
    # Reduced resolution, batch 2, exported with a dynamic batch: their shape computations
    # (channel shuffle, chunk) read the batch through Shape.
    "shufflenet_v2_x1_0": (2, 3, 64, 64),
    "convnext_tiny": (2, 3, 64, 64),
}
DYNAMIC_BATCH = {"shufflenet_v2_x1_0", "convnext_tiny"}


def main():
    out = sys.argv[1]
    only = sys.argv[2:] or list(MODELS)
    os.makedirs(out, exist_ok=True)
    with open(__file__, "rb") as f:
        stamp = hashlib.sha256(f.read()).hexdigest()[:16]
    torch.set_num_threads(2)
    for name in only:
        base = os.path.join(out, name)
        stamp_file = base + ".stamp"
        if os.path.exists(stamp_file) and open(stamp_file).read() == stamp:
            continue
        torch.manual_seed(0)
        model = build(name)
        x = torch.randn(*MODELS[name], generator=torch.Generator().manual_seed(2))
        macs = []

        def count(m, inp, out):
            if isinstance(m, torch.nn.Conv2d):
                k = m.kernel_size[0] * m.kernel_size[1]
                macs.append(out.numel() * (m.in_channels // m.groups) * k)
            else:
                macs.append(out.numel() * m.in_features)

        hooks = [m.register_forward_hook(count) for m in model.modules()
                 if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
        with torch.no_grad():
            y = model(x)
        for h in hooks:
            h.remove()
        with open(base + "_macs.txt", "w") as f:
            f.write(f"{sum(macs)}\n")
        dynamic = {"input": {0: "batch"}, "logits": {0: "batch"}} if name in DYNAMIC_BATCH else None
        torch.onnx.export(model, x, base + ".onnx", opset_version=13, input_names=["input"],
                          output_names=["logits"], dynamic_axes=dynamic)
        onnx.save_tensor(numpy_helper.from_array(x.numpy(), "input"), base + "_input.pb")
        onnx.save_tensor(numpy_helper.from_array(y.numpy(), "logits"), base + "_output.pb")
        with open(base + "_modules.txt", "w") as f:
            for mname, m in model.named_modules():
                if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
                    f.write(f"{mname} {type(m).__name__}\n")
        with open(stamp_file, "w") as f:
            f.write(stamp)
        print(f"exported {name} {tuple(x.shape)} -> {base}.onnx")


if __name__ == "__main__":
    main()
