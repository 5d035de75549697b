#!/usr/bin/python3
"""Convert NNI's torch.save'd calibration_config into the JSON that `mpq build --calib` reads.

NNI's quantizers return `calibration_config` from `export_model(..., calibration_path=...)` and
pickle it with torch.save: a dict {module name: {key: value}} whose values are Python numbers or
torch tensors (weight_scale, weight_zero_point; per-channel scales have shape [C, 1, 1, 1]).
This writes the same dict as JSON, tensors as numbers or flat lists, keeping NNI's key names of
whatever version wrote the file (mpq reads them all: docs/calibration.md).

Usage: /usr/bin/python3 tools/nni_to_mpq.py calibration.pth -o calibration.json
Exit codes: 0 written, 2 bad input (one line naming the file and key), 1 internal failure.
Needs PyTorch (Debian's python3-torch).
"""
import argparse
import collections
import io
import json
import math
import os
import pickle
import sys
import zipfile

# Every per-layer key an NNI quantizer wrote (v2.2-v2.10), and mpq's own extensions.
V25_KEYS = [
    "weight_bits", "weight_scale", "weight_zero_point", "input_bits", "tracked_min_input",
    "tracked_max_input", "output_bits", "tracked_min_output", "tracked_max_output",
    "tracked_min_weight", "tracked_max_weight", "tracked_qmin_weight", "tracked_qmax_weight",
    "tracked_qmin_input", "tracked_qmax_input", "tracked_qmin_output", "tracked_qmax_output"]
OLD_KEYS = [
    "weight_bit", "input_bit", "activation_bit", "tracked_min_activation",
    "tracked_max_activation", "tracked_weight_qmin", "tracked_weight_qmax", "tracked_input_qmin",
    "tracked_input_qmax", "tracked_activation_qmin", "tracked_activation_qmax"]
MPQ_KEYS = ["weight_dtype", "weight_scheme", "input_dtype", "input_scheme", "output_dtype",
            "output_scheme", "source"]
KNOWN = set(V25_KEYS + OLD_KEYS + MPQ_KEYS)
LIST_KEYS = {"weight_scale", "weight_zero_point"}  # one value per channel


class BadInput(Exception):
    pass


def fail(path, msg, key=None):
    raise BadInput(f"{path}: key '{key}': {msg}" if key else f"{path}: {msg}")


def describe(obj):
    import torch
    if isinstance(obj, torch.Tensor):
        return f"a tensor of shape {list(obj.shape)}"
    if isinstance(obj, dict):
        return f"a dict with keys {list(obj)[:4]}"
    return f"a {type(obj).__name__}"


def number(path, key, v):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        fail(path, f"expected a number or a tensor, got {describe(v)}", key)
    if isinstance(v, float) and not math.isfinite(v):
        fail(path, f"value is {v}: not a finite number (was the model trained before export?)",
             key)
    return v


def value(path, key, v, name):
    import torch
    if isinstance(v, torch.Tensor):
        flat = [x.item() for x in v.detach().cpu().reshape(-1)]
        if name in LIST_KEYS:
            return [number(path, f"{key}[{i}]", x) for i, x in enumerate(flat)]
        if len(flat) != 1:
            fail(path, f"expected one value, got a tensor of shape {list(v.shape)}", key)
        v = flat[0]
    if isinstance(v, (list, tuple)) and name in LIST_KEYS:
        return [number(path, f"{key}[{i}]", x) for i, x in enumerate(v)]
    if isinstance(v, str) and name in MPQ_KEYS:
        return v
    return number(path, key, v)


# torch.save's storage type names -> dtype names (torch.<name>).
STORAGE_DTYPES = {"FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
                  "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
                  "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8",
                  "BoolStorage": "bool"}


def load(path):
    """Reads a zip-format torch.save file with an unpickler that rebuilds tensors, numbers and
    containers only: a file from elsewhere cannot run code (torch 1.13's weights_only loader
    refuses Python floats, and its torch.load ignores a custom pickle module)."""
    import torch
    if not os.path.exists(path):
        fail(path, "no such file")
    if not zipfile.is_zipfile(path):
        fail(path, "not a torch.save file in the zip format (PyTorch >= 1.6 writes it by default)")
    with zipfile.ZipFile(path) as z:
        pkl = [n for n in z.namelist() if n.endswith("/data.pkl")]
        if not pkl:
            fail(path, "a zip file without data.pkl: not written by torch.save")
        root = pkl[0][:-len("data.pkl")]

        def rebuild_tensor(storage, offset, size, stride, *_):
            return torch.as_strided(storage, size, stride, offset)

        class Unpickler(pickle.Unpickler):
            def find_class(self, module, name):
                if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
                    return rebuild_tensor
                if (module, name) == ("collections", "OrderedDict"):
                    return collections.OrderedDict
                if module == "torch" and name in STORAGE_DTYPES:
                    return getattr(torch, STORAGE_DTYPES[name])
                raise pickle.UnpicklingError(f"it holds a {module}.{name} object, not only "
                                             "numbers, tensors and dicts")

            def persistent_load(self, pid):
                _, dtype, key, _location, numel = pid
                raw = bytearray(z.read(f"{root}data/{key}"))
                return torch.frombuffer(raw, dtype=dtype) if numel else torch.empty(0, dtype=dtype)

        try:
            return Unpickler(io.BytesIO(z.read(pkl[0]))).load()
        except Exception as e:  # a damaged or foreign pickle raises many types
            fail(path, f"cannot be read as a calibration_config ({type(e).__name__}: "
                       f"{str(e).splitlines()[0] if str(e) else 'no details'})")


def convert(path, cfg):
    import torch
    if not isinstance(cfg, dict):
        fail(path, f"not an NNI calibration_config: it holds {describe(cfg)}, expected a dict of "
                   "layer name -> {weight_bits, tracked_min_input, ...}")
    if not cfg:
        fail(path, "the calibration_config is empty (no quantized layer)")
    out = {}
    for layer, keys in cfg.items():
        if isinstance(keys, torch.Tensor):
            fail(path, f"not an NNI calibration_config: '{layer}' is {describe(keys)}; this looks "
                       "like a model state_dict (export_model's model_path), pass the file written "
                       "to calibration_path")
        if not isinstance(layer, str) or not isinstance(keys, dict):
            fail(path, f"not an NNI calibration_config: '{layer}' maps to {describe(keys)}, "
                       "expected a dict of NNI keys")
        row = {}
        for k, v in keys.items():
            key = f"{layer}.{k}"
            if k not in KNOWN:
                fail(path, "unknown key: NNI's calibration configs have " +
                     ", ".join(sorted(V25_KEYS)) + " (or their v2.2-2.4 names)", key)
            row[k] = value(path, key, v, k)
        out[layer] = row
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input", help="calibration_config written by torch.save (.pth)")
    ap.add_argument("-o", "--output", required=True, help="JSON file to write")
    a = ap.parse_args()
    try:
        cfg = convert(a.input, load(a.input))
        tmp = f"{a.output}.tmp.{os.getpid()}"
        try:
            with open(tmp, "w") as f:
                json.dump(cfg, f, indent=2, allow_nan=False)
                f.write("\n")
            os.replace(tmp, a.output)
        except OSError as e:
            if os.path.exists(tmp):
                os.remove(tmp)
            fail(a.output, f"cannot write it ({e.strerror})")
    except BadInput as e:
        print(f"nni_to_mpq: error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {a.output}: {len(cfg)} layer(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
