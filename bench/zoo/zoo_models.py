"""The torchvision classifiers bench/zoo measures, built the same way on every machine.

Random init (seeded), batch-norm running statistics randomized so that folding them is exercised,
eval mode. Works with Debian's PyTorch 1.13 / torchvision 0.14 and with PyTorch 2.x.
"""
import numpy as np
import torch
import torchvision

# name -> input resolution (square)
MODELS = {
    "resnet18": 224, "resnet50": 224, "resnext50_32x4d": 224, "mobilenet_v2": 224,
    "mobilenet_v3_small": 224, "mobilenet_v3_large": 224, "efficientnet_b0": 224,
    "regnet_x_400mf": 224, "regnet_y_400mf": 224, "mnasnet0_5": 224, "shufflenet_v2_x1_0": 224,
    "squeezenet1_1": 224, "densenet121": 224, "googlenet": 224, "inception_v3": 299,
    "vgg11_bn": 224, "alexnet": 224, "convnext_tiny": 224, "vit_b_16": 224,
}
TRANSFORMERS = {"vit_b_16"}  # not CNNs: the int8 targets are stated for CNNs


def build(name):
    kwargs = {"weights": None}
    if name in ("googlenet", "inception_v3"):
        kwargs.update(aux_logits=False, init_weights=True)
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(**kwargs)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.1)
        if name == "vit_b_16":  # torchvision zeroes the head: every logit would be 0
            torch.nn.init.normal_(model.heads.head.weight, std=0.02)
    return model.eval()


def images(name, count, seed=2):
    """`count` ImageNet-normalized images: smooth random fields (low-frequency noise upsampled),
    so that activations look like a photo's rather than white noise's."""
    res = MODELS[name]
    rng = np.random.default_rng(seed)
    low = torch.from_numpy(rng.standard_normal((count, 3, res // 16, res // 16)).astype(np.float32))
    x = torch.nn.functional.interpolate(low, size=(res, res), mode="bilinear", align_corners=False)
    x = x + 0.25 * torch.from_numpy(rng.standard_normal((count, 3, res, res)).astype(np.float32))
    return x.numpy().astype(np.float32)


def export(model, name, path, opset=13):
    """torch.onnx's TorchScript exporter at `opset` (PyTorch 2.x: dynamo=False), batch dynamic."""
    res = MODELS[name]
    kwargs = {}
    if int(torch.__version__.split(".")[0]) >= 2:
        kwargs["dynamo"] = False
    mha = getattr(torch.backends, "mha", None)
    if mha is not None:  # the fused attention kernel has no ONNX export: use the composite ops
        mha.set_fastpath_enabled(False)
    # Not under no_grad: there PyTorch 1.13 takes the fused attention path, which has no export.
    def run(op):
        torch.onnx.export(model, torch.zeros(1, 3, res, res), path, opset_version=op,
                          input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, **kwargs)

    try:
        run(opset)
    except torch.onnx.errors.UnsupportedOperatorError:
        # PyTorch 2.x writes vit's attention as scaled_dot_product_attention, which needs 14.
        run(14)
