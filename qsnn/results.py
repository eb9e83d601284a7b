"""Headline numbers of a chapter, as JSON, so that runs can be compared without parsing notebooks.

Every chapter ends its computations with ``qsnn.results.save("<notebook stem>", {...}, results_dir)``.
The book's own executions write to ``results/`` at the repository root; a run through ``qsnn.run``
writes into ``<run folder>/results/``. Files are written atomically: a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Mapping

from ._json import to_jsonable  # noqa: F401  (part of this module's API)
from .atomic import atomic_write_text

__all__ = ["save", "load", "to_jsonable"]

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
