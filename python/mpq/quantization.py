"""Training and quantization in NNI's shapes: QAT_Quantizer, calibrate, and the float Trainer."""

import json
import os
import shutil

from . import _arrays, _config, _model, _mpq

SGD, Adam, AdamW, LrSchedule = _mpq.SGD, _mpq.Adam, _mpq.AdamW, _mpq.LrSchedule


def optimizer_arg(optimizer, what):
    """mpq.SGD / Adam / AdamW, or a torch.optim optimizer of those kinds (its first parameter
    group's settings: mpq trains the exported model, not the torch parameters)."""
    if isinstance(optimizer, (SGD, Adam, AdamW)):
        return optimizer
    kind = type(optimizer).__name__
    groups = getattr(optimizer, "param_groups", None)
    if groups and kind in ("SGD", "Adam", "AdamW"):
        g = groups[0]
        if kind == "SGD":
            return SGD(lr=g["lr"], momentum=g.get("momentum", 0.0),
                       dampening=g.get("dampening", 0.0), weight_decay=g.get("weight_decay", 0.0),
                       nesterov=g.get("nesterov", False))
        cls = Adam if kind == "Adam" else AdamW
        return cls(lr=g["lr"], beta1=g["betas"][0], beta2=g["betas"][1], eps=g["eps"],
                   weight_decay=g["weight_decay"])
    raise ValueError(f"{what}: optimizer must be mpq.SGD, mpq.Adam, mpq.AdamW or a torch.optim "
                     f"SGD/Adam/AdamW, got {type(optimizer).__name__}")


def _set(options, **fields):
    for k, v in fields.items():
        if v is not None:
            setattr(options, k, v)
    return options


class _Fitting:
    """fit / evaluate / train_step / predict over an object `_impl` and the model input shape."""

    def _data(self, data, labels, what):
        return _arrays.data_arg(data, labels, self.input_shape, what)

    def fit(self, data, labels=None, epochs=1):
        """Trains `epochs` epochs on a data spec ("fashion-mnist:train", a file, a folder) or on
        arrays (images [N, ...] float32 and integer labels [N]). Returns one TrainStats per
        epoch."""
        x, y = self._data(data, labels, "fit(data)")
        return self._impl.fit(self._input_arg(), x, y, epochs)

    def evaluate(self, data, labels=None, batch_size=500):
        x, y = self._data(data, labels, "evaluate(data)")
        return self._impl.evaluate(self._input_arg(), x, y, batch_size)

    def train_step(self, x, labels):
        """One optimizer step on a batch; returns its TrainStats (loss, accuracy)."""
        xa = _arrays.batch(x, self.input_shape, "train_step(x)")
        return self._impl.train_step(xa, _arrays.labels(labels, xa.shape[0], "train_step(labels)"))

    def predict(self, x):
        """Eval-mode outputs (logits) of a batch, as numpy (a torch tensor for a torch input)."""
        xa = _arrays.batch(x, self.input_shape, "predict(x)")
        return _arrays.like_input(self._impl.predict(xa), x)


class QAT_Quantizer(_Fitting):
    """NNI's QAT_Quantizer(model, config_list, optimizer, dummy_input) on mpq's trainer.

    `model`: an mpq.Model, an ONNX path, or a torch.nn.Module (exported with `dummy_input`).
    `config_list`: NNI's list of dicts, or a JSON file. `optimizer`: mpq.SGD(lr=0.01,
    momentum=0.5), Adam, AdamW, or a torch.optim optimizer whose settings are taken over. The
    model is copied: training changes it only when export_model writes the trained weights back.
    """

    def __init__(self, model, config_list, optimizer=None, dummy_input=None, *, batch_size=64,
                 seed=0, shuffle=True, fold_bn=True, schedule=None, max_steps_per_epoch=-1,
                 lenient=False, quiet=True):
        if optimizer is None:
            raise ValueError("QAT_Quantizer: an optimizer is required, e.g. "
                             "optimizer=mpq.SGD(lr=0.01, momentum=0.5)")
        self._user_model = model
        self.model = _model.as_model(model, dummy_input, "QAT_Quantizer")
        self.input_shape = self.model.input_shape()
        options = _set(_mpq.QatOptions(), batch_size=batch_size, seed=seed, shuffle=shuffle,
                       fold_bn=fold_bn, schedule=schedule, max_steps_per_epoch=max_steps_per_epoch,
                       quiet=quiet)
        self._impl = _mpq.QatQuantizer(self.model, _config.config_list(config_list, lenient),
                                       optimizer_arg(optimizer, "QAT_Quantizer"), options)

    def _input_arg(self):
        return self.input_shape

    def compress(self):
        """Inserts the fake-quantizers (and folds Conv->BatchNorm). Returns the model."""
        self._impl.compress()
        return self._user_model

    def forward(self, x):
        """Training forward of a batch (observers updated); the output as numpy."""
        return self._impl.forward(_arrays.batch(x, self.input_shape, "forward(x)"))

    def backward(self, output_grad):
        """Back-propagates d(loss)/d(output), an array of the output's shape."""
        self._impl.backward(_arrays.to_numpy(output_grad))

    def step(self):
        """The optimizer step (NNI's step counter + 1)."""
        self._impl.step()

    def export_model(self, model_path, calibration_path=None, onnx_path=None, input_shape=None,
                     device=None):
        """Writes the trained float model (ONNX) to `model_path` and the calibration config
        (JSON) to `calibration_path`; returns the calibration config: NNI's per-layer dict, with
        mpq's whole table in its `.table`. As NNI, the trained weights go back into the model
        given to the constructor (an mpq.Model, or a torch module's tensors of the same names).
        `onnx_path`: a second copy of the ONNX model; `input_shape`, `device`: unused (mpq's
        model file is already ONNX, with an open batch)."""
        model_path = os.fspath(model_path)
        text = self._impl.export_model(model_path, os.fspath(calibration_path or ""))
        if onnx_path is not None and os.fspath(onnx_path) != model_path:
            shutil.copyfile(model_path, os.fspath(onnx_path))
        if isinstance(self._user_model, _model.Model):
            self._user_model._reload(model_path)
        elif _model.is_torch_module(self._user_model):
            _model.load_weights_into(self._user_model, model_path)
        return _config.CalibrationConfig(json.loads(text))

    def load_calibration_config(self, calibration_config):
        """NNI's load_calibration_config: tracked ranges (and weight scales) from a config."""
        value, is_text = _config.calibration_arg(calibration_config)
        if not is_text:
            value = _mpq.calibration_table_json(value)
        self._impl.load_calibration_config(value)

    @property
    def steps(self):
        return self._impl.steps

    @property
    def warnings(self):
        return list(self._impl.warnings)

    def summary(self):
        return self._impl.summary()


class _TrainerImpl:
    # Trainer's C++ calls take the model rather than its input shape.
    def __init__(self, model, options):
        self.model, self.t = model, _mpq.Trainer(model, options)

    def fit(self, _shape, x, y, epochs):
        return self.t.fit(self.model, x, y, epochs)

    def evaluate(self, _shape, x, y, batch_size):
        return self.t.evaluate(self.model, x, y, batch_size)

    def train_step(self, x, y):
        return self.t.train_step(x, y)

    def predict(self, x):
        return self.t.predict(x)


class Trainer(_Fitting):
    """Float training of an mpq.Model in place (before QAT or calibration): softmax
    cross-entropy, PyTorch's optimizer rules, seeded shuffling."""

    def __init__(self, model, optimizer=None, *, batch_size=64, seed=0, shuffle=True,
                 schedule=None, max_steps_per_epoch=-1, quiet=True):
        self.model = _model.as_model(model, None, "Trainer")
        self.input_shape = self.model.input_shape()
        options = _set(_mpq.TrainerOptions(), batch_size=batch_size, seed=seed, shuffle=shuffle,
                       schedule=schedule, max_steps_per_epoch=max_steps_per_epoch, quiet=quiet)
        options.optimizer = optimizer_arg(optimizer or SGD(lr=0.01, momentum=0.5), "Trainer")
        self._impl = _TrainerImpl(self.model, options)

    def _input_arg(self):
        return self.input_shape


def calibrate(model, data, labels=None, config_list=None, method="entropy", calib_images=1000,
              *, seed=0, batch_size=32, percentile=99.99, threads=1, executor="auto",
              path=None, dummy_input=None, lenient=False, quiet=True):
    """Post-training calibration: runs `calib_images` images (seeded sample; <= 0: all) of `data`
    through the float model and returns the ranges of every tensor as a calibration config
    (`.table`; the dict holds the layers' bits). `config_list` (NNI's, or a JSON path) picks
    the layers and bits; without it every quantizable layer gets 8 bits. `path`: also written
    there (JSON, what ModelSpeedup's `config` and `mpq build --calib` read)."""
    m = _model.as_model(model, dummy_input, "calibrate")
    x, y = _arrays.data_arg(data, labels, m.input_shape(), "calibrate(data)")
    config_file = _config.ConfigFile(config_list)
    options = _set(_mpq.CalibrateOptions(), method=method, calib_images=calib_images, seed=seed,
                   batch_size=batch_size, percentile=percentile, threads=threads,
                   executor=executor, config_list=config_file.path, lenient_config=lenient,
                   quiet=quiet)
    text, warnings = _mpq.calibrate(m, x, y, options, os.fspath(path or ""))
    config = _config.CalibrationConfig(json.loads(text))
    config.warnings = list(warnings)
    return config
