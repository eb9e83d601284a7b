"""An event-camera emulator: the DVS pixel model applied to a static image moving in front of the
sensor, the way N-MNIST was recorded (Orchard et al. 2015), fast enough for a whole data set.

An event camera (dynamic vision sensor, DVS) has no frames: every pixel watches its own log intensity
and emits an event ``(x, y, t, p)`` whenever that value has changed by more than a contrast threshold
since the pixel's last event. Part II of the book (Wei et al., Q-SNNs, ACM MM 2024,
doi:10.1145/3664647.3681186, Sec. 5: DVS-CIFAR10 with VGG-11 / VGGSNN at 48x48, T = 10) trains on
such streams. The format of the streams is that of :mod:`qsnn.data.event_format`.
"""

from __future__ import annotations

import math
from types import MappingProxyType

import numpy as np

from .event_format import (
    EVENT_DTYPE,
    check_image,
    check_positive,
    check_seed,
    check_sensor_size,
)

__all__ = ["EMULATOR_DEFAULTS", "emulate_events", "emulate_many", "emulated_sensor_size",
           "resolve_path", "saccade_path", "validate_settings"]

EMULATOR_DEFAULTS = MappingProxyType({
    "contrast_threshold": 0.15,
    "path": "saccades",
    "duration_us": 300_000,
    "steps": None,
    "upsample": 1.0,
    "log_eps": 0.1,
    "noise_rate_hz": 0.0,
    "threshold_sigma": 0.0,
    "sensor_size": None,
})
"""The defaults of every emulator setting (those of :func:`emulate_events`), written once."""
_D = EMULATOR_DEFAULTS

# Lowest per-pixel threshold after mismatch, as a fraction of the nominal threshold: a pixel with a
# zero threshold would fire without bound.
_MIN_THRESHOLD_FRACTION = 0.1
# The default number of time steps moves the scene by at most this many sensor pixels per step.
_MAX_SHIFT_PER_STEP = 0.25
# Crossing times closer than this (us) to an integer are rounding noise of that integer.
_TIME_TOL = 1e-6
# Images emulated together; bounds the memory of the rendered log-intensity video.
_CHUNK = 64


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
    a = check_positive("amplitude", amplitude)
    return np.array([[0.0, 0.0], [a / 2, a], [a, 0.0], [0.0, 0.0]])


def resolve_path(path, rendered_hw):
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
    wp = resolve_path(path, (hr, wr))
    lo, hi = wp.min(axis=0), wp.max(axis=0)
    if sensor_size is None:
        W = max(1, math.ceil(wr + hi[0] - lo[0] - 1e-9))
        H = max(1, math.ceil(hr + hi[1] - lo[1] - 1e-9))
    else:
        W, H, P = check_sensor_size(sensor_size)
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


def _normalise(images):
    """Scale each image to a maximum of 1 (a log sensor sees ratios, so only relative values matter)."""
    peak = images.reshape(len(images), -1).max(axis=1)
    return images / np.where(peak > 0, peak, 1.0)[:, None, None]


def validate_settings(contrast_threshold, duration_us, steps, upsample, log_eps, noise_rate_hz,
                       threshold_sigma):
    C = check_positive("contrast_threshold", contrast_threshold)
    duration_us = check_positive("duration_us", duration_us, integer=True)
    if steps is not None:
        steps = check_positive("steps", steps, integer=True)
    upsample = check_positive("upsample", upsample)
    if upsample < 1:
        raise ValueError(f"upsample must be a finite number >= 1, got {upsample!r}")
    log_eps = check_positive("log_eps", log_eps)
    noise_rate_hz = check_positive("noise_rate_hz", noise_rate_hz, allow_zero=True)
    threshold_sigma = check_positive("threshold_sigma", threshold_sigma, allow_zero=True)
    return C, duration_us, steps, upsample, log_eps, noise_rate_hz, threshold_sigma


def emulate_many(images, *, contrast_threshold, path, duration_us, steps, upsample, log_eps,
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
    contrast_threshold: float = _D["contrast_threshold"],
    path=_D["path"],
    duration_us: int = _D["duration_us"],
    steps: int | None = _D["steps"],
    upsample: float = _D["upsample"],
    log_eps: float = _D["log_eps"],
    noise_rate_hz: float = _D["noise_rate_hz"],
    threshold_sigma: float = _D["threshold_sigma"],
    seed=0,
    sensor_size=_D["sensor_size"],
) -> np.ndarray:
    """Events a dynamic vision sensor emits while a static image moves in front of it.

    Model (the DVS pixel of Lichtsteiner, Posch & Delbruck, IEEE JSSC 43(2), 2008,
    doi:10.1109/JSSC.2007.914337; emulators in this spirit: ESIM, Rebecq et al. 2018; v2e, Hu et al.
    2021). Each pixel tracks its log intensity L = log(I + eps) and keeps a reference level L_ref,
    the value at its last event. Whenever ``|L(t) - L_ref|`` reaches the contrast threshold C it emits an
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
        Structured array of dtype :data:`~qsnn.data.event_format.EVENT_DTYPE` (x, y, t, p), sorted by t (stable), t in
        microseconds within [0, duration_us].

    Raises
    ------
    ValueError
        For an image that is not 2-D, negative or non-finite intensities, a threshold, duration or
        step count that is not positive, an unknown path, or a bad sensor size.
    """
    arr = check_image(image)
    opts = validate_settings(contrast_threshold, duration_us, steps, upsample, log_eps,
                              noise_rate_hz, threshold_sigma)
    C, duration_us, steps, upsample, log_eps, noise_rate_hz, threshold_sigma = opts
    seed = check_seed(seed)
    # Mismatch and noise come from independent streams of one seed.
    base = list(seed) if isinstance(seed, tuple) else [seed]
    streams, _ = emulate_many(
        arr[None], contrast_threshold=C, path=path, duration_us=duration_us, steps=steps,
        upsample=upsample, log_eps=log_eps, noise_rate_hz=noise_rate_hz,
        threshold_sigma=threshold_sigma, sensor_size=sensor_size, mismatch_seed=base + [0],
        noise_seeds=[base + [1]],
    )
    return streams[0]


def emulated_sensor_size(image_shape, path=_D["path"], upsample: float = _D["upsample"],
                         sensor_size=_D["sensor_size"]):
    """Sensor size (W, H, 2) that :func:`emulate_events` uses for images of shape (h, w)."""
    if sensor_size is not None:
        w, h, _ = check_sensor_size(sensor_size)
        return (w, h, 2)
    upsample = check_positive("upsample", upsample)
    _, _, _, (W, H) = _plan(tuple(image_shape), path=path, duration_us=10**9, steps=1,
                            upsample=upsample, sensor_size=None)
    return (W, H, 2)


