"""Mixed precision decided on real engines: per-layer sensitivity and the automatic precision
search (docs/search.md, docs/sensitivity.md).

    report = mpq.search(model, "calib.json", "fashion-mnist:test", max_accuracy_drop=0.3,
                        time_budget="10m")
    report["config_list"]     # the chosen plan as NNI's config_list (None if none met the target)
    mpq.ModelSpeedup(model, shape, config="calib.json", config_list=report["config_list"], ...)
"""
import json

from . import _arrays, _config, _model, _mpq


def _budget_seconds(budget):
    if isinstance(budget, (int, float)):
        return float(budget)
    text = str(budget)
    scale = {"s": 1, "m": 60, "h": 3600}.get(text[-1:], None)
    try:
        return float(text[:-1]) * scale if scale else float(text)
    except ValueError:
        raise ValueError(f"time_budget: '{budget}' is not seconds, or a number with s, m or h")


def _options(cls, **values):
    o = cls()
    for k, v in values.items():
        setattr(o, k, v)
    return o


def search(model, calibration, data, labels=None, *, metric="", max_accuracy_drop=0.5,
           min_sqnr=30.0, time_budget="10m", seed=0, batch_size=64, timing_runs=10,
           latency="measured", backend="cpu", threads=0, force=False, dummy_input=None,
           svg=None):
    """Chooses int8 / 16-bit / fp32 per layer by timing whole engines and running them on `data`
    (arrays or a data spec). Returns the report as a dict (every measured plan under "points",
    the "frontier", the "chosen" index) with "config_list" (the chosen plan, NNI's JSON as a
    list, or None). `calibration`: a calibration table path or config dict. `svg`: a path to
    write the frontier plot to."""
    m = _model.as_model(model, dummy_input, "search")
    value, is_text = _config.calibration_arg(calibration)
    x, y = _arrays.data_arg(data, labels, m.input_shape(), "search(data)")
    o = _options(_mpq.SearchOptions, metric=metric, max_drop=float(max_accuracy_drop),
                 min_sqnr_db=float(min_sqnr), time_budget_s=_budget_seconds(time_budget),
                 seed=int(seed), batch_size=int(batch_size), timing_runs=int(timing_runs),
                 latency=latency, backend=backend, threads=int(threads), force=bool(force))
    text, config, plot = _mpq.precision_search(m, value, is_text, x, y, o)
    report = json.loads(text)
    report["config_list"] = None if config is None else json.loads(config)
    if svg:
        with open(svg, "w") as f:
            f.write(plot)
    return report


def sensitivity(model, calibration, data, labels=None, *, metric="sqnr", batch_size=64,
                backend="cpu", threads=0, force=False, dummy_input=None, svg=None):
    """Per layer: only that layer int8, and every layer int8 but it, against the fp32 engine on
    `data`. Returns the report as a dict, layers worst first."""
    m = _model.as_model(model, dummy_input, "sensitivity")
    value, is_text = _config.calibration_arg(calibration)
    x, y = _arrays.data_arg(data, labels, m.input_shape(), "sensitivity(data)")
    o = _options(_mpq.SensitivityOptions, metric=metric, batch_size=int(batch_size),
                 backend=backend, threads=int(threads), force=bool(force))
    text, plot = _mpq.layer_sensitivity(m, value, is_text, x, y, o)
    if svg:
        with open(svg, "w") as f:
            f.write(plot)
    return json.loads(text)
