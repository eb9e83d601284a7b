"""Explicit, bounded, clearable caches of data read or computed once (parsed files, emulated
event streams, binned frames).

A cache holds only read-only NumPy arrays (and tuples of them, with plain immutable values), so
no caller can change what another caller receives; data sets copy what they need into their own
tensors. :func:`clear_caches` empties every cache, e.g. to free memory or after files changed on
disk (entries of files are keyed by path, size and modification time, so a changed file is read
again anyway).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Hashable

import numpy as np

__all__ = ["DataCache", "clear_caches", "file_key"]

_ALL: list["DataCache"] = []


def _freeze(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
        return value
    if isinstance(value, tuple):
        return tuple(_freeze(v) for v in value)
    if value is None or isinstance(value, (int, float, str, bool, bytes)):
        return value
    raise TypeError(f"a data cache holds arrays, tuples and plain values, not {type(value).__name__}")


class DataCache:
    """At most ``max_entries`` results, least recently used dropped first.

    Parameters
    ----------
    name : str
        What the cache holds, for ``repr``.
    max_entries : int
        Bound on the number of entries (>= 1).
    """

    def __init__(self, name: str, max_entries: int) -> None:
        self.name, self.max_entries = name, int(max_entries)
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        _ALL.append(self)

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """The entry for ``key``, computed by ``make()`` (then frozen read-only) when absent."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        value = _freeze(make())
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"DataCache({self.name!r}, {len(self)}/{self.max_entries} entries)"


def clear_caches() -> None:
    """Empty every data cache of :mod:`qsnn.data`."""
    for cache in _ALL:
        cache.clear()


def file_key(*paths: str | os.PathLike) -> tuple:
    """A cache key for files: each one's resolved path, size and modification time."""
    key = []
    for p in paths:
        st = os.stat(p)
        key.append((str(Path(p).resolve()), st.st_size, st.st_mtime_ns))
    return tuple(key)
