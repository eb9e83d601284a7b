"""Tests of the shared Part II figure helpers: ablation bars with per-seed dots, mean curves, layer rates."""

import matplotlib
import matplotlib.collections

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from qsnn.book.plotting import VARIANT_COLORS, ablation_bars, layer_rates_bars, mean_curves  # noqa: E402

ACC = {"fp_snn": {"mean": 0.99, "std": 0.01, "per_seed": [0.98, 0.99, 1.0]},
       "qsnn": {"mean": 0.9, "std": 0.02, "per_seed": [0.88, 0.9, 0.92]}}
LABELS = {"fp_snn": "FP", "qsnn": "Q"}


def test_ablation_bars_draw_one_bar_per_variant_and_a_dot_per_seed():
    fig, ax = plt.subplots()
    ablation_bars(ax, ACC, LABELS)
    heights = [p.get_height() for p in ax.patches]
    assert heights == pytest.approx([99.0, 90.0])
    dots = [c.get_offsets() for c in ax.collections if isinstance(c, matplotlib.collections.PathCollection)]
    assert [len(d) for d in dots] == [3, 3]
    assert np.allclose(dots[1][:, 1], [88, 90, 92])
    assert ax.get_ylim()[0] == pytest.approx(85.0)  # 3 points below the lowest run
    assert [t.get_text() for t in ax.get_xticklabels()] == ["FP", "Q"]
    assert matplotlib.colors.to_hex(ax.patches[0].get_facecolor()) == VARIANT_COLORS["fp_snn"]
    plt.close(fig)
    with pytest.raises(ValueError):
        ablation_bars(ax, {}, {})


def test_mean_curves_average_over_seeds():
    fig, ax = plt.subplots()
    histories = {"qsnn": [[{"a": 0.5}, {"a": 0.7}], [{"a": 0.7}, {"a": 0.9}]]}
    mean_curves(ax, histories, "a", LABELS)
    (line,) = ax.lines
    assert list(line.get_xdata()) == [1, 2] and np.allclose(line.get_ydata(), [60, 80])
    plt.close(fig)


def test_layer_rates_bars_mark_the_regulated_layers():
    fig, ax = plt.subplots()
    rates = {"fp_snn": [[0.2, 0.3, 0.4], [0.2, 0.5, 0.4]], "qsnn": [[0.1, 0.1, 0.1]]}
    layer_rates_bars(ax, rates, LABELS)
    assert [p.get_height() for p in ax.patches] == pytest.approx([0.2, 0.4, 0.4, 0.1, 0.1, 0.1])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["layer 1", "layer 2\n(regulated)", "layer 3"]
    ax.clear()
    layer_rates_bars(ax, {"qsnn": [[0.5, 0.5, 0.5]]}, LABELS, values="entropy")
    assert [p.get_height() for p in ax.patches] == pytest.approx([1.0, 1.0, 1.0])
    plt.close(fig)
    with pytest.raises(ValueError, match="rate"):
        layer_rates_bars(ax, rates, LABELS, values="x")
