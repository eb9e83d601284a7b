"""The book's figure style, shared by every chapter.

Chapters call :func:`use_book_style` once and draw with matplotlib; figure helpers that more
than one chapter needs live here too. Colours are fixed per concept (a reset variant, a model
variant) so that a reader recognises the same thing across chapters and both parts.
"""

from __future__ import annotations

from typing import Mapping

import matplotlib as mpl

from .analysis import layer_rates

__all__ = ["RESET_COLORS", "VARIANT_COLORS", "use_book_style", "potential_path", "plot_error_sweep",
           "ablation_bars", "layer_rates_bars", "mean_curves"]

#: One colour per reset variant (Part I and the Part II LIF layer name resets the same way).
RESET_COLORS: Mapping[str, str] = {"mod": "#1b7837", "subtract": "#2166ac", "zero": "#b2182b"}
#: One colour per model variant of Part II.
VARIANT_COLORS: Mapping[str, str] = {"fp_snn": "#4d4d4d", "qsnn_raw": "#8c510a", "qsnn": "#d6604d",
                                     "qsnn_wr": "#f4a582", "qsnn_sr": "#92c5de", "qsnn_wsdr": "#4393c3"}

_STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.figsize": (7.0, 3.6),
    "figure.constrained_layout.use": True,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": "medium",
    "legend.frameon": False,
    "font.size": 10,
    # Rendered PNGs only: nbval ignores images, and SVG text would differ across machines.
    "figure.max_open_warning": 50,
}


def use_book_style() -> None:
    """Apply the book's matplotlib style and render figures inline as PNG."""
    mpl.rcParams.update(_STYLE)
    try:  # inside a notebook: PNG only, so nbval has no SVG/HTML figure output to compare
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("png")
    except ImportError:  # pragma: no cover - outside Jupyter
        pass


def potential_path(times, u_pre, u_post, alpha: float, t_end: float | None = None,
                   points_per_gap: int = 40):
    """The membrane potential of an event-driven LIF neuron as one polyline, jumps and resets included.

    Between inputs the potential decays, ``u(t) = u_post[k] * exp(-alpha (t - t_k))``; at input ``k`` it
    jumps vertically to ``u_pre[k]`` and, if the neuron fires, drops vertically to ``u_post[k]``. The
    path starts at ``(t_1, 0)``. Draw it with ``ax.plot(*potential_path(...))``.

    Parameters
    ----------
    times : array_like, shape [n]
        Strictly increasing input times ``t_k``.
    u_pre, u_post : array_like, shape [n]
        Potential just after the jump and after the reset (e.g. ``qsnn.LIFTrace.u_pre`` / ``u_post``).
    alpha : float
        Leak rate in ``[0, inf]``; ``inf`` drops the potential to 0 right after each input.
    t_end : float, optional
        Where the last decay segment ends (default: one mean gap after the last input).
    points_per_gap : int
        Samples of each decay segment (>= 2).

    Returns
    -------
    t, u : ndarray of float64, same length
        The polyline's vertices.

    Raises
    ------
    ValueError
        For arrays of different lengths, no inputs, ``alpha`` outside ``[0, inf]``, ``t_end`` before the
        last input, or ``points_per_gap < 2``.
    """
    import numpy as np

    t = np.asarray(times, dtype=np.float64).ravel()
    pre = np.asarray(u_pre, dtype=np.float64).ravel()
    post = np.asarray(u_post, dtype=np.float64).ravel()
    if not (t.shape == pre.shape == post.shape) or t.size == 0:
        raise ValueError(f"times, u_pre and u_post must be non-empty and of one length, got sizes "
                         f"{t.size}, {pre.size}, {post.size}")
    alpha = float(alpha)
    if not alpha >= 0.0:
        raise ValueError(f"alpha must be in [0, inf], got {alpha!r}")
    if int(points_per_gap) < 2:
        raise ValueError(f"points_per_gap must be an integer >= 2, got {points_per_gap!r}")
    if t_end is None:
        t_end = t[-1] + (float(np.mean(np.diff(t))) if t.size > 1 else 1.0)
    if t_end < t[-1]:
        raise ValueError(f"t_end must not lie before the last input time {t[-1]}, got {t_end!r}")
    ends = np.append(t[1:], t_end)
    ts, us = [t[0]], [0.0]
    for k in range(t.size):
        ts += [t[k], t[k]]
        us += [pre[k], post[k]]
        seg = np.linspace(t[k], ends[k], int(points_per_gap))[1:]
        dt = seg - t[k]
        factor = np.where(dt == 0.0, 1.0, 0.0) if np.isinf(alpha) else np.exp(-alpha * dt)
        ts += list(seg)
        us += list(post[k] * factor)
    return np.asarray(ts), np.asarray(us)


def plot_error_sweep(ax, n_spikes, errors, reset: str, *, show_bound: bool = True, point_size: float = 4.0,
                     alpha_points: float = 0.25):
    """Draw one panel of Figs. 4/5 of Part I: every run's error/theta, the median, the line theta.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The panel to draw into (its x axis becomes logarithmic).
    n_spikes : array_like, shape [G]
        Spike counts of the sweep.
    errors : array_like, shape [G, R]
        Quantization errors in units of theta (``qsnn.spiketrains.sweeps.ErrorSweep.errors[reset]``).
    reset : str
        The reset variant, for the colour (:data:`RESET_COLORS`) and the legend.
    show_bound : bool
        Draw the line error = theta.
    point_size, alpha_points : float
        Marker size and opacity of the individual runs.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``.
    """
    import numpy as np

    n = np.asarray(n_spikes)
    e = np.asarray(errors, dtype=float)
    if e.ndim != 2 or e.shape[0] != n.size:
        raise ValueError(f"errors must have shape [len(n_spikes), runs] = [{n.size}, R], got {e.shape}")
    color = RESET_COLORS.get(reset, "#444444")
    xs = np.repeat(n, e.shape[1])
    ax.scatter(xs, e.ravel(), s=point_size, color=color, alpha=alpha_points, linewidths=0,
               label=f"{reset}: runs", rasterized=True)
    ax.plot(n, np.median(e, axis=1), color=color, lw=1.8, marker="o", ms=3, label=f"{reset}: median")
    if show_bound:
        ax.axhline(1.0, color="black", lw=1.0, ls="--", label=r"error $=\vartheta$")
    ax.set_xscale("log")
    return ax


def ablation_bars(ax, accuracy: Mapping[str, Mapping], labels: Mapping[str, str],
                  colors: Mapping[str, str] | None = None, *, margin: float = 3.0):
    """Bars of the mean accuracy per variant (percent), whiskers one standard deviation, a dot per seed.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    accuracy : mapping
        Variant name -> ``{"mean", "std", "per_seed"}`` (fractions), e.g. from
        :func:`qsnn.book.analysis.variants_table`; the bars follow its order.
    labels : mapping
        Variant name -> tick label.
    colors : mapping, optional
        Variant name -> colour (default :data:`VARIANT_COLORS`).
    margin : float
        The y axis starts this many percentage points below the lowest single run.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``.
    """
    import numpy as np

    colors = VARIANT_COLORS if colors is None else colors
    names = list(accuracy)
    if not names:
        raise ValueError("ablation_bars needs at least one variant")
    for i, name in enumerate(names):
        a = accuracy[name]
        seeds = np.asarray(a["per_seed"], dtype=float)
        ax.bar(i, 100 * a["mean"], yerr=100 * a["std"], color=colors.get(name, "#888888"), alpha=0.8, capsize=4)
        ax.scatter(np.full(seeds.size, i) + np.linspace(-0.15, 0.15, seeds.size), 100 * seeds,
                   color="k", s=10, zorder=3)
    lo = min(min(accuracy[n]["per_seed"]) for n in names)
    ax.set(xticks=range(len(names)), ylim=(100 * lo - margin, 100.5), ylabel="test accuracy [%]")
    ax.set_xticklabels([labels[n] for n in names], fontsize=8)
    return ax


def mean_curves(ax, histories: Mapping[str, list], key: str, labels: Mapping[str, str],
                colors: Mapping[str, str] | None = None):
    """One line per variant: ``key`` of the per-epoch history records (percent), averaged over seeds.

    ``histories`` maps a variant to a list (one per seed) of history lists (one record per epoch, as in
    :attr:`qsnn.train.TrainResult.history`); every seed must have the same number of epochs.
    """
    import numpy as np

    colors = VARIANT_COLORS if colors is None else colors
    for name, runs in histories.items():
        curves = np.array([[h[key] for h in history] for history in runs], dtype=float)
        if curves.ndim != 2:
            raise ValueError(f"variant {name}: the seeds' histories differ in length")
        ax.plot(np.arange(1, curves.shape[1] + 1), 100 * curves.mean(0), color=colors.get(name, "#888888"),
                label=labels[name])
    return ax


def layer_rates_bars(ax, rates: Mapping[str, object], labels: Mapping[str, str],
                     colors: Mapping[str, str] | None = None, *, values: str = "rate", width: float | None = None):
    """Grouped bars per spiking layer: the mean firing rate over seeds, or with ``values="entropy"`` the mean over
    seeds of the entropy of a spike at each seed's rate (bits); whiskers one standard deviation over the seeds.
    Middle layers are marked "(regulated)": the spike-rate regulariser of WS-DR leaves out the first and the last.

    ``rates`` maps a variant to its rates ``[seeds, layers]``.
    """
    import numpy as np

    if values not in ("rate", "entropy"):
        raise ValueError(f"values must be 'rate' or 'entropy', got {values!r}")
    colors = VARIANT_COLORS if colors is None else colors
    names = list(rates)
    width = 0.8 / len(names) if width is None else width
    n_layers = np.asarray(rates[names[0]]).shape[1]
    for i, name in enumerate(names):
        s = layer_rates(rates[name])
        x = np.arange(n_layers) + (i - (len(names) - 1) / 2) * width
        if values == "rate":
            ax.bar(x, s["mean"], width, yerr=s["std"], color=colors.get(name, "#888888"), label=labels[name],
                   capsize=2)
        else:
            ax.bar(x, s["entropy_mean"], width, yerr=s["entropy_std"], color=colors.get(name, "#888888"),
                   label=labels[name], capsize=2)
    ax.set_xticks(range(n_layers), [f"layer {l + 1}" + ("\n(regulated)" if 0 < l < n_layers - 1 else "")
                                    for l in range(n_layers)])
    if values == "rate":
        ax.axhline(0.5, color="k", lw=0.8)
    return ax
