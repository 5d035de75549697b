#!/usr/bin/python3
"""Table of bench/cpu_peers.sh: mpq's engines (fp32, bf16, int8, mixed) against PyTorch and ONNX
Runtime on the same trained models, with speedup ratios against mpq fp32 and every peer, accuracy
on the Fashion-MNIST test set, top-1 agreement of each mpq variant with mpq fp32, average weight
bits, engine load time, and the issue's targets (met or missed). Prints the table and, with
--results, writes it as the "CPU peers" section of bench/RESULTS.md (replacing an older one)."""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys

import numpy as np

MPQ_VARIANTS = ["fp32", "bf16", "int8", "mixed"]
PEERS = [("torch fp32", "torch fp32"), ("torch int8", "torch int8 onednn"),
         ("ort fp32", "ort fp32"), ("ort int8", "ort int8 qdq")]
BEGIN, END = "<!-- cpu-peers:begin -->", "<!-- cpu-peers:end -->"


def load_rows(files):
    rows = []
    for f in files:
        if not os.path.exists(f):
            print(f"warning: {f} is missing", file=sys.stderr)
            continue
        with open(f) as fh:
            d = json.load(fh)
        rows += [r for r in (d if isinstance(d, list) else [d]) if "median_ms" in r]
    return rows


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def model_section(m, rows, work):
    by = {r["variant"]: r for r in rows if r["model"] == m}
    out = {"rows": [], "targets": [], "load": None}
    fp32_out = os.path.join(work, f"out_{m}_fp32.npy")
    ref = np.load(fp32_out).argmax(1) if os.path.exists(fp32_out) else None
    base = {"mpq fp32": by.get("mpq fp32")}
    for short, full in PEERS:
        base[short] = by.get(full)
    order = [f"mpq {v}" for v in MPQ_VARIANTS] + [full for _, full in PEERS]
    for variant in order:
        r = by.get(variant)
        if r is None:
            continue
        row = dict(variant=variant, median=r["median_ms"], p10=r["p10_ms"], p90=r["p90_ms"],
                   ips=r["images_per_s"], acc=r.get("accuracy"), agree=None, bits=None)
        if variant.startswith("mpq "):
            v = variant[4:]
            acc_f = os.path.join(work, f"acc_{m}_{v}.json")
            if os.path.exists(acc_f):
                row["acc"] = json.load(open(acc_f))["accuracy"]
            out_f = os.path.join(work, f"out_{m}_{v}.npy")
            if ref is not None and os.path.exists(out_f):
                row["agree"] = float((np.load(out_f).argmax(1) == ref).mean())
            insp = os.path.join(work, f"inspect_{m}_{v}.json")
            if os.path.exists(insp):
                b = json.load(open(insp))["average_bits"]
                row["bits"] = (b["mean"], b["parameter_weighted"])
        row["ratios"] = {k: (b["median_ms"] / r["median_ms"] if b else None) for k, b in base.items()}
        out["rows"].append(row)
    loads, cpus = [], []
    for i in range(1, 8):
        f = os.path.join(work, f"load_{m}_{i}.json")
        if os.path.exists(f):
            d = json.load(open(f))
            loads.append(d["load_ms"])
            cpus.append(d.get("load_cpu_ms", 0.0))
            out["backend_info"] = d.get("backend_info", "")
    if loads:
        out["load"] = (statistics.median(loads), min(loads), max(loads), statistics.median(cpus))
    return out, by


def fmt_ratio(x):
    return "-" if x is None else f"{x:.2f}x"


def table_lines(models, sections, md):
    head = ["model", "variant", "median ms", "p10 ms", "p90 ms", "images/s", "top-1",
            "agree w/ fp32", "avg bits (mean/weighted)", "vs mpq fp32", "vs torch fp32",
            "vs torch int8", "vs ort fp32", "vs ort int8"]
    lines = []
    for m in models:
        for row in sections[m]["rows"]:
            lines.append([
                m, row["variant"], f"{row['median']:.3f}", f"{row['p10']:.3f}", f"{row['p90']:.3f}",
                f"{row['ips']:.0f}", "-" if row["acc"] is None else f"{100 * row['acc']:.2f}%",
                "-" if row["agree"] is None else f"{100 * row['agree']:.2f}%",
                "-" if row["bits"] is None else f"{row['bits'][0]:.2f} / {row['bits'][1]:.2f}",
                *[fmt_ratio(row["ratios"][k]) for k in ["mpq fp32", "torch fp32", "torch int8",
                                                       "ort fp32", "ort int8"]]])
    if md:
        text = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        text += ["| " + " | ".join(l) + " |" for l in lines]
        return text
    w = [max(len(h), *(len(l[i]) for l in lines)) if lines else len(h) for i, h in enumerate(head)]
    fmt = lambda l: "  ".join(c.ljust(w[i]) if i < 2 else c.rjust(w[i]) for i, c in enumerate(l))
    return [fmt(head)] + [fmt(l) for l in lines]


def targets(sections, bys):
    t = []

    def ratio(m, a, b):
        by = bys.get(m, {})
        if a in by and b in by:
            return by[b]["median_ms"] / by[a]["median_ms"]
        return None

    def add(name, value, goal, unit="x", higher=True):
        if value is None:
            t.append((name, "not measured", "-"))
            return
        ok = value >= goal if higher else value <= goal
        shown = f"{value:.2f}{unit}" if unit == "x" else f"{value:.1f} {unit}"
        if unit == "%":
            shown = f"{value:.2f}%"
        t.append((name, shown, "met" if ok else "MISSED"))

    r = "resnet18_cifar"
    add(f"{r} int8 >= 10x faster than mpq fp32", ratio(r, "mpq int8", "mpq fp32"), 10)
    add(f"{r} int8 >= 2x faster than ORT int8", ratio(r, "mpq int8", "ort int8 qdq"), 2)
    add(f"{r} int8 >= 2x faster than PyTorch onednn int8", ratio(r, "mpq int8", "torch int8 onednn"), 2)
    add(f"{r} mpq fp32 at least as fast as ORT fp32", ratio(r, "mpq fp32", "ort fp32"), 1)
    add("mnist_naive int8 >= 4x faster than mpq fp32", ratio("mnist_naive", "mpq int8", "mpq fp32"), 4)
    for m, s in sections.items():
        for row in s["rows"]:
            if row["variant"] == "mpq int8":
                add(f"{m} int8 top-1 agreement with float >= 99%",
                    None if row["agree"] is None else 100 * row["agree"], 99, "%")
    if r in sections and sections[r]["load"]:
        add(f"{r} int8 engine load < 100 ms (median of 7)", sections[r]["load"][0], 100, "ms",
            higher=False)
    return t


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("files", nargs="*", help="timing JSON files (mpq bench, cpu_torch, ort_bench)")
    ap.add_argument("--work", required=True, help="bench work folder")
    ap.add_argument("--models", nargs="+", required=True)
    ap.add_argument("--results", help="Markdown file whose 'CPU peers' section is (re)written")
    ap.add_argument("--load-start", default="?")
    ap.add_argument("--load-end", default="?")
    ap.add_argument("--mpq", default="build/mpq")
    ap.add_argument("--threads", default="2")
    ap.add_argument("--batch", default="128")
    ap.add_argument("--iters", default="30")
    ap.add_argument("--warmup", default="5")
    ap.add_argument("--rounds", default="3")
    ap.add_argument("--calib", default="minmax")
    args = ap.parse_args()

    rows = load_rows(args.files)
    sections, bys = {}, {}
    for m in args.models:
        sections[m], bys[m] = model_section(m, rows, args.work)
    tgt = targets(sections, bys)

    cpu = sh("lscpu | sed -n 's/^Model name: *//p'")
    flags = sh("grep -o -w 'amx_int8\\|amx_bf16\\|avx512_vnni\\|avx512_bf16' /proc/cpuinfo | sort -u | tr '\\n' ' '")
    versions = {
        "mpq": sh(f"{args.mpq} --version"),
        "oneDNN": sh("dpkg-query -W -f='${Version}' libdnnl-dev 2>/dev/null") + " (" + next(
            (s.get("backend_info", "") for s in sections.values() if s.get("backend_info")), "") + ")",
        "PyTorch": sh("/usr/bin/python3 -c 'import torch; print(torch.__version__)'"),
        "ONNX Runtime": next((r.get("onnxruntime") for r in rows if r.get("onnxruntime")), "?"),
        "node": sh("node --version"),
    }
    header = (f"batch {args.batch}, {args.threads} threads, median of {args.iters} runs after "
              f"{args.warmup} warm-up runs, best of {args.rounds} rounds; {cpu} "
              f"({os.cpu_count()} vCPU; {flags.strip()}); load average at start {args.load_start}, "
              f"at end {args.load_end}")
    print(header)
    print("\n".join(table_lines(args.models, sections, md=False)))
    for m, s in sections.items():
        if s["load"]:
            print(f"{m}: int8 engine load median {s['load'][0]:.1f} ms "
                  f"(min {s['load'][1]:.1f}, max {s['load'][2]:.1f}; CPU time {s['load'][3]:.1f} ms) "
                  f"over 7 loads")
    print("\ntargets:")
    for name, value, verdict in tgt:
        print(f"  {verdict:12s} {name}: {value}")

    if not args.results:
        return
    md = [BEGIN, "## CPU peers", "",
          "`bench/cpu_peers.sh` (issue 3 item 9): the models trained 1 epoch on Fashion-MNIST with "
          "Debian's PyTorch (`bench/peers/train_torch.py`; resnet18_cifar on the first 12800 "
          "training images), exported to ONNX; mpq engines built from that ONNX file with int8 "
          f"ranges from `mpq calibrate` ({args.calib}); PyTorch and ONNX Runtime through "
          "`bench/peers/cpu_torch.py` and `bench/peers/ort_bench.js`, in the same run. "
          "\"vs X\" = X's median / this row's median (how many times faster). \"agree w/ fp32\" = "
          "top-1 agreement with the mpq fp32 engine over the 10000 test images. Average bits over "
          "the quantizable (Conv/Gemm) layers: plain mean / weighted by parameters.", "",
          f"Conditions: {header}.", "",
          "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".", ""]
    md += table_lines(args.models, sections, md=True)
    md.append("")
    for m, s in sections.items():
        if s["load"]:
            md.append(f"- {m} int8 engine load (read + verify checksum + parse + pack weights for "
                      f"this CPU): median {s['load'][0]:.1f} ms, min {s['load'][1]:.1f}, max "
                      f"{s['load'][2]:.1f} over 7 loads, median CPU time {s['load'][3]:.1f} ms "
                      f"(`mpq inspect --json`, keys `load_ms`, `load_cpu_ms`).")
    md += ["", "Targets:", ""]
    md += [f"- {verdict}: {name}: {value}" for name, value, verdict in tgt]
    md += ["", "Commands (what the script runs per model M and variant V):", "", "```",
           "mpq calibrate --model M.onnx --data fashion-mnist:train --method minmax --calib-images 1000 -o calib_M.json",
           "mpq build --model M.onnx [--default-precision bf16 | --calib calib_M.json [--config mixed_M.json]] --batch 128 --threads 2 -o M_V.mpqe",
           "mpq run --engine M_V.mpqe --data fashion-mnist:test --json -o out_M_V.npy",
           "mpq bench --engine M_V.mpqe --batch 128 --threads 2 --iters 30 --warmup 5 --rounds 3 --json",
           "/usr/bin/python3 bench/peers/cpu_torch.py --model M --weights M.pt --threads 2 --batch 128 --iters 30 --rounds 3 --onnx-int8 M_int8.onnx",
           "node bench/peers/ort_bench.js --model M.onnx|M_int8.onnx --batch 128 --threads 2 --iters 30 --rounds 3 --images test.npy --labels labels.npy",
           "```", END]
    text = "\n".join(md) + "\n"
    old = open(args.results).read() if os.path.exists(args.results) else "# Benchmark results\n\n"
    if BEGIN in old and END in old:
        new = old[:old.index(BEGIN)] + text + old[old.index(END) + len(END) + 1:]
    else:
        new = old.rstrip("\n") + "\n\n" + text
    with open(args.results + ".tmp", "w") as f:
        f.write(new)
    os.replace(args.results + ".tmp", args.results)
    print(f"\nwrote the 'CPU peers' section of {args.results}")


if __name__ == "__main__":
    main()
