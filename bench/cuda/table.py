#!/usr/bin/env python3
"""One Markdown table of mpq's CUDA engine and the PyTorch peers (same run, same card), with
ratios against PyTorch's best configuration per model. Usage: table.py bench.jsonl [peers.json]"""
import json
import os
import sys


def main():
    mpq = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    peers = []
    if len(sys.argv) > 2 and os.path.exists(sys.argv[2]):
        peers = [p for p in json.load(open(sys.argv[2])) if "median_ms" in p]
    card = (mpq[0].get("card") if mpq else "") or (peers[0].get("card") if peers else "?")
    print(f"card: {card}, batch {mpq[0]['batch'] if mpq else '?'}\n")
    print("| model | engine | kernel-only ms | with copies ms | accuracy | agree CPU int8 | best PyTorch / this |")
    print("|---|---|---|---|---|---|---|")
    models = []
    for r in mpq + peers:
        if r["model"] not in models:
            models.append(r["model"])
    for m in models:
        best = min((p["median_ms"] for p in peers if p["model"] == m), default=None)
        rows = [(r["engine"], r["kernel_ms"], r["nni_ms"], r.get("accuracy"), r.get("agree_cpu_int8"))
                for r in mpq if r["model"] == m]
        rows += [("PyTorch " + p["variant"], p["median_ms"], None, p.get("accuracy"), None)
                 for p in peers if p["model"] == m]
        for name, k, w, acc, ag in rows:
            ratio = f"{best / k:.2f}x" if best and k and k > 0 else ""
            fmt = lambda v, d=4: "" if v is None or v < 0 else f"{v:.{d}f}"
            print(f"| {m} | {name} | {fmt(k)} | {fmt(w)} | {fmt(acc)} | {fmt(ag)} | {ratio} |")


if __name__ == "__main__":
    main()
