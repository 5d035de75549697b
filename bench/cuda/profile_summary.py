#!/usr/bin/env python3
"""Summarizes the per-step profiles that `MPQ_DEBUG=cuda-profile mpq bench --engine E` prints.

Reads one or more profiles (each headed by a "== <model>" line, as scripts/gpu_test.sh writes
them) and prints, per model, the time per op type and per kernel family (the kernel name without
its tile shape) and the slowest steps. Step lines are "  <us>  <node> <op> <kernel> <shape>".

  bench/cuda/profile_summary.py profile.log [--top 12]
"""
import argparse
import re
import sys
from collections import defaultdict

STEP = re.compile(r"^\s+([0-9.]+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(.*)$")


def family(kernel):
    # cuda.tc_s8_128x64x64_w2x2_s4 -> cuda.tc_s8; cuda.depthwise_s8_7x7 keeps its window.
    if kernel.startswith("cuda.depthwise"):
        return kernel
    return re.sub(r"_\d+x\d+.*$", "", kernel)


def summarize(name, steps, top):
    total = sum(s[0] for s in steps)
    print(f"== {name}: {len(steps)} steps, {total / 1e3:.3f} ms")
    for title, key in (("op", lambda s: s[2]), ("kernel", lambda s: family(s[3]))):
        agg = defaultdict(lambda: [0.0, 0])
        for s in steps:
            a = agg[key(s)]
            a[0] += s[0]
            a[1] += 1
        rows = sorted(agg.items(), key=lambda kv: -kv[1][0])
        print(f"  by {title}: " + ", ".join(
            f"{k} {v[0] / 1e3:.3f} ms ({100 * v[0] / max(total, 1e-9):.0f}%, {v[1]})" for k, v in rows[:8]))
    for s in sorted(steps, key=lambda s: -s[0])[:top]:
        print(f"  {s[0]:8.1f} us  {s[2]:<12} {s[3]:<36} {s[4]}  ({s[1]})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("log")
    ap.add_argument("--top", type=int, default=12, help="slowest steps listed per model")
    a = ap.parse_args()
    name, steps = "profile", []
    with open(a.log) as f:
        for line in f:
            if line.startswith("== "):
                if steps:
                    summarize(name, steps, a.top)
                name, steps = line[3:].strip(), []
                continue
            m = STEP.match(line)
            if m and m.group(2) != "total":
                steps.append((float(m.group(1)), m.group(2), m.group(3), m.group(4), m.group(5)))
    if steps:
        summarize(name, steps, a.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
