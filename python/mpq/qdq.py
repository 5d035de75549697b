"""QDQ ONNX out (docs/qdq.md): the model with mpq's scales and per-layer precisions as standard
QuantizeLinear/DequantizeLinear pairs that ONNX Runtime and TensorRT read. (In: ModelSpeedup
builds a QDQ model with the file's own scales when given no calibration config.)"""
import os

from . import _config, _model, _mpq


def export_qdq(model, calibration, path, *, config_list=None, layer_precision="",
               default_precision="", force=False, dummy_input=None):
    """Writes `model` (an mpq.Model, ONNX path or torch module) as a QDQ ONNX model at `path`,
    quantized as the engine built from `calibration` (a calibration config dict or JSON path)
    runs. Returns {"int8_layers", "float_layers", "activation_pairs", "warnings"}."""
    m = _model.as_model(model, dummy_input, "export_qdq")
    value, is_text = _config.calibration_arg(calibration)
    if value is None:
        raise ValueError("export_qdq: a calibration config (dict or JSON file path) is required")
    config_file = _config.ConfigFile(config_list)
    int8, floats, pairs, warnings = _mpq.export_qdq(
        m, value, is_text, os.fspath(path), config_file.path, layer_precision,
        default_precision, bool(force))
    return {"int8_layers": int8, "float_layers": floats, "activation_pairs": pairs,
            "warnings": list(warnings)}
