"""mpq.calibrate: ranges of every tensor, bits from a config_list, the table as a file."""

import json

import pytest

import mpq
from conftest import accuracy


def test_calibrate_then_build(trained_path, train_arrays, test_arrays, tmp_path):
    path = tmp_path / "calib.json"
    config = mpq.calibrate(trained_path, *train_arrays, method="minmax", calib_images=200,
                           path=path)
    assert config.table["num_samples"] == 200
    assert config.table["method"] == "minmax"
    assert json.load(open(path))["tensors"].keys() == config.table["tensors"].keys()
    ranges = config.table["tensors"]
    assert all(r["min"] <= r["max"] for r in ranges.values())
    assert all(config[k]["weight_bits"] == 8 for k in ("conv1", "conv2", "fc1", "fc2"))

    int8 = mpq.ModelSpeedup(trained_path, (64, 1, 28, 28), config=config)
    fp32 = mpq.ModelSpeedup(trained_path, (64, 1, 28, 28))
    assert int8.average_bits == 8
    a = accuracy(int8.inference(test_arrays[0])[0], test_arrays[1])
    b = accuracy(fp32.inference(test_arrays[0])[0], test_arrays[1])
    assert abs(a - b) < 0.05


def test_config_list_picks_layers(trained_path, train_arrays):
    config = mpq.calibrate(mpq.load(trained_path), train_arrays[0], calib_images=100,
                           config_list=[{"quant_types": ["weight", "output"], "quant_bits": 8,
                                         "op_names": ["fc2"]}])
    assert set(config) == {"fc2"}
    speed = mpq.ModelSpeedup(trained_path, (8, 1, 28, 28), config=config)
    executed = {r["module_path"]: r["executed"] for r in speed.manifest() if r["module_path"]}
    assert executed["fc2"] == "int8" and executed["conv1"] == "fp32"


def test_bad_method_is_named(trained_path, train_arrays):
    with pytest.raises(mpq.InvalidInputError, match="median"):
        mpq.calibrate(trained_path, train_arrays[0], method="median")
