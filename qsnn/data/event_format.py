"""The event-stream format shared by the emulator, the frames and the tonic adapter.

Events use tonic's conventions: a structured array with fields ``x, y, t, p`` (the dtype of
``tonic.datasets.NMNIST``), ``t`` in microseconds, ``p = 1`` for ON (brighter) and ``p = 0`` for
OFF events, sensor sizes as ``(W, H, P)``; frames are ``[T, P, H, W]`` with channel ``p``.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._core.validation import check_int, check_real

EVENT_DTYPE = np.dtype([("x", int), ("y", int), ("t", int), ("p", int)])
"""Structured dtype of an event stream: the one ``tonic.datasets.NMNIST`` returns."""

__all__ = ["EVENT_DTYPE", "check_events", "check_image", "check_positive", "check_seed",
           "check_sensor_size", "import_tonic"]


def import_tonic():
    """Import tonic (with its data sets and transforms) without tqdm's "IProgress not found" warning.

    tonic imports ``tqdm.auto``, which warns once in a Jupyter kernel without ipywidgets; the
    warning names an absolute path and says nothing about events.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found")
        import tonic
        import tonic.datasets
        import tonic.download_utils
        import tonic.transforms
    return tonic


def check_positive(name, value, *, integer=False, allow_zero=False):
    """``value`` as an int (``integer``) or finite float, > 0 (or >= 0 with ``allow_zero``)."""
    if integer:
        value = check_int(name, value, min=0)
        if value == 0 and not allow_zero:
            raise ValueError(f"{name} must be an integer > 0, got 0")
        return value
    return check_real(name, value, min=0.0, min_open=not allow_zero)


def check_seed(seed):
    """Return ``seed`` as something ``np.random.default_rng`` accepts: an int or tuple of ints >= 0."""
    items = seed if isinstance(seed, tuple | list) else (seed,)
    if len(items) == 0 or any(
        isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0 for s in items
    ):
        raise ValueError(f"seed must be an integer >= 0 or a tuple of them, got {seed!r}")
    return tuple(int(s) for s in items) if isinstance(seed, tuple | list) else int(seed)


def check_sensor_size(sensor_size, name="sensor_size"):
    """Validate a tonic sensor size (W, H, P) with P in {1, 2}; a pair (W, H) means P = 2."""
    ok = isinstance(sensor_size, tuple | list) and len(sensor_size) in (2, 3)
    if ok:
        ok = all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0
            for v in sensor_size
        )
    if not ok or (len(sensor_size) == 3 and sensor_size[2] not in (1, 2)):
        raise ValueError(
            f"{name} must be (W, H) or (W, H, P) with positive integers and P in {{1, 2}}, "
            f"got {sensor_size!r}"
        )
    w, h = int(sensor_size[0]), int(sensor_size[1])
    p = int(sensor_size[2]) if len(sensor_size) == 3 else 2
    return w, h, p


def check_events(events, name="events"):
    if not isinstance(events, np.ndarray) or events.dtype.names is None:
        raise ValueError(
            f"{name} must be a structured numpy array with fields x, y, t, p, got "
            f"{type(events).__name__}"
        )
    missing = [f for f in ("x", "y", "t", "p") if f not in events.dtype.names]
    if missing or events.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D structured array with fields x, y, t, p; got fields "
            f"{events.dtype.names} and shape {events.shape}"
        )
    return events


def check_image(image):
    arr = np.asarray(image, dtype=float) if not isinstance(image, str) else None
    if arr is None or arr.ndim != 2 or arr.size == 0:
        shape = None if arr is None else arr.shape
        raise ValueError(f"image must be a non-empty 2-D array (H, W), got shape {shape}")
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise ValueError("image must hold finite intensities >= 0, got negative or non-finite values")
    return arr
