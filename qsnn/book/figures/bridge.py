"""Figures of chapter 8, Part I's quantization theory inside Q-SNNs (:mod:`qsnn.bridge`).

Each function draws one figure from values the chapter computed and returns the matplotlib ``Figure``; the
chapter shows it and keeps its own checks. Errors are ``||theta S - I||_{A,alpha} / theta`` (Moser &
Lunglmayr, arXiv:2305.08012), the bound that of :func:`qsnn.bridge.membrane_bound` in units of theta.
"""

from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt
import numpy as np

from ..._core.resets import RESETS
from ..plotting import RESET_COLORS

__all__ = ["side_by_side_figure", "bound_figure", "error_distributions_figure"]


def side_by_side_figure(side, neuron: int = 0):
    """One neuron of :func:`qsnn.bridge.run_both`: its currents (bars) and the outputs of the layer (circles)
    and of Part I's neuron (crosses) at every step."""
    t = np.arange(side.currents.shape[0])
    fig, ax = plt.subplots(figsize=(7, 2.8))
    ax.bar(t, side.currents[:, neuron], color="0.8", label="current I[t]")
    ax.plot(t, side.layer[:, neuron], "o", mfc="none", color="#2166ac", ms=9, label="layer: theta S[t]")
    ax.plot(t, side.part1[:, neuron], "x", color="#b2182b", label="Part I: output amplitude")
    ax.axhline(side.threshold, color="k", lw=0.8, ls=":")
    ax.set(xlabel="time step t", ylabel="amplitude", title=f"reset {side.reset!r}, decay {side.decay:g}")
    ax.legend(fontsize=8, ncol=3, loc="upper left")
    return fig


def bound_figure(bounds: Mapping[float, Mapping[int, float]], measured: Mapping[float, Mapping[int, float]]):
    """The bound per bit width (lines, one per decay) and the largest error found (markers).

    ``bounds[decay][bits]`` and ``measured[decay][bits]`` in units of theta."""
    fig, ax = plt.subplots(figsize=(6, 3.4))
    cmap = plt.get_cmap("viridis")
    for i, decay in enumerate(bounds):
        bits = sorted(bounds[decay])
        color = cmap(i / max(1, len(bounds) - 1))
        ax.plot(bits, [bounds[decay][b] for b in bits], color=color, label=f"decay {decay:g}")
        ax.plot(bits, [measured[decay][b] for b in bits], "o", mfc="none", color=color)
    ax.axhline(1.0, color="k", lw=0.8, ls=":")
    ax.set(xlabel="membrane bits b", ylabel="error / theta", yscale="log",
           title="bound (lines) and largest error found (circles)")
    ax.legend(fontsize=8)
    return fig


def error_distributions_figure(errors: Mapping[str, Mapping[str, np.ndarray]], bound: float | None = None,
                               resets=RESETS):
    """Per layer, box plots of the per-neuron errors for each reset (whiskers 1st to 99th percentile).

    ``errors[layer][reset]`` holds the errors in units of theta; a dotted line marks theta, a dashed one
    ``bound`` if given."""
    layers = list(errors)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(layers)), 3.4))
    width = 0.8 / len(resets)
    for k, reset in enumerate(resets):
        pos = np.arange(len(layers)) + (k - (len(resets) - 1) / 2) * width
        data = [np.asarray(errors[layer][reset]).ravel() for layer in layers]
        box = ax.boxplot(data, positions=pos, widths=0.9 * width, whis=(1, 99), showfliers=False,
                         patch_artist=True, manage_ticks=False)
        for patch in box["boxes"]:
            patch.set_facecolor(RESET_COLORS.get(reset, "#888888"))
        ax.plot([], [], "s", color=RESET_COLORS.get(reset, "#888888"), label=reset)
    ax.axhline(1.0, color="k", lw=0.8, ls=":")
    if bound is not None:
        ax.axhline(bound, color="k", lw=0.8, ls="--")
    ax.set_xticks(range(len(layers)), [f"LIF {i + 1}" for i in range(len(layers))])
    ax.set(ylabel="error / theta", title="per-neuron quantization error")
    ax.legend(fontsize=8, ncol=len(resets))
    return fig
