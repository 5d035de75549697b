#!/usr/bin/python3
"""CI check of bench/zoo at reduced resolution: torchvision models exported by Debian's PyTorch
(opset 13, random init, 64x64) build at fp32, bf16 and int8 on the CPU backend with no step on the
reference executor; the fp32 engine matches PyTorch to 1e-4 (relative to the largest logit); the
int8 engine (minmax calibration on the same images) keeps an SQNR above a floor.

usage: zoo_engines.py MPQ WORKDIR [model ...]     (exit 77: skipped, PyTorch missing)
"""
import json
import os
import subprocess
import sys

try:
    import numpy as np
    import torch
    import torchvision
except ImportError as e:
    print(f"skipped: {e}")
    sys.exit(77)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "zoo"))
import zoo_models  # noqa: E402

RES = 64
# The ops each brings: SE blocks + HardSigmoid/HardSwish; SiLU; standalone BN + Concat + Pad;
# channel shuffle through computed shapes (Shape/Gather/Reshape/Transpose/Slice); LayerNorm
# decomposed + Erf (GELU) + Transpose + MatMul; attention (batched MatMul, Softmax, class token
# through Expand/Where).
DEFAULT = ["mobilenet_v3_small", "efficientnet_b0", "densenet121", "shufflenet_v2_x1_0",
           "convnext_tiny", "tiny_vit"]
INT8_SQNR_FLOOR_DB = 10.0


def build(name):
    if name == "tiny_vit":  # vit_b_16's ops in a model small enough for CI
        torch.manual_seed(0)
        m = torchvision.models.VisionTransformer(image_size=RES, patch_size=16, num_layers=2,
                                                 num_heads=2, hidden_dim=64, mlp_dim=128)
        torch.nn.init.normal_(m.heads.head.weight, std=0.02)  # torchvision zeroes the head
        return m.eval()
    return zoo_models.build(name)


def sh(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"FAILED ({p.returncode}): {' '.join(cmd)}\n{p.stdout[-2000:]}{p.stderr[-3000:]}")
    return p.stdout


def check(mpq, work, name):
    torch.set_num_threads(2)
    model = build(name)
    base = os.path.join(work, f"{name}_{RES}")
    x = torch.from_numpy(np.random.default_rng(3).standard_normal((8, 3, RES, RES)).astype(np.float32))
    with torch.no_grad():
        ref = model(x).numpy()
    if not os.path.exists(base + ".onnx"):
        torch.onnx.export(model, x[:1], base + ".onnx", opset_version=13, input_names=["input"],
                          output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    np.save(base + "_x.npy", x.numpy())
    table = base + "_calib.json"
    sh([mpq, "calibrate", "--model", base + ".onnx", "--data", base + "_x.npy", "--method",
        "minmax", "--quiet", "-o", table])
    outs = {}
    for prec in ("fp32", "bf16", "int8"):
        eng = f"{base}_{prec}.mpqe"
        cmd = [mpq, "build", "--model", base + ".onnx", "--backend", "cpu", "--batch", "4",
               "--default-precision", prec, "-o", eng]
        if prec == "int8":
            cmd += ["--calib", table]
        sh(cmd)
        steps = json.loads(sh([mpq, "inspect", "--json", "--no-prepare", eng]))["steps"]
        if steps["reference"]:
            raise SystemExit(f"FAILED: {name} {prec}: {steps['reference']} reference steps "
                             f"({steps['reference_ops']})")
        out = f"{base}_{prec}_out.npy"
        sh([mpq, "run", "--engine", eng, "--data", base + "_x.npy", "-o", out])
        outs[prec] = np.load(out).reshape(ref.shape)
    rel = float(np.abs(outs["fp32"] - ref).max() / np.abs(ref).max())
    noise = float(np.sum((outs["fp32"].astype(np.float64) - outs["int8"]) ** 2))
    sqnr = 10 * np.log10(np.sum(outs["fp32"].astype(np.float64) ** 2) / max(noise, 1e-30))
    print(f"{name}: fp32 vs PyTorch max rel error {rel:.2e}; int8 SQNR {sqnr:.1f} dB; "
          f"top-1 agree {np.mean(outs['fp32'].argmax(1) == outs['int8'].argmax(1)):.2f}")
    if rel > 1e-4:
        raise SystemExit(f"FAILED: {name}: fp32 engine differs from PyTorch by {rel:.2e} (> 1e-4)")
    if sqnr < INT8_SQNR_FLOOR_DB:
        raise SystemExit(f"FAILED: {name}: int8 SQNR {sqnr:.1f} dB < {INT8_SQNR_FLOOR_DB}")


def main():
    mpq, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    for name in sys.argv[3:] or DEFAULT:
        check(mpq, work, name)


if __name__ == "__main__":
    main()
