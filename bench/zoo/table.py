#!/usr/bin/python3
"""Turns run.py's JSON lines into the markdown tables of bench/RESULTS.md ("Real networks").

usage: table.py cpu.jsonl [--gpu gpu.jsonl]
"""
import argparse
import json
import math


def load(path):
    rows = {}
    for line in open(path):
        if line.strip():
            r = json.loads(line)
            rows[r["model"]] = r  # the last line of a model wins (re-runs)
    return rows


def f(x, nd=2):
    return "-" if x is None else (f"{x:.{nd}f}" if isinstance(x, (int, float)) else str(x))


def ms(r, prec):
    v = r.get(prec) or {}
    return v.get("ms")


def ref_steps(r):
    n = [(r.get(p) or {}).get("reference") for p in ("fp32", "bf16", "fp16", "int8")]
    n = [x for x in n if x is not None]
    return max(n) if n else None


def errors(r):
    e = [r.get("error")] + [(r.get(p) or {}).get("error") for p in ("fp32", "bf16", "fp16", "int8")]
    return "; ".join(x for x in e if x)


def cpu_table(rows):
    out = ["| model | mpq fp32 ms | mpq bf16 ms | mpq int8 ms | int8 / fp32 speedup | ORT int8 QDQ ms | "
           "PyTorch fp32 / FX int8 ms | reference steps | boundaries (int8) | fp32 vs PyTorch (max rel) | "
           "int8 SQNR dB | top-1 agree | note |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for m, r in rows.items():
        p = r.get("peers", {})
        f32, i8 = ms(r, "fp32"), ms(r, "int8")
        sp = f32 / i8 if f32 and i8 else None
        out.append("| " + " | ".join([
            m, f(f32), f(ms(r, "bf16")), f(i8), f(sp) + ("x" if sp else ""), f(r.get("ort_int8_ms")),
            f"{f(p.get('torch_fp32_ms'))} / {f(p.get('torch_int8_ms'))}", f(ref_steps(r), 0),
            f((r.get("int8") or {}).get("boundaries"), 0), f(r.get("fp32_vs_torch_rel"), 7),
            f(r.get("int8_sqnr_db"), 1), f(r.get("int8_top1_agree")), errors(r)[:120]]) + " |")
    sps = [ms(r, "fp32") / ms(r, "int8") for r in rows.values() if ms(r, "fp32") and ms(r, "int8")]
    if sps:
        gm = math.exp(sum(math.log(x) for x in sps) / len(sps))
        out.append(f"\nGeometric mean int8 / fp32 speedup over {len(sps)} models: {gm:.2f}x")
    return "\n".join(out)


def gpu_table(rows):
    out = ["| model | PyTorch fp32 graph ms | PyTorch fp16 graph ms | mpq fp32 ms | mpq fp16 ms | "
           "mpq int8 ms | int8 vs PyTorch fp16 | fp16 vs PyTorch fp16 | host steps | int8 SQNR dB | note |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    ratios = []
    for m, r in rows.items():
        p = r.get("peers", {})
        t16 = p.get("torch_fp16_graph_ms")
        i8, h = ms(r, "int8"), ms(r, "fp16")
        ri = t16 / i8 if t16 and i8 else None
        rh = t16 / h if t16 and h else None
        if ri:
            ratios.append(ri)
        out.append("| " + " | ".join([
            m, f(p.get("torch_fp32_graph_ms"), 3), f(t16, 3), f(ms(r, "fp32"), 3), f(h, 3), f(i8, 3),
            f(ri) + ("x" if ri else ""), f(rh) + ("x" if rh else ""), f(ref_steps(r), 0),
            f(r.get("int8_sqnr_db"), 1), errors(r)[:120]]) + " |")
    if ratios:
        gm = math.exp(sum(math.log(x) for x in ratios) / len(ratios))
        out.append(f"\nGeometric mean of PyTorch fp16 time / mpq int8 time over {len(ratios)} models: {gm:.2f}x")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("cpu", nargs="?")
    ap.add_argument("--gpu")
    a = ap.parse_args()
    if a.cpu:
        print(cpu_table(load(a.cpu)))
    if a.gpu:
        print()
        print(gpu_table(load(a.gpu)))


if __name__ == "__main__":
    main()
