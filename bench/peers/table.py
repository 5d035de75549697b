#!/usr/bin/python3
"""Prints one table (text, or Markdown with --md) from the JSON results written by cpu_torch.py,
ort_bench.js and gpu_peers.py (each file holds one result object or a list of them). Ratios are
against the first row of the same model whose variant contains --base (default "torch fp32")."""
import argparse
import json


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("files", nargs="+", help="JSON result files")
    ap.add_argument("--md", action="store_true", help="print a Markdown table")
    ap.add_argument("--base", default="torch fp32", help="variant the speedup column divides by")
    args = ap.parse_args()
    rows = []
    for f in args.files:
        with open(f) as fh:
            data = json.load(fh)
        rows += [r for r in (data if isinstance(data, list) else [data]) if "median_ms" in r]
    base = {}
    for r in rows:
        if args.base in r["variant"] and r["model"] not in base:
            base[r["model"]] = r["median_ms"]
    head = ["model", "variant", "median ms", "p10 ms", "p90 ms", "images/s", "top-1",
            f"speedup vs {args.base}"]
    ms = lambda v: f"{v:.3f}" if v >= 1 else f"{v:.4f}"  # GPU times need the 4th decimal
    lines = []
    for r in rows:
        acc = "-" if r.get("accuracy") is None else f"{100 * r['accuracy']:.2f}%"
        sp = f"{base[r['model']] / r['median_ms']:.2f}x" if r["model"] in base else "-"
        lines.append([r["model"], r["variant"], ms(r["median_ms"]), ms(r["p10_ms"]), ms(r["p90_ms"]), f"{r['images_per_s']:.0f}", acc, sp])
    if args.md:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for l in lines:
            print("| " + " | ".join(l) + " |")
    else:
        w = [max(len(h), *(len(l[i]) for l in lines)) for i, h in enumerate(head)]
        fmt = lambda l: "  ".join(c.ljust(w[i]) if i < 2 else c.rjust(w[i]) for i, c in enumerate(l))
        print(fmt(head))
        for l in lines:
            print(fmt(l))


if __name__ == "__main__":
    main()
