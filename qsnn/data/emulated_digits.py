"""The scikit-learn digits as event streams: an N-MNIST in miniature that ships with the book and
is emulated on a CPU in seconds (:func:`~qsnn.data.emulator.emulate_events` with the digits'
own defaults, :data:`DIGITS_EMULATOR_DEFAULTS`).
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType

import numpy as np

from .._core.validation import check_bool, check_int
from .cache import DataCache
from .digits import DIGITS_SPLIT_SEED, load_digits_arrays
from .emulator import EMULATOR_DEFAULTS, emulate_many, resolve_path, validate_settings
from .event_format import check_seed, check_sensor_size

__all__ = ["DIGITS_EMULATOR_DEFAULTS", "EmulatedDigits", "STREAM_CACHE"]

DIGITS_EMULATOR_DEFAULTS = MappingProxyType({**EMULATOR_DEFAULTS, "upsample": 2.0})
"""The emulator settings of the emulated digits: those of the emulator, with 2 sensor pixels per
digit pixel (16x16 digits on a 20x20 sensor)."""
_D = DIGITS_EMULATOR_DEFAULTS

STREAM_CACHE = DataCache("emulated digit streams", max_entries=8)
"""The emulated streams of each (split, settings): emulating a split takes seconds, so every
:class:`EmulatedDigits` with equal settings reads the same read-only arrays."""


def _emulate_split(train, split_seed, contrast_threshold, path, duration_us, steps, upsample,
                   log_eps, noise_rate_hz, threshold_sigma, seed, sensor_size):
    images, labels = load_digits_arrays("train" if train else "test", split_seed)
    images = images[:, 0].astype(np.float64)  # [N, 8, 8] in [0, 1]; the emulator is scale-free
    split = 0 if train else 1
    base = list(seed) if isinstance(seed, tuple) else [seed]
    streams, size = emulate_many(
        images, contrast_threshold=contrast_threshold, path=path, duration_us=duration_us,
        steps=steps, upsample=upsample, log_eps=log_eps, noise_rate_hz=noise_rate_hz,
        threshold_sigma=threshold_sigma, sensor_size=sensor_size, mismatch_seed=[*base, 0],
        noise_seeds=[[*base, 1, split, i] for i in range(len(images))],
    )
    return tuple(streams), labels.copy(), tuple(size)


class EmulatedDigits:
    """The scikit-learn digits as event streams from :func:`~qsnn.data.emulator.emulate_events` (an N-MNIST in miniature).

    The split is the book's fixed stratified split of :func:`qsnn.data.digits.load_digits_arrays`
    (1,437 train / 360 test, in the order of the original data set); all streams of a split are emulated
    once on construction and kept, read-only, in :data:`STREAM_CACHE` (shared between instances
    with equal parameters). One
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
        :class:`~qsnn.data.frames.ToFrames`; frames come out as [T, 2, H, W], the per-sample layout the training
        loop expects for temporal data.
    target_transform : callable or None
        Applied to the label.
    upsample : float
        Sensor pixels per digit pixel (default 2: 16x16 digits on a 20x20 sensor).
    split_seed : int
        ``random_state`` of the train/test split.
    contrast_threshold, path, duration_us, steps, log_eps, noise_rate_hz, threshold_sigma, seed, sensor_size
        As in :func:`~qsnn.data.emulator.emulate_events`.
    """

    classes = list(range(10))

    def __init__(self, train: bool = True, transform: Callable | None = None,
                 target_transform: Callable | None = None, *,
                 contrast_threshold: float = _D["contrast_threshold"], path=_D["path"],
                 duration_us: int = _D["duration_us"], steps: int | None = _D["steps"],
                 upsample: float = _D["upsample"], log_eps: float = _D["log_eps"],
                 noise_rate_hz: float = _D["noise_rate_hz"],
                 threshold_sigma: float = _D["threshold_sigma"], seed=0,
                 split_seed: int = DIGITS_SPLIT_SEED, sensor_size=_D["sensor_size"]):
        check_bool("train", train)
        for name, fn in (("transform", transform), ("target_transform", target_transform)):
            if fn is not None and not callable(fn):
                raise ValueError(f"{name} must be callable or None, got {fn!r}")
        opts = validate_settings(contrast_threshold, duration_us, steps, upsample, log_eps,
                                  noise_rate_hz, threshold_sigma)
        C, duration_us, steps, upsample, log_eps, noise_rate_hz, threshold_sigma = opts
        seed = check_seed(seed)
        split_seed = check_int("split_seed", split_seed, min=0)
        if not isinstance(path, str):
            path = tuple(map(tuple, resolve_path(path, (1, 1)).tolist()))  # hashable for the cache
        if sensor_size is not None:
            W, H, _ = check_sensor_size(sensor_size)
            sensor_size = (W, H)
        seed_key = tuple(seed) if isinstance(seed, tuple) else seed
        if noise_rate_hz == 0 and threshold_sigma == 0:
            seed_key = 0  # an ideal sensor draws nothing: every seed gives the same streams
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        self.duration_us = duration_us
        key = (train, split_seed, C, path, duration_us, steps, upsample, log_eps, noise_rate_hz,
               threshold_sigma, seed_key, sensor_size)
        self._events, self.targets, self._sensor_size = STREAM_CACHE.get(
            key, lambda: _emulate_split(*key))

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
