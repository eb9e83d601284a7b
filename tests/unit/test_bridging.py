"""Tests of qsnn.book.bridging: chapter 8's measurements with qsnn.bridge, against direct calls of qsnn.bridge on
small settings, a small untrained network, and tables made by hand."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from qsnn import bridge
from qsnn.book import bridging

RESETS = ("zero", "subtract", "mod")


def test_agreement_and_its_text():
    currents = np.random.default_rng(0).uniform(0.0, 2.5, size=(6, 200))
    shares = bridging.agreement(currents, (0.0, 0.5))
    assert list(shares) == list(RESETS) and list(shares["mod"]) == ["0", "0.5"]
    assert shares["zero"]["0.5"] == float(bridge.run_both(currents, 0.5, 1.0, "zero").agree.mean())
    assert shares["mod"] == {"0": 1.0, "0.5": 1.0}  # the layer with reset-to-mod is Part I's neuron
    assert bridging.agreement_text({"mod": {"0": 1.0, "0.5": 0.25}}) == (
        "reset 'mod'       share of neurons with identical outputs, per decay: 0: 1.0000, 0.5: 0.2500")


def test_tightness_grid_against_the_searches():
    kw = dict(steps=4, trials=8, iterations=2, seed=1)
    grid = bridging.tightness_grid([2, 3], [0.5], 1.0, **kw)
    for b in (2, 3):
        for scale in (1.0, 2.0):
            t = bridge.tightness_search(b, 0.5, 1.0, scale, **kw)
            assert grid["ratios"][(b, 0.5, scale)] == t.worst_ratio and grid["searches"][(b, 0.5, scale)] == t.ratios
            if scale == 1.0:
                assert grid["bounds"][0.5][b] == t.bound and grid["found"][0.5][b] == t.worst_ratio * t.bound
    assert grid["worst"] == max(grid["ratios"].values()) <= 1.0
    assert grid["per_bits_and_decay"]["b2"]["0.5"] == max(grid["ratios"][(2, 0.5, s)] for s in (1.0, 2.0))
    assert grid["by_search"]["constructed"] == max(v["constructed"] for v in grid["searches"].values())
    lines = bridging.tightness_text(grid).splitlines()
    assert lines[0] == " decay       b=2       b=3   (largest error / bound)"
    assert lines[1] == f"   0.5 {grid['per_bits_and_decay']['b2']['0.5']:>9.6f} {grid['per_bits_and_decay']['b3']['0.5']:>9.6f}"
    assert lines[2].startswith(f"over 4 settings: worst ratio {grid['worst']:.6f}; per search, from lowest to highest: random")


def test_outside_assumptions_exceed_the_bound():
    out = bridging.outside_assumptions(1.0, steps=6, trials=16, iterations=5, seed=0)
    assert list(out) == ["clipped, s = 0.5 theta", "clipped, s = 0.8 theta", "one current of -3 theta"]
    negative = np.array([-3.0, 0.0, 0.0])
    by_hand = float(bridge.error_norms(negative, bridge.layer_spikes(negative, 0.5, 1.0, "mod", bits=4), 0.5, 1.0)[0])
    assert out["one current of -3 theta"] == pytest.approx(by_hand / bridge.membrane_bound(4, 0.5, 1.0, steps=3))
    assert out["one current of -3 theta"] > 1.0  # the layer does not fire below zero
    assert bridging.outside_text({"x": 1.41652}) == "b = 4, decay 0.5, x                        largest error / bound = 1.417"


@pytest.fixture(scope="module")
def digits_run():
    from qsnn.models import build
    from qsnn.train import TrainConfig

    torch.manual_seed(0)
    config = TrainConfig(model="small", dataset="digits", time_steps=2,
                         model_kwargs={"widths": [4, 6, 8], "weight_bits": 1, "membrane_bits": 2})
    model = build("small", num_classes=10, in_channels=1, input_size=(8, 8), widths=[4, 6, 8], weight_bits=1,
                  membrane_bits=2).eval()
    return SimpleNamespace(model=model, config=config, metrics={"test_rates": [0.1, 0.3, 0.2]})


def test_first_test_images_are_the_test_split_time_first(digits_run):
    from qsnn.data import load_dataset

    x = bridging.first_test_images(digits_run.config, 5)
    test = load_dataset("digits", None, "test", augment=False, time_steps=2)
    assert x.shape == (2, 5, 1, 8, 8)  # [T, B, C, H, W]: the static image at every step
    assert torch.equal(x[0, 3], test[3][0]) and torch.equal(x[1, 3], test[3][0])


def test_network_errors_against_the_bridge(digits_run):
    stats, distributions = bridging.network_errors({"n": digits_run}, 6, detail="n")
    records = bridge.layer_currents(digits_run.model, bridging.first_test_images(digits_run.config, 6))
    direct = bridge.network_error_statistics(records)
    assert stats["n"]["all"]["nonnegative"] == direct["all"]["nonnegative"]
    assert stats["n"]["all"]["errors"]["mod"]["max"] == direct["all"]["errors"]["mod"]["max"]
    assert list(distributions) == [r.name for r in records] and set(distributions[records[0].name]) == set(RESETS)
    assert bridging.network_errors({"n": digits_run}, 2)[1] is None
    lines = bridging.networks_text(stats).splitlines()
    assert len(lines) == 2 and lines[1].startswith(f"n{' ' * 27} {direct['all']['nonnegative']:>7.3f}")


def test_network_ranges_by_hand():
    def summary(nonneg, tail):
        return {"nonnegative": nonneg, "errors": {r: {"max": tail + i} for i, r in enumerate(RESETS)}}

    assert bridging.network_ranges({"a": summary(0.4, 1.0), "b": summary(0.3, 5.0)}) == {
        "nonneg_min": pytest.approx(30.0), "nonneg_max": pytest.approx(40.0), "tail_min": 1.0, "tail_max": 7.0}


def test_reset_costs_against_spike_costs(digits_run):
    x = bridging.first_test_images(digits_run.config, 4)
    costs, errors = bridging.reset_costs({"zero": digits_run}, x)
    direct = bridge.spike_costs(digits_run.model, bridge.layer_currents(digits_run.model, x))
    c = costs["zero"]
    assert c["events"] == sum(k["events"] for k in direct) and c["bits_per_value"] == 1
    assert c["accumulates"] == sum(k["accumulates"] for k in direct) and c["regulated_rate"] == pytest.approx(0.3)
    assert set(errors["zero"]) >= {"q50", "max"}


def test_cost_ratios_and_text_by_hand():
    costs = {"zero": {"events": 100.0, "spike_bits": 1000.0, "accumulates": 2e6, "bits_per_value": 1,
                      "regulated_rate": 0.2},
             "mod": {"events": 130.0, "spike_bits": 4000.0, "accumulates": 3e6, "bits_per_value": 4,
                     "regulated_rate": 0.3}}
    errors = {"zero": {"q50": 0.979, "max": 12.441}, "mod": {"q50": 0.863, "max": 13.31}}
    assert bridging.cost_ratios(costs) == {"mod": {"events": 1.3, "bits": 4.0, "acc": 1.5}}
    lines = bridging.costs_text(costs, errors, 0).splitlines()
    assert lines[0].endswith("(per test image, run seed 0)")
    assert lines[2].split() == ["mod", "0.300", "0.863", "/", "13.310", "130", "4", "4.0", "3.00", "M"]
    assert lines[3] == "mod against zero: 1.30x the events, 4.00x the spike bits, 1.50x the accumulates"
