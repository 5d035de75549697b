#!/usr/bin/python3
"""Builds and times mpq engines for the zoo models prepared by prepare.py, one JSON line a model.

Per model: `mpq calibrate` (entropy by default) on the 64 images, then fp32, 16-bit and int8
engines (`mpq build --default-precision ...`), each `mpq inspect`ed (steps, precision boundaries,
reference steps, what ran), timed (`mpq bench`) and run on the 64 images. Reports the fp32
engine's largest error relative to PyTorch's logits, the int8 engine's SQNR and top-1 agreement
against the fp32 engine, and, with --ort, ONNX Runtime on the FX int8 QDQ export (ort_bench.js).
Works here (--mpq build/mpq, --backend cpu) and on the GPU machine (--mpq "mpq_gpu mpq",
--backend cuda). Needs numpy only.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def sh(cmd, log, timeout=1800):
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    with open(log, "a") as f:
        f.write(f"$ {' '.join(shlex.quote(c) for c in cmd)}  ({time.time() - t0:.1f} s, rc {p.returncode})\n")
        f.write(p.stdout[-4000:] + p.stderr[-4000:] + "\n")
    if p.returncode != 0:
        lines = [l for l in p.stderr.strip().splitlines() if l.strip()] or ["(no stderr)"]
        raise RuntimeError(f"{os.path.basename(cmd[0])} {cmd[1] if len(cmd) > 1 else ''}: {lines[-1][:300]}")
    return p.stdout


def sqnr_db(ref, x):
    noise = np.sum((ref.astype(np.float64) - x) ** 2)
    return float("inf") if noise == 0 else float(10 * np.log10(np.sum(ref.astype(np.float64) ** 2) / noise))


def one_model(a, name, log):
    mpq = shlex.split(a.mpq)
    base = os.path.join(a.work, name)
    calib = base + "_calib.npy"
    r = {"model": name, "backend": a.backend, "batch": a.batch}
    table = f"{base}_{a.backend}_{a.method}.json"
    t0 = time.time()
    sh(mpq + ["calibrate", "--model", base + ".onnx", "--data", calib, "--method", a.method,
              "--calib-images", "64", "--quiet", "-o", table], log)
    r["calibrate_s"] = round(time.time() - t0, 1)
    torch_ref = np.load(base + "_torch.npy")
    outs = {}
    half = "fp16" if a.backend == "cuda" else "bf16"
    for prec in ("fp32", half, "int8"):
        eng = f"{base}_{a.backend}_{prec}.mpqe"
        cmd = mpq + ["build", "--model", base + ".onnx", "--backend", a.backend, "--batch",
                     str(a.batch), "--default-precision", prec, "-o", eng]
        if prec == "int8":
            cmd += ["--calib", table]
        cmd += a.build_args
        try:
            t0 = time.time()
            sh(cmd, log)
            r[f"{prec}_build_s"] = round(time.time() - t0, 1)
            ins = json.loads(sh(mpq + ["inspect", "--json", eng], log))
            st = ins.get("steps", {})
            layers = [l for l in ins["layers"] if l.get("op") != "Reorder"]
            ran = {}
            for l in layers:
                ran[l["executed"]] = ran.get(l["executed"], 0) + 1
            r[prec] = {"steps": st.get("total"), "boundaries": st.get("boundaries"),
                       "reference": st.get("reference"), "reference_ops": st.get("reference_ops"),
                       "executed": ran}
            b = json.loads(sh(mpq + ["bench", "--engine", eng, "--batch", str(a.batch),
                                     "--iters", str(a.iters), "--rounds", "3", "--json"]
                              + (["--threads", str(a.threads)] if a.backend == "cpu" else []), log))
            r[prec]["ms"] = b.get("kernel_ms", b["median_ms"]) if a.backend == "cuda" else b["median_ms"]
            r[prec]["host_ms"] = b["median_ms"]
            out = f"{base}_{a.backend}_{prec}_out.npy"
            sh(mpq + ["run", "--engine", eng, "--data", calib, "-o", out], log)
            outs[prec] = np.load(out).reshape(torch_ref.shape)
        except Exception as e:  # noqa: BLE001 - the table says what failed
            r[prec] = {"error": str(e)}
    if "fp32" in outs:
        err = np.abs(outs["fp32"] - torch_ref).max() / max(np.abs(torch_ref).max(), 1e-12)
        r["fp32_vs_torch_rel"] = float(err)
    if "fp32" in outs and "int8" in outs:
        r["int8_sqnr_db"] = round(sqnr_db(outs["fp32"], outs["int8"]), 2)
        r["int8_top1_agree"] = float(np.mean(outs["fp32"].argmax(1) == outs["int8"].argmax(1)))
    if a.ort and os.path.exists(base + "_qdq.onnx"):
        try:
            j = json.loads(sh(["node", os.path.join(HERE, "..", "peers", "ort_bench.js"), "--model",
                               base + "_qdq.onnx", "--batch", str(a.batch), "--threads",
                               str(a.threads), "--iters", str(a.iters), "--images", calib], log))
            r["ort_int8_ms"] = j["median_ms"]
        except Exception as e:  # noqa: BLE001
            r["ort_int8_error"] = str(e)
    tj = base + "_torch.json"
    if os.path.exists(tj):
        r["peers"] = json.load(open(tj))
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--work", required=True, help="folder prepare.py wrote")
    ap.add_argument("--models", required=True, help="comma list")
    ap.add_argument("--mpq", default="build/mpq", help="mpq command (default build/mpq)")
    ap.add_argument("--backend", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--method", default="entropy", choices=["entropy", "percentile", "minmax"])
    ap.add_argument("--ort", action="store_true", help="time ONNX Runtime on <m>_qdq.onnx")
    ap.add_argument("--build-arg", dest="build_args", action="append", default=[],
                    help="extra `mpq build` argument (repeatable)")
    ap.add_argument("--jsonl", required=True, help="append one JSON line per model here")
    ap.add_argument("--log", default="/dev/null", help="every command's output")
    a = ap.parse_args()
    for name in a.models.split(","):
        t0 = time.time()
        try:
            r = one_model(a, name, a.log)
        except Exception as e:  # noqa: BLE001
            r = {"model": name, "backend": a.backend, "error": str(e)}
        r["seconds"] = round(time.time() - t0, 1)
        with open(a.jsonl, "a") as f:
            f.write(json.dumps(r) + "\n")
        print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
