"""Tests of the figures of chapters 5 to 7 (qsnn.book.figures.training): panels, bars and points drawn."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from qsnn.book.figures import training as figs  # noqa: E402

LABELS = {"fp_snn": "FP", "qsnn": "Q", "qsnn_wsdr": "Q+W"}


def test_sign_balance_hists_pool_the_filters_of_every_layer():
    stats = {"qsnn": [{"fractions": np.array([0.5, 0.6]), "drift": np.array([0.1, -0.1])},
                      {"fractions": np.array([0.4]), "drift": np.array([0.0])}]}
    fig = figs.sign_balance_hists(stats, LABELS)
    assert len(fig.axes) == 2
    assert sum(p.get_height() for p in fig.axes[0].patches) == 3  # three filters in all
    plt.close(fig)


def test_membrane_sweep_figure_plots_the_means_in_percent():
    fig = figs.membrane_sweep_figure({32: {"mean": 0.9, "std": 0.01}, 4: {"mean": 0.8, "std": 0.02}})
    ax, = fig.axes
    assert np.allclose(ax.lines[0].get_ydata(), [90.0, 80.0])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["FP32", "4 bit"]
    plt.close(fig)


def test_size_accuracy_figure_draws_reported_and_measured_points():
    reported = {"A": {"fp_snn": (36.9, 93.2), "qsnn": (1.2, 93.0)}}
    accuracy = {"fp_snn": {"mean": 0.95, "std": 0.01}, "qsnn": {"mean": 0.9, "std": 0.02}}
    fig = figs.size_accuracy_figure(reported, {"fp_snn": 0.03, "qsnn": 0.004}, accuracy, LABELS)
    left, right = fig.axes
    assert len(left.collections) == 2 and len(left.lines) == 1
    points = [c.lines[0].get_xydata()[0].tolist() for c in right.containers]  # one error bar per variant, in kB
    assert points == [pytest.approx([30.0, 95.0]), pytest.approx([4.0, 90.0])]
    plt.close(fig)


def test_events_figure_has_the_scatter_and_one_panel_per_frame():
    scatter = {"x": np.array([0, 1]), "y": np.array([0, 1]), "t_ms": np.array([1.0, 2.0]), "on": np.array([True, False])}
    fig = figs.events_figure(scatter, np.ones((4, 2, 3, 3)), 100_000)
    assert len(fig.axes) == 1 + 4
    assert [ax.get_title() for ax in fig.axes[1:]] == ["0-25 ms", "25-50 ms", "50-75 ms", "75-100 ms"]
    plt.close(fig)


def test_rates_entropy_figure_has_a_bar_per_variant_and_layer_in_each_panel():
    rates = {"fp_snn": np.array([[0.1, 0.2, 0.3], [0.1, 0.2, 0.3]]), "qsnn": np.array([[0.5, 0.4, 0.2]] * 2)}
    fig = figs.rates_entropy_figure(rates, LABELS)
    assert len(fig.axes) == 2 and all(len(ax.patches) == 2 * 3 for ax in fig.axes)
    assert fig.axes[1].patches[3].get_height() == pytest.approx(1.0)  # H(1/2) = 1 bit
    plt.close(fig)
    from qsnn.book.analysis import layer_rates

    spread = {"qsnn": np.array([[0.1, 0.2, 0.4], [0.3, 0.25, 0.4]])}  # seeds differ in two layers
    fig = figs.rates_entropy_figure(spread, LABELS)
    s = layer_rates(spread["qsnn"])
    for ax, mid, sd in zip(fig.axes, ("mean", "entropy_mean"), ("std", "entropy_std")):
        (whiskers,) = ax.collections
        assert [seg[1][1] - seg[0][1] for seg in whiskers.get_segments()] == pytest.approx([2 * x for x in s[sd]])
        assert [p.get_height() for p in ax.patches] == pytest.approx(s[mid])
    plt.close(fig)


def test_effects_figure_draws_bars_intervals_and_seeds():
    from qsnn.book.analysis import ablation_effects

    arms = {"fp_snn": {0: 0.9, 1: 0.92}, "qsnn": {0: 0.8, 1: 0.84}, "qsnn_wr": {0: 0.83, 1: 0.85},
            "qsnn_sr": {0: 0.81, 1: 0.84}, "qsnn_wsdr": {0: 0.86, 1: 0.88}}
    accuracy = {n: {"mean": float(np.mean(list(v.values()))), "std": 0.01, "per_seed": list(v.values())}
                for n, v in arms.items()}
    labels = {n: n for n in arms}
    effects = ablation_effects(arms)
    fig = figs.effects_figure(accuracy, effects, labels)
    bars, forest = fig.axes
    assert len(bars.patches) == 5
    # one interval line per effect (plus the zero line); the first from the bottom is the last effect
    intervals = [ln for ln in forest.lines if len(ln.get_xdata()) == 2 and ln.get_ydata()[0] == ln.get_ydata()[1]]
    assert len(intervals) == 5
    last = effects["WS-DR vs full precision"]["ci"]
    assert np.allclose(intervals[0].get_xdata(), [100 * last[0], 100 * last[1]])
    assert [t.get_text() for t in forest.get_yticklabels()][-1] == "weight regulation"
    plt.close(fig)


def test_membrane_quantizers_figure_one_line_per_quantizer_in_bit_order():
    fig = figs.membrane_quantizers_figure({"uniform": {32: 0.9, 8: 0.89, 2: 0.7}, "tanh": {32: 0.9, 8: 0.88, 4: 0.85}})
    ax, = fig.axes
    assert [t.get_text() for t in ax.get_xticklabels()] == ["FP32", "8 bit", "4 bit", "2 bit"]
    assert np.allclose(ax.lines[0].get_xdata(), [0, 1, 3]) and np.allclose(ax.lines[0].get_ydata(), [90, 89, 70])
    assert np.allclose(ax.lines[1].get_xdata(), [0, 1, 2])
    plt.close(fig)


def test_sign_entropy_figure_means_over_seeds_per_layer():
    fig = figs.sign_entropy_figure({"qsnn": [[0.9, 1.0], [0.95, 1.0]], "qsnn_wsdr": [[1.0, 1.0], [1.0, 0.99]]},
                                   {"qsnn": "Q", "qsnn_wsdr": "W"})
    ax, = fig.axes
    heights = [p.get_height() for p in ax.patches]
    assert np.allclose(heights, [0.925, 1.0, 1.0, 0.995])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["binary 1", "binary 2"]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["Q", "W"] and ax.get_legend() is None
    plt.close(fig)


def test_lambda_sweep_figure_orders_the_weights_and_draws_each_regulated_layer():
    table = {0.5: {"test_acc": 0.8, "rates": [0.1, 0.4, 0.45, 0.2], "distance_to_half": 0.075},
             0.0: {"test_acc": 0.9, "rates": [0.1, 0.2, 0.3, 0.2], "distance_to_half": 0.25}}
    fig = figs.lambda_sweep_figure(table)
    left, right = fig.axes
    assert np.allclose(left.lines[0].get_ydata(), [90.0, 80.0])  # sorted: lambda 0 first
    assert [t.get_text() for t in left.get_xticklabels()] == ["0", "0.5"]
    assert np.allclose(right.lines[0].get_ydata(), [0.2, 0.4]) and np.allclose(right.lines[1].get_ydata(), [0.3, 0.45])
    assert np.allclose(right.lines[2].get_ydata(), [0.25, 0.425])
    plt.close(fig)


def test_the_sweep_figures_draw_the_mean_over_seeds_and_a_dot_per_seed():
    """The multi-seed rows of qsnn.book.progress: the line through the means, each seed's accuracy a dot."""
    acc = lambda *v: {"mean": float(np.mean(v)), "std": 0.0, "n": len(v), "per_seed": list(v)}  # noqa: E731
    rows = {0.0: {"accuracy": acc(0.90, 0.92), "rates": [0.1, 0.2, 0.3, 0.2], "distance_to_half": 0.25},
            5.0: {"accuracy": acc(0.80), "rates": [0.1, 0.4, 0.45, 0.2], "distance_to_half": 0.075}}
    fig = figs.lambda_sweep_figure(rows)
    left = fig.axes[0]
    assert np.allclose(left.lines[0].get_ydata(), [91.0, 80.0])
    dots = sorted(tuple(np.round(o, 6)) for c in left.collections for o in c.get_offsets())
    assert dots == [(0.0, 90.0), (0.0, 92.0), (1.0, 80.0)]
    plt.close(fig)
    fig = figs.membrane_quantizers_figure({"uniform": {32: acc(0.93, 0.91), 4: acc(0.90, 0.92, 0.91)},
                                           "tanh": {32: acc(0.93, 0.91)}})
    ax, = fig.axes
    assert np.allclose(ax.lines[0].get_ydata(), [92.0, 91.0]) and np.allclose(ax.lines[1].get_ydata(), [92.0])
    assert sum(len(c.get_offsets()) for c in ax.collections) == 2 + 3 + 2
    plt.close(fig)
    # one column (one precision finished so far): its seeds' dots sit within a tenth of its width of the mean
    fig = figs.membrane_quantizers_figure({"uniform": {4: acc(0.90, 0.92, 0.91)}})
    ax, = fig.axes
    lo, hi = ax.get_xlim()
    assert all(abs(x) <= 0.1 * (hi - lo) for c in ax.collections for x, _ in c.get_offsets())
    plt.close(fig)


def test_ablation_figure_has_the_bars_and_the_mean_curves():
    accuracy = {"qsnn": {"mean": 0.9, "std": 0.01, "per_seed": [0.89, 0.91]},
                "qsnn_wsdr": {"mean": 0.95, "std": 0.02, "per_seed": [0.93, 0.97]}}
    histories = {"qsnn": [[{"test_acc": 0.5}, {"test_acc": 0.9}]] * 2,
                 "qsnn_wsdr": [[{"test_acc": 0.6}, {"test_acc": 1.0}], [{"test_acc": 0.4}, {"test_acc": 0.9}]]}
    labels = {"qsnn": "Q-SNN without WS-DR", "qsnn_wsdr": "Q-SNN + WS-DR"}
    fig = figs.ablation_figure(accuracy, histories, labels, "test_acc", title="t", curve_title="c", ylim=(40, 100.5))
    bars, curves = fig.axes
    assert [p.get_height() for p in bars.patches] == pytest.approx([90.0, 95.0])
    assert [t.get_text() for t in bars.get_xticklabels()] == ["Q-SNN\nwithout WS-DR", "Q-SNN\n+ WS-DR"]
    assert np.allclose(curves.lines[1].get_ydata(), [50.0, 95.0])  # mean over the seeds, in percent
    assert curves.get_ylabel() == "test accuracy [%]" and curves.get_title() == "c"
    plt.close(fig)


def test_layer_rates_figure_groups_the_layers():
    rates = {"qsnn": np.array([[0.2, 0.4, 0.3], [0.2, 0.2, 0.3]]), "qsnn_wsdr": np.array([[0.1, 0.5, 0.3]] * 2)}
    fig = figs.layer_rates_figure(rates, LABELS)
    ax, = fig.axes
    heights = [p.get_height() for p in ax.patches]
    assert heights == pytest.approx([0.2, 0.3, 0.3, 0.1, 0.5, 0.3])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["layer 1", "layer 2\n(regulated)", "layer 3"]
    plt.close(fig)


def test_regime_curves_figure_draws_the_pilot_and_a_line_per_seed_with_the_mean():
    def curve(acc):
        return {"epochs": list(range(1, len(acc) + 1)), "test_acc": acc}

    pilot = {"a4": {0: curve([0.80, 0.85, 0.88, 0.90])}, "a8": {0: curve([0.8, 0.82, 0.85, 0.87, 0.89, 0.9])}}
    main = {"qsnn": {0: curve([0.80, 0.90]), 1: curve([0.82, 0.94])}, "qsnn_wsdr": {3: curve([0.81, 0.91])}}
    labels = {**LABELS, "a4": "4 epochs", "a8": "8 epochs"}
    colors = {"a4": "k", "a8": "r", "qsnn": "b", "qsnn_wsdr": "g"}
    fig = figs.regime_curves_figure(pilot, main, labels, colors)
    left, right = fig.axes
    assert len(left.lines) == 2 and len(right.lines) == 2 + 1 + 1 + 1  # a thin line per seed, a mean per arm
    mean = [l for l in right.lines if l.get_label() == "Q (mean of 2)"][0]
    assert list(mean.get_ydata()) == pytest.approx([81.0, 92.0])
    plt.close(fig)
