"""Checks of spike trains and of batches of spike trains at Part I's public functions.

A batch is two arrays ``[batch, n]`` of times and amplitudes. The kernels scan the entries in their own
pass and report the first bad one by a code that :func:`raise_bad_batch_entry` turns into the message.
"""

from __future__ import annotations

import numpy as np

from ._kernels import first_bad_entry
from .spikes import SpikeTrain

__all__ = ["check_train", "check_batch", "as_batch_arrays", "raise_bad_batch_entry"]


def check_train(train, name: str = "train"):
    """Raise ``TypeError`` unless ``train`` is a :class:`qsnn.SpikeTrain`; return it."""
    if not isinstance(train, SpikeTrain):
        raise TypeError(
            f"{name} must be a qsnn.SpikeTrain, got {type(train).__name__}; "
            f"build one with SpikeTrain(times, amplitudes), or use the *_batch functions for arrays"
        )
    return train


def as_batch_arrays(times, amplitudes) -> tuple[np.ndarray, np.ndarray]:
    """Return ``times`` and ``amplitudes`` as C-contiguous float64 arrays of one shape ``[batch, n]``.

    Complex input is refused (converting it would silently drop the imaginary part). The entries are
    not scanned here: the Part I kernels check finiteness and order in their own pass and report the
    first bad entry through :func:`raise_bad_batch_entry`; :func:`check_batch` does both.
    """
    arrays = []
    for name, values in (("times", times), ("amplitudes", amplitudes)):
        if np.iscomplexobj(values):
            raise ValueError(f"{name} must be real, got an array of dtype {np.asarray(values).dtype}; "
                             f"pass the real part (values.real) or the magnitude (abs(values)) explicitly")
        try:
            arr = np.ascontiguousarray(values, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} must be a 2-D array of real numbers [batch, n], got {values!r}") from exc
        if arr.ndim != 2:
            raise ValueError(f"{name} must be 2-D [batch, n], got an array of shape {arr.shape}")
        arrays.append(arr)
    t, a = arrays
    if t.shape != a.shape:
        raise ValueError(f"times and amplitudes must have the same shape, got {t.shape} and {a.shape}")
    return t, a


def raise_bad_batch_entry(t: np.ndarray, a: np.ndarray, code: int, row: int, col: int) -> None:
    """Raise the ``ValueError`` for the first bad entry found by a kernel (code 1: time not finite,
    2: amplitude not finite, 3: ``t[row, col] >= t[row, col + 1]``); return if ``code`` is 0."""
    if code == 1:
        raise ValueError(f"times must be finite, got {t[row, col]!r} at [{row}, {col}]")
    if code == 2:
        raise ValueError(f"amplitudes must be finite, got {a[row, col]!r} at [{row}, {col}]")
    if code == 3:
        raise ValueError(
            f"times must be strictly increasing along each row, got times[{row}, {col}] = {t[row, col]!r} "
            f"followed by times[{row}, {col + 1}] = {t[row, col + 1]!r}; merge equal times into one spike"
        )


def check_batch(times, amplitudes) -> tuple[np.ndarray, np.ndarray]:
    """Return ``times`` and ``amplitudes`` as C-contiguous float64 arrays of shape ``[batch, n]``.

    Each row of ``times`` must be strictly increasing and finite; ``amplitudes`` must be finite, real
    and of the same shape. Zero amplitudes are allowed: a zero spike is no spike.
    """
    t, a = as_batch_arrays(times, amplitudes)
    # one pass of the kernel instead of three temporaries
    raise_bad_batch_entry(t, a, *first_bad_entry(t, a))
    return t, a
