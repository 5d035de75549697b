"""PyTorch twins of mpq's zoo models (src/zoo/), built with Debian's /usr/bin/python3 torch.

Used to check that the C++ zoo has PyTorch's module structure, module paths and parameter counts:
    /usr/bin/python3 tests/models/zoo_torch.py            # prints name, #params, module paths
    /usr/bin/python3 tests/models/zoo_torch.py --check DIR NAME [DIR NAME ...]
        loads DIR/params/<state_dict key>.npy into model NAME (every parameter and buffer must be
        there with its exact shape), runs DIR/input.npy through it and writes DIR/torch_out.npy
mnist_naive is NNI's NaiveModel (examples/model_compress/models/mnist/naive.py); resnet18_cifar is
torchvision's resnet18 with NNI's CIFAR changes (3x3 stride-1 conv1, max-pool kept, 10 classes).
"""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


class NaiveModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 5, 1)
        self.conv2 = nn.Conv2d(20, 50, 5, 1)
        self.fc1 = nn.Linear(4 * 4 * 50, 500)
        self.fc2 = nn.Linear(500, 10)
        self.relu1 = nn.ReLU6()
        self.relu2 = nn.ReLU6()
        self.relu3 = nn.ReLU6()
        self.max_pool1 = nn.MaxPool2d(2, 2)
        self.max_pool2 = nn.MaxPool2d(2, 2)

    def forward(self, x):
        x = self.relu1(self.conv1(x))
        x = self.max_pool1(x)
        x = self.relu2(self.conv2(x))
        x = self.max_pool2(x)
        x = x.view(-1, x.size()[1:].numel())
        x = self.relu3(self.fc1(x))
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


def resnet18_cifar():
    m = torchvision.models.resnet18(num_classes=10)
    m.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    return m


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2, 2)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(400, 120)
        self.relu3 = nn.ReLU()
        self.fc2 = nn.Linear(120, 84)
        self.relu4 = nn.ReLU()
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        x = self.flatten(x)
        x = self.relu3(self.fc1(x))
        x = self.relu4(self.fc2(x))
        return self.fc3(x)


MODELS = {
    "mnist_naive": (NaiveModel, (1, 1, 28, 28)),
    "resnet18_cifar": (resnet18_cifar, (1, 3, 32, 32)),
    "lenet5": (LeNet5, (1, 1, 28, 28)),
}

def check(folder, name):
    import os

    import numpy as np

    m = MODELS[name][0]().eval()
    state = m.state_dict()
    loaded = {}
    for key, ref in state.items():
        if key.endswith("num_batches_tracked"):
            loaded[key] = ref
            continue
        path = os.path.join(folder, "params", key + ".npy")
        arr = np.load(path)
        if tuple(arr.shape) != tuple(ref.shape):
            sys.exit(f"{key}: mpq has shape {arr.shape}, PyTorch {tuple(ref.shape)}")
        loaded[key] = torch.from_numpy(arr)
    extra = set(f[:-4] for f in os.listdir(os.path.join(folder, "params"))) - set(state)
    if extra:
        sys.exit(f"parameters PyTorch does not have: {sorted(extra)}")
    m.load_state_dict(loaded, strict=True)
    with torch.no_grad():
        y = m(torch.from_numpy(np.load(os.path.join(folder, "input.npy"))))
    np.save(os.path.join(folder, "torch_out.npy"), y.numpy())


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "--check" and len(sys.argv) % 2 == 0:
        for i in range(2, len(sys.argv), 2):
            check(sys.argv[i], sys.argv[i + 1])
        sys.exit(0)
    names = sys.argv[1:] or list(MODELS)
    for name in names:
        ctor, shape = MODELS[name]
        m = ctor().eval()
        params = sum(p.numel() for p in m.parameters())
        print(name, params, tuple(m(torch.zeros(shape)).shape))
        for path, mod in m.named_modules():
            if path and not list(mod.children()):
                print("  ", path, type(mod).__name__)
