"""The book's figure style, shared by every chapter.

Chapters call :func:`use_book_style` once and draw with matplotlib; figure helpers that more
than one chapter needs live here too. Colours are fixed per concept (a reset variant, a model
variant) so that a reader recognises the same thing across chapters and both parts.
"""

from __future__ import annotations

from typing import Mapping

import matplotlib as mpl

__all__ = ["RESET_COLORS", "VARIANT_COLORS", "use_book_style"]

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
