"""From event streams to what a network or a figure takes: frames [T, P, H, W] (event counts in
equal time bins), the transforms that make them, summary statistics and scatter columns.

The transforms are small frozen dataclasses: equal settings compare equal, and they pickle for
loader workers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._core.validation import check_int
from .event_format import check_events, check_positive, check_seed, check_sensor_size, import_tonic

__all__ = ["FrameTransform", "ToFrames", "event_statistics", "events_to_frames", "frame_transform",
           "scatter_arrays"]


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
    W, H, P = check_sensor_size(sensor_size)
    T = check_positive("n_time_bins", n_time_bins, integer=True)
    if duration_us is not None:
        duration_us = check_positive("duration_us", duration_us, integer=True)
    check_events(events)
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


@dataclass(frozen=True)
class ToFrames:
    """A tonic-style transform wrapping :func:`events_to_frames` (composable with tonic transforms).

    Parameters are those of :func:`events_to_frames`; calling it on events returns [T, P, H, W].
    """

    sensor_size: tuple
    n_time_bins: int
    duration_us: int | None = None

    def __post_init__(self):
        check_sensor_size(self.sensor_size)
        object.__setattr__(self, "sensor_size", tuple(int(v) for v in self.sensor_size))
        object.__setattr__(self, "n_time_bins",
                           check_positive("n_time_bins", self.n_time_bins, integer=True))
        if self.duration_us is not None:
            object.__setattr__(self, "duration_us",
                               check_positive("duration_us", self.duration_us, integer=True))

    def __call__(self, events):
        return events_to_frames(events, self.sensor_size, self.n_time_bins, self.duration_us)


@dataclass(frozen=True)
class FrameTransform:
    """Event stream -> frames [T, P, H, W]: an optional background-activity filter, then :class:`ToFrames`.

    The filter is ``tonic.transforms.Denoise(filter_time=denoise_us)`` (an event survives when a
    neighbouring pixel fired within ``denoise_us`` before it). The steps are chained here rather
    than by ``tonic.transforms.Compose``, which stops at an empty stream and would hand back
    events instead of frames: an empty stream skips the filter (tonic's Denoise fails on it;
    empty stays empty) and still becomes zero frames.

    Attributes
    ----------
    to_frames : ToFrames
    denoise_us : int or None
        ``filter_time`` of tonic's filter in microseconds; None: no filter.
    """

    to_frames: ToFrames
    denoise_us: int | None = None

    def __post_init__(self):
        if self.denoise_us is not None:
            object.__setattr__(self, "denoise_us",
                               check_int("denoise_us", self.denoise_us, min=1))

    def __call__(self, events):
        if self.denoise_us is not None and len(events):
            events = import_tonic().transforms.Denoise(filter_time=self.denoise_us)(events)
        return self.to_frames(events)


def frame_transform(sensor_size, n_time_bins: int, duration_us: int | None = None,
                    denoise_us: int | None = None) -> FrameTransform:
    """The transform from an event stream to frames [T, P, H, W] (float32 counts).

    ``tonic.transforms.Denoise(filter_time=denoise_us)`` (left out when ``denoise_us`` is None),
    then :class:`ToFrames`. ToFrames is used instead of ``tonic.transforms.ToFrame`` because it
    counts every event once, bins a fixed window when ``duration_us`` is given and returns zeros
    for an empty stream (which a strong filter can leave).

    Parameters
    ----------
    sensor_size : tuple
        (W, H, P), tonic's convention.
    n_time_bins : int
        T >= 1.
    duration_us : int or None
        Fixed window [0, duration_us) for the bins; None: each stream's own span.
    denoise_us : int or None
        ``filter_time`` of tonic's background-activity filter in microseconds; None: no filter.

    Returns
    -------
    FrameTransform
        events -> np.ndarray float32 [T, P, H, W].
    """
    return FrameTransform(ToFrames(sensor_size, n_time_bins, duration_us), denoise_us)


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
    check_events(events)
    W, H, _ = check_sensor_size(sensor_size)
    n = int(events.size)
    if duration_us is None:
        duration_us = int(events["t"].max() - events["t"].min()) if n else 0
    else:
        duration_us = check_positive("duration_us", duration_us, integer=True)
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
    check_events(events)
    if max_events is not None:
        max_events = check_positive("max_events", max_events, integer=True)
        if events.size > max_events:
            keep = np.random.default_rng(check_seed(seed)).choice(events.size, max_events,
                                                                    replace=False)
            events = events[np.sort(keep)]
    return {
        "x": np.asarray(events["x"]).astype(np.int64),
        "y": np.asarray(events["y"]).astype(np.int64),
        "t_ms": np.asarray(events["t"]).astype(np.float64) / 1e3,
        "on": np.asarray(events["p"]) > 0,
    }
