#!/usr/bin/python3
"""Latency and accuracy of a trained zoo twin in PyTorch 1.13 on the CPU: fp32 eager and FX static
int8 on the 'onednn' quantized engine. Batch 128, 2 threads by default; median / p10 / p90 over
--iters timed runs after --warmup runs. Optionally exports the FX int8 model to a QDQ ONNX model
(for ONNX Runtime) with torch.onnx.export. Run with /usr/bin/python3 (Debian's torch).
"""
import argparse
import copy
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fashion  # noqa: E402
import models  # noqa: E402


def time_model(model, x, warmup, iters, rounds):
    """Times `rounds` rounds of `iters` runs (after `warmup` runs) and returns the per-run times of
    the round with the lowest median, and every round's median. The machine is shared, so a round
    can be slowed by other work; the best round is the closest to the machine's real speed."""
    best, medians = None, []
    with torch.inference_mode():
        for _ in range(warmup):
            model(x)
        for _ in range(rounds):
            ms = []
            for _ in range(iters):
                t0 = time.perf_counter()
                model(x)
                ms.append((time.perf_counter() - t0) * 1e3)
            ms = np.array(ms)
            medians.append(round(float(np.median(ms)), 3))
            if best is None or np.median(ms) < np.median(best):
                best = ms
    return best, medians


def accuracy(model, x, y, batch):
    correct = 0
    with torch.inference_mode():
        for i in range(0, len(x), batch):
            out = model(torch.from_numpy(x[i:i + batch]))
            correct += int((out.argmax(1).numpy() == y[i:i + batch]).sum())
    return correct / len(x)


def quantize_fx(model, calib, batch):
    """FX graph-mode static int8 with onednn's default qconfig mapping (torch 1.13: activations
    per-tensor affine u8 from a HistogramObserver, weights per-channel symmetric s8 from
    PerChannelMinMaxObserver), calibrated on `calib` (float NCHW numpy)."""
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    torch.backends.quantized.engine = "onednn"
    qmap = get_default_qconfig_mapping("onednn")
    example = (torch.from_numpy(calib[:1]),)
    prepared = prepare_fx(copy.deepcopy(model).eval(), qmap, example)
    with torch.inference_mode():
        for i in range(0, len(calib), batch):
            prepared(torch.from_numpy(calib[i:i + batch]))
    return convert_fx(prepared)


def export_qdq(qmodel, shape, path):
    """torch 1.13 exports an FX-converted model as QuantizeLinear/DequantizeLinear around float
    ops (quantized::conv2d etc. are unpacked to DQ(weight) + Conv + Q), i.e. a QDQ model."""
    tmp = path + ".tmp"
    torch.onnx.export(qmodel, torch.zeros(1, *shape), tmp, opset_version=13,
                      input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", required=True, choices=list(models.INPUT_SHAPE), help="zoo model")
    ap.add_argument("--weights", help="state_dict from train_torch.py (default: random init)")
    ap.add_argument("--batch", type=int, default=128, help="batch size timed (default 128)")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    ap.add_argument("--warmup", type=int, default=5, help="untimed runs first (default 5)")
    ap.add_argument("--iters", type=int, default=30, help="timed runs per round (default 30)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="rounds of --iters runs; the round with the lowest median is reported "
                         "(default 3; the machine is shared and noisy)")
    ap.add_argument("--calib", type=int, default=1000,
                    help="training images used to calibrate int8 (default 1000)")
    ap.add_argument("--variants", default="fp32,int8", help="comma list of fp32,int8")
    ap.add_argument("--test-limit", type=int, default=0,
                    help="accuracy on the first N test images (0 = all 10000)")
    ap.add_argument("--onnx-int8", help="export the FX int8 model as a QDQ ONNX model to this path")
    ap.add_argument("--json", help="write a JSON list of results to this file")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    shape = models.INPUT_SHAPE[args.model]
    model = models.load(args.model, args.weights) if args.weights else models.build(args.model)
    model.eval()
    x_test, y_test = fashion.load("test", shape, args.test_limit or None)
    x_bench = torch.from_numpy(fashion.load("test", shape, args.batch)[0])
    if len(x_bench) != args.batch:
        raise SystemExit(f"error: --batch {args.batch} exceeds the test set")

    results = []
    for variant in args.variants.split(","):
        if variant == "fp32":
            m = model
        elif variant == "int8":
            calib = fashion.load("train", shape, args.calib)[0]
            m = quantize_fx(model, calib, args.batch)
            if args.onnx_int8:
                export_qdq(m, shape, args.onnx_int8)
                print(f"exported {args.onnx_int8}", file=sys.stderr)
        else:
            raise SystemExit(f"error: unknown variant '{variant}' (fp32 or int8)")
        load = os.getloadavg()[0]
        ms, medians = time_model(m, x_bench, args.warmup, args.iters, args.rounds)
        acc = accuracy(m, x_test, y_test, args.batch)
        med = float(np.median(ms))
        r = dict(model=args.model, variant=f"torch {variant}" + (" onednn" if variant == "int8" else ""),
                 median_ms=round(med, 3), p10_ms=round(float(np.percentile(ms, 10)), 3),
                 p90_ms=round(float(np.percentile(ms, 90)), 3),
                 images_per_s=round(args.batch / med * 1e3, 1), accuracy=acc,
                 batch=args.batch, threads=torch.get_num_threads(), iters=args.iters,
                 round_medians_ms=medians, loadavg_1min=round(load, 2),
                 engine=torch.backends.quantized.engine if variant == "int8" else "eager")
        results.append(r)
        print(json.dumps(r), flush=True)
    if args.json:
        with open(args.json + ".tmp", "w") as f:
            json.dump(results, f, indent=1)
        os.replace(args.json + ".tmp", args.json)


if __name__ == "__main__":
    main()
