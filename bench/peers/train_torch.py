#!/usr/bin/python3
"""Trains a zoo twin on Fashion-MNIST with PyTorch (Debian's 1.13), reports test accuracy and
training images/s, saves the weights and exports ONNX (opset 13, dynamic batch, input "input").

Recipes (NNI's examples, 1 epoch, batch 64, seeded):
  mnist_naive     SGD lr 0.01 momentum 0.5                  (QAT_torch_quantizer.py / mnist examples)
  resnet18_cifar  SGD lr 0.1 momentum 0.9 weight decay 5e-4 (mixed_precision_speedup_cifar10.py;
                  its MultiStepLR milestones are both 0 for one epoch, so the lr is 0.1 throughout)
Override with --lr/--momentum/--wd. Run with /usr/bin/python3 (Debian's torch).
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fashion  # noqa: E402
import models  # noqa: E402

RECIPES = {
    "mnist_naive": dict(lr=0.01, momentum=0.5, wd=0.0),
    "resnet18_cifar": dict(lr=0.1, momentum=0.9, wd=5e-4),
}


def evaluate(model, x, y, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out = model(torch.from_numpy(x[i:i + batch]))
            correct += int((out.argmax(1).numpy() == y[i:i + batch]).sum())
    return correct / len(x)


def export_onnx(model, shape, path):
    model.eval()
    tmp = path + ".tmp"
    torch.onnx.export(model, torch.zeros(1, *shape), tmp, opset_version=13,
                      input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", required=True, choices=list(RECIPES), help="zoo model to train")
    ap.add_argument("--epochs", type=int, default=1, help="training epochs (default 1)")
    ap.add_argument("--batch", type=int, default=64, help="training batch size (default 64)")
    ap.add_argument("--lr", type=float, help="SGD learning rate (default: the model's NNI recipe)")
    ap.add_argument("--momentum", type=float, help="SGD momentum (default: recipe)")
    ap.add_argument("--wd", type=float, help="SGD weight decay (default: recipe)")
    ap.add_argument("--seed", type=int, default=0, help="seed for init and shuffling (default 0)")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    ap.add_argument("--limit", type=int, default=0,
                    help="train on the first N training images only (0 = all 60000)")
    ap.add_argument("--no-eval", action="store_true",
                    help="skip the test-set accuracy (e.g. for a throughput-only run)")
    ap.add_argument("--weights", help="save the trained state_dict here (.pt)")
    ap.add_argument("--onnx", help="export the trained model to this ONNX file")
    ap.add_argument("--json", help="write the results as JSON to this file")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    recipe = dict(RECIPES[args.model])
    for k in ("lr", "momentum", "wd"):
        if getattr(args, k) is not None:
            recipe[k] = getattr(args, k)

    shape = models.INPUT_SHAPE[args.model]
    x_train, y_train = fashion.load("train", shape, args.limit or None)
    x_test, y_test = (None, None) if args.no_eval else fashion.load("test", shape)
    model = models.build(args.model)
    opt = torch.optim.SGD(model.parameters(), lr=recipe["lr"], momentum=recipe["momentum"],
                          weight_decay=recipe["wd"])
    gen = torch.Generator().manual_seed(args.seed)
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)

    n = len(xt)
    steps_per_epoch = (n + args.batch - 1) // args.batch
    seen, train_s = 0, 0.0
    print(f"{args.model}: {n} images, batch {args.batch}, {args.epochs} epoch(s), "
          f"lr {recipe['lr']} momentum {recipe['momentum']} wd {recipe['wd']}, "
          f"{torch.get_num_threads()} threads", flush=True)
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(n, generator=gen)
        t0 = time.perf_counter()
        for step in range(steps_per_epoch):
            idx = perm[step * args.batch:(step + 1) * args.batch]
            data, target = xt[idx], yt[idx]
            opt.zero_grad()
            loss = F.cross_entropy(model(data), target)
            if not torch.isfinite(loss):
                raise SystemExit(f"error: loss is {loss.item()} at epoch {epoch} step {step}")
            loss.backward()
            opt.step()
            seen += len(idx)
            if step % 100 == 0 or step == steps_per_epoch - 1:
                el = time.perf_counter() - t0
                print(f"  epoch {epoch} step {step + 1}/{steps_per_epoch} loss {loss.item():.4f} "
                      f"{(step + 1) * args.batch / max(el, 1e-9):.0f} img/s", flush=True)
        train_s += time.perf_counter() - t0

    acc = None if args.no_eval else evaluate(model, x_test, y_test)
    result = dict(model=args.model, epochs=args.epochs, train_images=seen,
                  train_seconds=round(train_s, 2), images_per_s=round(seen / train_s, 1),
                  test_accuracy=acc, threads=torch.get_num_threads(), seed=args.seed,
                  torch=torch.__version__, **recipe)
    acc_text = "not measured" if acc is None else f"{acc * 100:.2f}%"
    print(f"{args.model}: test accuracy {acc_text}  train {seen} images in {train_s:.1f} s "
          f"= {seen / train_s:.1f} images/s", flush=True)
    if args.weights:
        torch.save(model.state_dict(), args.weights + ".tmp")
        os.replace(args.weights + ".tmp", args.weights)
    if args.onnx:
        export_onnx(model, shape, args.onnx)
        print(f"exported {args.onnx}")
    if args.json:
        with open(args.json + ".tmp", "w") as f:
            json.dump(result, f, indent=1)
        os.replace(args.json + ".tmp", args.json)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
