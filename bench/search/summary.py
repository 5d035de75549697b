"""Summary of an `mpq search --report` JSON: the uniform plans, the frontier, the choice, the best
frontier point within 10% of all-int8's latency, and the cost model's error."""
import json
import math
import sys


def fid(p, metric):
    f = p["fidelity"]
    if metric == "sqnr":
        return math.inf if f["sqnr_db"] is None else f["sqnr_db"]
    return 100.0 * f[metric]


def show(p, metric):
    v = fid(p, metric)
    unit = " dB" if metric == "sqnr" else "%"
    return f"{p['latency_ms']:.3f} ms, {metric} {v:.2f}{unit}, mean bits {p['mean_bits']:.1f}, " \
           f"weighted bits {p['weighted_bits']:.1f}" + \
           (f", engine {p['engine_bytes'] / 1e6:.2f} MB" if p["engine_bytes"] else "")


r = json.load(open(sys.argv[1]))
m = r["metric"]
pts = r["points"]
by = {p["origin"]: p for p in pts if p["origin"].startswith("all-")}
print(f"{sys.argv[1]}: {len(pts)} plans in {r['seconds']:.0f} s ({r['stopped']}), batch {r['batch']}, "
      f"{r['samples']} samples, target {r['target']}")
for k in ("all-fp32", "all-16", "all-int8"):
    if k in by:
        print(f"  {k:9s} {show(by[k], m)}")
print(f"  frontier ({len(r['frontier'])} points, each re-measured):")
for i in r["frontier"]:
    print(f"    {pts[i]['origin']:9s} {show(pts[i], m)}")
if r["chosen"] is not None:
    c = pts[r["chosen"]]
    print(f"  chosen    {show(c, m)}")
    if "all-int8" in by:
        print(f"  chosen speed / all-int8 speed: {by['all-int8']['latency_ms'] / c['latency_ms']:.3f}")
    if "all-fp32" in by and m != "sqnr":
        print(f"  chosen {m} - fp32 {m}: {fid(c, m) - fid(by['all-fp32'], m):+.2f} points")
if "all-int8" in by:
    i8 = by["all-int8"]
    near = [pts[i] for i in r["frontier"]
            if pts[i]["latency_ms"] <= 1.10 * i8["latency_ms"] and fid(pts[i], m) > fid(i8, m)]
    if near:
        b = max(near, key=lambda p: fid(p, m))
        print(f"  best frontier point within 10% of all-int8's latency: {show(b, m)} "
              f"({b['latency_ms'] / i8['latency_ms'] - 1:+.1%} latency, "
              f"{fid(b, m) - fid(i8, m):+.2f} {m})")
    else:
        print("  no frontier point within 10% of all-int8's latency beats it on fidelity")
cm = r["cost_model"]
if cm["median_relative_error"] is not None:
    print(f"  cost model: median error {100 * cm['median_relative_error']:.1f}% over "
          f"{cm['predictions']} plans predicted before they were timed")
