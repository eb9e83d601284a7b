"""Tests of qsnn.analysis: mean +- std (one rule for non-finite values), the variants table, per-layer rates
and their entropy, sign-balance statistics."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from qsnn.analysis import balance_summary, layer_rates, mean_std, rates_table, sign_balance_stats, variants_table


def test_mean_std_golden_values():
    assert mean_std([1.0, 2.0, 4.0]) == (pytest.approx(7 / 3), pytest.approx(math.sqrt(7 / 3)))
    assert mean_std([0.5]) == (0.5, 0.0)  # one value: no spread, not NaN


@pytest.mark.parametrize("bad", [None, float("nan"), float("inf"), -float("inf")])
def test_mean_std_of_values_with_a_non_finite_one_is_none(bad):
    assert mean_std([1.0, bad, 2.0]) == (None, None)


def test_mean_std_of_nothing_is_an_error():
    with pytest.raises(ValueError, match="at least one value"):
        mean_std([])


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=20))
def test_mean_std_matches_the_definition(values):
    m, sd = mean_std(values)
    n = len(values)
    mean = math.fsum(values) / n
    var = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
    assert m == pytest.approx(mean, abs=1e-6) and sd == pytest.approx(math.sqrt(var), rel=1e-6, abs=1e-6)


def test_variants_table_numbers_and_text():
    acc, text = variants_table({"a": [0.9, 1.0], "b": [0.5, 0.7]}, {"a": "arm A", "b": "arm B"}, [0, 3], width=8)
    assert acc["a"] == {"mean": pytest.approx(0.95), "std": pytest.approx(math.sqrt(0.005)), "per_seed": [0.9, 1.0]}
    lines = text.splitlines()
    assert lines[0] == "variant    seed 0   seed 3       mean +- std"
    assert lines[1] == "arm A      90.00%  100.00%    95.00 +- 7.07%"
    with pytest.raises(ValueError, match="3 values for 2 seeds"):
        variants_table({"a": [1, 1, 1]}, {"a": "A"}, [0, 1])


def test_layer_rates_and_entropy():
    s = layer_rates([[0.5, 0.1], [0.5, 0.3]])
    assert s["mean"] == pytest.approx([0.5, 0.2]) and s["std"] == pytest.approx([0.0, math.sqrt(0.02)])
    h02 = -(0.2 * math.log2(0.2) + 0.8 * math.log2(0.8))
    assert s["entropy"] == pytest.approx([1.0, h02])
    assert layer_rates([[0.25, 0.75]])["std"] == [0.0, 0.0]
    with pytest.raises(ValueError, match="seeds, layers"):
        layer_rates([0.1, 0.2])
    text = rates_table({"a": [[0.5, 0.2]]}, {"a": "A"}, width=4)
    assert text.splitlines()[1] == f"A         0.500  1.000      0.200  {h02:.3f}"


def test_sign_balance_stats_pools_filters_over_models():
    from qsnn.models import build

    torch.manual_seed(0)
    models = [build("small", num_classes=10, in_channels=1, widths=[4, 6, 8], weight_regulation=False)
              for _ in range(2)]
    stats = sign_balance_stats(models)
    from qsnn.nn import binary_layers

    layers = binary_layers(models[0])
    assert len(stats) == len(layers)
    for l, s in enumerate(stats):
        n = layers[l].weight.shape[0]
        assert s["fractions"].shape == (2 * n,) and s["drift"].shape == (2 * n,)
        w = layers[l].weight.detach().flatten(1)  # the plain definition, first model
        assert np.allclose(s["fractions"][:n], (w >= 0).float().mean(1).numpy())
        assert np.allclose(s["drift"][:n], (w.mean(1) / w.std(1, unbiased=False)).numpy())
    with pytest.raises(ValueError, match="at least one model"):
        sign_balance_stats([])


def test_balance_summary():
    s = balance_summary([0.5, 0.25, 0.75])
    assert (s["mean"], s["min"], s["max"]) == (0.5, 0.25, 0.75)
    h = -(0.25 * math.log2(0.25) + 0.75 * math.log2(0.75))
    assert s["mean_entropy"] == pytest.approx((1 + 2 * h) / 3)


def test_model_size_table_reproduces_the_papers_vgg11_sizes():
    from qsnn.analysis import model_size_table

    sizes, models, text = model_size_table([("VGG-11, CIFAR-10", "vgg11", 10, (3, 32, 32))])
    s = sizes["VGG-11, CIFAR-10"]
    assert round(s["fp32_mb"], 2) == 36.91 and round(s["qsnn_mb"], 2) == 1.20  # Q-SNNs paper, Table 1
    assert s["ratio"] == pytest.approx(s["fp32_mb"] / s["qsnn_mb"])
    assert s["reduction"] == pytest.approx(1 - s["qsnn_mb"] / s["fp32_mb"])
    assert models["VGG-11, CIFAR-10"][1] == (3, 32, 32)
    header, row = text.split("\n")
    assert header.split() == ["architecture", "FP32", "[MB]", "Q-SNN", "[MB]", "ratio", "reduction"]
    assert row.split()[-4:] == ["36.91", "1.20", f"{s['ratio']:.1f}x", f"{100 * s['reduction']:.1f}%"]


def test_membrane_memory_table_counts_one_value_per_lif_neuron():
    from qsnn.analysis import membrane_memory_table
    from qsnn.models import build

    model = build("small", weight_bits=1, membrane_bits=2, num_classes=10, in_channels=1, input_size=(8, 8))
    memory, text = membrane_memory_table({"small": (model, (1, 8, 8))}, [32, 2])
    # by hand: 8 channels x 8x8, 16 x 8x8, then pooled to 4x4: 32 x 4x4 -> 512 + 1024 + 512 neurons
    neurons = 8 * 64 + 16 * 64 + 32 * 16
    assert memory["small"]["lif_neurons"] == neurons == 2048
    assert memory["small"]["32bit_kb"] == pytest.approx(neurons * 4 / 1e3)
    assert memory["small"]["2bit_kb"] == pytest.approx(neurons * 2 / 8 / 1e3)
    assert text.split("\n")[1].split() == ["small", "2,048", "8.2", "0.5"]


def _sweep(mod, zero):
    from qsnn.sweeps import ErrorSweep

    return ErrorSweep(n_spikes=np.array([5, 10, 20]), errors={"mod": np.array(mod), "subtract": np.array(mod), "zero": np.array(zero)},
                      threshold=1.0, alpha=1.0, amplitude=1.0, gap=(0.2, 1.0), n_runs=2, seed=0)


SWEEP = _sweep([[0.2, 0.4], [0.5, 0.7], [0.5, 0.9]], [[0.2, 1.4], [1.5, 0.7], [1.2, 2.0]])


def test_sweep_table_rows_by_hand():
    from qsnn.analysis import sweep_table

    header, mod, zero = sweep_table({(1.0, 0.1): SWEEP}, ("mod", "zero")).split("\n")
    assert ">theta @n=5" in header and ">theta @n=20" in header
    # largest count: mod errors 0.5, 0.9 -> mean 0.7, std sqrt(0.08) = 0.283, max 0.9, 1 - max 0.1
    assert mod.split() == ["1", "0.1", "mod", "|", "0.00", "0.00", "|", "0.700", "+-", "0.283", "0.900", "1.0e-01"]
    # zero: above theta in 1 of 2 runs at n = 5, both at n = 20; errors 1.2, 2.0 -> mean 1.6, std 0.566
    assert zero.split() == ["1", "0.1", "zero", "|", "0.50", "1.00", "|", "1.600", "+-", "0.566", "2.000", "-1.0e+00"]


def test_concentration_table_reads_the_quantile_levels():
    from qsnn.analysis import concentration_table
    from qsnn.sweeps import concentration

    c = concentration(SWEEP["mod"])
    lines = concentration_table(c, SWEEP.n_spikes).split("\n")
    assert len(lines) == 4
    # n = 20: median of 0.5, 0.9 is 0.7 -> 1 - median 0.3; 1 - max 0.1
    row = lines[3].split()
    assert row[0] == "20" and float(row[3]) == pytest.approx(0.3) and float(row[5]) == pytest.approx(0.1)


def test_sweep_headline_and_seeds_table():
    from qsnn.analysis import seeds_table, sweep_headline

    h = sweep_headline(SWEEP, np.array([False, True, True]))
    assert h["zero_half"] == 5 and h["subtract_half"] is None  # half of the runs above theta from n = 5 on
    assert h["mod_gap"] == pytest.approx(0.1)
    # 1 - median: 0.4 at n = 10, 0.3 at n = 20 -> slope log(0.3 / 0.4) / log 2
    assert h["slope"] == pytest.approx(math.log(0.75) / math.log(2))
    text = seeds_table({(1.0, 0.1): {"zero_half": (5.0, 0.0), "subtract_half": (None, None),
                                     "mod_gap": (0.1, 0.01), "slope": (-0.4, 0.05)}})
    assert text.split("\n")[1].split() == ["1", "0.1", "|", "5", "+-", "0", "never", "|", "1.0e-01", "+-",
                                           "1.0e-02", "-0.40", "+-", "0.05"]
