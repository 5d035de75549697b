"""mpq.export_qdq: a QDQ model with the engine's scales that ModelSpeedup imports back (no
calibration) into an engine giving the same outputs; bad input as Python exceptions."""

import numpy as np
import onnx
import pytest

import mpq


def test_export_then_import_gives_the_same_engine(trained_path, train_arrays, test_arrays,
                                                   tmp_path):
    calib = mpq.calibrate(trained_path, *train_arrays, method="minmax", calib_images=200)
    out = tmp_path / "m_qdq.onnx"
    r = mpq.export_qdq(trained_path, calib, out)
    assert r["int8_layers"] == 4 and r["float_layers"] == 0 and r["activation_pairs"] > 0
    ops = [n.op_type for n in onnx.load(str(out)).graph.node]
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops
    direct = mpq.ModelSpeedup(trained_path, (64, 1, 28, 28), config=calib)
    imported = mpq.ModelSpeedup(str(out), (64, 1, 28, 28))
    assert {l["source"] for l in imported.manifest() if l["executed"] == "int8"
            and l["module_path"] in ("conv1", "conv2", "fc1", "fc2")} == {"qdq"}
    a, _ = direct.inference(test_arrays[0])
    b, _ = imported.inference(test_arrays[0])
    assert np.array_equal(a, b)


def test_export_bad_input(trained_path, tmp_path):
    with pytest.raises(ValueError, match="calibration config"):
        mpq.export_qdq(trained_path, None, tmp_path / "x.onnx")
    with pytest.raises(mpq.Error):
        mpq.export_qdq(trained_path, str(tmp_path / "missing.json"), tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()
