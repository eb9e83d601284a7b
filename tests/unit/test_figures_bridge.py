"""Tests of chapter 8's figures (qsnn.book.figures.bridge): what each panel draws."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from qsnn.book.figures import bridge as figs  # noqa: E402
from qsnn.bridge import run_both  # noqa: E402


def test_side_by_side_figure_draws_currents_and_both_outputs():
    side = run_both(np.array([[0.4], [1.3], [2.6]]), 0.5, 1.0, "mod")
    fig = figs.side_by_side_figure(side)
    ax, = fig.axes
    assert [p.get_height() for p in ax.patches] == [0.4, 1.3, 2.6]
    layer, part1 = ax.lines[0], ax.lines[1]
    assert np.array_equal(layer.get_ydata(), side.layer[:, 0]) and np.array_equal(part1.get_ydata(), side.part1[:, 0])
    plt.close(fig)


def test_bound_figure_one_line_and_one_marker_set_per_decay():
    fig = figs.bound_figure({0.5: {2: 1.5, 4: 1.07}, 0.9: {2: 5.5, 4: 1.64}}, {0.5: {2: 1.49, 4: 1.06}, 0.9: {2: 5.4, 4: 1.6}})
    ax, = fig.axes
    assert np.allclose(ax.lines[0].get_ydata(), [1.5, 1.07]) and np.allclose(ax.lines[1].get_ydata(), [1.49, 1.06])
    assert np.allclose(ax.lines[3].get_ydata(), [5.4, 1.6])
    plt.close(fig)


def test_error_distributions_figure_a_box_per_layer_and_reset():
    rng = np.random.default_rng(0)
    errors = {f"l{i}": {r: rng.random(50) for r in ("zero", "subtract", "mod")} for i in range(3)}
    fig = figs.error_distributions_figure(errors, bound=1.07)
    ax, = fig.axes
    assert len(ax.patches) == 3 * 3
    assert [t.get_text() for t in ax.get_xticklabels()] == ["LIF 1", "LIF 2", "LIF 3"]
    assert any(len(ln.get_ydata()) == 2 and np.allclose(ln.get_ydata(), [1.07, 1.07]) for ln in ax.lines)
    plt.close(fig)
