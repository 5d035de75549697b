"""mpq: mixed-precision quantization with real speedup, in NNI's shapes.

    import mpq
    model = mpq.Model.zoo("mnist_naive")        # or "model.onnx", or a torch.nn.Module
    quantizer = mpq.QAT_Quantizer(model, config_list, optimizer=mpq.SGD(lr=0.01, momentum=0.5))
    quantizer.compress()
    quantizer.fit("fashion-mnist:train", epochs=1)          # or train_step(x, y) in a loop
    calibration_config = quantizer.export_model("model.onnx", "calibration.json")
    engine = mpq.ModelSpeedup(model, (128, 1, 28, 28), config=calibration_config, batchsize=128)
    engine.compress()
    output, seconds = engine.inference(images)              # numpy or torch in, the same out

docs/python.md has the whole API. Errors from mpq are mpq.Error (InvalidInputError, a
ValueError, for bad input) with mpq's one-line message.
"""

from ._errors import Error, InvalidInputError, UnsupportedError
from ._model import Model, from_torch
from .quantization import (SGD, Adam, AdamW, LrSchedule, QAT_Quantizer, Trainer, calibrate)
from .speedup import CalibrateType, ModelSpeedup
from .search import search, sensitivity
from .qdq import export_qdq
from . import _mpq


def load(path):
    """An ONNX model file as an mpq.Model."""
    return Model.load(str(path))


def load_dataset(source, input_shape=(), labels="", limit=-1):
    """A data spec ("fashion-mnist:test", an IDX/NPY file, a folder) as numpy arrays:
    (images float32 [N, ...] normalized as mpq trains on them, labels int64 [N] or None).
    `input_shape`: the model input the images are adapted to (e.g. padded 28x28 -> 32x32)."""
    return _mpq.load_dataset(str(source), [int(d) for d in input_shape], str(labels), limit)


__all__ = ["Error", "InvalidInputError", "UnsupportedError", "Model", "from_torch", "load",
           "load_dataset", "SGD", "Adam", "AdamW", "LrSchedule", "QAT_Quantizer", "Trainer",
           "calibrate", "CalibrateType", "ModelSpeedup", "search", "sensitivity",
           "export_qdq"]
