"""Event streams: an event-camera emulator for static images and offline access to DVS data sets.

An event camera (dynamic vision sensor, DVS) has no frames: every pixel watches its own log intensity
and emits an event ``(x, y, t, p)`` whenever that value has changed by more than a contrast threshold
since the pixel's last event. Part II of the book (Wei et al., Q-SNNs, ACM MM 2024,
doi:10.1145/3664647.3681186, Sec. 5: DVS-CIFAR10 with VGG-11 / VGGSNN at 48x48, T = 10) trains on
such streams. Three pieces live here:

- :func:`emulate_events`: the DVS pixel model applied to a static image that moves in front of the
  sensor, the way N-MNIST was recorded (Orchard et al. 2015), fast enough for a whole data set.
- :class:`EmulatedDigits`: the scikit-learn digits as event streams, a data set that ships with the
  book and runs on a CPU in seconds.
- :func:`load_event_dataset`: N-MNIST, DVS Gesture, CIFAR10-DVS and SHD through tonic's own classes,
  read from archives the user has placed on disk; no download is ever attempted.

:mod:`qsnn.data.event_sets` turns these into frame sequences [T, 2, H, W] for training; the data
registry of :mod:`qsnn.data` lists them by name. Events use tonic's conventions: a structured array with fields ``x, y, t, p`` (the dtype of
``tonic.datasets.NMNIST``), ``t`` in microseconds, ``p = 1`` for ON (brighter) and ``p = 0`` for OFF
events, sensor sizes as ``(W, H, P)``; frames are ``[T, P, H, W]`` with channel ``p``.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import numbers
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ._common import DatasetNotFoundError
from .digits import load_digits_arrays

EVENT_DTYPE = np.dtype([("x", int), ("y", int), ("t", int), ("p", int)])
"""Structured dtype of an event stream: the one ``tonic.datasets.NMNIST`` returns."""

# Lowest per-pixel threshold after mismatch, as a fraction of the nominal threshold: a pixel with a
# zero threshold would fire without bound.
_MIN_THRESHOLD_FRACTION = 0.1
# The default number of time steps moves the scene by at most this many sensor pixels per step.
_MAX_SHIFT_PER_STEP = 0.25
# Crossing times closer than this (us) to an integer are rounding noise of that integer.
_TIME_TOL = 1e-6
# Images emulated together; bounds the memory of the rendered log-intensity video.
_CHUNK = 64


def _import_tonic():
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


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------
def _check_positive(name, value, *, integer=False, allow_zero=False):
    ok_type = isinstance(value, numbers.Integral) if integer else isinstance(value, numbers.Real)
    if isinstance(value, bool) or not ok_type or not math.isfinite(float(value)):
        kind = "an integer" if integer else "a finite number"
        raise ValueError(f"{name} must be {kind} {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        kind = "an integer" if integer else "a finite number"
        raise ValueError(f"{name} must be {kind} {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return int(value) if integer else float(value)


def _check_seed(seed):
    """Return ``seed`` as something ``np.random.default_rng`` accepts: an int or tuple of ints >= 0."""
    items = seed if isinstance(seed, tuple | list) else (seed,)
    if len(items) == 0 or any(
        isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0 for s in items
    ):
        raise ValueError(f"seed must be an integer >= 0 or a tuple of them, got {seed!r}")
    return tuple(int(s) for s in items) if isinstance(seed, tuple | list) else int(seed)


def _check_sensor_size(sensor_size, name="sensor_size"):
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


def _check_events(events, name="events"):
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


# --------------------------------------------------------------------------------------------
# emulator
# --------------------------------------------------------------------------------------------
def saccade_path(amplitude: float) -> np.ndarray:
    """Waypoints of the three saccades of N-MNIST, scaled to a given amplitude.

    N-MNIST moved the sensor along an isosceles triangle: by (+3.5, +7), then (+3.5, -7), then
    (-7, 0) pixels on its 34x34 sensor, 28x28 digits, 105 ms per saccade (Orchard et al. 2015; the
    same geometry undoes the motion in ``tonic.datasets.nmnist.stabilize``). Here the image moves
    by that triangle with ``amplitude`` in place of 7 pixels.

    Parameters
    ----------
    amplitude : float
        Largest excursion in sensor pixels, > 0 (N-MNIST: 7, a quarter of the digit's height).

    Returns
    -------
    np.ndarray, shape (4, 2)
        Waypoints ``(dx, dy)`` in sensor pixels: (0, 0), (a/2, a), (a, 0), (0, 0).
    """
    a = _check_positive("amplitude", amplitude)
    return np.array([[0.0, 0.0], [a / 2, a], [a, 0.0], [0.0, 0.0]])


def _waypoints(path, rendered_hw):
    if isinstance(path, str):
        if path == "saccades":
            return saccade_path(0.25 * rendered_hw[0])
        if path == "none":
            return np.zeros((1, 2))
        raise ValueError(
            f"path must be 'saccades', 'none' or a sequence of (dx, dy) waypoints, got {path!r}"
        )
    try:
        wp = np.asarray(path, dtype=float)
    except (TypeError, ValueError):
        wp = None
    if wp is None or wp.ndim != 2 or wp.shape[1] != 2 or len(wp) == 0 or not np.isfinite(wp).all():
        raise ValueError(
            "path must be 'saccades', 'none' or a sequence of (dx, dy) waypoints with finite "
            f"values, got {path!r}"
        )
    return wp


def _interp_matrix(n_out, n_in, upsample, offset, shifts):
    """Bilinear resampling matrices, one per time step: shape [K, n_out, n_in].

    Output pixel u (centre u + 0.5) sees the source coordinate (u + 0.5 - offset - shift) / upsample
    - 0.5 in pixel-centre units; the tent kernel max(0, 1 - |s - j|) is bilinear interpolation with
    zero intensity outside the image.
    """
    u = np.arange(n_out) + 0.5
    s = (u[None, :] - offset - shifts[:, None]) / upsample - 0.5  # [K, n_out]
    j = np.arange(n_in)
    return np.maximum(0.0, 1.0 - np.abs(s[:, :, None] - j[None, None, :]))


def _plan(shape_hw, *, path, duration_us, steps, upsample, sensor_size):
    """Geometry and timing shared by every image of one shape: step times, resampling matrices."""
    h, w = shape_hw
    hr, wr = h * upsample, w * upsample
    wp = _waypoints(path, (hr, wr))
    lo, hi = wp.min(axis=0), wp.max(axis=0)
    if sensor_size is None:
        W = max(1, math.ceil(wr + hi[0] - lo[0] - 1e-9))
        H = max(1, math.ceil(hr + hi[1] - lo[1] - 1e-9))
    else:
        W, H, P = _check_sensor_size(sensor_size)
        if P != 2:
            raise ValueError(f"sensor_size must have 2 polarities for a DVS, got {sensor_size!r}")
    length = float(np.sum(np.linalg.norm(np.diff(wp, axis=0), axis=1))) if len(wp) > 1 else 0.0
    if steps is None:
        steps = max(1, math.ceil(length / _MAX_SHIFT_PER_STEP))
    if steps > duration_us:
        raise ValueError(
            f"steps must be <= duration_us (at least 1 us per step), got steps={steps}, "
            f"duration_us={duration_us}"
        )
    # Integer step times: an event of step k has t in (t[k-1], t[k]].
    t_steps = np.round(np.linspace(0, duration_us, steps + 1)).astype(np.int64)
    # Equal time per segment between waypoints, as the equal-length saccades of N-MNIST.
    s = np.linspace(0.0, len(wp) - 1, steps + 1)
    knots = np.arange(len(wp))
    dx, dy = np.interp(s, knots, wp[:, 0]), np.interp(s, knots, wp[:, 1])
    # Centre the area swept by the moving image on the sensor.
    ox = (W - wr - (lo[0] + hi[0])) / 2
    oy = (H - hr - (lo[1] + hi[1])) / 2
    ry = _interp_matrix(H, h, upsample, oy, dy)  # [K+1, H, h]
    rxt = _interp_matrix(W, w, upsample, ox, dx).transpose(0, 2, 1)  # [K+1, w, W]
    return t_steps, ry, rxt, (W, H)


def _log_intensity_video(images, ry, rxt, log_eps):
    """Log intensity log(I + eps) seen by the sensor at each step: [N, K+1, H, W] from [N, h, w]."""
    video = np.matmul(np.matmul(ry[None], images[:, None]), rxt[None])
    return np.log(np.maximum(video, 0.0) + log_eps)


def _dvs_events(L, t_steps, thresholds):
    """The DVS pixel model on a log-intensity video.

    Parameters
    ----------
    L : np.ndarray, shape [N, K+1, P]
        Log intensity per image, step and pixel (flattened y * W + x), linear in time between steps.
    t_steps : np.ndarray of int, shape [K+1]
        Step times in microseconds, strictly increasing.
    thresholds : np.ndarray, shape [P]
        Contrast threshold C of each pixel, > 0.

    Returns
    -------
    tuple of np.ndarray
        Image index, pixel index, time (us) and polarity of every event, in generation order
        (step, then image and pixel, then crossing).
    """
    n, k1, npx = L.shape
    ref = L[:, 0, :].copy()  # reference level: log intensity at the pixel's last event
    C = np.broadcast_to(thresholds, (n, npx))
    out = []
    for k in range(1, k1):
        lk = L[:, k, :]
        d = lk - ref
        # k events when |d| >= k * C; floor(|d| / C) can be off by one in floating point, so the
        # count is corrected to satisfy exactly that comparison.
        mag = np.abs(d)
        count = np.floor(mag / C)
        count += (mag >= (count + 1) * C).astype(count.dtype)
        count -= ((count > 0) & (mag < count * C)).astype(count.dtype)
        hit = np.nonzero(count > 0)
        if hit[0].size == 0:
            continue
        cnt = count[hit].astype(np.int64)
        sgn = np.sign(d[hit])
        c_hit = C[hit]
        lp, lk_hit, r0 = L[hit[0], k - 1, hit[1]], lk[hit], ref[hit]
        ref[hit] = r0 + sgn * cnt * c_hit
        # One event per level crossed: levels r0 + j * sgn * C, j = 1..cnt, each reached at the
        # time the linear path from lp to lk passes it.
        rep = np.repeat(np.arange(cnt.size), cnt)
        j = np.arange(rep.size) - np.repeat(np.cumsum(cnt) - cnt, cnt) + 1
        level = r0[rep] + j * sgn[rep] * c_hit[rep]
        step = lk_hit[rep] - lp[rep]
        # A zero step can only meet a level left over by rounding: place it at the step's end.
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(step != 0, (level - lp[rep]) / step, 1.0)
        t0, t1 = t_steps[k - 1], t_steps[k]
        # Rounded up to the microsecond; within _TIME_TOL of an integer counts as that integer.
        t = np.clip(np.ceil(t0 + frac * (t1 - t0) - _TIME_TOL), t0 + 1, t1).astype(np.int64)
        out.append((hit[0][rep], hit[1][rep], t, (sgn[rep] > 0).astype(np.int64)))
    if not out:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, empty
    return tuple(np.concatenate(parts) for parts in zip(*out, strict=True))


def _background_noise(rng, n_pixels, rate_hz, duration_us):
    """Background activity: a Poisson process of rate ``rate_hz`` per pixel, random polarity."""
    counts = rng.poisson(rate_hz * duration_us * 1e-6, size=n_pixels)
    pix = np.repeat(np.arange(n_pixels), counts)
    t = rng.integers(0, duration_us + 1, size=pix.size)
    p = rng.integers(0, 2, size=pix.size)
    return pix, t, p


def _pixel_thresholds(rng, contrast_threshold, threshold_sigma, n_pixels):
    if threshold_sigma == 0:
        return np.full(n_pixels, contrast_threshold)
    c = contrast_threshold + threshold_sigma * rng.standard_normal(n_pixels)
    return np.maximum(c, _MIN_THRESHOLD_FRACTION * contrast_threshold)


def _to_structured(pix, t, p, width):
    ev = np.empty(t.size, dtype=EVENT_DTYPE)
    ev["x"], ev["y"], ev["t"], ev["p"] = pix % width, pix // width, t, p
    return ev


def _check_image(image):
    arr = np.asarray(image, dtype=float) if not isinstance(image, str) else None
    if arr is None or arr.ndim != 2 or arr.size == 0:
        shape = None if arr is None else arr.shape
        raise ValueError(f"image must be a non-empty 2-D array (H, W), got shape {shape}")
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise ValueError("image must hold finite intensities >= 0, got negative or non-finite values")
    return arr


def _normalise(images):
    """Scale each image to a maximum of 1 (a log sensor sees ratios, so only relative values matter)."""
    peak = images.reshape(len(images), -1).max(axis=1)
    return images / np.where(peak > 0, peak, 1.0)[:, None, None]


def _validated_options(contrast_threshold, duration_us, steps, upsample, log_eps, noise_rate_hz,
                       threshold_sigma):
    C = _check_positive("contrast_threshold", contrast_threshold)
    duration_us = _check_positive("duration_us", duration_us, integer=True)
    if steps is not None:
        steps = _check_positive("steps", steps, integer=True)
    upsample = _check_positive("upsample", upsample)
    if upsample < 1:
        raise ValueError(f"upsample must be a finite number >= 1, got {upsample!r}")
    log_eps = _check_positive("log_eps", log_eps)
    noise_rate_hz = _check_positive("noise_rate_hz", noise_rate_hz, allow_zero=True)
    threshold_sigma = _check_positive("threshold_sigma", threshold_sigma, allow_zero=True)
    return C, duration_us, steps, upsample, log_eps, noise_rate_hz, threshold_sigma


def _emulate_many(images, *, contrast_threshold, path, duration_us, steps, upsample, log_eps,
                  noise_rate_hz, threshold_sigma, sensor_size, mismatch_seed, noise_seeds):
    """Emulate a stack of same-shape images [N, h, w] (validated) on one sensor."""
    t_steps, ry, rxt, (W, H) = _plan(
        images.shape[1:], path=path, duration_us=duration_us, steps=steps, upsample=upsample,
        sensor_size=sensor_size,
    )
    thresholds = _pixel_thresholds(
        np.random.default_rng(mismatch_seed), contrast_threshold, threshold_sigma, W * H
    )
    images = _normalise(images)
    streams = []
    for start in range(0, len(images), _CHUNK):
        chunk = images[start:start + _CHUNK]
        L = _log_intensity_video(chunk, ry, rxt, log_eps).reshape(len(chunk), len(t_steps), W * H)
        img, pix, t, p = _dvs_events(L, t_steps, thresholds)
        order = np.lexsort((t, img))  # stable: ties keep generation order
        img, pix, t, p = img[order], pix[order], t[order], p[order]
        bounds = np.searchsorted(img, np.arange(len(chunk) + 1))
        for i in range(len(chunk)):
            sl = slice(bounds[i], bounds[i + 1])
            ev_pix, ev_t, ev_p = pix[sl], t[sl], p[sl]
            if noise_rate_hz > 0:
                rng = np.random.default_rng(noise_seeds[start + i])
                n_pix, n_t, n_p = _background_noise(rng, W * H, noise_rate_hz, duration_us)
                ev_pix = np.concatenate([ev_pix, n_pix])
                ev_t = np.concatenate([ev_t, n_t])
                ev_p = np.concatenate([ev_p, n_p])
                o = np.argsort(ev_t, kind="stable")
                ev_pix, ev_t, ev_p = ev_pix[o], ev_t[o], ev_p[o]
            streams.append(_to_structured(ev_pix, ev_t, ev_p, W))
    return streams, (W, H, 2)


def emulate_events(
    image,
    contrast_threshold: float = 0.15,
    path="saccades",
    duration_us: int = 300_000,
    steps: int | None = None,
    upsample: float = 1.0,
    log_eps: float = 0.1,
    noise_rate_hz: float = 0.0,
    threshold_sigma: float = 0.0,
    seed=0,
    sensor_size=None,
) -> np.ndarray:
    """Events a dynamic vision sensor emits while a static image moves in front of it.

    Model (the DVS pixel of Lichtsteiner, Posch & Delbruck, IEEE JSSC 43(2), 2008,
    doi:10.1109/JSSC.2007.914337; emulators in this spirit: ESIM, Rebecq et al. 2018; v2e, Hu et al.
    2021). Each pixel tracks its log intensity L = log(I + eps) and keeps a reference level L_ref,
    the value at its last event. Whenever |L(t) - L_ref| reaches the contrast threshold C it emits an
    event of polarity sign(L - L_ref) (``p = 1`` ON, ``p = 0`` OFF, tonic's convention) and moves
    L_ref by C towards L; a change of k*C gives k events, one per level crossed. Between the
    rendered steps L is taken linear in time, so each crossing gets its own interpolated time
    (rounded up to the microsecond: an event of step k lies in (t_{k-1}, t_k]). The first rendered
    frame sets L_ref and emits nothing.

    Scene: the image (intensities >= 0, scaled to a maximum of 1, so ``eps`` is the black level
    relative to the brightest pixel) is resampled by bilinear interpolation, ``upsample`` sensor
    pixels per image pixel, zero outside, and shifted by sub-pixel amounts along ``path``. The
    default imitates N-MNIST (Orchard, Jayawant, Cohen & Thakor, "Converting static image datasets
    to spiking neuromorphic datasets using saccades", Front. Neurosci. 9:437, 2015,
    doi:10.3389/fnins.2015.00437): an ATIS sensor moved in three saccades over MNIST digits on a
    monitor, an isosceles triangle of amplitude a quarter of the digit's height (see
    :func:`saccade_path`), equal time per saccade.

    Non-idealities, both off by default: per-pixel threshold mismatch C_pix ~ N(C, threshold_sigma^2)
    (clipped below at 0.1 C), drawn from ``seed``; background activity, a Poisson process of
    ``noise_rate_hz`` per pixel with random polarity that does not move the reference level.

    Parameters
    ----------
    image : array_like, shape (h, w)
        Intensities, finite and >= 0.
    contrast_threshold : float
        C, in natural-log units, > 0 (0.15 is about a 16 % change in intensity).
    path : {"saccades", "none"} or sequence of (dx, dy)
        Image displacement in sensor pixels, visited at equal time intervals; "none" keeps the image
        still (no events without noise).
    duration_us : int
        Recording length in microseconds, > 0 (N-MNIST: about 300 ms).
    steps : int or None
        Number of rendered time steps; None moves the image by at most 0.25 sensor pixels per step.
        Must not exceed ``duration_us``.
    upsample : float
        Sensor pixels per image pixel, >= 1 (8x8 digits: 2 gives a 16x16 digit; 3.5 gives the 28x28
        digits of N-MNIST).
    log_eps : float
        eps of log(I + eps), relative to the image's maximum, > 0.
    noise_rate_hz : float
        Background activity per pixel, in events per second, >= 0.
    threshold_sigma : float
        Standard deviation of the per-pixel threshold, in natural-log units, >= 0.
    seed : int or tuple of int
        Seed of threshold mismatch and noise; the same seed gives identical events.
    sensor_size : tuple or None
        (W, H) or (W, H, 2). None: just large enough for the area swept by the moving image, which
        is centred on the sensor.

    Returns
    -------
    np.ndarray
        Structured array of dtype :data:`EVENT_DTYPE` (x, y, t, p), sorted by t (stable), t in
        microseconds within [0, duration_us].

    Raises
    ------
    ValueError
        For an image that is not 2-D, negative or non-finite intensities, a threshold, duration or
        step count that is not positive, an unknown path, or a bad sensor size.
    """
    arr = _check_image(image)
    opts = _validated_options(contrast_threshold, duration_us, steps, upsample, log_eps,
                              noise_rate_hz, threshold_sigma)
    C, duration_us, steps, upsample, log_eps, noise_rate_hz, threshold_sigma = opts
    seed = _check_seed(seed)
    # Mismatch and noise come from independent streams of one seed.
    base = list(seed) if isinstance(seed, tuple) else [seed]
    streams, _ = _emulate_many(
        arr[None], contrast_threshold=C, path=path, duration_us=duration_us, steps=steps,
        upsample=upsample, log_eps=log_eps, noise_rate_hz=noise_rate_hz,
        threshold_sigma=threshold_sigma, sensor_size=sensor_size, mismatch_seed=base + [0],
        noise_seeds=[base + [1]],
    )
    return streams[0]


def emulated_sensor_size(image_shape, path="saccades", upsample: float = 1.0, sensor_size=None):
    """Sensor size (W, H, 2) that :func:`emulate_events` uses for images of shape (h, w)."""
    if sensor_size is not None:
        w, h, _ = _check_sensor_size(sensor_size)
        return (w, h, 2)
    upsample = _check_positive("upsample", upsample)
    _, _, _, (W, H) = _plan(tuple(image_shape), path=path, duration_us=10**9, steps=1,
                            upsample=upsample, sensor_size=None)
    return (W, H, 2)


# --------------------------------------------------------------------------------------------
# frames and statistics
# --------------------------------------------------------------------------------------------
def events_to_frames(events, sensor_size, n_time_bins: int, duration_us: int | None = None):
    """Count events in ``n_time_bins`` equal time bins per polarity: frames [T, P, H, W].

    Unlike ``tonic.transforms.ToFrame(n_time_bins=...)`` every event is counted exactly once (tonic
    drops the events at the last timestamp and all of a stream whose events share one timestamp),
    an empty stream gives zeros of shape [T, P, H, W] (tonic returns [T, P, W, H] there), and
    coordinates are checked against the sensor size (tonic raises IndexError or miscounts).

    Parameters
    ----------
    events : np.ndarray
        Structured array with fields x, y, t, p (t in microseconds).
    sensor_size : tuple
        (W, H, P) in tonic's convention, P in {1, 2}; with P = 1 both polarities go to one channel.
    n_time_bins : int
        T, >= 1.
    duration_us : int or None
        None: the bins span the stream from its first to its last event. An int: the bins span
        [0, duration_us) (the same bins for every sample of a data set); events at or after
        ``duration_us`` fall into the last bin.

    Returns
    -------
    np.ndarray of float32, shape [T, P, H, W]

    Raises
    ------
    ValueError
        For a bad sensor size, events outside it, a polarity outside {0, 1}, or T < 1.
    """
    W, H, P = _check_sensor_size(sensor_size)
    T = _check_positive("n_time_bins", n_time_bins, integer=True)
    if duration_us is not None:
        duration_us = _check_positive("duration_us", duration_us, integer=True)
    _check_events(events)
    frames = np.zeros((T, P, H, W), dtype=np.float32)
    if events.size == 0:
        return frames
    x, y, t, p = (np.asarray(events[f]).astype(np.int64) for f in ("x", "y", "t", "p"))
    if x.min() < 0 or y.min() < 0 or x.max() >= W or y.max() >= H:
        raise ValueError(
            f"events do not fit sensor_size {tuple(sensor_size)}: x in [{x.min()}, {x.max()}], "
            f"y in [{y.min()}, {y.max()}], allowed x in [0, {W - 1}], y in [0, {H - 1}]"
        )
    if p.min() < 0 or p.max() > 1:
        raise ValueError(f"event polarities must be 0 or 1, got values in [{p.min()}, {p.max()}]")
    if P == 1:
        p = np.zeros_like(p)
    if duration_us is None:
        t0, span = t.min(), t.max() - t.min() + 1
    else:
        t0, span = 0, duration_us
    b = np.clip(((t - t0) * T) // span, 0, T - 1)
    np.add.at(frames, (b, p, y, x), 1.0)
    return frames


class ToFrames:
    """A tonic-style transform wrapping :func:`events_to_frames` (composable with tonic transforms).

    Parameters are those of :func:`events_to_frames`; calling it on events returns [T, P, H, W].
    """

    def __init__(self, sensor_size, n_time_bins: int, duration_us: int | None = None):
        _check_sensor_size(sensor_size)
        _check_positive("n_time_bins", n_time_bins, integer=True)
        if duration_us is not None:
            _check_positive("duration_us", duration_us, integer=True)
        self.sensor_size = tuple(sensor_size)
        self.n_time_bins = int(n_time_bins)
        self.duration_us = duration_us

    def __call__(self, events):
        return events_to_frames(events, self.sensor_size, self.n_time_bins, self.duration_us)

    def __repr__(self):
        return (f"ToFrames(sensor_size={self.sensor_size}, n_time_bins={self.n_time_bins}, "
                f"duration_us={self.duration_us})")


def event_statistics(events, sensor_size, duration_us: int | None = None) -> dict:
    """Summary numbers of one event stream.

    Parameters
    ----------
    events : np.ndarray
        Structured array with fields x, y, t, p (t in microseconds).
    sensor_size : tuple
        (W, H) or (W, H, P); the rate is per pixel of the W x H array.
    duration_us : int or None
        Recording length; None: last minus first timestamp.

    Returns
    -------
    dict
        ``count`` (events), ``on_fraction`` (share with p = 1; NaN for an empty stream),
        ``duration_us``, ``rate_hz_per_pixel`` (count / (W * H * duration in s); NaN when the
        duration is 0).
    """
    _check_events(events)
    W, H, _ = _check_sensor_size(sensor_size)
    n = int(events.size)
    if duration_us is None:
        duration_us = int(events["t"].max() - events["t"].min()) if n else 0
    else:
        duration_us = _check_positive("duration_us", duration_us, integer=True)
    on = float(np.mean(np.asarray(events["p"]) > 0)) if n else float("nan")
    rate = n / (W * H * duration_us * 1e-6) if duration_us > 0 else float("nan")
    return {"count": n, "on_fraction": on, "duration_us": duration_us, "rate_hz_per_pixel": rate}


def scatter_arrays(events, max_events: int | None = None, seed=0) -> dict:
    """Columns of an event stream for a 3-D scatter figure (x, y, time in ms, polarity).

    Parameters
    ----------
    events : np.ndarray
        Structured array with fields x, y, t, p.
    max_events : int or None
        Keep at most this many events, chosen uniformly at random (seeded) and kept in time order.
    seed : int
        Seed of the subsample.

    Returns
    -------
    dict of np.ndarray
        ``x``, ``y`` (int), ``t_ms`` (float), ``on`` (bool).
    """
    _check_events(events)
    if max_events is not None:
        max_events = _check_positive("max_events", max_events, integer=True)
        if events.size > max_events:
            keep = np.random.default_rng(_check_seed(seed)).choice(events.size, max_events,
                                                                    replace=False)
            events = events[np.sort(keep)]
    return {
        "x": np.asarray(events["x"]).astype(np.int64),
        "y": np.asarray(events["y"]).astype(np.int64),
        "t_ms": np.asarray(events["t"]).astype(np.float64) / 1e3,
        "on": np.asarray(events["p"]) > 0,
    }


# --------------------------------------------------------------------------------------------
# the digits as event streams
# --------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=8)
def _emulated_digits(train, split_seed, contrast_threshold, path, duration_us, steps, upsample,
                     log_eps, noise_rate_hz, threshold_sigma, seed, sensor_size):
    images, labels = load_digits_arrays("train" if train else "test", split_seed)
    images = images[:, 0].astype(np.float64)  # [N, 8, 8] in [0, 1]; the emulator is scale-free
    split = 0 if train else 1
    base = list(seed) if isinstance(seed, tuple) else [seed]
    streams, size = _emulate_many(
        images, contrast_threshold=contrast_threshold, path=path, duration_us=duration_us,
        steps=steps, upsample=upsample, log_eps=log_eps, noise_rate_hz=noise_rate_hz,
        threshold_sigma=threshold_sigma, sensor_size=sensor_size, mismatch_seed=[*base, 0],
        noise_seeds=[[*base, 1, split, i] for i in range(len(images))],
    )
    for s in streams:
        s.flags.writeable = False
    labels = labels.copy()
    labels.flags.writeable = False
    return tuple(streams), labels, size


class EmulatedDigits:
    """The scikit-learn digits as event streams from :func:`emulate_events` (an N-MNIST in miniature).

    The split is the book's fixed stratified split of :func:`qsnn.data.digits.load_digits_arrays`
    (1,437 train / 360 test, in the order of the original data set); all streams of a split are emulated
    once on construction and kept in memory (shared between instances with equal parameters). One
    sensor serves the whole data set: its threshold mismatch comes from ``seed``; the background
    noise of sample i from ``(seed, split, i)``.

    Parameters
    ----------
    train : bool
        Training (1,437) or test (360) split.
    transform : callable or None
        Applied to a copy of the events, e.g.
        ``tonic.transforms.Compose([tonic.transforms.Denoise(filter_time=10_000),
        tonic.transforms.ToFrame(sensor_size=ds.sensor_size, n_time_bins=T)])`` or
        :class:`ToFrames`; frames come out as [T, 2, H, W], the per-sample layout the training
        loop expects for temporal data.
    target_transform : callable or None
        Applied to the label.
    upsample : float
        Sensor pixels per digit pixel (default 2: 16x16 digits on a 20x20 sensor).
    split_seed : int
        ``random_state`` of the train/test split.
    contrast_threshold, path, duration_us, steps, log_eps, noise_rate_hz, threshold_sigma, seed,
    sensor_size
        As in :func:`emulate_events`.
    """

    classes = list(range(10))

    def __init__(self, train: bool = True, transform: Callable | None = None,
                 target_transform: Callable | None = None, *, contrast_threshold: float = 0.15,
                 path="saccades", duration_us: int = 300_000, steps: int | None = None,
                 upsample: float = 2.0, log_eps: float = 0.1, noise_rate_hz: float = 0.0,
                 threshold_sigma: float = 0.0, seed=0, split_seed: int = 0, sensor_size=None):
        if not isinstance(train, bool):
            raise ValueError(f"train must be True or False, got {train!r}")
        for name, fn in (("transform", transform), ("target_transform", target_transform)):
            if fn is not None and not callable(fn):
                raise ValueError(f"{name} must be callable or None, got {fn!r}")
        opts = _validated_options(contrast_threshold, duration_us, steps, upsample, log_eps,
                                  noise_rate_hz, threshold_sigma)
        C, duration_us, steps, upsample, log_eps, noise_rate_hz, threshold_sigma = opts
        seed = _check_seed(seed)
        if isinstance(split_seed, bool) or not isinstance(split_seed, numbers.Integral) or split_seed < 0:
            raise ValueError(f"split_seed must be an integer >= 0, got {split_seed!r}")
        split_seed = int(split_seed)
        if not isinstance(path, str):
            path = tuple(map(tuple, _waypoints(path, (1, 1)).tolist()))  # hashable for the cache
        if sensor_size is not None:
            W, H, _ = _check_sensor_size(sensor_size)
            sensor_size = (W, H)
        seed_key = tuple(seed) if isinstance(seed, tuple) else seed
        if noise_rate_hz == 0 and threshold_sigma == 0:
            seed_key = 0  # an ideal sensor draws nothing: every seed gives the same streams
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        self.duration_us = duration_us
        self._events, self.targets, self._sensor_size = _emulated_digits(
            train, split_seed, C, path, duration_us, steps, upsample, log_eps, noise_rate_hz,
            threshold_sigma, seed_key, sensor_size,
        )

    @property
    def sensor_size(self) -> tuple[int, int, int]:
        """(W, H, 2), tonic's convention."""
        return self._sensor_size

    def events(self, index: int) -> np.ndarray:
        """The raw event stream of sample ``index`` (a copy, before any transform)."""
        return self._events[index].copy()

    def __len__(self) -> int:
        return len(self._events)

    def __getitem__(self, index):
        events = self._events[index].copy()
        target = int(self.targets[index])
        if self.transform is not None:
            events = self.transform(events)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return events, target

    def __repr__(self):
        return (f"EmulatedDigits(train={self.train}, n={len(self)}, "
                f"sensor_size={self.sensor_size})")


# --------------------------------------------------------------------------------------------
# real data sets through tonic, offline
# --------------------------------------------------------------------------------------------
def _nmnist_spec(cls, train):
    archive = cls.train_filename if train else cls.test_filename
    folder = cls.train_folder if train else cls.test_folder
    return {
        "archives": [archive],
        "md5": {archive: cls.train_md5 if train else cls.test_md5},
        "url": cls.train_url if train else cls.test_url,
        "extracted": f"{folder}/<digit>/*.bin",
        "has_data": lambda loc: any(Path(loc, folder).glob("*/*.bin")),
    }


def _dvsgesture_spec(cls, train):
    archive = cls.train_filename if train else cls.test_filename
    folder = "ibmGestureTrain" if train else "ibmGestureTest"
    return {
        "archives": [archive],
        "md5": {archive: cls.train_md5 if train else cls.test_md5},
        "url": cls.train_url if train else cls.test_url,
        "extracted": f"{folder}/user<NN>_<lighting>/<label>.npy",
        "has_data": lambda loc: any(Path(loc, folder).glob("*/*.npy")),
    }


def _cifar10dvs_spec(cls, train):
    return {
        "archives": [cls.filename],
        "md5": {cls.filename: cls.file_md5},
        "url": cls.url,
        "extracted": "<class>/*.aedat4 for the classes " + ", ".join(cls.classes),
        "has_data": lambda loc: any(
            any(Path(loc, c).glob("*.aedat4")) for c in cls.classes
        ),
        "inner": list(cls.data_filename),
    }


def _shd_spec(cls, train):
    archive = cls.train_zip if train else cls.test_zip
    return {
        "archives": [archive],
        "md5": {archive: cls.train_md5 if train else cls.test_md5},
        "url": cls.base_url + archive,
        "extracted": archive[: -len(".zip")],
        "has_data": lambda loc: Path(loc, archive[: -len(".zip")]).is_file(),
    }


_TONIC_DATASETS = {
    "nmnist": ("NMNIST", _nmnist_spec),
    "dvsgesture": ("DVSGesture", _dvsgesture_spec),
    "cifar10dvs": ("CIFAR10DVS", _cifar10dvs_spec),
    "shd": ("SHD", _shd_spec),
}
DATASET_NAMES = ("emulated_digits", *_TONIC_DATASETS)
"""Names :func:`load_event_dataset` accepts."""

CIFAR10DVS_TRAIN_FRACTION = 0.9
"""CIFAR10-DVS has no official split; the first 90 % of each class (by file name) train, the rest test."""


def _missing_message(class_name, location, spec):
    return (
        f"{class_name} not found: put {' and '.join(spec['archives'])} (from {spec['url']}) into "
        f"{location}{os.sep}, or its extracted contents ({spec['extracted']}) there. "
        f"No download is attempted."
    )


def _offline_class(tonic_cls, spec, verify_md5, key):
    """A subclass of a tonic data set (same class name, so the same folder) that never downloads.

    tonic calls ``download()`` whenever ``_check_exists()`` is False, and its checks demand the
    original archive next to the extracted files and a minimum file count (N-MNIST: 10,000 .bin).
    Here ``_check_exists`` accepts extracted files alone; otherwise it extracts the archive found
    on disk (checking tonic's md5 unless told not to) and raises FileNotFoundError naming the
    expected files when there is none.

    The class is made once per ``key`` and kept in this module under that name (its
    ``__qualname__``), so that its instances pickle: loader workers started by ``spawn`` or
    ``forkserver`` receive the data set by pickling.
    """
    qualname = f"_Offline{key}"
    if qualname in globals():
        return globals()[qualname]
    _import_tonic()
    from tonic.download_utils import calculate_md5, extract_archive

    def _check_exists(self):
        loc = self.location_on_system
        if spec["has_data"](loc):
            return True
        archive = os.path.join(loc, spec["archives"][0])
        if not os.path.isfile(archive):
            raise DatasetNotFoundError(_missing_message(tonic_cls.__name__, loc, spec))
        expected = spec["md5"][spec["archives"][0]]
        if verify_md5 and calculate_md5(archive) != expected:
            raise ValueError(
                f"{archive} does not match the md5 tonic expects ({expected}); re-fetch it from "
                f"{spec['url']}, or pass verify_md5=False for a file you trust"
            )
        extract_archive(archive, loc)
        for inner in spec.get("inner", []):
            if os.path.isfile(os.path.join(loc, inner)):
                extract_archive(os.path.join(loc, inner), loc)
        if not spec["has_data"](loc):
            raise DatasetNotFoundError(
                f"{archive} was extracted but holds no {spec['extracted']}: "
                + _missing_message(tonic_cls.__name__, loc, spec)
            )
        return True

    def download(self):  # never reached: _check_exists returns True or raises
        raise RuntimeError(f"{tonic_cls.__name__}: downloads are disabled")

    cls = type(tonic_cls.__name__, (tonic_cls,), {
        "_check_exists": _check_exists, "download": download,
        "__module__": __name__, "__qualname__": qualname, "__doc__": tonic_cls.__doc__,
    })
    globals()[qualname] = cls
    return cls


class _Subset:
    """Indices into a tonic data set, keeping its sensor size and classes."""

    def __init__(self, dataset, indices):
        self.dataset, self.indices = dataset, np.asarray(indices, dtype=np.int64)
        self.sensor_size = dataset.sensor_size
        self.classes = dataset.classes
        self.targets = [dataset.targets[i] for i in self.indices]

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[int(self.indices[index])]


def _cifar10dvs_split(ds, train):
    """Per class, files sorted by path: the first 90 % train, the rest test."""
    order = sorted(range(len(ds.data)), key=lambda i: ds.data[i])
    keep = []
    for c in sorted(set(ds.targets)):
        idx = [i for i in order if ds.targets[i] == c]
        n_train = int(round(CIFAR10DVS_TRAIN_FRACTION * len(idx)))
        keep.extend(idx[:n_train] if train else idx[n_train:])
    return _Subset(ds, keep)


def load_event_dataset(name: str, data_dir=None, train: bool = True,
                       transform: Callable | None = None, *, verify_md5: bool = True, **kwargs):
    """An event data set by name, read from disk through tonic's own classes; never downloads.

    Place the original archive (or its extracted contents) in ``<data_dir>/<ClassName>/``:

    - ``nmnist``: ``NMNIST/train.zip``, ``NMNIST/test.zip`` (Orchard et al. 2015, Mendeley Data
      468j46mzdv), or extracted ``Train/<digit>/*.bin`` and ``Test/<digit>/*.bin``; sensor 34x34.
    - ``dvsgesture``: ``DVSGesture/ibmGestureTrain.tar.gz``, ``ibmGestureTest.tar.gz`` (tonic's
      preprocessed version on figshare), or ``ibmGestureTrain/user<NN>_<lighting>/<label>.npy``;
      sensor 128x128.
    - ``cifar10dvs``: ``CIFAR10DVS/CIFAR10DVS.zip`` (figshare, aedat4 files) or its extracted class
      folders ``airplane/ ... truck/`` of ``.aedat4`` files; reading needs the ``aedat`` package;
      split 90/10 per class (:data:`CIFAR10DVS_TRAIN_FRACTION`); sensor 128x128.
    - ``shd``: ``SHD/shd_train.h5.zip``, ``shd_test.h5.zip`` (zenkelab.org) or the ``.h5`` files;
      700 channels, sensor (700, 1, 1).
    - ``emulated_digits``: :class:`EmulatedDigits` (no files; ``data_dir`` is ignored).

    An archive is extracted next to itself on first use, after checking tonic's md5 (unless
    ``verify_md5=False``).

    Parameters
    ----------
    name : str
        One of :data:`DATASET_NAMES`.
    data_dir : str or path-like
        Folder that holds ``<ClassName>/``; required except for ``emulated_digits``.
    train : bool
        Training or test split.
    transform : callable or None
        tonic transform applied to each sample's events (e.g. ``tonic.transforms.ToFrame``).
    verify_md5 : bool
        Check an archive against tonic's md5 before extracting it.
    **kwargs
        Passed to the data set class (e.g. ``first_saccade_only`` for N-MNIST, ``upsample`` for
        the emulated digits).

    Returns
    -------
    Dataset
        Indexable, ``len()``, items ``(events or transformed events, label)``, ``sensor_size``.

    Raises
    ------
    ValueError
        For an unknown name, a missing ``data_dir``, or an archive with the wrong md5.
    DatasetNotFoundError
        (a ``FileNotFoundError``) When neither the archive nor its extracted files are in ``<data_dir>/<ClassName>/``; the
        message names the files and the folder.
    ImportError
        For CIFAR10-DVS without the ``aedat`` package.
    """
    if not isinstance(name, str) or name.lower() not in DATASET_NAMES:
        raise ValueError(f"name must be one of {', '.join(DATASET_NAMES)}; got {name!r}")
    name = name.lower()
    if not isinstance(train, bool):
        raise ValueError(f"train must be True or False, got {train!r}")
    if name == "emulated_digits":
        return EmulatedDigits(train=train, transform=transform, **kwargs)
    if data_dir is None:
        raise ValueError(f"data_dir is required for {name!r}: the folder holding its archive")
    tonic = _import_tonic()

    class_name, spec_fn = _TONIC_DATASETS[name]
    tonic_cls = getattr(tonic.datasets, class_name)
    spec = spec_fn(tonic_cls, train)
    location = os.path.join(os.path.expanduser(os.fspath(data_dir)), class_name)
    if not spec["has_data"](location) and not os.path.isfile(
        os.path.join(location, spec["archives"][0])
    ):
        raise DatasetNotFoundError(_missing_message(class_name, location, spec))
    if name == "cifar10dvs" and importlib.util.find_spec("aedat") is None:
        raise ImportError("CIFAR10-DVS is stored as .aedat4; reading it needs `pip install aedat`")
    key = f"{class_name}_{'train' if train else 'test'}{'' if verify_md5 else '_unverified'}"
    cls = _offline_class(tonic_cls, spec, verify_md5, key)
    if name == "cifar10dvs":
        return _cifar10dvs_split(cls(os.fspath(data_dir), transform=transform, **kwargs), train)
    return cls(os.fspath(data_dir), train=train, transform=transform, **kwargs)
