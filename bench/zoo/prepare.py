#!/usr/bin/python3
"""Prepares bench/zoo's inputs for one machine and times the PyTorch peers on it.

For each model (bench/zoo/zoo_models.py) into --out:
  <m>.onnx            opset 13, batch dim dynamic, input "input"
  <m>_calib.npy       the 64 calibration images (also the images every fidelity figure uses)
  <m>_torch.npy       PyTorch fp32 logits on them (the fp32 engine is compared with these)
  <m>_torch.json      PyTorch timings: CPU fp32 eager and FX int8 (onednn engine; --cpu-peers),
                      GPU fp32 and fp16 channels_last under a CUDA graph (--gpu-peers)
  <m>_qdq.onnx        the FX int8 model exported as a QDQ model, for ONNX Runtime (--cpu-peers)
Run with /usr/bin/python3 here (Debian's torch 1.13) and python3 on the GPU machine (torch 2.x).
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
import zoo_models  # noqa: E402


def median_ms(fn, warmup, iters, rounds=3):
    """Median of the best of `rounds` rounds of `iters` calls (the machines are shared)."""
    for _ in range(warmup):
        fn()
    best = None
    for _ in range(rounds):
        ms = []
        for _ in range(iters):
            t0 = time.perf_counter()
            fn()
            ms.append((time.perf_counter() - t0) * 1e3)
        m = float(np.median(ms))
        best = m if best is None else min(best, m)
    return round(best, 4)


def fx_int8(model, calib):
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx
    torch.backends.quantized.engine = "onednn"
    prepared = prepare_fx(copy.deepcopy(model), get_default_qconfig_mapping("onednn"),
                          (torch.from_numpy(calib[:1]),))
    with torch.inference_mode():
        for i in range(0, len(calib), 8):
            prepared(torch.from_numpy(calib[i:i + 8]))
    return convert_fx(prepared)


def cpu_peers(name, model, calib, batch, out):
    x = torch.from_numpy(calib[:batch])
    r = {}
    with torch.inference_mode():
        r["torch_fp32_ms"] = median_ms(lambda: model(x), 2, 10)
    try:
        q = fx_int8(model, calib)
        with torch.inference_mode():
            r["torch_int8_ms"] = median_ms(lambda: q(x), 2, 10)
        try:
            zoo_models.export(q, name, os.path.join(out, f"{name}_qdq.onnx"))
        except Exception as e:  # noqa: BLE001 - reported in the table
            r["qdq_error"] = str(e).splitlines()[0][:200]
    except Exception as e:  # noqa: BLE001
        r["torch_int8_error"] = str(e).splitlines()[0][:200]
    return r


def gpu_peers(model, calib, batch):
    """Kernel-only time of one batch replayed as a CUDA graph (events, median of rounds)."""
    r = {}
    res = calib.shape[-1]
    for tag, dtype in (("fp32", torch.float32), ("fp16", torch.float16)):
        m = copy.deepcopy(model).cuda().to(dtype).to(memory_format=torch.channels_last)
        x = torch.randn(batch, 3, res, res, device="cuda", dtype=dtype).to(
            memory_format=torch.channels_last)
        s = torch.cuda.Stream()
        with torch.inference_mode():
            s.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(s):
                for _ in range(3):
                    m(x)
            torch.cuda.current_stream().wait_stream(s)
            g = torch.cuda.CUDAGraph()
            with torch.cuda.graph(g):
                m(x)
        for _ in range(20):
            g.replay()
        meds = []
        for _ in range(5):
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            for _ in range(20):
                g.replay()
            b.record()
            torch.cuda.synchronize()
            meds.append(a.elapsed_time(b) / 20)
        r[f"torch_{tag}_graph_ms"] = round(float(np.median(meds)), 4)
        del g, m, x
        torch.cuda.empty_cache()
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--models", default=",".join(zoo_models.MODELS), help="comma list")
    ap.add_argument("--images", type=int, default=64, help="calibration images (default 64)")
    ap.add_argument("--batch", type=int, default=8, help="batch the peers are timed at")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    ap.add_argument("--cpu-peers", action="store_true", help="time PyTorch fp32 and FX int8")
    ap.add_argument("--gpu-peers", action="store_true", help="time PyTorch fp32/fp16 + CUDA graph")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(args.threads)
    for name in args.models.split(","):
        if name not in zoo_models.MODELS:
            sys.exit(f"prepare.py: unknown model '{name}' (known: {', '.join(zoo_models.MODELS)})")
        t0 = time.time()
        try:
            prepare_one(args, name)
        except Exception as e:  # noqa: BLE001 - one model's failure does not stop the others
            print(f"prepare: {name} failed: {str(e).splitlines()[0][:300]}", file=sys.stderr)
            continue
        print(f"prepare: {name} in {time.time() - t0:.0f} s", file=sys.stderr, flush=True)


def prepare_one(args, name):
    model = zoo_models.build(name)
    base = os.path.join(args.out, name)
    calib = zoo_models.images(name, args.images)
    if not os.path.exists(base + ".onnx"):
        zoo_models.export(model, name, base + ".onnx.tmp")
        os.replace(base + ".onnx.tmp", base + ".onnx")
    np.save(base + "_calib.npy", calib)
    with torch.inference_mode():
        ref = np.concatenate([model(torch.from_numpy(calib[i:i + 8])).numpy()
                              for i in range(0, len(calib), 8)])
    np.save(base + "_torch.npy", ref.astype(np.float32))
    r = {"model": name, "torch": torch.__version__, "batch": args.batch}
    if args.cpu_peers:
        r.update(cpu_peers(name, model, calib, args.batch, args.out))
    if args.gpu_peers:
        r.update(gpu_peers(model, calib, args.batch))
    with open(base + "_torch.json", "w") as f:
        json.dump(r, f)


if __name__ == "__main__":
    main()
