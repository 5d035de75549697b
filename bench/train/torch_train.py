#!/usr/bin/python3
"""PyTorch 1.13 (Debian) twin of `mpq train`, for side-by-side runs: same model, same initial
weights (read from an ONNX file, e.g. `mpq zoo mnist_naive -o init.onnx`), same recipe, same data.

  /usr/bin/python3 bench/train/torch_train.py --model mnist_naive --init init.onnx \
      --lr 0.01 --momentum 0.5 [--optimizer adam] [--limit N] [--no-eval] [--json out.json]
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "peers"))
import fashion  # noqa: E402
import models  # noqa: E402


def load_init(model, path):
    if path.endswith(".npz"):
        inits = dict(np.load(path))
    else:
        import onnx
        from onnx import numpy_helper
        inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(path).graph.initializer}
    state = model.state_dict()
    missing = [k for k in state if k not in inits and not k.endswith("num_batches_tracked")]
    if missing:
        raise SystemExit(f"error: {path} lacks initializers {missing[:5]}...")
    for k in state:
        if k in inits:
            state[k] = torch.from_numpy(np.array(inits[k])).reshape(state[k].shape)
    model.load_state_dict(state)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", required=True, choices=["mnist_naive", "resnet18_cifar"])
    ap.add_argument("--init",
                    help="initial weights: an ONNX file, or an .npz of its initializers "
                         "(default: the twin's own init, fine for throughput runs)")
    ap.add_argument("--save-npz", help="write the initial weights as .npz (for machines without onnx) and exit")
    ap.add_argument("--optimizer", default="sgd", choices=["sgd", "adam"])
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--momentum", type=float, default=0.5)
    ap.add_argument("--wd", type=float, default=0.0)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0, help="first N training images (0 = all)")
    ap.add_argument("--no-eval", action="store_true")
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    shape = models.INPUT_SHAPE[a.model]
    model = models.build(a.model)
    if a.init:
        load_init(model, a.init)
    if a.save_npz:
        np.savez(a.save_npz, **{k: v.numpy() for k, v in model.state_dict().items()})
        return
    x, y = fashion.load("train", shape, a.limit or None)
    if a.optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=a.momentum, weight_decay=a.wd)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=a.lr, weight_decay=a.wd)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    perm = torch.randperm(len(xt), generator=torch.Generator().manual_seed(a.seed))
    model.train()
    t0 = time.perf_counter()
    for s in range(0, len(xt), a.batch):
        idx = perm[s:s + a.batch]
        opt.zero_grad()
        loss = F.cross_entropy(model(xt[idx]), yt[idx])
        loss.backward()
        opt.step()
    secs = time.perf_counter() - t0
    acc = None
    if not a.no_eval:
        xe, ye = fashion.load("test", shape)
        model.eval()
        with torch.no_grad():
            correct = sum(int((model(torch.from_numpy(xe[i:i + 1000])).argmax(1).numpy() ==
                               ye[i:i + 1000]).sum()) for i in range(0, len(xe), 1000))
        acc = correct / len(xe)
    r = dict(model=a.model, torch=torch.__version__, threads=torch.get_num_threads(),
             optimizer=a.optimizer, lr=a.lr, momentum=a.momentum, wd=a.wd, batch=a.batch,
             train_images=len(xt), train_seconds=round(secs, 2),
             images_per_s=round(len(xt) / secs, 1), test_accuracy=acc)
    print(json.dumps(r))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(r, f, indent=1)


if __name__ == "__main__":
    main()
