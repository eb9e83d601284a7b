"""Kernels compiled once per machine, not once per process: a template module specialised on disk.

A kernel whose options are constants compiles to branch-free loops. Written as a closure over the
options, numba compiles it again in every process: the disk cache cannot reuse a closure over other
compiled functions (its key hashes the captured dispatchers, which differ from process to process).
Here the options are module constants instead. :func:`specialise` copies a template module's source with
the block of constants between its markers replaced by one combination, writes the copy into a cache
folder (once; later calls find it unchanged) and imports it. Every function of the copy is a top-level
``@njit(cache=True)`` function of a file on disk, so numba stores what it compiles in that folder's
``__pycache__`` and the next process loads it instead of compiling.

The copy's name holds a hash of the template's source and of the modules it calls into, so a change of
either gives a new file (and new compilations) rather than a stale kernel.

The cache folder (:func:`cache_dir`) lies outside the package, so an installation in a read-only place
works: ``$NUMBA_CACHE_DIR/qsnn-kernels`` when numba is told where to cache, else
``$XDG_CACHE_HOME/qsnn/kernels`` (``~/.cache/qsnn/kernels``), else a private folder under the system's
temporary folder. A folder is used only if this user owns it and no one else may write into it.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import stat
import sys
import tempfile
from pathlib import Path
from types import ModuleType

from .atomic import atomic_write_text

__all__ = ["BEGIN", "END", "cache_dir", "specialise"]

#: The lines that open and close a template's block of constants.
BEGIN = "# --- specialisation"
END = "# --- end of specialisation ---"


def _usable(folder: Path) -> bool:
    """A folder this user can write, owns, and nobody else may write into: numba keeps pickled index files
    there and this module imports the sources it finds, so a folder another user controls (a shared
    temporary folder made first by someone else) could plant code."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = folder.stat()
    except OSError:
        return False
    if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)):
        return False
    return stat.S_ISDIR(st.st_mode) and os.access(folder, os.W_OK | os.X_OK)


@functools.lru_cache(maxsize=None)
def cache_dir() -> Path:
    """The folder that holds the specialised sources and, in its ``__pycache__``, numba's compiled code."""
    candidates = []
    if os.environ.get("NUMBA_CACHE_DIR"):
        candidates.append(Path(os.environ["NUMBA_CACHE_DIR"]) / "qsnn-kernels")
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    candidates.append(Path(base) / "qsnn" / "kernels")
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    candidates.append(Path(tempfile.gettempdir()) / f"qsnn-kernels-{uid}")
    for folder in candidates:
        if _usable(folder):
            return folder
    # nowhere to keep them: compile in every process, from a folder of this process's own
    return Path(tempfile.mkdtemp(prefix="qsnn-kernels-"))


def _source(module: str) -> str:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ImportError(f"no source for module {module!r}")
    return Path(spec.origin).read_text(encoding="utf-8")


def _specialised_text(template: str, source: str, constants: dict) -> str:
    lines = source.splitlines(keepends=True)
    try:
        begin = next(i for i, line in enumerate(lines) if line.startswith(BEGIN))
        end = next(i for i, line in enumerate(lines) if line.startswith(END))
    except StopIteration:
        raise ValueError(f"template {template} has no block of constants between {BEGIN!r} and {END!r}") from None
    names = [line.split("=", 1)[0].strip() for line in lines[begin + 1:end] if "=" in line]
    if sorted(names) != sorted(constants):
        raise ValueError(f"template {template} sets {sorted(names)}, the specialisation gives {sorted(constants)}")
    block = [f"{name} = {constants[name]!r}\n" for name in names]
    return "".join(lines[:begin + 1] + block + lines[end:])


@functools.lru_cache(maxsize=None)
def _load(template: str, items: tuple, depends: tuple) -> ModuleType:
    constants = dict(items)
    text = _specialised_text(template, _source(template), constants)
    digest = hashlib.sha256("\0".join([text, *(_source(m) for m in depends)]).encode()).hexdigest()[:16]
    tag = "_".join(f"{name.lower()}{_tag(value)}" for name, value in items)
    stem = f"{template.rsplit('.', 1)[-1].lstrip('_')}_{tag}_{digest}"
    path = cache_dir() / f"{stem}.py"
    try:
        current = path.read_text(encoding="utf-8")
    except OSError:
        current = None
    if current != text:  # written once: rewriting would change the file's time, which voids numba's cache
        atomic_write_text(path, text)
    name = f"qsnn._specialised.{stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _tag(value) -> str:
    return str(int(value)) if isinstance(value, (bool, int)) else str(value)


def specialise(template: str, constants: dict, depends: tuple[str, ...] = ()) -> ModuleType:
    """The module ``template`` with its constants set to ``constants``, imported from the cache folder.

    Parameters
    ----------
    template : str
        A module's dotted name; its source holds one block of ``NAME = value`` lines between a line
        starting with :data:`BEGIN` and the line :data:`END`.
    constants : dict
        A value (int or bool) for every name of that block.
    depends : tuple of str
        Modules whose compiled functions the template calls: their sources enter the copy's hash.

    Returns
    -------
    module
        The specialised copy (one per process and combination; later calls return the same module).

    Raises
    ------
    ValueError
        If the template has no block of constants or ``constants`` does not name exactly its names.
    """
    return _load(template, tuple(sorted(constants.items())), tuple(depends))
