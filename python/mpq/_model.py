"""Models: an mpq.Model, the path of an ONNX file, or a torch.nn.Module (exported through
torch.onnx.export; torch is imported only then)."""

import os
import tempfile

import numpy as np

from . import _mpq
from ._arrays import to_numpy

Model = _mpq.Model


def is_torch_module(x):
    return any(c.__module__.startswith("torch.nn") and c.__name__ == "Module"
               for c in type(x).__mro__)


def _export(module, example, path):
    import torch
    was_training = module.training
    module.eval()
    try:
        # PRESERVE in eval mode keeps BatchNormalization as its own node (EVAL would fold it into
        # the convolution, leaving QAT nothing to fold); without constant folding the weights
        # keep their state_dict names. The scopes of the node names (/conv1/Conv) become the
        # module paths that config_list's op_names use.
        torch.onnx.export(module, example, path, opset_version=13,
                          training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False,
                          input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    finally:
        module.train(was_training)
    _undo_deduplication(path)


def _undo_deduplication(path):
    # The exporter shares one initializer among parameters of equal values (a fresh BatchNorm's
    # weight and running_var are all ones) through Identity nodes; training would then tie them.
    # Each parameter gets its own initializer back, under its own state_dict name.
    import onnx
    m = onnx.load(path)
    inits = {i.name: i for i in m.graph.initializer}
    shared = [n for n in m.graph.node if n.op_type == "Identity" and n.input[0] in inits]
    if not shared:
        return
    for n in shared:
        copy = onnx.TensorProto()
        copy.CopyFrom(inits[n.input[0]])
        copy.name = n.output[0]
        m.graph.initializer.append(copy)
        m.graph.node.remove(n)
    onnx.save(m, path)


def from_torch(module, example_input, path=None):
    """Exports a torch.nn.Module to ONNX (to `path`, or a temporary file) and loads it as an
    mpq.Model whose layer names are the module's names (conv1, layer1.0.conv2, ...)."""
    import torch
    if not is_torch_module(module):
        raise ValueError(f"from_torch: expected a torch.nn.Module, got {type(module).__name__}")
    if example_input is None:
        raise ValueError("from_torch: an example input (a tensor of the model's input shape) "
                         "is needed to export the module")
    example = example_input if isinstance(example_input, torch.Tensor) else torch.from_numpy(
        np.ascontiguousarray(to_numpy(example_input)))
    if path is not None:
        _export(module, example, os.fspath(path))
        return Model.load(os.fspath(path))
    with tempfile.TemporaryDirectory(prefix="mpq-") as d:
        onnx_path = os.path.join(d, "model.onnx")
        _export(module, example, onnx_path)
        return Model.load(onnx_path)


def as_model(model, example_input, what):
    """The model argument of QAT_Quantizer, ModelSpeedup and calibrate as an mpq.Model."""
    if isinstance(model, Model):
        return model
    if isinstance(model, str) or hasattr(model, "__fspath__"):
        return Model.load(os.fspath(model))
    if is_torch_module(model):
        if example_input is None:
            raise ValueError(f"{what}: a torch module needs an example input to be exported "
                             "(dummy_input=...)")
        return from_torch(model, example_input)
    raise ValueError(f"{what}: expected an mpq.Model, an ONNX file path or a torch.nn.Module, "
                     f"got {type(model).__name__}")


def load_weights_into(module, onnx_path):
    """Copies the ONNX model's initializers into the torch module's tensors of the same names
    (what NNI's export_model leaves in the user's model: the trained float weights). Returns the
    number of tensors copied."""
    import onnx
    import torch
    from onnx import numpy_helper
    state = module.state_dict()
    copied = 0
    with torch.no_grad():
        for init in onnx.load(onnx_path).graph.initializer:
            if init.name in state and tuple(state[init.name].shape) == tuple(init.dims):
                state[init.name].copy_(torch.from_numpy(numpy_helper.to_array(init).copy()))
                copied += 1
    return copied
