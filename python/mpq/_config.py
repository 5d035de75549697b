"""config_list and calibration configs as Python values: lists and dicts (NNI's), or paths."""

import json
import os
import tempfile

from . import _mpq


def _jsonable(o):
    # NNI's calibration configs hold torch tensors (weight_scale) and numpy scalars.
    if hasattr(o, "tolist"):
        return o.tolist()
    raise TypeError(f"{type(o).__name__} is not JSON serializable")


def dumps(value):
    return json.dumps(value, default=_jsonable)


def is_path(x):
    return isinstance(x, (str, bytes)) or hasattr(x, "__fspath__")


def config_list(value, lenient=False):
    """NNI's config_list (a list of dicts, or a JSON file) as mpq's parsed ConfigList."""
    if is_path(value):
        return _mpq.ConfigList.parse_file(os.fspath(value), lenient)
    if not isinstance(value, (list, tuple)):
        raise ValueError("config_list: expected a list of dicts or the path of a JSON file, "
                         f"got {type(value).__name__}")
    return _mpq.ConfigList.parse_string(dumps(list(value)), "<config_list>", lenient)


class ConfigFile:
    """A config_list as a file path, for the options that take one (a list is written to a
    temporary file that lives as long as this object)."""

    def __init__(self, value):
        self._dir = None
        if value is None:
            self.path = ""
        elif is_path(value):
            self.path = os.fspath(value)
        else:
            config_list(value)  # bad entries fail here, naming the entry and key
            self._dir = tempfile.TemporaryDirectory(prefix="mpq-")
            self.path = os.path.join(self._dir.name, "config_list.json")
            with open(self.path, "w") as f:
                f.write(dumps(list(value)))


class CalibrationConfig(dict):
    """NNI's calibration_config: {layer: {"weight_bits": 8, "tracked_min_input": ..., ...}}, as
    QAT_Quantizer.export_model returns it. `table` is mpq's whole calibration table (the ranges
    of every tensor too), which ModelSpeedup uses with the layers of this dict, edits included."""

    def __init__(self, table):
        super().__init__(table.get("layers", {}))
        self.table = table

    def to_json(self):
        return dumps(dict(self.table, layers=dict(self)))


def calibration_arg(config):
    """(value, is_text) for the C++ ModelSpeedup: a path as it is, a dict as JSON text."""
    if config is None:
        return None, False
    if is_path(config):
        return os.fspath(config), False
    if isinstance(config, CalibrationConfig):
        return config.to_json(), True
    if isinstance(config, dict):
        return dumps(config), True
    raise ValueError("config: expected a calibration config (dict or JSON file path), "
                     f"got {type(config).__name__}")
