"""Fashion-MNIST from Debian's dataset-fashion-mnist, read with numpy (no torchvision download).

Same preparation as mpq's data spec: scale to [0,1], normalize with mean 0.2860 / std 0.3530; the
3x32x32 view pads 2 black pixels per side before normalization (torchvision Pad then Normalize)
and replicates the gray channel.
"""
import gzip
import os

import numpy as np

ROOT = os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
MEAN, STD = 0.2860, 0.3530


def _read_idx(path, magic, ndim):
    with gzip.open(path, "rb") as f:
        data = f.read()
    got = int.from_bytes(data[0:4], "big")
    if got != magic:
        raise SystemExit(f"error: {path}: IDX magic {got:#x}, expected {magic:#x}")
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise SystemExit(f"error: {path}: header says {dims}, file holds {body.size} bytes")
    return body.reshape(dims)


def load_raw(split):
    """uint8 images [N,28,28] and int64 labels [N] of split 'train' or 't10k'/'test'."""
    prefix = "t10k" if split in ("test", "t10k") else "train"
    images = _read_idx(os.path.join(ROOT, f"{prefix}-images-idx3-ubyte.gz"), 0x803, 3)
    labels = _read_idx(os.path.join(ROOT, f"{prefix}-labels-idx1-ubyte.gz"), 0x801, 1)
    return images, labels.astype(np.int64)


def prepare(images_u8, shape):
    """Normalized float32 NCHW for a model input of shape (C,H,W) = (1,28,28) or (3,32,32)."""
    x = images_u8.astype(np.float32) / 255.0
    if tuple(shape) == (3, 32, 32):
        x = np.pad(x, ((0, 0), (2, 2), (2, 2)))  # black pixels = 0 before normalization
        x = (x - MEAN) / STD
        return np.ascontiguousarray(np.repeat(x[:, None], 3, axis=1))
    if tuple(shape) == (1, 28, 28):
        return ((x - MEAN) / STD)[:, None].copy()
    raise SystemExit(f"error: no Fashion-MNIST view for input shape {shape}")


def load(split, shape, limit=None):
    """(float32 images NCHW, int64 labels) of a split, optionally the first `limit` samples."""
    images, labels = load_raw(split)
    if limit is not None and limit > 0:
        images, labels = images[:limit], labels[:limit]
    return prepare(images, shape), labels


def _main():
    import argparse

    ap = argparse.ArgumentParser(description="Write a prepared Fashion-MNIST split as NPY files "
                                 "(float32 NCHW images, int64 labels), e.g. for ort_bench.js.")
    ap.add_argument("--split", default="test", choices=["train", "test"], help="split (default test)")
    ap.add_argument("--shape", default="1,28,28", help="model input C,H,W: 1,28,28 or 3,32,32")
    ap.add_argument("--limit", type=int, default=0, help="first N samples only (0 = all)")
    ap.add_argument("--images", required=True, help="output .npy for the images")
    ap.add_argument("--labels", required=True, help="output .npy for the labels")
    args = ap.parse_args()
    shape = tuple(int(s) for s in args.shape.split(","))
    x, y = load(args.split, shape, args.limit or None)
    for arr, path in ((x, args.images), (y, args.labels)):
        with open(path + ".tmp", "wb") as f:
            np.save(f, arr)
        os.replace(path + ".tmp", path)


if __name__ == "__main__":
    _main()
