"""Data from Python into mpq: numpy arrays and torch tensors, checked against the model's input
shape before anything runs (a ValueError names both shapes). A CPU, C-contiguous float32 array
or tensor crosses without a copy."""

import numpy as np


def to_numpy(x):
    """A numpy view of `x`: numpy arrays as they are, torch tensors through .detach().numpy()
    (a CUDA tensor is copied to the host first), anything with the buffer protocol as an array."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "detach") and hasattr(x, "numpy"):  # a torch.Tensor, without importing torch
        t = x.detach()
        if getattr(t, "device", None) is not None and t.device.type != "cpu":
            t = t.cpu()
        return t.numpy()
    return np.asarray(x)


def is_torch(x):
    return hasattr(x, "detach") and hasattr(x, "numpy") and not isinstance(x, np.ndarray)


def shape_str(shape):
    """[N,1,28,28] for a shape whose batch is open (-1 or None), ? for other open dims."""
    dims = []
    for i, d in enumerate(shape):
        open_dim = d is None or d < 0
        dims.append(("N" if i == 0 else "?") if open_dim else str(d))
    return "[" + ",".join(dims) + "]"


def fits(shape, expected):
    return len(shape) == len(expected) and all(
        e is None or e < 0 or s == e for s, e in zip(shape, expected))


def batch(x, expected, what):
    """`x` as a float32 numpy array of shape `expected` (-1: any), [N, ...] with N >= 1."""
    a = to_numpy(x)
    if a.dtype != np.float32:
        raise ValueError(f"{what}: expected float32 data of shape {shape_str(expected)}, "
                         f"got {a.dtype} of shape {shape_str(a.shape)}")
    if not fits(a.shape, expected) or (a.ndim and a.shape[0] < 1):
        raise ValueError(f"{what}: expected shape {shape_str(expected)}, "
                         f"got {shape_str(a.shape)}")
    return a


def labels(y, n, what):
    """Integer labels [n] as a numpy array."""
    a = to_numpy(y)
    if a.dtype.kind not in "iu":
        raise ValueError(f"{what}: expected integer labels of shape [{n}], "
                         f"got {a.dtype} of shape {shape_str(a.shape)}")
    if a.shape != (n,):
        raise ValueError(f"{what}: expected shape [{n}] (one label per sample), "
                         f"got {shape_str(a.shape)}")
    return a


def data_arg(data, labels_, expected, what):
    """A data argument for fit / evaluate / calibrate: a data spec string ("fashion-mnist:train",
    a .npy/IDX file, a folder; `labels_` a path or None) passes as it is; arrays are checked."""
    if isinstance(data, str) or hasattr(data, "__fspath__"):
        return str(data), (None if labels_ is None else str(labels_))
    if isinstance(data, (tuple, list)) and len(data) == 2 and labels_ is None:
        data, labels_ = data
    x = batch(data, expected, what)
    y = None if labels_ is None else labels(labels_, x.shape[0], what + " labels")
    return x, y


def like_input(out, x):
    """The output as the input came: a torch tensor for a torch input (sharing memory)."""
    if is_torch(x):
        import torch
        return torch.from_numpy(out)
    return out
