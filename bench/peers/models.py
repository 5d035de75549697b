"""PyTorch twins of mpq's zoo models (issue 2 item 9), with NNI's module names.

mnist_naive    = NNI examples/model_compress/models/mnist/naive.py::NaiveModel
resnet18_cifar = the ResNet-18 of NNI's mixed_precision_speedup_cifar10.py example: torchvision-style
                 BasicBlock [2,2,2,2], conv1 changed to 3x3 stride 1 pad 1, the 3x3/2 max-pool kept,
                 fc 512->10. Module names (conv1, bn1, relu, maxpool, layer1.0.conv1, ...,
                 layer2.0.downsample.0, avgpool, fc) are the same as NNI's and torchvision's.

Both return logits. NNI's NaiveModel ends with log_softmax; we leave it out so that the exported
ONNX ends at fc2 like mpq's zoo model. Top-1 is unchanged, and the training loss
cross_entropy(logits) equals NNI's nll_loss(log_softmax(logits)).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

# Input shape (C, H, W) each model expects.
INPUT_SHAPE = {"mnist_naive": (1, 28, 28), "resnet18_cifar": (3, 32, 32)}


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
        x = self.max_pool1(self.relu1(self.conv1(x)))
        x = self.max_pool2(self.relu2(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = self.relu3(self.fc1(x))
        return self.fc2(x)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out = out + identity  # functional residual add, as in NNI
        return self.relu(out)


class ResNet18Cifar(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        widths = [64, 128, 256, 512]
        cin = 64
        for i, w in enumerate(widths):
            stride = 1 if i == 0 else 2
            layer = nn.Sequential(BasicBlock(cin, w, stride), BasicBlock(w, w, 1))
            setattr(self, f"layer{i + 1}", layer)
            cin = w
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, num_classes)
        # Kaiming init as in NNI's example (torchvision's scheme).
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


def build(name):
    if name == "mnist_naive":
        return NaiveModel()
    if name == "resnet18_cifar":
        return ResNet18Cifar()
    raise SystemExit(f"error: unknown model '{name}' (choose mnist_naive or resnet18_cifar)")


def load(name, weights_path):
    """Builds `name` and loads a state_dict saved by train_torch.py."""
    model = build(name)
    state = torch.load(weights_path, map_location="cpu")
    model.load_state_dict(state)
    return model.eval()
