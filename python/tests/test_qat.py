"""QAT_Quantizer in NNI's shape: compress, fit / train_step / own loop, export_model."""

import json
import os

import numpy as np
import pytest

import mpq

CONFIG = [
    {"quant_types": ["input", "weight"], "quant_bits": {"input": 8, "weight": 8},
     "op_names": ["conv1"]},
    {"quant_types": ["output"], "quant_bits": {"output": 8}, "op_names": ["relu1"]},
]


def test_export_model_gives_nni_calibration_config(train_arrays, tmp_path):
    model = mpq.Model.zoo("mnist_naive")
    x = train_arrays[0][:8]
    before = mpq.Trainer(model).predict(x)
    q = mpq.QAT_Quantizer(model, CONFIG, optimizer=mpq.SGD(lr=0.01, momentum=0.5))
    assert q.compress() is model
    stats = q.fit(*train_arrays, epochs=1)
    assert len(stats) == 1 and stats[0].samples == 1024 and np.isfinite(stats[0].loss)
    assert q.steps == 1024 // 64
    model_path, calib_path = tmp_path / "m.onnx", tmp_path / "c.json"
    config = q.export_model(model_path, calib_path)
    assert set(config) == {"conv1", "relu1"}
    conv1 = config["conv1"]
    assert conv1["weight_bits"] == 8 and conv1["input_bits"] == 8
    assert conv1["tracked_min_input"] < 0 < conv1["tracked_max_input"]
    assert config["relu1"]["output_bits"] == 8
    assert config["relu1"]["tracked_min_output"] == 0 < config["relu1"]["tracked_max_output"]
    assert config.table["tensors"]  # mpq's ranges of every tensor ride along
    assert json.load(open(calib_path))["layers"]["conv1"]["weight_bits"] == 8
    # As NNI, the model given now holds the trained float weights (those of the file).
    after = mpq.Trainer(model).predict(x)
    assert not np.allclose(after, before)
    np.testing.assert_array_equal(after, mpq.Trainer(mpq.load(model_path)).predict(x))


def test_train_step_and_own_loop(train_arrays):
    x, y = train_arrays
    q = mpq.QAT_Quantizer(mpq.Model.zoo("mnist_naive"), CONFIG, mpq.Adam(lr=1e-3))
    losses = [q.train_step(x[i:i + 64], y[i:i + 64]).loss for i in range(0, 640, 64)]
    assert q.steps == 10 and losses[-1] < losses[0]
    # Own loop with an MSE loss on the logits against one-hot targets.
    target = np.eye(10, dtype=np.float32)[y[:64]]
    out = q.forward(x[:64])
    assert out.shape == (64, 10)
    q.backward(2 * (out - target) / out.size)
    q.step()
    assert q.steps == 11
    assert q.predict(x[:5]).shape == (5, 10)


def test_spec_string_data_and_evaluate(train_arrays, test_arrays):
    q = mpq.QAT_Quantizer(mpq.Model.zoo("mnist_naive"), CONFIG, mpq.SGD(lr=0.01, momentum=0.5),
                          max_steps_per_epoch=4)
    stats = q.fit("fashion-mnist:train", epochs=1)
    assert stats[0].steps == 4
    r = q.evaluate(*test_arrays)
    assert r.samples == 256 and 0 <= r.accuracy <= 1


def test_optimizer_is_required_and_checked():
    with pytest.raises(ValueError, match="optimizer is required"):
        mpq.QAT_Quantizer(mpq.Model.zoo("mnist_naive"), CONFIG)
    with pytest.raises(ValueError, match="optimizer must be"):
        mpq.QAT_Quantizer(mpq.Model.zoo("mnist_naive"), CONFIG, optimizer="sgd")


def test_config_list_from_file_and_export_to_onnx_path(tmp_path, train_arrays):
    path = tmp_path / "config_list.json"
    path.write_text(json.dumps(CONFIG))
    q = mpq.QAT_Quantizer(mpq.Model.zoo("mnist_naive"), str(path), mpq.SGD(lr=0.01))
    q.train_step(train_arrays[0][:32], train_arrays[1][:32])
    q.export_model(tmp_path / "m.onnx", onnx_path=tmp_path / "copy.onnx")
    assert os.path.getsize(tmp_path / "copy.onnx") == os.path.getsize(tmp_path / "m.onnx")
    assert not (tmp_path / "c.json").exists()


def test_load_calibration_config(train_arrays, tmp_path):
    q = mpq.QAT_Quantizer(mpq.Model.zoo("mnist_naive"), CONFIG, mpq.SGD(lr=0.01))
    q.fit(*train_arrays)
    config = q.export_model(tmp_path / "m.onnx")
    fresh = mpq.QAT_Quantizer(mpq.load(tmp_path / "m.onnx"), CONFIG, mpq.SGD(lr=0.01))
    fresh.load_calibration_config(config)
    x = train_arrays[0][:16]
    np.testing.assert_allclose(fresh.predict(x), q.predict(x), rtol=1e-4, atol=1e-4)
    wrong = dict(config)
    wrong["conv1"] = dict(config["conv1"], weight_bits=4)
    with pytest.raises(mpq.InvalidInputError, match="bits"):
        fresh.load_calibration_config(wrong)
