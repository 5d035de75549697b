#!/usr/bin/env python3
"""Checks that includes follow mpq's layers (DESIGN.md, "Layers").

A file under src/<layer>/ may include headers of its own layer group and of lower ones, never of
a higher one; the public headers under include/mpq/ may include only other public headers
(mpq/...) and system headers. Layers, low to high (one group per line of LAYERS):
core; ir; frontend quant passes data zoo; backends; plan; runtime train; api; demo. tools/ (the
CLI) sits above them all and is not checked.

Usage: check_layers.py [ROOT]        (ROOT defaults to the repository)
       check_layers.py --self-test   (checks the checker on tests/lint/layers)
Exit status: 0 when every include goes down or sideways, 1 when one goes up.
"""

import argparse
import io
import os
import re
import sys
from contextlib import redirect_stdout

LAYERS = [
    ["core"],
    ["ir"],
    ["frontend", "quant", "passes", "data", "zoo"],
    ["backends"],
    ["plan"],
    ["runtime", "train"],
    ["api"],
    ["demo"],
]
RANK = {name: i for i, group in enumerate(LAYERS) for name in group}
EXTENSIONS = (".cc", ".cu", ".cuh", ".h")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def layer_of(path):
    """The layer of a path relative to src/ ("ir/graph.h" -> "ir"), or None."""
    head = path.split("/", 1)[0]
    return head if head in RANK else None


def check_file(root, rel, out):
    bad = 0
    public = rel.startswith("include/")
    own = None if public else layer_of(rel[len("src/"):])
    with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            target = m.group(1)
            if public:
                if not target.startswith("mpq/"):
                    print(f"{rel}:{n}: the public header includes \"{target}\"; public headers "
                          "include only mpq/... (keep internals behind the public types)", file=out)
                    bad += 1
                continue
            to = layer_of(target)
            if own is not None and to is not None and RANK[to] > RANK[own]:
                print(f"{rel}:{n}: {own} includes \"{target}\" of the higher layer {to} (layers, "
                      f"low to high: {'; '.join(' '.join(g) for g in LAYERS)}); move the code "
                      "to the layer that owns it", file=out)
                bad += 1
    return bad


def check(root, out=sys.stdout):
    bad = 0
    for top in ("src", "include"):
        for d, _, files in sorted(os.walk(os.path.join(root, top))):
            for name in sorted(files):
                if name.endswith(EXTENSIONS):
                    rel = os.path.relpath(os.path.join(d, name), root).replace(os.sep, "/")
                    bad += check_file(root, rel, out)
    return 1 if bad else 0


def self_test(root):
    """On tests/lint/layers the checker must report exactly the two upward includes and the
    public header's internal include, and nothing for the includes that go down or sideways."""
    fixtures = os.path.join(root, "tests", "lint", "layers")
    out = io.StringIO()
    status = check(fixtures, out)
    got = [line.split(": ", 1)[0] for line in out.getvalue().splitlines()]
    expected = ["include/mpq/api.h:3", "src/ir/graph.h:4", "src/quant/table.cc:5"]
    ok = status == 1 and sorted(got) == expected
    print(out.getvalue(), end="")
    print(f"self-test: reported {sorted(got)}, expected {expected}: {'passed' if ok else 'FAILED'}")
    return 0 if ok else 1


def main():
    default_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("root", nargs="?", default=default_root)
    p.add_argument("--self-test", action="store_true", help="check the checker on its fixtures")
    a = p.parse_args()
    if a.self_test:
        return self_test(a.root)
    status = check(a.root)
    if status == 0:
        print("check_layers: every include in src/ and include/ goes down or sideways")
    return status


if __name__ == "__main__":
    sys.exit(main())
