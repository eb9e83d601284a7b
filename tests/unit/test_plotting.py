"""Tests of qsnn.book.plotting: the book style and the shared figure helpers."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from qsnn.book.plotting import RESET_COLORS, plot_error_sweep  # noqa: E402


def test_error_sweep_panel_draws_every_run_the_median_and_the_bound():
    """One point per run, a median line through the per-count medians, and the line error = theta."""
    n = np.array([5, 50, 500])
    errors = np.array([[0.1, 0.3, 0.2], [0.5, 0.7, 0.6], [0.9, 0.95, 0.97]])
    fig, ax = plt.subplots()
    try:
        plot_error_sweep(ax, n, errors, "mod")
        points = ax.collections[0].get_offsets()
        assert points.shape == (9, 2)
        median, bound = ax.lines
        np.testing.assert_allclose(median.get_ydata(), [0.2, 0.6, 0.95])
        assert matplotlib.colors.same_color(median.get_color(), RESET_COLORS["mod"])
        np.testing.assert_allclose(bound.get_ydata(), [1.0, 1.0])
        assert ax.get_xscale() == "log"
    finally:
        plt.close(fig)


def test_error_sweep_panel_rejects_mismatched_shapes():
    """Errors whose rows do not match the spike counts raise ValueError naming the shapes."""
    fig, ax = plt.subplots()
    try:
        with pytest.raises(ValueError, match="errors"):
            plot_error_sweep(ax, [5, 50], np.zeros((3, 4)), "zero")
    finally:
        plt.close(fig)


def test_error_sweep_panel_labels_the_bound_with_vartheta():
    """The bound's legend entry names the threshold \\vartheta, the book's symbol."""
    fig, ax = plt.subplots()
    try:
        plot_error_sweep(ax, [5, 50], np.zeros((2, 3)), "mod")
        assert ax.lines[-1].get_label() == r"error $=\vartheta$"
    finally:
        plt.close(fig)
