"""Tests of the Part I chapter figures (qsnn.book.figures.part1): panels, curves and the numbers in their titles."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import qsnn  # noqa: E402
from qsnn.book.figures import part1 as figs  # noqa: E402

TRAIN = qsnn.SpikeTrain([0.0, 1.0, 2.0, 3.0, 4.0], [0.8, 0.9, 2.4, -0.5, 0.6])


def test_free_potential_figure_has_a_panel_per_alpha_with_the_norm_in_the_title():
    fig = figs.free_potential_figure(TRAIN, [1.0, 0.1])
    assert len(fig.axes) == 2
    for ax, alpha in zip(fig.axes, [1.0, 0.1]):
        assert f"{qsnn.alexiewicz_norm(TRAIN, alpha):.3f}" in ax.get_title()
        assert len(ax.lines) == 4  # potential, +norm, -norm, the attained point
        assert ax.lines[1].get_ydata()[0] == pytest.approx(qsnn.alexiewicz_norm(TRAIN, alpha))
    plt.close(fig)


def test_reset_panels_return_the_quantization_errors():
    fig, errors = figs.reset_panels_figure(TRAIN, 1.0, 0.0, ("zero", "subtract", "mod"))
    assert len(fig.axes) == 3
    # computed by hand (chapter 2's golden table): alpha = 0 errors 2.2, 2.1, 0.8
    assert errors == pytest.approx({"zero": 2.2, "subtract": 2.1, "mod": 0.8})
    assert "reset-to-mod" in fig.axes[2].get_title() and "0.800" in fig.axes[2].get_title()
    plt.close(fig)


def test_error_partial_sums_figure_marks_every_delta_and_every_output_spike():
    fig = figs.error_partial_sums_figure(TRAIN, 1.0, 0.0, ("mod", "zero"))
    assert len(fig.axes) == 2
    ax = fig.axes[0]
    assert len(ax.lines[-1].get_xdata()) == len(TRAIN)  # one Delta_k per input spike
    n_outputs = int(np.count_nonzero(qsnn.lif(TRAIN, 1.0, 0.0, "mod").amplitudes))
    assert len(ax.texts) == n_outputs  # one arrow per output spike
    plt.close(fig)


def test_superposition_figure_has_three_panels_and_a_label_per_input():
    inputs = [qsnn.SpikeTrain([1.0, 3.0], [1.0, 1.0]), qsnn.SpikeTrain([2.0], [1.0])]
    weights = [1.5, -0.5]
    eta = 1.5 * inputs[0] + (-0.5) * inputs[1]
    out = qsnn.lif(eta, 1.0, 1.0, "mod")
    fig = figs.superposition_figure(inputs, weights, eta, out, qsnn.lif_trace(eta, 1.0, 1.0, "mod"), 1.0, 1.0, 4.0)
    assert len(fig.axes) == 3
    assert [t.get_text() for t in fig.axes[0].texts] == ["$w_1 = +1.50$", "$w_2 = -0.50$"]
    plt.close(fig)


def test_quasi_isometry_figure_splits_perturbed_and_independent_pairs():
    d_in, d_out = np.array([0.1, 0.2, 3.0, 4.0, 5.0]), np.array([0.0, 0.5, 2.5, 4.5, 6.0])
    fig = figs.quasi_isometry_figure(d_in, d_out, n_perturbed=2, theta=1.0, alpha_label="1.0")
    ax, = fig.axes
    assert [len(line.get_xdata()) for line in ax.lines] == [2, 3, 2]  # perturbed, independent, diagonal
    assert ax.get_xlim() == pytest.approx((0.0, 6.3))
    plt.close(fig)


@pytest.fixture(scope="module")
def sweeps():
    grid = qsnn.spike_count_grid(5, 200, 4)
    return grid, {(r, a): qsnn.error_sweep(grid, 20, amplitude=r, alpha=a, threshold=1.0, gap=(0.2, 1.0), seed=0)
                  for r in (1.0, 1.5) for a in (1.0, 0.1)}


def test_error_sweep_figure_has_a_panel_per_alpha_and_reset(sweeps):
    grid, sw = sweeps
    fig = figs.error_sweep_figure({a: sw[(1.0, a)] for a in (1.0, 0.1)}, grid, [1.0, 0.1], "Fig. 4")
    assert len(fig.axes) == 6
    assert [ax.get_title() for ax in fig.axes[:3]] == [rf"{figs.RESET_NAMES[r]}, $\alpha$ = 1" for r in
                                                       ("mod", "subtract", "zero")]
    plt.close(fig)


def test_share_above_figure_leaves_out_resets_that_never_leave_the_ball(sweeps):
    grid, sw = sweeps
    fig, n_half = figs.share_above_figure(sw, grid, ("zero", "subtract"))
    ax, = fig.axes
    drawn = [(k, s.fraction_above(reset)) for k, s in sw.items() for reset in ("zero", "subtract")
             if s.fraction_above(reset).any()]
    assert len(ax.lines) == len(drawn) == len(n_half)
    for line, (_, f) in zip(ax.lines, drawn):
        assert np.allclose(line.get_ydata(), f)
    plt.close(fig)


def test_concentration_figure_draws_one_median_gap_per_sweep(sweeps):
    grid, sw = sweeps
    conc = {k: qsnn.concentration(s["mod"]) for k, s in sw.items()}
    fig = figs.concentration_figure(sw[(1.0, 1.0)]["mod"], conc, grid, (1.0, 1.0))
    assert len(fig.axes) == 2
    assert len(fig.axes[1].lines) == len(conc) + 2  # 1 - median per sweep, the IQR and the 1/n guide
    assert np.allclose(fig.axes[1].lines[0].get_ydata(), 1.0 - conc[(1.0, 1.0)]["quantiles"][:, 2])
    plt.close(fig)


def test_superposition_example_sums_the_weighted_inputs():
    weights, inputs, eta = figs.superposition_example(np.random.default_rng(0), 10, 3, 0.5, 1.0)
    assert len(inputs) == 3 and np.all((weights >= -1.0) & (weights <= 2.0))
    assert all(np.all(t.times == np.round(t.times)) and np.all(t.amplitudes == 1.0) for t in inputs)
    total = sum(w * t.amplitudes.sum() for w, t in zip(weights, inputs))
    assert eta.amplitudes.sum() == pytest.approx(total)


def _texts(fig):
    """Every title, axis label, legend entry and suptitle of ``fig``."""
    out = [fig._suptitle.get_text()] if fig._suptitle is not None else []
    for ax in fig.axes:
        out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        legend = ax.get_legend()
        if legend is not None:
            out += [t.get_text() for t in legend.get_texts()]
    return out


def test_part1_figures_name_the_threshold_vartheta_as_the_text_does(sweeps):
    """Every label that names the threshold writes it \\vartheta, never \\theta."""
    grid, sw = sweeps
    conc = {k: qsnn.concentration(s["mod"]) for k, s in sw.items()}
    figures = [figs.error_sweep_figure({a: sw[(1.0, a)] for a in (1.0, 0.1)}, grid, [1.0, 0.1], "Fig. 4"),
               figs.share_above_figure(sw, grid, ("zero", "subtract"))[0],
               figs.concentration_figure(sw[(1.0, 1.0)]["mod"], conc, grid, (1.0, 1.0)),
               figs.quasi_isometry_figure(np.array([0.1, 3.0]), np.array([0.0, 2.5]), 1, 1.0, "1.0")]
    texts = [t for fig in figures for t in _texts(fig)]
    try:
        assert sum(r"\vartheta" in t for t in texts) >= 6  # the y labels, legends and titles that name it
        assert not [t for t in texts if r"\theta" in t], [t for t in texts if r"\theta" in t]
    finally:
        for fig in figures:
            plt.close(fig)
