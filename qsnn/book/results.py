"""Headline numbers of a chapter: as JSON, so that runs can be compared without parsing notebooks, and glued
into the chapter's prose, so that the text quotes what the cells computed.

Every chapter ends its computations with ``qsnn.book.results.save("<notebook stem>", {...}, results_dir)``.
The book's own executions write to ``results/`` at the repository root; a run through ``qsnn.book.runner``
writes into ``<run folder>/results/``. Files are written atomically: a reader never sees half a file.

:func:`glue` and :func:`glue_all` store a value in the executed notebook under a name, the way MyST-NB's
``myst_nb.glue(name, value, display=False)`` does (the same output format, so Jupyter Book reads it); the
markdown then quotes it with ``{glue:text}`name:.2f``` (a format spec after the colon), or from another page
with ``{glue:text}`04_qsnn_building_blocks.ipynb::name:s``` (the notebook's file name, and a format spec, which
MyST-NB 1.4 needs there to find the key). A number in the prose is therefore the number the cell computed, and
cannot drift from it when the chapter is executed again; ``tests/test_prose.py`` fails on a number typed by hand.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any, Mapping

from .._core.atomic import atomic_write_text
from .._core.jsonio import to_jsonable  # noqa: F401  (part of this module's API)

__all__ = ["save", "load", "to_jsonable", "glue", "glue_all", "GLUE_MIME_PREFIX"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def save(name: str, data: Mapping[str, Any], results_dir: str | os.PathLike = "results") -> Path:
    """Write a chapter's headline numbers to ``<results_dir>/<name>.json``.

    Parameters
    ----------
    name : str
        The notebook stem, e.g. ``"02_lif_quantizer"``.
    data : mapping
        Plain numbers, strings, lists and dicts (numpy/torch values are converted).
    results_dir : path
        Folder to write into; created if missing.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    ValueError
        If ``name`` is not a plain file stem or ``data`` is not a mapping.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"name must be a notebook stem of letters, digits, '_', '-', '.', got {name!r}")
    if not isinstance(data, Mapping):
        raise ValueError(f"data must be a mapping of result names to values, got {type(data).__name__}")
    text = json.dumps(to_jsonable(data), indent=2, sort_keys=True, allow_nan=False) + "\n"
    return atomic_write_text(Path(results_dir) / f"{name}.json", text)


def load(name: str, results_dir: str | os.PathLike = "results") -> dict:
    """Read ``<results_dir>/<name>.json`` written by :func:`save`."""
    path = Path(results_dir) / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no results file {path}; execute the chapter {name!r} first "
                                "(make book, or make run CHAPTER=...)")
    return json.loads(path.read_text(encoding="utf-8"))


#: The MIME prefix under which MyST-NB stores a glued value that is not displayed in the cell's output.
GLUE_MIME_PREFIX = "application/papermill.record/"

_GLUE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def _plain(value: Any, digits: int) -> Any:
    """``value`` as plain Python, floats rounded to ``digits`` significant digits (None: not rounded)."""
    value = to_jsonable(value)
    if isinstance(value, float) and digits is not None and value != 0.0 and math.isfinite(value):
        value = float(f"{value:.{digits}g}")
    return value


def glue(name: str, value: Any, digits: int | None = 6) -> Any:
    """Store ``value`` in the executing notebook under ``name``, for ``{glue:text}`name``` in its markdown.

    The output is the one ``myst_nb.glue(name, value, display=False)`` writes (a ``display_data`` whose
    MIME types carry :data:`GLUE_MIME_PREFIX`, and ``metadata.scrapbook.name``): nothing shows in the cell,
    Jupyter Book pastes the value where the prose names it, and nbval compares it with the committed one.

    Parameters
    ----------
    name : str
        Letters, digits, ``_``, ``-`` and ``.``, starting with a letter or ``_`` (no ``:``, which the
        ``{glue:text}`` role reads as the start of a format spec).
    value : number, str, bool or None
        numpy and torch scalars are converted to plain Python first, so the stored text is ``0.5``, never
        ``np.float64(0.5)`` (which the role could not format).
    digits : int or None
        Significant digits a float keeps (default 6): the last bits of a float differ between machines, and
        the prose shows fewer digits anyway. None keeps the float as it is.

    Returns
    -------
    The plain value that was stored.

    Raises
    ------
    ValueError
        If ``name`` is not such a name, or ``value`` is not a single number, string, bool or None.
    """
    from IPython.display import display

    if not isinstance(name, str) or not _GLUE_NAME.match(name):
        raise ValueError(f"glue name must be letters, digits, '_', '-' or '.', starting with a letter or '_'; "
                         f"got {name!r}")
    plain = _plain(value, digits)
    if not (plain is None or isinstance(plain, (bool, int, float, str))):
        raise ValueError(f"glue stores one number, string or bool per name; {name!r} got {type(value).__name__}")
    display({GLUE_MIME_PREFIX + "text/plain": repr(plain)}, raw=True,
            metadata={"scrapbook": {"name": name, "mime_prefix": GLUE_MIME_PREFIX}})
    return plain


def glue_all(values: Mapping[str, Any], prefix: str = "", digits: int | None = 6) -> dict:
    """:func:`glue` every item of ``values`` under ``prefix + name``; returns the plain values stored."""
    if not isinstance(values, Mapping):
        raise ValueError(f"glue_all takes a mapping of names to values, got {type(values).__name__}")
    return {prefix + k: glue(prefix + k, v, digits) for k, v in values.items()}
