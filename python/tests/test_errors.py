"""mpq's errors as Python exceptions carrying its one-line message."""

import json

import numpy as np
import pytest

import mpq


def test_exception_classes():
    assert issubclass(mpq.Error, RuntimeError)
    assert issubclass(mpq.InvalidInputError, mpq.Error)
    assert issubclass(mpq.InvalidInputError, ValueError)
    assert issubclass(mpq.UnsupportedError, mpq.Error)


def test_missing_model_file(tmp_path):
    path = str(tmp_path / "nope.onnx")
    with pytest.raises(mpq.InvalidInputError) as e:
        mpq.load(path)
    assert str(e.value).startswith(path + ": ")
    assert "\n" not in str(e.value)
    assert e.value.file == path and e.value.code == "not found"


def test_broken_model_file(tmp_path):
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"not a protobuf")
    with pytest.raises(mpq.InvalidInputError, match="broken.onnx"):
        mpq.ModelSpeedup(str(path), (1, 1, 28, 28))


def test_config_list_key_is_named():
    model = mpq.Model.zoo("mnist_naive")
    bad = [{"quant_types": ["weight"], "quant_bitz": 8, "op_names": ["conv1"]}]
    with pytest.raises(mpq.InvalidInputError) as e:
        mpq.QAT_Quantizer(model, bad, mpq.SGD(lr=0.01))
    assert e.value.key == "[0].quant_bitz"
    assert "quant_bitz" in str(e.value) and "\n" not in str(e.value)


def test_unknown_layer_name_lists_near_matches():
    model = mpq.Model.zoo("mnist_naive")
    with pytest.raises(mpq.InvalidInputError, match="conv1"):
        mpq.QAT_Quantizer(model, [{"quant_types": ["weight"], "quant_bits": 8,
                                   "op_names": ["conv3"]}], mpq.SGD(lr=0.01))


def test_calibration_config_value_is_named(tmp_path):
    path = tmp_path / "calib.json"
    path.write_text(json.dumps({"conv1": {"weight_bits": 7}}))
    with pytest.raises(mpq.InvalidInputError, match="weight_bits"):
        mpq.ModelSpeedup(mpq.Model.zoo("mnist_naive"), (1, 1, 28, 28), config=str(path))


def test_label_out_of_range_is_an_error_not_a_crash(test_arrays):
    x, y = test_arrays
    trainer = mpq.Trainer(mpq.Model.zoo("mnist_naive"))
    with pytest.raises(mpq.InvalidInputError, match="label"):
        trainer.train_step(x[:4], np.array([0, 1, 2, 10]))


def test_backend_not_built():
    speedup = mpq.ModelSpeedup(mpq.Model.zoo("mnist_naive"), (1, 1, 28, 28), backend="tpu")
    with pytest.raises(mpq.Error, match="tpu"):
        speedup.compress()
