"""`import mpq` needs numpy only: torch is imported when a torch object is given."""

import os
import subprocess
import sys

SCRIPT = """
import sys
class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is blocked for this test")
sys.meta_path.insert(0, NoTorch())
import numpy as np
import mpq
engine = mpq.ModelSpeedup(mpq.Model.zoo("mnist_naive"), (2, 1, 28, 28))
out, seconds = engine.inference(np.zeros((3, 1, 28, 28), np.float32))
assert out.shape == (3, 10), out.shape
assert "torch" not in sys.modules
print("ok")
"""


def test_import_without_torch():
    r = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                       env=dict(os.environ))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"
