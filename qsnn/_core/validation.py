"""Argument checks at the public boundaries of the package: one place, used by both parts.

Every check raises ``ValueError`` (or ``TypeError`` for an object of the wrong kind) whose message names
the argument, the offending value and what is allowed. Code behind the boundary trusts checked data.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = [
    "RESETS",
    "RESET_CODES",
    "check_alpha",
    "check_threshold",
    "check_reset",
    "check_vector",
    "check_finite_scalar",
    "check_int",
    "check_real",
    "check_choice",
    "check_bool",
]

from .resets import RESET_CODES, RESETS


def _real(name: str, value) -> float:
    """Return ``value`` as a Python float, or raise if it is not a real number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if isinstance(value, np.ndarray) and value.ndim == 0 and np.isrealobj(value) and value.dtype != bool:
            return float(value)
        raise ValueError(f"{name} must be a real number, got {value!r} of type {type(value).__name__}")
    return float(value)


def check_int(name: str, value, *, min: int | None = None, max: int | None = None) -> int:
    """Return ``value`` as an ``int``; booleans and non-integral numbers are refused.

    ``min`` and ``max`` are inclusive bounds.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, np.ndarray) and value.ndim == 0 and np.issubdtype(value.dtype, np.integer):
            value = int(value)
        else:
            raise ValueError(f"{name} must be an integer, got {value!r} of type {type(value).__name__}")
    value = int(value)
    if (min is not None and value < min) or (max is not None and value > max):
        raise ValueError(f"{name} must be an integer {_range_text(min, max, False, False)}, got {value!r}")
    return value


def check_real(
    name: str,
    value,
    *,
    min: float | None = None,
    max: float | None = None,
    min_open: bool = False,
    max_open: bool = False,
    finite: bool = True,
) -> float:
    """Return ``value`` as a ``float`` in the given range (closed unless ``*_open``); NaN is always refused."""
    x = _real(name, value)
    bad = math.isnan(x) or (finite and math.isinf(x))
    if min is not None:
        bad = bad or (x <= min if min_open else x < min)
    if max is not None:
        bad = bad or (x >= max if max_open else x > max)
    if bad:
        kind = "a finite real number" if finite else "a real number"
        raise ValueError(f"{name} must be {kind} {_range_text(min, max, min_open, max_open)}, got {value!r}".replace(" , ", ", "))
    return x


def check_choice(name: str, value, choices):
    """Return ``value`` if it is one of ``choices``; the message lists them."""
    try:
        ok = value in choices
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(f"{name} must be one of {tuple(choices)!r}, got {value!r}")
    return value


def check_bool(name: str, value) -> bool:
    """Return ``value`` if it is a ``bool`` (1 and 0 and strings are refused)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be true or false, got {value!r} of type {type(value).__name__}")
    return bool(value)


def _range_text(lo, hi, lo_open: bool, hi_open: bool) -> str:
    if lo is None and hi is None:
        return ""
    if hi is None:
        return f"{'>' if lo_open else '>='} {lo}"
    if lo is None:
        return f"{'<' if hi_open else '<='} {hi}"
    return f"in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"


def check_threshold(threshold) -> float:
    """Return the firing threshold theta as a float; it must be finite and > 0."""
    theta = _real("threshold", threshold)
    if not (math.isfinite(theta) and theta > 0.0):
        raise ValueError(f"threshold must be a finite number > 0, got {threshold!r}")
    return theta


def check_alpha(alpha) -> float:
    """Return the leak rate alpha as a float; allowed is [0, inf] (inf: no memory between spikes)."""
    value = _real("alpha", alpha)
    if math.isnan(value) or value < 0.0:
        raise ValueError(f"alpha must be in [0, inf] (0: no leak, inf: full leak), got {alpha!r}")
    return value


def check_reset(reset) -> str:
    """Return ``reset`` if it names one of :data:`RESETS`."""
    return check_choice("reset", reset, RESETS)


def check_finite_scalar(name: str, value) -> float:
    """Return a finite real scalar as a float."""
    x = _real(name, value)
    if not math.isfinite(x):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    return x


def check_vector(name: str, values) -> np.ndarray:
    """Return ``values`` as a 1-D finite float64 array (a copy)."""
    try:
        arr = np.array(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a 1-D sequence of real numbers, got {values!r}") from exc
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} must be finite, got {arr[i]!r} at index {i}")
    return arr
