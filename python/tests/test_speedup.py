"""ModelSpeedup: the engine's outputs, precisions, engine files and NNI's arguments."""

import numpy as np
import pytest

import mpq
from conftest import accuracy

QAT_MIXED = [
    {"quant_types": ["input", "weight"], "quant_bits": 8, "op_names": ["conv1", "conv2"]},
    {"quant_types": ["output"], "quant_bits": 8, "op_names": ["relu1", "relu2"]},
]


def executed(speedup, module):
    rows = [r for r in speedup.manifest() if r["module_path"] == module or module in r["fused"]]
    assert rows, f"{module} is not in the manifest"
    return rows[0]["executed"]


def test_fp32_engine_matches_the_float_model(trained_path, test_arrays):
    x = test_arrays[0][:64]
    model = mpq.load(trained_path)
    expected = mpq.Trainer(model).predict(x)
    engine = mpq.ModelSpeedup(model, (32, 1, 28, 28))  # batchsize: input_shape[0]
    assert engine.compress() >= 0
    out, _ = engine.inference(x)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)
    assert {r["executed"] for r in engine.manifest()} == {"fp32"}
    assert engine.average_bits == 32


def test_qat_mixed_engine_runs_the_convolutions_in_int8(trained_path, train_arrays, test_arrays,
                                                       tmp_path):
    q = mpq.QAT_Quantizer(trained_path, QAT_MIXED, mpq.SGD(lr=0.01, momentum=0.5))
    q.compress()
    q.fit(*train_arrays, epochs=1)
    config = q.export_model(str(tmp_path / "qat.onnx"), str(tmp_path / "qat.json"))
    engine = mpq.ModelSpeedup(str(tmp_path / "qat.onnx"), (64, 1, 28, 28), config=config,
                              batchsize=64)
    engine.compress()
    assert executed(engine, "conv1") == "int8" and executed(engine, "conv2") == "int8"
    assert executed(engine, "fc1") == "fp32"
    out, _ = engine.inference(test_arrays[0])
    # The engine agrees with the fake-quantized model it came from.
    simulated = q.evaluate(*test_arrays).accuracy
    assert abs(accuracy(out, test_arrays[1]) - simulated) < 0.03
    assert accuracy(out, test_arrays[1]) > 0.5
    # The same engine from the file export_model wrote.
    from_file = mpq.ModelSpeedup(str(tmp_path / "qat.onnx"), (64, 1, 28, 28),
                                 config=str(tmp_path / "qat.json"), batchsize=64)
    np.testing.assert_array_equal(from_file.inference(test_arrays[0])[0], out)


def test_engine_file_round_trip(trained_path, test_arrays, tmp_path):
    x = test_arrays[0][:50]
    engine = mpq.ModelSpeedup(trained_path, (16, 1, 28, 28), extra_layer_bits=16)
    out, _ = engine.inference(x)  # builds the engine first
    assert executed(engine, "conv1") != "fp32"  # 16-bit float everywhere
    path = tmp_path / "m.mpqe"
    engine.export_quantized_model(path)
    loaded = mpq.ModelSpeedup(trained_path, (16, 1, 28, 28))
    loaded.load_quantized_model(str(path))
    assert loaded.load_ms > 0
    np.testing.assert_array_equal(loaded.inference(x)[0], out)
    with pytest.raises(mpq.InvalidInputError, match="engine"):
        (tmp_path / "bad.mpqe").write_bytes(b"garbage")
        loaded.load_quantized_model(str(tmp_path / "bad.mpqe"))


def test_ptq_path_with_calibration_data(trained_path, train_arrays, test_arrays):
    # NNI's post-training dict, with calibration data as an array (calib_data_loader).
    config = {"conv1": {"weight_bits": 8, "output_bits": 8},
              "fc2": {"weight_bits": 8, "output_bits": 8}}
    engine = mpq.ModelSpeedup(trained_path, (32, 1, 28, 28), config=config,
                              calib_data_loader=train_arrays[0][:256],
                              calibrate_type=mpq.CalibrateType.MINMAX, batchsize=32)
    engine.compress()
    assert executed(engine, "conv1") == "int8" and executed(engine, "fc2") == "int8"
    assert executed(engine, "conv2") == "fp32"
    fp32 = mpq.ModelSpeedup(trained_path, (32, 1, 28, 28))
    a = accuracy(engine.inference(test_arrays[0])[0], test_arrays[1])
    b = accuracy(fp32.inference(test_arrays[0])[0], test_arrays[1])
    assert abs(a - b) < 0.05


def test_manifest_is_a_list_of_dicts(trained_path):
    engine = mpq.ModelSpeedup(trained_path, (8, 1, 28, 28))
    engine.compress()
    rows = engine.manifest()
    assert isinstance(rows, list) and rows
    for key in ("name", "module_path", "op", "requested", "executed", "kernel", "fused", "reason"):
        assert key in rows[0]
    assert any(r["module_path"] == "fc2" for r in rows)
    assert "conv1" in engine.manifest_table()
