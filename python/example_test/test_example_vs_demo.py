"""examples/python/mixed_precision_speedup_mnist.py reproduces `mpq demo`'s mnist_naive rows:
with the demo's --quick sizes and seed, every row's test accuracy and executed bits are the
demo's, computed through the Python API. MPQ_CLI names the mpq binary (ctest sets it)."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(ROOT, "examples", "python", "mixed_precision_speedup_mnist.py")


def test_example_reproduces_the_demo_rows(tmp_path):
    if not os.path.exists("/usr/share/datasets/fashion-mnist") and \
            "MPQ_FASHION_MNIST_DIR" not in os.environ:
        pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    cli = os.environ["MPQ_CLI"]
    fast = ["--iters", "2", "--warmup", "0"]
    subprocess.run([cli, "demo", "--quick", "-q", "--out", str(tmp_path / "demo")] + fast,
                   check=True, stdout=subprocess.DEVNULL)
    r = subprocess.run([sys.executable, EXAMPLE, "--quick", "--out", str(tmp_path / "py"),
                        "--json", str(tmp_path / "rows.json")] + fast,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    demo = {row["id"]: row for row in json.load(open(tmp_path / "demo" / "results.json"))["rows"]}
    rows = {row["id"]: row for row in json.load(open(tmp_path / "rows.json"))["rows"]}
    assert set(rows) == set(demo) == {"fp32", "qat_mixed", "qat_int8", "ptq_mixed",
                                      "ptq_nni_mixed", "ptq_int8"}
    for name, row in rows.items():
        assert row["accuracy"] == pytest.approx(demo[name]["accuracy"], abs=1e-9), name
        assert row["average_bits"] == pytest.approx(demo[name]["weighted_bits"], abs=0.05), name
        assert row["latency_ms"] > 0
    # Fashion-MNIST after one short epoch: well above chance, and QAT on top of it no worse.
    assert rows["fp32"]["accuracy"] > 0.6
    assert rows["qat_int8"]["accuracy"] >= rows["fp32"]["accuracy"] - 0.02
