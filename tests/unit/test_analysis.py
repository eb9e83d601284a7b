"""Tests of qsnn.book.analysis: mean +- std (one rule for non-finite values), the variants table, per-layer rates
and their entropy, sign-balance statistics."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from qsnn.book.analysis import (ablation_effects, balance_summary, effects_text, layer_rates, paper_table, rates_table,
                                sign_balance_stats, variants_table)
from qsnn.stats import mean_std


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
    h = lambda p: -(p * math.log2(p) + (1 - p) * math.log2(1 - p))  # noqa: E731
    assert s["entropy_std"] == pytest.approx([0.0, abs(h(0.1) - h(0.3)) / math.sqrt(2)])  # per-seed H, ddof = 1
    assert s["entropy_mean"] == pytest.approx([1.0, (h(0.1) + h(0.3)) / 2])  # below H at the mean rate (concave)
    assert s["entropy_mean"][1] < s["entropy"][1]
    edge = layer_rates([[0.0, 1.0], [0.0, 1.0]])  # silent and saturated layers carry no information, no nan
    assert edge["entropy_mean"] == [0.0, 0.0] and edge["entropy_std"] == [0.0, 0.0]
    assert layer_rates([[0.25, 0.75]])["std"] == [0.0, 0.0] and layer_rates([[0.25, 0.75]])["entropy_std"] == [0, 0]
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


def test_seed_sign_balance_keeps_the_seeds_apart():
    from qsnn.book.analysis import seed_sign_balance
    from qsnn.models import build
    from qsnn.nn import binary_entropy, binary_layers

    torch.manual_seed(0)
    nets = [build("small", num_classes=10, in_channels=1, widths=[4, 6, 8], weight_regulation=False)
            for _ in range(2)]
    first = binary_layers(nets[1])[0].weight
    with torch.no_grad():  # seed 1: the first binary layer's weights all positive, every sign +1 (entropy 0)
        first.copy_(torch.linspace(0.5, 1.5, first.numel()).reshape(first.shape))
    entropy, drift = seed_sign_balance({"qsnn": nets})
    n_layers = len(binary_layers(nets[0]))
    assert np.asarray(entropy["qsnn"]).shape == (2, n_layers) and len(drift["qsnn"]) == n_layers
    assert entropy["qsnn"][1][0] == 0.0
    for seed, net in enumerate(nets):  # the plain definitions, layer by layer
        for k, layer in enumerate(binary_layers(net)):
            w = layer.weight.detach().flatten(1)
            assert entropy["qsnn"][seed][k] == pytest.approx(float(binary_entropy((w >= 0).float().mean(1)).mean()))
    drifts = [[float((w.mean(1) / w.std(1, unbiased=False)).abs().mean())
               for w in (layer.weight.detach().flatten(1) for layer in binary_layers(net))] for net in nets]
    assert drift["qsnn"] == pytest.approx(np.mean(drifts, axis=0).tolist(), rel=1e-5)
    with pytest.raises(ValueError, match="no networks"):
        seed_sign_balance({"qsnn": []})


def test_balance_summary():
    s = balance_summary([0.5, 0.25, 0.75])
    assert (s["mean"], s["min"], s["max"]) == (0.5, 0.25, 0.75)
    h = -(0.25 * math.log2(0.25) + 0.75 * math.log2(0.75))
    assert s["mean_entropy"] == pytest.approx((1 + 2 * h) / 3)


def test_model_size_table_reproduces_the_papers_vgg11_sizes():
    from qsnn.book.analysis import model_size_table

    sizes, models, text = model_size_table([("VGG-11, CIFAR-10", "vgg11", 10, (3, 32, 32))])
    s = sizes["VGG-11, CIFAR-10"]
    assert round(s["fp32_mb"], 2) == 36.91 and round(s["qsnn_mb"], 2) == 1.20  # the VGG-11 size of Q-SNN as tabulated by BSO (Liang et al. 2025)
    assert s["ratio"] == pytest.approx(s["fp32_mb"] / s["qsnn_mb"])
    assert s["reduction"] == pytest.approx(1 - s["qsnn_mb"] / s["fp32_mb"])
    assert models["VGG-11, CIFAR-10"][1] == (3, 32, 32)
    header, row = text.split("\n")
    assert header.split() == ["architecture", "FP32", "[MB]", "Q-SNN", "[MB]", "ratio", "reduction"]
    assert row.split()[-4:] == ["36.91", "1.20", f"{s['ratio']:.1f}x", f"{100 * s['reduction']:.1f}%"]


def test_membrane_memory_table_counts_one_value_per_lif_neuron():
    from qsnn.book.analysis import membrane_memory_table
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
    from qsnn.spiketrains.sweeps import ErrorSweep

    return ErrorSweep(n_spikes=np.array([5, 10, 20]), errors={"mod": np.array(mod), "subtract": np.array(mod), "zero": np.array(zero)},
                      threshold=1.0, alpha=1.0, amplitude=1.0, gap=(0.2, 1.0), n_runs=2, seed=0)


SWEEP = _sweep([[0.2, 0.4], [0.5, 0.7], [0.5, 0.9]], [[0.2, 1.4], [1.5, 0.7], [1.2, 2.0]])


def test_sweep_table_rows_by_hand():
    from qsnn.book.analysis import sweep_table

    header, mod, zero = sweep_table({(1.0, 0.1): SWEEP}, ("mod", "zero")).split("\n")
    assert ">theta @n=5" in header and ">theta @n=20" in header
    # largest count: mod errors 0.5, 0.9 -> mean 0.7, std sqrt(0.08) = 0.283, max 0.9, 1 - max 0.1
    assert mod.split() == ["1", "0.1", "mod", "|", "0.00", "0.00", "|", "0.700", "+-", "0.283", "0.900", "1.0e-01"]
    # zero: above theta in 1 of 2 runs at n = 5, both at n = 20; errors 1.2, 2.0 -> mean 1.6, std 0.566
    assert zero.split() == ["1", "0.1", "zero", "|", "0.50", "1.00", "|", "1.600", "+-", "0.566", "2.000", "-1.0e+00"]


def test_concentration_table_reads_the_quantile_levels():
    from qsnn.book.analysis import concentration_table
    from qsnn.spiketrains.sweeps import concentration

    c = concentration(SWEEP["mod"])
    lines = concentration_table(c, SWEEP.n_spikes).split("\n")
    assert len(lines) == 4
    # n = 20: median of 0.5, 0.9 is 0.7 -> 1 - median 0.3; 1 - max 0.1
    row = lines[3].split()
    assert row[0] == "20" and float(row[3]) == pytest.approx(0.3) and float(row[5]) == pytest.approx(0.1)


def test_sweep_headline_and_seeds_table():
    from qsnn.book.analysis import seeds_table, sweep_headline

    h = sweep_headline(SWEEP, np.array([False, True, True]))
    assert h["zero_half"] == 5 and h["subtract_half"] is None  # half of the runs above theta from n = 5 on
    assert h["mod_gap"] == pytest.approx(0.1)
    # 1 - median: 0.4 at n = 10, 0.3 at n = 20 -> slope log(0.3 / 0.4) / log 2
    assert h["slope"] == pytest.approx(math.log(0.75) / math.log(2))
    text = seeds_table({(1.0, 0.1): {"zero_half": (5.0, 0.0), "subtract_half": (None, None),
                                     "mod_gap": (0.1, 0.01), "slope": (-0.4, 0.05)}})
    assert text.split("\n")[1].split() == ["1", "0.1", "|", "5", "+-", "0", "never", "|", "1.0e-01", "+-",
                                           "1.0e-02", "-0.40", "+-", "0.05"]


def test_lambda_table_distance_of_the_middle_layers_to_one_half():
    from qsnn.book.analysis import lambda_table

    table, text = lambda_table({0.0: {"test_acc": 0.9, "test_rates": [0.3, 0.1, 0.2, 0.05]},
                                0.01: {"test_acc": 0.85, "test_rates": [0.3, 0.4, 0.5, 0.05]}})
    # middle layers only: |0.1 - 0.5| and |0.2 - 0.5| -> 0.35; |0.4 - 0.5| and 0 -> 0.05
    assert table[0.0]["distance_to_half"] == pytest.approx(0.35)
    assert table[0.01]["distance_to_half"] == pytest.approx(0.05)
    assert text.split("\n")[1].split() == ["0", "90.00%", "0.300", "0.100", "0.200", "0.050", "0.350"]


def test_standardization_balance_centres_every_filter():
    from qsnn.book.analysis import standardization_balance
    from qsnn.models import build

    torch.manual_seed(0)
    model = build("small", weight_bits=1, membrane_bits=4, num_classes=10, in_channels=1, input_size=(8, 8))
    with torch.no_grad():  # a drift that raw signs see and standardization removes
        for p in model.parameters():
            if p.dim() == 4:
                p.add_(0.5 * p.abs().mean())
    rows, text = standardization_balance(model)
    assert len(rows) == len(text.split("\n")) >= 1
    for name, raw, standardized in rows:
        assert name.startswith("binary layer")
        assert float((standardized - 0.5).abs().max()) <= float((raw - 0.5).abs().max())


def test_standardization_values_by_hand():
    from qsnn.book.analysis import standardization_values

    def h(p):
        return -(p * math.log2(p) + (1 - p) * math.log2(1 - p))

    rows = [("a", torch.tensor([0.25, 0.75]), torch.tensor([0.5, 0.5])),
            ("b", torch.tensor([0.1, 0.3]), torch.tensor([0.4, 0.6])),
            ("c", torch.tensor([0.4, 0.5]), torch.tensor([0.5, 0.5]))]
    v = standardization_values(rows)
    assert v["raw_below_half"] == 2 and v["raw_worst_layer"] == 2  # layer b: the lowest raw sign entropy
    assert v["raw_worst_plus"] == pytest.approx(20.0) and v["raw_worst_min"] == pytest.approx(0.1)
    assert v["raw_worst_h"] == pytest.approx((h(0.1) + h(0.3)) / 2)
    assert v["raw_others_h_min"] == pytest.approx(h(0.25)) and v["raw_others_h_max"] == pytest.approx((h(0.4) + 1) / 2)
    assert v["std_h_min"] == pytest.approx(h(0.4))
    with pytest.raises(ValueError, match="two or more"):
        standardization_values(rows[:1])


def test_ede_schedules_and_the_gradients_area():
    from qsnn.book.analysis import ede_gradient_area, ede_schedules
    from qsnn.nn import ede_k, ede_t
    from qsnn.train import ede_progress

    sch = ede_schedules([4, 6])
    assert list(sch) == [4, 6] and list(sch[4]) == ["log_up", "endpoints"]
    assert sch[6]["endpoints"].tolist() == [ede_t(ede_progress(e, 6, "endpoints")) for e in range(6)]
    assert sch[4]["log_up"][0] == pytest.approx(0.1) and sch[4]["endpoints"][-1] == pytest.approx(10.0)
    for p in (0.0, 1.0):  # the derivative of k tanh(t x) integrates to 2k
        assert ede_gradient_area(p) == pytest.approx(2 * ede_k(ede_t(p)), abs=1e-6)


def test_rejection_message_returns_the_error_or_fails():
    from qsnn.book.analysis import rejection_message

    def check(x):
        if x < 0:
            raise ValueError(f"x must be >= 0, got {x}")

    assert rejection_message(check, -1) == "x must be >= 0, got -1"
    with pytest.raises(AssertionError, match="accepted"):
        rejection_message(check, 1)


def test_stepwise_lif_by_hand():
    from qsnn.book.analysis import stepwise_lif

    h, u, s = stepwise_lif(torch.tensor([0.6, 0.6, 0.2]), decay=0.5, threshold=1.0, bits=None)
    # H = 0.6 (no spike, U = 0.6), H = 0.3 + 0.6 = 0.9 (no spike), H = 0.45 + 0.2 = 0.65
    assert torch.allclose(h, torch.tensor([0.6, 0.9, 0.65])) and torch.equal(s, torch.zeros(3))
    h, u, s = stepwise_lif(torch.tensor([1.5, 0.4]), decay=0.5, threshold=1.0, bits=2)
    # spike at t = 0 and reset to zero; then H = 0.4, stored at 2 bits (levels -1, 0, 1) as 0
    assert s.tolist() == [1.0, 0.0] and u.tolist() == [0.0, 0.0]


def test_config_table_sizes_the_papers_vgg11():
    from qsnn.book.analysis import config_table
    from qsnn.train import TrainConfig

    cfg = TrainConfig(model="vgg11", dataset="cifar10", model_kwargs=dict(weight_bits=1, membrane_bits=2))
    summary, text = config_table({"vgg11_cifar10": cfg})
    assert round(summary["vgg11_cifar10"]["size_mb"], 2) == 1.20  # the VGG-11 size of Q-SNN as tabulated by BSO (Liang et al. 2025)
    assert text.split("\n")[1].split()[:3] == ["vgg11_cifar10.yaml", "vgg11", "cifar10"]
    assert text.split("\n")[1].split()[-1] == "1.20"


def test_sweep_and_concentration_results_by_hand():
    from qsnn.book.analysis import concentration_results, sweep_results
    from qsnn.spiketrains.sweeps import concentration

    r = sweep_results({(1.0, 0.1): SWEEP})
    tag = "range_1_alpha_0.1"
    assert r["fraction_above_theta_at_largest_n"][tag] == {"mod": 0.0, "subtract": 0.0, "zero": 1.0}
    assert r["fraction_above_theta_at_smallest_n"][tag]["zero"] == 0.5
    assert r["max_error_over_theta"][tag] == {"mod": 0.9, "subtract": 0.9, "zero": 2.0}
    assert r["mod_max_error_over_theta"] == 0.9
    c = concentration(SWEEP["mod"])
    out = concentration_results({(1.0, 0.1): c}, {(1.0, 0.1): -0.4}, {(1.0, 0.1): {"mod_gap": (0.1, 0.0)}})
    assert np.allclose(out["mod_concentration"][tag]["median"], [0.3, 0.6, 0.7])
    assert out["mod_concentration"][tag]["slope_log_1_minus_median"] == -0.4
    assert out["over_seeds"][tag] == {"mod_gap": {"mean": 0.1, "std": 0.0}}


ARMS = {"fp_snn": {0: 0.90, 1: 0.92, 2: 0.91}, "qsnn": {0: 0.80, 1: 0.84, 2: 0.82},
        "qsnn_wr": {0: 0.83, 1: 0.85, 2: 0.86}, "qsnn_sr": {0: 0.81, 1: 0.84, 2: 0.80},
        "qsnn_wsdr": {0: 0.86, 1: 0.88, 2: 0.85}}


def test_ablation_effects_by_hand():
    """Each effect is the per-seed difference it names; the interaction is a difference of differences; the
    interval is the t interval of the per-seed values (t_0.975 with 2 degrees of freedom = 4.302653)."""
    e = ablation_effects(ARMS)
    assert list(e) == ["weight regulation", "spike regulation", "interaction", "WS-DR vs plain Q-SNN",
                       "WS-DR vs full precision"]
    np.testing.assert_allclose(list(e["weight regulation"]["per_seed"].values()), [0.03, 0.01, 0.04], atol=1e-12)
    np.testing.assert_allclose(list(e["spike regulation"]["per_seed"].values()), [0.01, 0.0, -0.02], atol=1e-12)
    # (wsdr - sr) - (wr - qsnn): (0.05 - 0.03), (0.04 - 0.01), (0.05 - 0.04)
    np.testing.assert_allclose(list(e["interaction"]["per_seed"].values()), [0.02, 0.03, 0.01], atol=1e-12)
    d = e["WS-DR vs plain Q-SNN"]
    diffs = np.array([0.06, 0.04, 0.03])
    half = 4.302653 * diffs.std(ddof=1) / math.sqrt(3)
    assert d["mean"] == pytest.approx(diffs.mean()) and d["n"] == 3
    assert d["ci"] == pytest.approx([diffs.mean() - half, diffs.mean() + half], abs=1e-6)
    assert e["WS-DR vs full precision"]["mean"] == pytest.approx(-0.04666666666666667)
    assert e["interaction"]["formed"] == "(qsnn_wsdr - qsnn_sr) - (qsnn_wr - qsnn)"
    text = effects_text(e)
    assert "interaction" in text and "+2.00" in text and "t interval over 3 seeds" in text


def test_ablation_effects_need_all_arms_on_the_same_seeds():
    with pytest.raises(ValueError, match="missing qsnn_sr"):
        ablation_effects({k: v for k, v in ARMS.items() if k != "qsnn_sr"})
    with pytest.raises(ValueError, match="share their seeds"):
        ablation_effects(dict(ARMS, qsnn_wr={0: 0.8, 1: 0.8}))


def test_paper_table_rows():
    rows = [dict(method="FP", weight_bits=32, membrane_bits=None, time_steps=4, size_mb=0.5,
                 accuracy={"mean": 0.9, "std": 0.01}, reference_mb=0.5),
            dict(method="Q", weight_bits=1, membrane_bits=4, time_steps=4, size_mb=0.02, accuracy=93.2,
                 reference_mb=0.5)]
    lines = paper_table(rows).splitlines()
    assert len(lines) == 3 and lines[0].split()[:3] == ["method", "W", "bits"]
    assert lines[1].split() == ["FP", "32", "32", "4", "500.00", "90.00", "+-", "1.00", "0.0%"]
    assert lines[2].split() == ["Q", "1", "4", "4", "20.00", "93.20", "96.0%"]
    untrained = dict(rows[1], method="U", accuracy=None)
    assert paper_table([untrained]).splitlines()[1].split() == ["U", "1", "4", "4", "20.00", "no", "run", "96.0%"]
