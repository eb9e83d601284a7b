"""The book's figure style, shared by every chapter.

Chapters call :func:`use_book_style` once and draw with matplotlib; figure helpers that more
than one chapter needs live here too. Colours are fixed per concept (a reset variant, a model
variant) so that a reader recognises the same thing across chapters and both parts.
"""

from __future__ import annotations

from typing import Mapping

import matplotlib as mpl

__all__ = ["RESET_COLORS", "VARIANT_COLORS", "use_book_style", "plot_error_sweep"]

#: One colour per reset variant (Part I and the Part II LIF layer name resets the same way).
RESET_COLORS: Mapping[str, str] = {"mod": "#1b7837", "subtract": "#2166ac", "zero": "#b2182b"}
#: One colour per model variant of Part II.
VARIANT_COLORS: Mapping[str, str] = {"fp_snn": "#4d4d4d", "qsnn": "#d6604d", "qsnn_wsdr": "#4393c3"}

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
        Quantization errors in units of theta (``qsnn.sweeps.ErrorSweep.errors[reset]``).
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
        ax.axhline(1.0, color="black", lw=1.0, ls="--", label=r"error $=\theta$")
    ax.set_xscale("log")
    return ax
