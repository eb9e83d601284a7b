"""Test of the EDE schedule comparison figure of chapter 4 (qsnn.book.figures.building_blocks.ede_schedules_figure)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import qsnn.nn as qnn  # noqa: E402
from qsnn.book.figures import building_blocks as figs  # noqa: E402
from qsnn.train import ede_progress  # noqa: E402


def test_ede_schedules_figure_draws_one_panel_per_run_length_and_the_gradient_shapes():
    """One panel per number of epochs with a line per schedule, then the gradient panel (one curve per
    progress point and the straight-through estimator)."""
    panels = {f"E = {E}": {s: np.array([qnn.ede_t(ede_progress(e, E, s)) for e in range(E)])
                           for s in ("log_up", "endpoints")} for E in (300, 6)}
    fig = figs.ede_schedules_figure(panels, progress_shown=(0.0, 1.0))
    assert len(fig.axes) == 3
    assert [len(ax.get_legend().get_texts()) for ax in fig.axes[:2]] == [2, 2]
    assert len(fig.axes[2].lines) == 3
    last = {line.get_label(): line.get_ydata()[-1] for line in fig.axes[1].lines if not line.get_label().startswith("_")}
    assert np.isclose(last["endpoints"], 10.0) and np.isclose(last["log_up"], 10 ** (1 - 2 / 6))
    plt.close(fig)
