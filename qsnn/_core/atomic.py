"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Every file the package writes (results JSON, checkpoints, metrics, executed notebooks) goes through
here: a temporary file in the same folder, flushed and synced, then moved onto the target with
``os.replace`` (atomic within one file system). On any error the temporary file is removed.

The temporary file is created private (mode 0600, so no one reads it half-written) and given the
permissions of an ordinary new file, ``0666 & ~umask``, before it takes the target's place.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

__all__ = ["atomic_write", "atomic_write_bytes", "atomic_write_text", "new_file_mode"]


def _umask() -> int:
    """The process's umask, read without changing it where the system allows (Linux: /proc)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere the only way to read it is to set it, then put it back
    os.umask(mask)
    return mask


def new_file_mode() -> int:
    """The mode ``open(path, "w")`` gives a new file: ``0o666`` less the umask."""
    return 0o666 & ~_umask()


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[Any]:
    """Open a temporary file next to ``path``; on success move it onto ``path`` atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Final destination. Its folder is created if missing.
    mode : {"wb", "w"}
        Binary or text mode (text is UTF-8).

    Yields
    ------
    file object
        The open temporary file. If the ``with`` block raises, the temporary file is removed and
        ``path`` is left untouched (the previous version, if any, survives).

    Raises
    ------
    ValueError
        If ``mode`` is not ``"wb"`` or ``"w"``.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w', got {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Same folder as the target: os.replace is only atomic within one file system.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **({"encoding": "utf-8"} if mode == "w" else {})) as fh:
            yield fh
            fh.flush()
            os.fchmod(fh.fileno(), new_file_mode())
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path, "wb") as fh:
        fh.write(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path, "w") as fh:
        fh.write(text)
    return Path(path)
