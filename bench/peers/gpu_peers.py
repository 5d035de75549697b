#!/usr/bin/env python3
"""PyTorch peer benchmark on an NVIDIA GPU (issue 7 item 4): the zoo twins mnist_naive and
resnet18_cifar at batch 128 in

  fp32 eager                    (IEEE fp32: TF32 off for cuDNN and cuBLAS)
  fp32 + CUDA graph
  tf32 + CUDA graph             (TF32 on for cuDNN convolutions and cuBLAS matmuls)
  fp16 channels_last eager
  fp16 channels_last + CUDA graph
  torch.compile max-autotune fp16 channels_last

Times are GPU time from CUDA events around `--inner` back-to-back calls, divided by --inner; the
median, p10 and p90 over --reps such samples after warm-up are reported. For the CUDA-graph and
compiled variants that is kernel-only time; eager time also includes any gaps where the GPU
waits for Python to launch the next kernel. cuDNN autotuning (cudnn.benchmark) is on for all.

Weights: random (seeded Kaiming init) unless --weights-dir holds <model>.pt state_dicts from
train_torch.py. With --data-dir holding test_1x28x28.npy / test_3x32x32.npy and test_labels.npy
(fashion.py writes them) each variant's top-1 accuracy is measured too; every variant's top-1
agreement with fp32 eager on the timed batch is always reported.

Written for PyTorch 2.x (the GPU machine has 2.11); on a machine without a GPU it prints a skip
message and exits 0.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402

VARIANTS = ["fp32", "fp32_graph", "tf32_graph", "fp16_cl", "fp16_cl_graph", "compile_fp16"]
LABELS = {
    "fp32": "fp32 eager",
    "fp32_graph": "fp32 + CUDA graph",
    "tf32_graph": "TF32 + CUDA graph",
    "fp16_cl": "fp16 channels_last eager",
    "fp16_cl_graph": "fp16 channels_last + CUDA graph",
    "compile_fp16": "torch.compile max-autotune fp16",
}


def set_tf32(on):
    """TF32 for cuDNN convs and cuBLAS matmuls; PyTorch >= 2.9 has a new API and warns about (and
    must not be mixed with) the legacy flags."""
    be = torch.backends
    if hasattr(be.cuda.matmul, "fp32_precision") and hasattr(be.cudnn, "conv"):
        mode = "tf32" if on else "ieee"
        be.cuda.matmul.fp32_precision = mode
        be.cudnn.conv.fp32_precision = mode
    else:
        be.cuda.matmul.allow_tf32 = on
        be.cudnn.allow_tf32 = on


def gpu_time(fn, warmup, reps, inner):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    ms = []
    for _ in range(reps):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(inner):
            fn()
        end.record()
        end.synchronize()
        ms.append(start.elapsed_time(end) / inner)
    return np.array(ms)


def capture(model, static_x):
    """Captures model(static_x) into a CUDA graph; returns (replay, static output)."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):  # warm-up on a side stream, as CUDA graph capture requires
            model(static_x)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        static_y = model(static_x)
    return graph.replay, static_y


class Runner:
    """One variant: a callable that computes the logits of the current `x` (batch-sized)."""

    def __init__(self, model, variant, batch, shape, dev):
        half = variant in ("fp16_cl", "fp16_cl_graph", "compile_fp16")
        cl = half
        set_tf32(variant == "tf32_graph")
        m = model.to(dev)
        if half:
            m = m.half()
        if cl:
            m = m.to(memory_format=torch.channels_last)
        self.dtype = torch.float16 if half else torch.float32
        self.cl = cl
        self.x = torch.zeros(batch, *shape, device=dev, dtype=self.dtype)
        if cl:
            self.x = self.x.contiguous(memory_format=torch.channels_last)
        self.variant = variant
        if variant.endswith("_graph"):
            self.step, self.y = capture(m, self.x)
            self.out = lambda: self.y
        elif variant == "compile_fp16":
            compiled = torch.compile(m, mode="max-autotune")
            self._y = None

            def step():
                self._y = compiled(self.x)

            self.step = step
            self.out = lambda: self._y
        else:
            self._y = None

            def step():
                self._y = m(self.x)

            self.step = step
            self.out = lambda: self._y

    def logits(self, xb):
        """float32 logits of a host batch (copied into the static input)."""
        self.x.copy_(xb.to(self.x.device, self.dtype))
        self.step()
        return self.out().float().clone()


def run_model(name, args, dev, card):
    shape = models.INPUT_SHAPE[name]
    torch.manual_seed(0)
    wpath = os.path.join(args.weights_dir, f"{name}.pt") if args.weights_dir else None
    test = None
    if args.data_dir:
        tag = "x".join(str(d) for d in shape)
        xi = os.path.join(args.data_dir, f"test_{tag}.npy")
        yl = os.path.join(args.data_dir, "test_labels.npy")
        if os.path.exists(xi) and os.path.exists(yl):
            test = (np.load(xi), np.load(yl))
        else:
            print(f"note: {xi} or {yl} missing: no accuracy for {name}", file=sys.stderr)
    if test is not None:
        xb = torch.from_numpy(test[0][:args.batch].copy())
    else:
        xb = torch.randn(args.batch, *shape, generator=torch.Generator().manual_seed(1))

    results, ref_top1 = [], None
    for variant in args.variants:
        torch.manual_seed(0)  # the same random weights for every variant
        model = models.load(name, wpath) if wpath else models.build(name).eval()
        t0 = time.perf_counter()
        try:
            # torch.compile traces under no_grad (inference_mode tensors confuse its guards)
            ctx = torch.no_grad() if variant == "compile_fp16" else torch.inference_mode()
            with ctx:
                runner = Runner(model, variant, args.batch, shape, dev)
                top1 = runner.logits(xb).argmax(1).cpu()
                setup_s = time.perf_counter() - t0
                ms = gpu_time(runner.step, args.warmup, args.reps, args.inner)
                acc = None
                if test is not None:
                    correct, n = 0, len(test[1])
                    for i in range(0, n, args.batch):
                        chunk = torch.from_numpy(test[0][i:i + args.batch])
                        m = len(chunk)
                        if m < args.batch:  # pad the tail; padded rows are ignored
                            pad = torch.zeros(args.batch - m, *shape)
                            chunk = torch.cat([chunk, pad])
                        pred = runner.logits(chunk).argmax(1)[:m].cpu().numpy()
                        correct += int((pred == test[1][i:i + m]).sum())
                    acc = correct / n
        except Exception as e:  # report and go on with the other variants
            print(f"{name} {LABELS[variant]}: failed: {type(e).__name__}: {e}", file=sys.stderr)
            results.append(dict(model=name, variant=LABELS[variant], error=str(e)[:500]))
            continue
        finally:
            set_tf32(False)
        if ref_top1 is None and variant == "fp32":
            ref_top1 = top1
        med = float(np.median(ms))
        r = dict(model=name, variant=LABELS[variant], median_ms=round(med, 4),
                 p10_ms=round(float(np.percentile(ms, 10)), 4),
                 p90_ms=round(float(np.percentile(ms, 90)), 4),
                 images_per_s=round(args.batch / med * 1e3, 1), accuracy=acc,
                 top1_agree_vs_fp32=(None if ref_top1 is None
                                     else float((top1 == ref_top1).float().mean())),
                 setup_s=round(setup_s, 1), batch=args.batch, card=card, torch=torch.__version__,
                 reps=args.reps, inner=args.inner)
        results.append(r)
        print(json.dumps(r), flush=True)
        del runner
        torch.cuda.empty_cache()
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--models", default="mnist_naive,resnet18_cifar", help="comma list of zoo models")
    ap.add_argument("--variants", default=",".join(VARIANTS),
                    help="comma list from: " + ", ".join(VARIANTS))
    ap.add_argument("--batch", type=int, default=128, help="batch size (default 128)")
    ap.add_argument("--warmup", type=int, default=50, help="untimed calls first (default 50)")
    ap.add_argument("--reps", type=int, default=100, help="timed samples (default 100)")
    ap.add_argument("--inner", type=int, default=10, help="calls per timed sample (default 10)")
    ap.add_argument("--weights-dir", help="folder with <model>.pt state_dicts (default: random)")
    ap.add_argument("--data-dir", help="folder with test_<C>x<H>x<W>.npy and test_labels.npy")
    ap.add_argument("--json", help="write the JSON list of results to this file")
    args = ap.parse_args()
    args.variants = [v for v in args.variants.split(",") if v]
    for v in args.variants:
        if v not in VARIANTS:
            raise SystemExit(f"error: unknown variant '{v}' (choose from {', '.join(VARIANTS)})")
    names = [n for n in args.models.split(",") if n]
    for n in names:
        if n not in models.INPUT_SHAPE:
            raise SystemExit(f"error: unknown model '{n}' (mnist_naive or resnet18_cifar)")

    if not torch.cuda.is_available():
        msg = (f"gpu_peers: no GPU (torch {torch.__version__}, torch.cuda.is_available() is "
               f"False): skipping the GPU peer benchmark")
        print(msg)
        if args.json:
            with open(args.json, "w") as f:
                json.dump([dict(skipped=msg)], f, indent=1)
        return 0
    dev = torch.device("cuda")
    card = torch.cuda.get_device_name(0)
    torch.backends.cudnn.benchmark = True
    print(f"gpu_peers: {card}, torch {torch.__version__}, CUDA {torch.version.cuda}, "
          f"cuDNN {torch.backends.cudnn.version()}", flush=True)
    results = []
    for n in names:
        results += run_model(n, args, dev, card)
    print(f"\n{'model':16} {'variant':34} {'median ms':>10} {'p10':>8} {'p90':>8} {'img/s':>10}")
    for r in results:
        if "error" in r:
            print(f"{r['model']:16} {r['variant']:34} failed: {r['error'][:60]}")
        else:
            print(f"{r['model']:16} {r['variant']:34} {r['median_ms']:10.4f} {r['p10_ms']:8.4f} "
                  f"{r['p90_ms']:8.4f} {r['images_per_s']:10.0f}")
    if args.json:
        with open(args.json + ".tmp", "w") as f:
            json.dump(results, f, indent=1)
        os.replace(args.json + ".tmp", args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
