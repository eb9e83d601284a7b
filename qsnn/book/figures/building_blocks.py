"""Figures of the Q-SNN building blocks (chapter 4): 1-bit weights, low-bit membranes and their training.

Each function draws one figure from values the chapter computed (or from :mod:`qsnn.nn` directly, for the
curves that depend only on a formula) and returns the matplotlib ``Figure``; the chapter shows it and keeps
its own checks. The blocks follow Wei et al., "Q-SNNs: Quantized Spiking Neural Networks"
(arXiv:2406.13672): binary convolution with weight standardisation, the LIF neuron with a quantized
membrane, the sign entropy that Weight-Spike Dual Regulation raises, and the EDE gradient schedule.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ...nn import binary_entropy, ede_grad, ede_t, levels_per_side, quantize_membrane
from ..plotting import VARIANT_COLORS

__all__ = ["LAYER_WORKFLOW", "block_diagram", "entropy_deficit_figure", "sign_balance_figure", "membrane_quantizer_figure",
           "lif_traces_figure", "ede_schedule_figure", "ede_schedules_figure"]


LAYER_WORKFLOW = [
    ("input spikes", "S[t] of the layer below\n(first layer: image, T times)", None),
    ("binary conv", "sign(standardize(w_c)) x 2^k\n1 bit per weight\n(binary weights; EDE)", "qsnn_wsdr"),
    ("BatchNorm", "FP32 gamma, beta\n(counted in the size)", None),
    ("LIF", "H = lambda U + I\nspike if H > V_th\nU stored as Q_b(U)\n(membrane quantizer)", "qsnn"),
    ("output spikes", "rate r_l regulated towards 1/2\nin the loss (entropy; chapter 5)", None),
]
"""The workflow of one Q-SNN layer (Wei et al.'s Fig. 1) as boxes for :func:`block_diagram`: ``(label, detail,
colour key)``, with the section of chapter 4 that treats each part in brackets."""


def block_diagram(boxes):
    """A row of boxes joined by arrows: ``boxes`` is a list of ``(label, detail, colour key or None)``.

    A colour key names an entry of :data:`qsnn.book.plotting.VARIANT_COLORS`; ``None`` draws a grey box.
    """
    fig, ax = plt.subplots(figsize=(10, 2.0))
    ax.set_axis_off()
    for i, (label, detail, key) in enumerate(boxes):
        x = i * 2.1
        color = "0.92" if key is None else VARIANT_COLORS[key]
        ax.add_patch(plt.Rectangle((x, 0), 1.8, 1.0, facecolor=color, alpha=0.35 if key else 1.0, edgecolor="k"))
        ax.text(x + 0.9, 0.72, label, ha="center", va="center", fontsize=10, weight="bold")
        ax.text(x + 0.9, 0.32, detail, ha="center", va="center", fontsize=7)
        if i < len(boxes) - 1:
            ax.annotate("", xy=(x + 2.1, 0.5), xytext=(x + 1.8, 0.5), arrowprops=dict(arrowstyle="->"))
    ax.set(xlim=(-0.1, 2.1 * len(boxes)), ylim=(-0.1, 1.1))
    return fig


def entropy_deficit_figure(p, entropy_bits, deficit, quadratic):
    """Left: the binary entropy ``H(p)`` in bits; right: ``ln 2 - H_e(p)`` and its approximation ``2(p-1/2)^2``."""
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
    axes[0].plot(p, entropy_bits, color="k")
    axes[0].set(xlabel="p (fraction of +1, or firing rate)", ylabel="H(p) [bit]", title="binary entropy")
    axes[1].plot(p, deficit, color="k", label=r"$\ln 2 - H_e(p)$")
    axes[1].plot(p, quadratic, "--", color=VARIANT_COLORS["qsnn_wsdr"], label=r"$2(p-1/2)^2$")
    axes[1].set(xlabel="p", ylabel="nats", title="entropy deficit and its quadratic approximation")
    axes[1].legend()
    return fig


def sign_balance_figure(rows, seed: int = 0):
    """Per binary layer, the +1 fraction of every filter (left) and its sign entropy (right).

    ``rows`` is a list of ``(name, raw, standardized)``, the per-filter +1 fractions (tensors or arrays) of
    the raw signs and of the standardised weights; ``seed`` seeds the horizontal jitter of the dots.
    """
    colors = (VARIANT_COLORS["qsnn"], VARIANT_COLORS["qsnn_wsdr"])
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
    for i, (_, raw, standardized) in enumerate(rows):
        for j, (label, frac) in enumerate((("raw sign", raw), ("standardized", standardized))):
            frac = np.asarray(frac)
            x = i + (j - 0.5) * 0.35 + rng.uniform(-0.06, 0.06, frac.size)
            axes[0].scatter(x, frac, s=12, color=colors[j], label=label if i == 0 else None)
            axes[1].scatter(x, binary_entropy(frac), s=12, color=colors[j])
    for ax in axes:
        ax.set_xticks(range(len(rows)), [str(i + 1) for i in range(len(rows))])
        ax.set_xlabel("binary layer")
    axes[0].axhline(0.5, color="k", lw=0.8)
    axes[0].set(ylabel="fraction of +1 per filter", ylim=(0, 1), title="sign balance")
    axes[1].set(ylabel="H [bit]", ylim=(0, 1.05), title="sign entropy per filter")
    axes[0].legend()
    return fig


def membrane_quantizer_figure(u, bits, threshold: float):
    """One panel per precision ``b``: the stored membrane value against ``u``, uniform (scale ``V_th``) and tanh."""
    fig, axes = plt.subplots(1, len(bits), figsize=(9, 3.0), sharey=True, squeeze=False)
    axes = axes[0]
    for ax, b in zip(axes, bits):
        ax.plot(u, u.clamp(-1.5, 1.5), ":", color="0.6", lw=1, label="identity (clipped)")
        ax.plot(u, quantize_membrane(u, b, scale=threshold), color=VARIANT_COLORS["qsnn_wsdr"],
                label=f"uniform, s = V_th = {threshold:g}")
        ax.plot(u, quantize_membrane(u, b, variant="tanh"), color=VARIANT_COLORS["qsnn"],
                label="tanh (authors' code)")
        ax.set(title=f"b = {b}: n = {levels_per_side(b)} levels per side", xlabel="u")
    axes[0].set_ylabel("stored value")
    axes[0].legend(loc="upper left", fontsize=8)
    return fig


def lif_traces_figure(traces, threshold: float):
    """One panel per membrane precision: the potential before reset, the stored potential and the spikes.

    ``traces`` maps a precision (``None`` for full precision, else bits) to ``(H, U, S)``, sequences over
    time of the potential before reset, the stored potential and the spikes.
    """
    fig, axes = plt.subplots(len(traces), 1, figsize=(8, 1.8 * len(traces)), sharex=True, squeeze=False)
    axes = axes[:, 0]
    for ax, (bits, (h, u_state, s)) in zip(axes, traces.items()):
        s = np.asarray(s, dtype=bool)
        t = np.arange(len(s))
        ax.step(t, h, where="mid", color="0.6", lw=1, label="H[t] (before reset)")
        ax.step(t, u_state, where="mid", color=VARIANT_COLORS["qsnn_wsdr"], label="stored U[t]")
        ax.vlines(t[s], threshold, threshold + 0.6, color="k", lw=1.5, label="spike")
        ax.axhline(threshold, color=VARIANT_COLORS["qsnn"], lw=0.8, ls="--")
        ax.set(ylabel="potential", title="full-precision membrane" if bits is None else f"{bits}-bit membrane")
    axes[0].legend(loc="upper right", ncol=3, fontsize=8)
    axes[-1].set_xlabel("time step t")
    return fig


def ede_schedule_figure(t_sched, k_sched, progress_shown=(0.0, 0.25, 0.5, 0.75, 1.0)):
    """Left: the EDE schedule of ``t`` and ``k`` over the epochs; right: the gradient of the sign at a few
    points of training ``progress_shown`` (fractions), against the straight-through estimator."""
    import torch

    epochs = np.arange(len(t_sched))
    x = torch.linspace(-2.5, 2.5, 1001)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    axes[0].semilogy(epochs, t_sched, label="t", color="k")
    axes[0].semilogy(epochs, k_sched, label="k = max(1/t, 1)", color=VARIANT_COLORS["qsnn"])
    axes[0].set(xlabel="epoch", title=f"EDE schedule over {len(t_sched)} epochs")
    axes[0].legend()
    cmap = plt.get_cmap("viridis")
    for pp in progress_shown:
        t = ede_t(pp)
        axes[1].plot(x, ede_grad(x, t), color=cmap(pp), label=f"p = {pp:g} (t = {t:.2g})")
    axes[1].plot(x, (x.abs() <= 1).float(), "k--", lw=1, label="STE")
    axes[1].set(xlabel="latent weight x", ylabel="d sign / dx", ylim=(0, 10.5), title="gradient shape")
    axes[1].legend(fontsize=8)
    return fig


def ede_schedules_figure(panels, progress_shown=(0.0, 0.25, 0.5, 0.75, 1.0)):
    """The EDE sharpness t per epoch under several schedules, one panel per run length, and the gradient of
    the sign at a few points of training ``progress_shown`` (fractions), against the straight-through estimator.

    ``panels`` maps a panel title to ``{schedule label: t per epoch}`` (the schedules of
    ``qsnn.train.ede_progress``, e.g. the authors' ``log_up`` and ``endpoints``, at one number of epochs).
    """
    import torch

    x = torch.linspace(-2.5, 2.5, 1001)
    fig, axes = plt.subplots(1, len(panels) + 1, figsize=(4.2 * (len(panels) + 1), 3.2))
    styles = [dict(color="k", marker=None), dict(color=VARIANT_COLORS["qsnn"], ls="--")]
    for ax, (title, schedules) in zip(axes, panels.items()):
        for (label, t), style in zip(schedules.items(), styles * len(schedules)):
            epochs = np.arange(len(t))
            marker = "o" if len(t) <= 20 else None
            ax.semilogy(epochs, t, label=label, marker=marker, **{k: v for k, v in style.items() if k != "marker"})
        ax.axhline(10.0, color="0.6", lw=0.8)
        ax.set(xlabel="epoch e (0-based)", ylabel="t", title=title)
        ax.legend(fontsize=8)
    cmap = plt.get_cmap("viridis")
    for pp in progress_shown:
        t = ede_t(pp)
        axes[-1].plot(x, ede_grad(x, t), color=cmap(pp), label=f"p = {pp:g} (t = {t:.2g})")
    axes[-1].plot(x, (x.abs() <= 1).float(), "k--", lw=1, label="STE")
    axes[-1].set(xlabel="latent weight x", ylabel="d sign / dx", ylim=(0, 10.5), title="gradient shape")
    axes[-1].legend(fontsize=8)
    return fig
