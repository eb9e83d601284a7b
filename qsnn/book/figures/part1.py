"""Figures of Part I (chapters 1 and 2): LIF quantization of spike trains measured in the Alexiewicz norm.

Each function draws one figure of a chapter from values the chapter computed and returns the matplotlib
``Figure``; the chapter shows it and keeps its own checks. The quantities drawn follow Moser & Lunglmayr,
"Quantization in Spiking Neural Networks" (arXiv:2305.08012): the leaky partial sums that define the norm
(eq. 2), the LIF output as a quantization of its input (Sec. III, Fig. 1), the error partial sums of
Theorem 1 and the quasi-isometry band of Theorem 2. Colours are :data:`qsnn.book.plotting.RESET_COLORS`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..._core.resets import RESET_LABELS
from ...spiketrains.alexiewicz import alexiewicz_norm, leaky_partial_sums
from ...spiketrains.lif_quantizer import lif_trace
from ...spiketrains.spikes import SpikeTrain
from ..plotting import RESET_COLORS, plot_error_sweep, potential_path

__all__ = ["RESET_NAMES", "free_potential_figure", "superposition_figure", "reset_panels_figure",
           "error_partial_sums_figure", "quasi_isometry_figure", "error_sweep_figure", "share_above_figure",
           "concentration_figure", "superposition_example"]

#: Display names of the three reset variants in Part I.
RESET_NAMES = RESET_LABELS  # one source for the names of the resets (qsnn._core.resets)


def _threshold_lines(ax, theta: float, *, band: bool = True) -> None:
    if band:
        ax.axhspan(-theta, theta, color="0.9", zorder=0)
    for sgn in (1, -1):
        ax.axhline(sgn * theta, color="0.2", ls="--", lw=0.8)


def free_potential_figure(train, alphas=(1.0, 0.1)):
    """One panel per leak rate: the potential of a neuron too high-threshold to fire is the leaky partial sum.

    The horizontal lines are ``+-||train||_{A,alpha}``; a dot marks the spike where the norm is attained.
    """
    fig, axes = plt.subplots(len(alphas), 1, figsize=(7, 2.5 * len(alphas)), sharex=True, squeeze=False)
    axes = axes[:, 0]
    for ax, alpha in zip(axes, alphas):
        norm = alexiewicz_norm(train, alpha)
        trace = lif_trace(train, 2.0 * norm + 1.0, alpha, "mod")
        sums = leaky_partial_sums(train, alpha)
        k = int(np.argmax(np.abs(sums)))
        ax.plot(*potential_path(train.times, trace.u_pre, trace.u_post, alpha, t_end=train.times[-1] + 1.0),
                color="0.3", lw=1.2, label=r"$u_{\mathrm{free}}(t)$")
        ax.vlines(train.times, 0, train.amplitudes, color=RESET_COLORS["subtract"], lw=1.5, alpha=0.6,
                  label=r"input $a_i$")
        ax.axhline(norm, color=RESET_COLORS["zero"], ls="--", lw=1)
        ax.axhline(-norm, color=RESET_COLORS["zero"], ls="--", lw=1, label=r"$\pm\Vert\eta\Vert_{A,\alpha}$")
        ax.plot([train.times[k]], [sums[k]], "o", color=RESET_COLORS["zero"], ms=7, label="norm attained")
        ax.set_title(rf"$\alpha = {alpha}$: $\Vert\eta\Vert_{{A,\alpha}} = {norm:.3f}$")
        ax.set_ylabel("potential")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncol=4)
    axes[-1].set_xlabel("time $t$")
    return fig


def superposition_figure(inputs, weights, eta, out, trace, theta: float, alpha: float, t_end: float):
    """Fig. 1 of the paper: presynaptic trains, their weighted sum with the potential, the quantized output.

    ``inputs`` are the presynaptic :class:`~qsnn.SpikeTrain` s and ``weights`` their weights, ``eta`` the sum,
    ``out`` the LIF output and ``trace`` its :func:`qsnn.lif_trace` (reset-to-mod).
    """
    fig, axes = plt.subplots(3, 1, figsize=(7, 6.5), sharex=True, height_ratios=[1.2, 1, 1])
    for j, (w, train) in enumerate(zip(weights, inputs)):
        color = RESET_COLORS["zero"] if w < 0 else RESET_COLORS["subtract"]
        axes[0].vlines(train.times, j + 0.1, j + 0.9, color=color, lw=2)
        axes[0].text(t_end - 0.2, j + 0.5, f"$w_{j + 1} = {w:+.2f}$", va="center", fontsize=8)
    axes[0].set_yticks(np.arange(len(inputs)) + 0.5, [rf"$\eta_{j + 1}$" for j in range(len(inputs))])
    axes[0].grid(False)
    axes[0].set_title(r"presynaptic trains $\eta_j$ (colour: sign of the weight)")
    axes[1].vlines(eta.times, 0, eta.amplitudes, color="0.35", lw=2)
    axes[1].plot(*potential_path(trace.times, trace.u_pre, trace.u_post, alpha, t_end=t_end),
                 color=RESET_COLORS["mod"], lw=1, alpha=0.8, label="membrane potential")
    _threshold_lines(axes[1], theta, band=False)
    axes[1].set_title(r"superposition $\eta = \sum_j w_j \eta_j$ (bars), potential of the neuron, $\pm\vartheta$")
    axes[1].legend(loc="upper left", fontsize=8)
    axes[2].vlines(out.times, 0, out.amplitudes, color=RESET_COLORS["mod"], lw=2.5)
    levels = np.round(np.append(out.amplitudes, [-theta, theta]) / theta)
    axes[2].set_yticks(np.arange(levels.min(), levels.max() + 1) * theta)
    axes[2].set_title(r"output $\mathrm{LIF}_\vartheta(\eta)$, reset-to-mod: amplitudes in $\vartheta\mathbb{Z}$")
    axes[2].set_xlabel("time $t$")
    return fig


def reset_panels_figure(train, theta: float, alpha: float, resets=("zero", "subtract", "mod")):
    """One panel per reset: input, potential and output of the LIF neuron on ``train``, with its error norm.

    Returns ``(fig, errors)``, ``errors[reset]`` the quantization error ``||LIF(train) - train||_{A,alpha}``.
    """
    t_end = train.times[-1] + 1.0
    fig, axes = plt.subplots(len(resets), 1, figsize=(7, 7), sharex=True, sharey=True, squeeze=False)
    axes = axes[:, 0]
    errors = {}
    for ax, reset in zip(axes, resets):
        tr = lif_trace(train, theta, alpha, reset)
        errors[reset] = tr.error
        _threshold_lines(ax, theta)
        ax.vlines(train.times - 0.04, 0, train.amplitudes, color="0.6", lw=2, label=r"input $a_k$")
        ax.plot(*potential_path(tr.times, tr.u_pre, tr.u_post, alpha, t_end=t_end), color="0.2", lw=1.1,
                label="potential $u(t)$")
        fired = tr.outputs != 0
        ax.vlines(tr.times[fired] + 0.04, 0, tr.outputs[fired], color=RESET_COLORS[reset], lw=2.5,
                  label=r"output $b_k$")
        ax.set_title(f"{RESET_NAMES[reset]}: "
                     rf"$\Vert\mathrm{{LIF}}(\eta) - \eta\Vert_{{A,\alpha}} = {tr.error / theta:.3f}\,\vartheta$")
        ax.set_ylabel("amplitude / potential")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncol=3)
    axes[-1].set_xlabel("time $t$")
    return fig, errors


def error_partial_sums_figure(train, theta: float, alpha: float, resets=("mod", "zero")):
    """The error partial sums ``Delta_k`` of Theorem 1, one panel per reset; arrows mark the output spikes.

    Before spike ``k`` the running error is ``d_k Delta_{k-1} + a_k``; the output ``b_k`` moves it to
    ``Delta_k``. Under reset-to-mod every ``Delta_k`` stays inside ``(-theta, theta)``.
    """
    t_end = train.times[-1] + 1.0
    fig, axes = plt.subplots(len(resets), 1, figsize=(7, 6), sharex=True, sharey=True, squeeze=False)
    axes = axes[:, 0]
    for ax, reset in zip(axes, resets):
        tr = lif_trace(train, theta, alpha, reset)
        delta = tr.error_partial_sums
        before = delta + tr.outputs
        _threshold_lines(ax, theta)
        ax.plot(*potential_path(tr.times, before, delta, alpha, t_end=t_end), color="0.4", lw=1)
        ax.plot(tr.times, delta, "o", color=RESET_COLORS[reset], ms=5, label=r"$\Delta_k$")
        for k in np.flatnonzero(tr.outputs):
            ax.annotate("", xy=(tr.times[k], delta[k]), xytext=(tr.times[k], before[k]),
                        arrowprops=dict(arrowstyle="-|>", color="red" if reset == "mod" else "0.5", lw=1.6,
                                        shrinkA=0, shrinkB=2))
        ax.set_title(f"{RESET_NAMES[reset]}: max$_k|\\Delta_k|$ = {tr.error / theta:.3f}$\\,\\vartheta$")
        ax.set_ylabel(r"$\Delta_k$")
        ax.legend(loc="upper left", fontsize=8)
    axes[-1].set_xlabel("time $t$")
    return fig


def quasi_isometry_figure(d_in, d_out, n_perturbed: int, theta: float, alpha_label: str):
    """Theorem 2: output distance against input distance for pairs of trains, with the ``+-2 theta`` band.

    The first ``n_perturbed`` pairs are a train and a perturbed copy, the rest independent pairs.
    """
    d_in, d_out = np.asarray(d_in), np.asarray(d_out)
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    ax.plot(d_in[:n_perturbed], d_out[:n_perturbed], ".", ms=2, alpha=0.3, color=RESET_COLORS["mod"],
            label=r"$\eta_2 = \eta_1 + \nu$")
    ax.plot(d_in[n_perturbed:], d_out[n_perturbed:], ".", ms=2, alpha=0.3, color=RESET_COLORS["subtract"],
            label="independent pair")
    lim = np.array([0.0, max(d_in.max(), d_out.max()) * 1.05])
    ax.plot(lim, lim, color="0.2", lw=1)
    ax.fill_between(lim, lim - 2 * theta, lim + 2 * theta, color="0.5", alpha=0.15, label=r"$\pm 2\vartheta$ band")
    ax.set_xlim(lim)
    ax.set_ylim(lim)
    ax.set_xlabel(r"$\Vert\eta_1 - \eta_2\Vert_{A,\alpha}$")
    ax.set_ylabel(r"$\Vert\mathrm{LIF}(\eta_1) - \mathrm{LIF}(\eta_2)\Vert_{A,\alpha}$")
    ax.set_title(rf"reset-to-mod, $\alpha = {alpha_label}$, $\vartheta = {theta}$")
    ax.legend(loc="upper left", markerscale=5)
    return fig


def error_sweep_figure(sweeps, grid, alphas, title: str, resets=("mod", "subtract", "zero")):
    """Figs. 4 and 5 of the paper: the error of every run against the spike count, one row per leak rate and
    one column per reset. ``sweeps[alpha]`` is the :class:`qsnn.ErrorSweep` of that leak rate."""
    fig, axes = plt.subplots(len(alphas), len(resets), figsize=(10, 3.1 * len(alphas)), squeeze=False)
    for row, a in enumerate(alphas):
        for col, reset in enumerate(resets):
            ax = axes[row, col]
            plot_error_sweep(ax, grid, sweeps[a][reset], reset)
            ax.set_title(rf"{RESET_NAMES[reset]}, $\alpha$ = {a:g}")
            if row == len(alphas) - 1:
                ax.set_xlabel("number of spikes")
            if col == 0:
                ax.set_ylabel(r"error / $\vartheta$")
    fig.suptitle(title)
    return fig


def share_above_figure(sweeps, grid, resets=("zero", "subtract")):
    """The share of runs whose error exceeds ``theta`` against the spike count, per sweep and reset.

    ``sweeps`` maps ``(amplitude range, alpha)`` to an :class:`qsnn.ErrorSweep`; the line style tells the
    range (first range solid), the marker the leak rate (largest alpha circles). Resets that never leave the
    ball are left out. Returns ``(fig, n_half)``, ``n_half[(range, alpha, reset)]`` the spike count from
    which half of the runs are outside (:meth:`qsnn.ErrorSweep.count_at_share`).
    """
    ranges = list(dict.fromkeys(r for r, _ in sweeps))
    top_alpha = max(a for _, a in sweeps)
    fig, ax = plt.subplots(figsize=(7, 3.6))
    n_half = {}
    for (r, a), s in sweeps.items():
        for reset in resets:
            f = s.fraction_above(reset)
            if not f.any():
                continue
            n_half[(r, a, reset)] = s.count_at_share(reset, 0.5)
            ax.plot(grid, f, color=RESET_COLORS[reset], ls="-" if r == ranges[0] else "--",
                    marker="o" if a == top_alpha else "s", ms=3, lw=1.2,
                    label=rf"{reset}, $\pm${r:g}$\vartheta$, $\alpha$={a:g} (half at n={n_half[(r, a, reset)]})")
    ax.set_xscale("log")
    ax.set_xlabel("number of spikes")
    ax.set_ylabel(r"share of runs with error > $\vartheta$")
    ax.legend(fontsize=7, loc="lower right")
    return fig, n_half


def concentration_figure(errors, conc, grid, key):
    """Left: the distribution of the reset-to-mod error over runs per spike count (violins) for the sweep
    ``key = (range, alpha)``, whose errors ``[counts, runs]`` are ``errors``; right: ``1 - median`` for every
    sweep in ``conc`` (from :func:`qsnn.concentration`), the interquartile range of ``key`` and a ``1/n`` guide.
    """
    grid = np.asarray(grid)
    first_range = next(iter(conc))[0]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    ax = axes[0]
    parts = ax.violinplot([errors[i] for i in range(grid.size)], positions=np.log10(grid), widths=0.12,
                          showmedians=True)
    for body in parts["bodies"]:
        body.set_color(RESET_COLORS["mod"])
    for name in ("cbars", "cmins", "cmaxes", "cmedians"):
        parts[name].set_color(RESET_COLORS["mod"])
    ax.axhline(1.0, color="black", lw=1.0, ls="--")
    ax.set_xticks(np.log10(grid[::3]), [str(n) for n in grid[::3]])
    ax.set_xlabel("number of spikes")
    ax.set_ylabel(r"error / $\vartheta$ (reset-to-mod)")
    ax.set_title(rf"distribution over runs, range $\pm${key[0]:g}$\vartheta$, $\alpha$ = {key[1]:g}")
    ax = axes[1]
    for (r, a), c in conc.items():
        ax.loglog(grid, 1.0 - c["quantiles"][:, 2], ls="-" if r == first_range else ":", marker="o", ms=3,
                  label=rf"1 - median, $\pm${r:g}$\vartheta$, $\alpha$={a:g}")
    ax.loglog(grid, conc[key]["iqr"], color="gray", lw=2, alpha=0.6,
              label=rf"IQR, $\pm${key[0]:g}$\vartheta$, $\alpha$={key[1]:g}")
    ref = 1.0 - conc[key]["quantiles"][0, 2]
    ax.loglog(grid, ref * grid[0] / grid, color="black", lw=1, ls="--", label=r"$\propto 1/n$")
    ax.set_xlabel("number of spikes")
    ax.set_ylabel(r"distance to $\vartheta$ / spread")
    ax.set_title("the distribution closes in on the bound")
    ax.legend(fontsize=7)
    return fig


def superposition_example(rng, steps: int, n_inputs: int, rate: float, weight: float):
    """The example network of Fig. 1: ``n_inputs`` presynaptic trains of unit spikes on the integer grid
    ``1..steps`` (each step spikes with probability ``rate``), weights uniform in ``[-weight, 2 weight]`` (mostly
    excitatory), all drawn from ``rng``. Returns ``(weights, inputs, eta)``, ``eta`` the weighted sum."""
    grid = np.arange(1, steps + 1, dtype=float)
    weights = rng.uniform(-weight, 2.0 * weight, size=n_inputs)
    inputs = [SpikeTrain(grid[mask], np.ones(mask.sum())) for mask in rng.random((n_inputs, steps)) < rate]
    eta = SpikeTrain()
    for w, train in zip(weights, inputs):
        eta = eta + w * train
    return weights, inputs, eta
