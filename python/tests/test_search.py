"""mpq.search and mpq.sensitivity: reports from real engines, a chosen config_list that
ModelSpeedup builds, bad input as ValueError."""

import pytest

import mpq
from conftest import accuracy


@pytest.fixture(scope="module")
def calibration(trained_path, train_arrays):
    return mpq.calibrate(trained_path, *train_arrays, method="minmax", calib_images=200)


def test_search_chooses_a_plan_speedup_builds(trained_path, calibration, test_arrays, tmp_path):
    svg = tmp_path / "frontier.svg"
    r = mpq.search(trained_path, calibration, *test_arrays, max_accuracy_drop=1.0,
                   time_budget=60, batch_size=64, timing_runs=3, svg=svg)
    assert r["metric"] == "accuracy" and r["samples"] == len(test_arrays[0])
    assert [p["origin"] for p in r["points"][:3]] == ["all-fp32", "all-16", "all-int8"]
    assert all(r["points"][i]["remeasured"] for i in r["frontier"])
    chosen = r["points"][r["chosen"]]
    fp32 = r["points"][0]["fidelity"]["accuracy"]
    assert chosen["fidelity"]["accuracy"] >= fp32 - 0.01
    bits = {n: 32 for n in chosen["bits"]}  # a layer no entry names runs fp32
    bits.update({n: e["quant_bits"] for e in r["config_list"] for n in e["op_names"]})
    assert bits == chosen["bits"]
    engine = mpq.ModelSpeedup(trained_path, (64, 1, 28, 28), config=calibration,
                              config_list=r["config_list"])
    out, _ = engine.inference(test_arrays[0])
    assert accuracy(out, test_arrays[1]) == pytest.approx(chosen["fidelity"]["accuracy"])
    assert svg.read_text().startswith("<svg")


def test_estimated_search_is_deterministic(trained_path, calibration, test_arrays):
    a, b = (mpq.search(trained_path, calibration, test_arrays[0], latency="estimated", seed=4,
                       metric="sqnr", batch_size=64) for _ in range(2))
    for r in (a, b):
        r.pop("seconds")
    assert a == b


def test_sensitivity_ranks_every_layer(trained_path, calibration, test_arrays):
    r = mpq.sensitivity(trained_path, calibration, test_arrays[0][:64])
    assert {l["module_path"] for l in r["layers"]} == {"conv1", "conv2", "fc1", "fc2"}
    sq = [l["alone"]["sqnr_db"] for l in r["layers"]]
    assert sq == sorted(sq)


def test_search_bad_input(trained_path, calibration, test_arrays):
    with pytest.raises(ValueError, match=r"\[4,1,27,27\]|27"):
        mpq.search(trained_path, calibration, test_arrays[0][:4, :, :27, :27])
    with pytest.raises(ValueError, match="time_budget"):
        mpq.search(trained_path, calibration, *test_arrays, time_budget="soon")
    with pytest.raises(mpq.InvalidInputError, match="labels"):
        mpq.search(trained_path, calibration, test_arrays[0], metric="accuracy")
