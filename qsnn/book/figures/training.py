"""Figures of the Part II training chapters (5 to 7): sign balance of trained binary weights, accuracy
against membrane precision and model size, event recordings with their frames, learning curves, the paired
effects of the WS-DR ablation and the spike-regulation sweep.

Each function draws one figure from values the chapter computed and returns the matplotlib ``Figure``;
the chapter shows it and keeps its own checks. Colours are :data:`qsnn.book.plotting.VARIANT_COLORS`. The
reported numbers drawn are those of Wei et al., "Q-SNNs: Quantized Spiking Neural Networks" (arXiv:2406.13672),
as tabulated by Liang et al., "BSO: Binary Spiking Online Optimization Algorithm" (ICML 2025).
"""

from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt
import numpy as np

from ..plotting import VARIANT_COLORS, ablation_bars, layer_rates_bars, mean_curves

__all__ = ["sign_balance_hists", "membrane_sweep_figure", "size_accuracy_figure", "events_figure", "ablation_figure",
           "layer_rates_figure", "rates_entropy_figure", "effects_figure", "membrane_quantizers_figure",
           "sign_entropy_figure", "lambda_sweep_figure", "regime_curves_figure"]


def sign_balance_hists(stats: Mapping[str, list], labels: Mapping[str, str]):
    """Histograms over all filters of the +1 fraction (left) and of the latent drift ``mu_c / sigma_c`` (right).

    ``stats`` maps a variant to its per-layer records from :func:`qsnn.book.analysis.sign_balance_stats`
    (``"fractions"`` and ``"drift"`` per filter).
    """
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for name, layers in stats.items():
        color = VARIANT_COLORS.get(name, "#888888")
        axes[0].hist(np.concatenate([s["fractions"] for s in layers]), bins=np.linspace(0, 1, 41), color=color,
                     alpha=0.6, label=labels[name])
        axes[1].hist(np.concatenate([s["drift"] for s in layers]), bins=np.linspace(-1, 1, 41), color=color,
                     alpha=0.6, label=labels[name])
    axes[0].axvline(0.5, color="k", lw=0.8)
    axes[0].set(xlabel="fraction of +1 in a filter", ylabel="filters", title="sign balance of the binary weights")
    axes[1].set(xlabel=r"$\mu_c / \sigma_c$ of the latent weights", ylabel="filters", title="latent filter drift")
    axes[0].legend(fontsize=8)
    return fig


def membrane_sweep_figure(results: Mapping[int, Mapping]):
    """Mean test accuracy (percent, whiskers one standard deviation) per membrane precision.

    ``results`` maps bits (32 for full precision) to ``{"mean", "std"}`` fractions, in drawing order.
    """
    bits = list(results)
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.errorbar(range(len(bits)), [100 * v["mean"] for v in results.values()],
                yerr=[100 * v["std"] for v in results.values()], marker="o", color=VARIANT_COLORS["qsnn_wsdr"],
                capsize=3)
    ax.set_xticks(range(len(bits)), ["FP32" if b == 32 else f"{b} bit" for b in bits])
    ax.set(xlabel="membrane precision", ylabel="test accuracy [%]", title="Q-SNN + WS-DR, binary weights")
    return fig


def size_accuracy_figure(reported: Mapping[str, Mapping], sizes_mb: Mapping[str, float],
                         accuracy: Mapping[str, Mapping], labels: Mapping[str, str]):
    """Accuracy against model size: left the reported VGG-11 results (``reported[data]["fp_snn" | "qsnn"]``
    = (MB, percent)), right the measured variants (``sizes_mb`` and ``accuracy`` mean/std fractions), in kB."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for data, marker in zip(reported, "osD"):
        (fs, fa), (qs, qa) = reported[data]["fp_snn"], reported[data]["qsnn"]
        axes[0].plot([fs, qs], [fa, qa], color="0.8", lw=1, zorder=1)
        axes[0].scatter(fs, fa, marker=marker, color=VARIANT_COLORS["fp_snn"], zorder=2)
        axes[0].scatter(qs, qa, marker=marker, color=VARIANT_COLORS["qsnn_wsdr"], zorder=2, label=data)
    for name in sizes_mb:
        axes[1].errorbar(1e3 * sizes_mb[name], 100 * accuracy[name]["mean"], yerr=100 * accuracy[name]["std"],
                         marker="o", color=VARIANT_COLORS.get(name, "#888888"), capsize=3, label=labels[name])
    for ax, ticks in zip(axes, ([1, 2, 5, 10, 20, 40], [5, 10, 20, 30])):
        ax.set_xscale("log")
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.xaxis.set_minor_formatter(plt.NullFormatter())
        ax.legend(fontsize=8)
    axes[0].set(xlabel="model size [MB]", ylabel="accuracy [%]",
                title="REPORTED: VGG-11, Q-SNN as tabulated by BSO (grey FP, blue Q-SNN)")
    axes[1].set(xlabel="model size [kB]", ylabel="test accuracy [%]", title="MEASURED: small net on the digits")
    return fig


def events_figure(scatter: Mapping[str, np.ndarray], frames, duration_us: float):
    """Left: events in (x, t, -y), ON red and OFF blue (``scatter`` from
    :func:`qsnn.data.events.scatter_arrays`); right: each of the ``T`` frames ``[T, 2, H, W]`` as ON minus OFF."""
    frames = np.asarray(frames)
    time_steps = frames.shape[0]
    fig = plt.figure(figsize=(10, 3.6))
    ax = fig.add_subplot(1, 2, 1, projection="3d")
    for on, color, label in ((True, "#b2182b", "ON"), (False, "#2166ac", "OFF")):
        m = scatter["on"] == on
        ax.scatter(scatter["x"][m], scatter["t_ms"][m], -scatter["y"][m], s=1, color=color, label=label, alpha=0.6)
    ax.set(xlabel="x [pixel]", ylabel="t [ms]", zlabel="-y [pixel]", title="events of one digit")
    ax.legend(loc="upper left", markerscale=6)
    gs = fig.add_gridspec(1, 2)[0, 1].subgridspec(1, time_steps)
    lim = np.abs(frames[:, 1] - frames[:, 0]).max()
    for k in range(time_steps):
        a = fig.add_subplot(gs[0, k])
        a.imshow(frames[k, 1] - frames[k, 0], cmap="RdBu_r", vmin=-lim, vmax=lim)
        t0, t1 = k * duration_us / time_steps / 1e3, (k + 1) * duration_us / time_steps / 1e3
        a.set(title=f"{t0:.0f}-{t1:.0f} ms", xticks=[], yticks=[])
        a.grid(False)
    return fig


_CURVE_LABELS = {"train_acc": "training accuracy [%]", "test_acc": "test accuracy [%]"}


def ablation_figure(accuracy: Mapping[str, Mapping], histories: Mapping[str, list], labels: Mapping[str, str],
                    key: str, *, title: str, curve_title: str, ylim: tuple[float, float], margin: float = 3.0,
                    figsize: tuple[float, float] = (9, 3.4), width_ratios: tuple[float, float] = (1, 1.4)):
    """The ablation of Wei et al.'s Fig. 5: left, the final test accuracy per variant
    (:func:`qsnn.book.plotting.ablation_bars`, titled ``title``); right, ``key`` of the per-epoch history
    (``"train_acc"`` or ``"test_acc"``) averaged over the seeds (:func:`qsnn.book.plotting.mean_curves`,
    titled ``curve_title``, y limits ``ylim``).

    ``histories`` maps a variant to its seeds' history lists; the tick labels break the variant labels before
    "without" and "+".
    """
    fig, axes = plt.subplots(1, 2, figsize=figsize, gridspec_kw={"width_ratios": list(width_ratios)})
    ticks = {n: l.replace(" without ", "\nwithout ").replace(" + ", "\n+ ") for n, l in labels.items()}
    ablation_bars(axes[0], accuracy, ticks, margin=margin)
    axes[0].set(title=title)
    mean_curves(axes[1], histories, key, labels)
    axes[1].set(xlabel="epoch", ylabel=_CURVE_LABELS[key], ylim=ylim, title=curve_title)
    axes[1].legend()
    return fig


def layer_rates_figure(rates: Mapping[str, object], labels: Mapping[str, str], width: float = 0.27):
    """The mean test firing rate of every spiking layer, grouped by variant, whiskers one standard deviation over
    the seeds (:func:`qsnn.book.plotting.layer_rates_bars`); ``rates`` maps a variant to ``[seeds, layers]``."""
    fig, ax = plt.subplots(figsize=(6, 3))
    layer_rates_bars(ax, rates, labels, width=width)
    ax.set(ylabel="firing rate r (test set)", title="spike activity per layer")
    ax.legend(fontsize=8)
    return fig


def rates_entropy_figure(rates: Mapping[str, object], labels: Mapping[str, str]):
    """Per spiking layer, the mean firing rate over seeds (left) and the entropy of a spike at that rate (right),
    grouped by variant (:func:`qsnn.book.plotting.layer_rates_bars`); ``rates`` maps a variant to ``[seeds, layers]``."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    layer_rates_bars(axes[0], rates, labels)
    layer_rates_bars(axes[1], rates, labels, values="entropy")
    axes[0].set(ylabel="firing rate r", title="spike activity per layer (test set)", ylim=(0, 0.6))
    axes[1].set(ylabel="H(r) [bit]", title="entropy of a spike", ylim=(0, 1.05))
    axes[0].legend(fontsize=8)
    return fig


def effects_figure(accuracy: Mapping[str, Mapping], effects: Mapping[str, Mapping], labels: Mapping[str, str]):
    """Left: the ablation's arms (:func:`qsnn.book.plotting.ablation_bars`); right: the paired effects of
    :func:`qsnn.book.analysis.ablation_effects` in points, mean and 95 % interval, a dot per seed."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [1.2, 1]})
    ticks = {n: labels[n].replace("full-precision ", "full-precision\n").replace(" + ", "\n+ ").replace(", ", ",\n")
             for n in accuracy}
    ablation_bars(axes[0], accuracy, ticks)
    names = list(effects)[::-1]
    for y, name in enumerate(names):
        d = effects[name]
        if d["ci"] is not None:
            axes[1].plot([100 * d["ci"][0], 100 * d["ci"][1]], [y, y], color="k", lw=2)
        axes[1].scatter([100 * x for x in d["per_seed"].values()], [y] * len(d["per_seed"]), color="0.6", s=12,
                        zorder=3)
        axes[1].scatter(100 * d["mean"], y, color="k", marker="D", zorder=4)
    axes[1].axvline(0, color="k", lw=0.8, ls=":")
    axes[1].set_yticks(range(len(names)), names)
    axes[1].set(xlabel="paired difference [points]", title="paired effects, 95 % interval")
    return fig


def _accuracy_points(value) -> tuple[float, list]:
    """A sweep's accuracy entry as ``(mean, per-seed values)``: a single run's accuracy (a number) or the
    ``{"mean", "per_seed"}`` of :func:`qsnn.book.progress.arm_accuracy`."""
    if isinstance(value, Mapping):
        return value["mean"], list(value["per_seed"])
    return value, []


def membrane_quantizers_figure(results: Mapping[str, Mapping[int, object]]):
    """Test accuracy (percent) against the membrane's bit width, one line per quantizer; ``results`` maps a
    quantizer name to ``{bits: accuracy}`` (32 for full precision, shared by both), an accuracy a single run's
    number or an arm's mean over seeds (:func:`qsnn.book.progress.membrane_rows`, each seed a small dot)."""
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    order = sorted({b for r in results.values() for b in r}, reverse=True)
    for k, ((name, r), color, marker) in enumerate(zip(results.items(), ("#4393c3", "#b2182b"), "os")):
        xs = [order.index(b) for b in order if b in r]
        points = [_accuracy_points(r[b]) for b in order if b in r]
        ax.plot(xs, [100 * m for m, _ in points], marker=marker, color=color, label=name)
        for x, (_, seeds) in zip(xs, points):
            ax.scatter([x + 0.06 * (2 * k - 1)] * len(seeds), [100 * v for v in seeds], color=color, s=8, alpha=0.5)
    ax.set_xticks(range(len(order)), ["FP32" if b == 32 else f"{b} bit" for b in order])
    ax.set_xlim(-0.5, len(order) - 0.5)  # a column's seeds stay beside its mean, even with a single column
    ax.set(xlabel="membrane precision", ylabel="test accuracy [%]", title="Q-SNN + WS-DR, binary weights")
    ax.legend(fontsize=8)
    return fig


def sign_entropy_figure(entropy: Mapping[str, object], labels: Mapping[str, str]):
    """Per binary layer, the entropy of the weight signs in bits (mean over seeds, whiskers the range);
    ``entropy`` maps a variant to ``[seeds, binary layers]``."""

    names = list(entropy)
    width = 0.8 / len(names)
    fig, ax = plt.subplots(figsize=(7, 3.3))
    for i, name in enumerate(names):
        e = np.asarray(entropy[name], dtype=float)
        x = np.arange(e.shape[1]) + (i - (len(names) - 1) / 2) * width
        mean = e.mean(0)
        ax.bar(x, mean, width, yerr=[mean - e.min(0), e.max(0) - mean], color=VARIANT_COLORS.get(name, "#888888"),
               label=labels[name], capsize=2)
    ax.set_xticks(range(e.shape[1]), [f"binary {k + 1}" for k in range(e.shape[1])])
    low = min(float(np.asarray(v).min()) for v in entropy.values())
    ax.set(ylabel="sign entropy [bit]", ylim=(max(0.0, low - 0.02), 1.002), title="balance of the binary weights")
    fig.legend(loc="outside lower center", fontsize=8, ncol=min(len(names), 4))  # beside the bars, never over them
    return fig


def lambda_sweep_figure(table: Mapping[float, Mapping]):
    """Left: test accuracy (percent) against the spike-rate weight; right: the firing rate of every regulated
    (middle) layer and their mean distance from 1/2. ``table`` is the first value of
    :func:`qsnn.book.analysis.lambda_table` (one run per weight) or :func:`qsnn.book.progress.lambda_rows` (the
    mean over seeds, each seed's accuracy a small dot). The weights sit at equal spacing in their sorted order,
    so ``lambda = 0`` has a place beside the positive values of a log scale."""
    lams = sorted(table)
    xs = np.arange(len(lams))
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.2))
    points = [_accuracy_points(table[lam].get("accuracy", table[lam].get("test_acc"))) for lam in lams]
    axes[0].plot(xs, [100 * m for m, _ in points], marker="o", color="k")
    for x, (_, seeds) in zip(xs, points):
        axes[0].scatter([x] * len(seeds), [100 * v for v in seeds], color="0.6", s=10, zorder=3)
    axes[0].set(ylabel="test accuracy [%]", title="accuracy")
    middle = np.array([table[lam]["rates"][1:-1] for lam in lams])  # [weights, regulated layers]
    for k in range(middle.shape[1]):
        axes[1].plot(xs, middle[:, k], color="#4393c3", alpha=0.35 + 0.65 * k / max(1, middle.shape[1] - 1), lw=1)
    axes[1].plot(xs, [0.5 - table[lam]["distance_to_half"] for lam in lams], color="k", marker="o",
                 label="1/2 minus mean |r - 1/2|")
    axes[1].axhline(0.5, color="k", lw=0.8, ls=":")
    axes[1].set(ylabel="firing rate r (test set)", title="regulated layers (blue: one line each)", ylim=(0, 0.6))
    axes[1].legend(fontsize=8, loc="lower right")
    for ax in axes:
        ax.set_xticks(xs, [f"{lam:g}" for lam in lams])
        ax.set_xlabel("lambda_SR")
    return fig


def regime_curves_figure(pilot: Mapping[str, Mapping], main: Mapping[str, Mapping], labels: Mapping[str, str],
                         colors: Mapping[str, str]):
    """Test accuracy (percent) after each epoch: left, the pilot's candidates (one run each); right, the arms of
    the main grid, a thin line per seed and a thick one for the mean over the seeds finished. Both take
    :func:`qsnn.experiments.learning_curves` (``{arm: {seed: curve}}``); ``labels`` and ``colors`` name and
    colour every arm of both."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), sharey=True)
    for arm, seeds in pilot.items():
        for c in seeds.values():
            axes[0].plot(c["epochs"], [100 * a for a in c["test_acc"]], marker="o", ms=3, color=colors[arm],
                         label=labels[arm])
    for arm, seeds in main.items():
        curves = [c["test_acc"] for c in seeds.values()]
        epochs = next(iter(seeds.values()))["epochs"]
        for c in curves:
            axes[1].plot(epochs, [100 * a for a in c], color=colors[arm], lw=0.7, alpha=0.45)
        axes[1].plot(epochs, 100 * np.mean(curves, axis=0), color=colors[arm], lw=2.2,
                     label=f"{labels[arm]} (mean of {len(curves)})")
    axes[0].set(xlabel="epoch", ylabel="test accuracy [%]", title="pilot: how many epochs")
    axes[1].set(xlabel="epoch", title="main grid: a line per seed")
    for ax in axes:
        ax.legend(fontsize=8, loc="lower right")
    return fig
