"""ModelSpeedup: NNI's ModelSpeedupTensorRT in shape, on mpq's engines (CPU oneDNN, CUDA)."""

import os
import tempfile

import numpy as np

from . import _arrays, _config, _model, _mpq


class CalibrateType:
    """NNI's calibrate_type values (TensorRT's calibrators) as mpq's methods."""
    LEGACY = "percentile"
    ENTROPY = "entropy"
    ENTROPY2 = "entropy"
    MINMAX = "minmax"
    PERCENTILE = "percentile"
    MSE = "mse"


def _calib_data(loader, tmpdir, expected):
    """NNI's calib_data_loader as a data spec: a spec string or path as it is; an array or
    tensor of images, or a DataLoader of (images, labels) batches (all held in memory, as NNI
    does), written to a .npy file."""
    if loader is None:
        return ""
    if isinstance(loader, str) or hasattr(loader, "__fspath__"):
        return os.fspath(loader)
    if hasattr(loader, "__iter__") and not hasattr(loader, "shape"):
        batches = [b[0] if isinstance(b, (tuple, list)) else b for b in loader]
        images = np.concatenate([_arrays.to_numpy(b) for b in batches])
    else:
        images = _arrays.to_numpy(loader)
    images = _arrays.batch(images, expected, "calib_data_loader")
    path = os.path.join(tmpdir.name, "calib_data.npy")
    np.save(path, images)
    return path


class ModelSpeedup:
    """Builds and runs a mixed-precision engine.

    `model`: an mpq.Model, an ONNX path, or a torch.nn.Module (exported at `input_shape`).
    `input_shape`: [N, C, H, W]; the batch is dynamic up to `batchsize` (default N).
    `config`: the calibration config (QAT_Quantizer.export_model's or calibrate's return value,
    NNI's dict, or a JSON path). `backend`: "cpu" or "cuda". NNI's other arguments keep their
    meaning (docs/python.md); `input_names` / `output_names` are accepted and unused.
    """

    def __init__(self, model, input_shape, config=None, onnx_path=None, extra_layer_bits=32,
                 strict_datatype=False, calibrate_type=CalibrateType.ENTROPY2,
                 calib_data_loader=None, calibration_cache=None, batchsize=None,
                 input_names=None, output_names=None, *, backend="cpu", config_list=None,
                 default_precision="", unconfigured="fp32", layer_precision="", threads=0,
                 calib_images=1000, force=False, lenient=False, allow_host_fallback=False):
        self.input_shape = [int(d) for d in input_shape]
        if len(self.input_shape) < 1 or self.input_shape[0] < 1:
            raise ValueError(f"ModelSpeedup: input_shape {self.input_shape} needs a batch >= 1 "
                             "as its first dimension")
        if _model.is_torch_module(model):
            import torch
            model = _model.from_torch(model, torch.zeros(self.input_shape), onnx_path)
        self.model = _model.as_model(model, None, "ModelSpeedup")
        self._tmp = tempfile.TemporaryDirectory(prefix="mpq-")
        self._config_list = _config.ConfigFile(config_list)
        unconfigured_run = config is None and config_list is None
        options = _mpq.SpeedupOptions()
        options.batch_size = int(batchsize or self.input_shape[0])
        options.backend = backend
        options.default_precision = default_precision
        options.unconfigured = unconfigured
        options.layer_precision = layer_precision
        options.strict = bool(strict_datatype)
        options.threads = threads
        options.force = force
        options.lenient_config = lenient
        options.allow_host_fallback = allow_host_fallback
        options.config_list = self._config_list.path
        # NNI: 32 (its default) means nothing; 8/16 set every layer when no config is given, and
        # are ignored (with a warning) when one is.
        explicit_bits = unconfigured_run or extra_layer_bits != 32
        options.extra_layer_bits = extra_layer_bits if explicit_bits else 0
        options.calib_data = _calib_data(calib_data_loader, self._tmp,
                                         [-1] + self.input_shape[1:])
        options.calibrate_type = calibrate_type
        options.calibration_cache = os.fspath(calibration_cache or "")
        options.calib_images = calib_images
        value, is_text = _config.calibration_arg(config)
        self._impl = _mpq.ModelSpeedup(self.model, self.input_shape, value, is_text, options)

    def compress(self):
        """Builds the engine; returns the seconds it took."""
        return self._impl.compress()

    def inference(self, data):
        """Runs `data` ([N, ...input_shape[1:]] float32, any N) in batches of at most
        `batchsize`; returns (output [N, ...], seconds: the sum of the batches' run times). The
        output is numpy, or a torch tensor when `data` is one."""
        x = _arrays.batch(data, [-1] + self.input_shape[1:], "inference(data)")
        out, seconds = self._impl.inference(x)
        return _arrays.like_input(out, data), seconds

    def export_quantized_model(self, path):
        """Writes the engine file (builds the engine first if needed)."""
        self._impl.export_quantized_model(os.fspath(path))

    def load_quantized_model(self, path):
        """Replaces the engine by the one in `path` (no rebuild)."""
        self._impl.load_quantized_model(os.fspath(path))

    def _built(self):
        if not self._impl.compressed:
            self._impl.compress()
        return self._impl

    def manifest(self):
        """Per engine step: name, module_path, op, requested and executed precision, kernel,
        fused nodes, reason. A list of dicts. Builds the engine first if needed."""
        return self._built().manifest()

    def manifest_table(self):
        return self._built().manifest_table()

    @property
    def average_bits(self):
        """Executed weight bits averaged over the weighted layers, by parameter count."""
        return self._built().average_bits

    @property
    def warnings(self):
        return list(self._impl.warnings)

    @property
    def load_ms(self):
        return self._impl.load_ms
