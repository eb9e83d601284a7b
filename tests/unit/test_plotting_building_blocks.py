"""Tests of the chapter-4 figures (qsnn.book.figures.building_blocks): panels and curves drawn."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import qsnn.nn as qnn  # noqa: E402
from qsnn.book.figures import building_blocks as figs  # noqa: E402


def test_block_diagram_draws_a_box_per_block_and_arrows_between():
    fig = figs.block_diagram([("a", "x", None), ("b", "y", "qsnn"), ("c", "z", None)])
    ax, = fig.axes
    assert len(ax.patches) == 3 and len(ax.texts) == 3 * 2 + 2  # label and detail per box, two arrows
    plt.close(fig)


def test_the_layer_workflow_has_the_five_parts_of_a_q_snn_layer():
    assert [b[0] for b in figs.LAYER_WORKFLOW] == ["input spikes", "binary conv", "BatchNorm", "LIF", "output spikes"]
    fig = figs.block_diagram(figs.LAYER_WORKFLOW)
    assert len(fig.axes[0].patches) == 5
    plt.close(fig)


def test_entropy_deficit_figure_has_one_curve_left_two_right():
    p = np.linspace(0, 1, 11)
    fig = figs.entropy_deficit_figure(p, qnn.binary_entropy(p), p, p)
    assert [len(ax.lines) for ax in fig.axes] == [1, 2]
    plt.close(fig)


def test_sign_balance_figure_draws_every_filter_twice_per_panel():
    rows = [("l1", torch.tensor([0.2, 0.4, 0.9]), torch.tensor([0.5, 0.5, 0.5]))]
    fig = figs.sign_balance_figure(rows, seed=0)
    for ax in fig.axes:
        assert [len(c.get_offsets()) for c in ax.collections] == [3, 3]
    assert np.allclose(fig.axes[0].collections[0].get_offsets()[:, 1], [0.2, 0.4, 0.9])
    plt.close(fig)


def test_membrane_quantizer_figure_has_a_panel_per_precision():
    fig = figs.membrane_quantizer_figure(torch.linspace(-2, 2, 101), [2, 4], 1.0)
    assert len(fig.axes) == 2 and all(len(ax.lines) == 3 for ax in fig.axes)
    assert "n = 1 levels" in fig.axes[0].get_title()  # 2 bits: levels -1, 0, 1
    plt.close(fig)


def test_lif_traces_figure_has_a_panel_per_precision():
    h = torch.tensor([0.5, 1.2, 0.3])
    traces = {None: (h, h * torch.tensor([1, 0, 1]), torch.tensor([0.0, 1.0, 0.0])), 2: (h, h, torch.zeros(3))}
    fig = figs.lif_traces_figure(traces, 1.0)
    assert len(fig.axes) == 2
    assert [len(ax.collections[0].get_segments()) for ax in fig.axes] == [1, 0]  # spikes drawn
    plt.close(fig)


def test_ede_schedule_figure_draws_the_schedule_and_a_gradient_per_progress_point():
    t = np.array([qnn.ede_t(p) for p in np.linspace(0, 1, 5)])
    fig = figs.ede_schedule_figure(t, np.maximum(1 / t, 1), progress_shown=(0.0, 1.0))
    assert [len(ax.lines) for ax in fig.axes] == [2, 3]  # t, k; two gradients and the STE
    plt.close(fig)
