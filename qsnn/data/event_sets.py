"""Event data sets as training data: event streams turned into frames [T, P, H, W].

The training loop of Part II (Wei et al., Q-SNNs, ACM MM 2024, doi:10.1145/3664647.3681186;
DVS-CIFAR10 with VGG-11 / VGGSNN at 48x48, T = 10) takes temporal samples as frame sequences. This
module turns the event data sets into such samples for the registry of :mod:`qsnn.data`:

``"emulated_digits"``
    The scikit-learn digits recorded by the event-camera emulator
    (:class:`~qsnn.data.emulated_digits.EmulatedDigits`), 10 classes, sensor 20x20 by default.
    Emulated once per (emulator options, split) and binned once per T into
    :data:`FRAME_CACHE`; each data set holds its own copy of the split as one tensor.
``"nmnist"``, ``"dvsgesture"``, ``"cifar10dvs"``
    The recorded data sets through tonic's own classes
    (:func:`~qsnn.data.tonic_offline.load_event_dataset`, never downloading, refusing incomplete
    splits), framed sample by sample; ``frame_size`` resizes the frames (48 for the
    VGGSNN / VGG-11 runs on CIFAR10-DVS). SHD (700 audio channels) is readable through
    :func:`~qsnn.data.tonic_offline.load_event_dataset` but is not an image and is not registered here.

Framing: optional background-activity filter ``tonic.transforms.Denoise(filter_time=denoise_us)``
(an event survives when a neighbouring pixel fired within ``denoise_us`` before it), then
:class:`~qsnn.data.frames.ToFrames`: T equal time bins, event counts per polarity. The emulated
digits use the fixed window [0, duration_us) so that bin k means the same time in every sample;
recorded data use each sample's own span from first to last event. Frames hold raw counts
(float32); the first convolution and its BatchNorm set the scale.
"""

from __future__ import annotations

import numbers
from typing import Any, Callable, Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from .._core.validation import check_bool, check_choice, check_int
from .cache import DataCache
from .digits import DIGITS_SPLIT_SEED
from .emulated_digits import DIGITS_EMULATOR_DEFAULTS, EmulatedDigits
from .emulator import emulated_sensor_size, resolve_path, validate_settings
from .event_format import check_seed, check_sensor_size
from .frames import frame_transform
from .info import DatasetInfo
from .tonic_offline import RECORDED_SIZES, load_event_dataset
from .vision import CIFAR10_CLASSES

__all__ = [
    "EVENT_DATASET_OPTIONS",
    "EVENT_DATASET_NAMES",
    "EVENT_SPLIT_SIZES",
    "EventFrames",
    "FRAME_CACHE",
    "check_event_options",
    "event_dataset_info",
    "frame_transform",
    "load_event_frames",
]

_EMULATED_DEFAULTS: dict[str, Any] = {
    **DIGITS_EMULATOR_DEFAULTS,
    "emulator_seed": None,
    "split_seed": DIGITS_SPLIT_SEED,
    "denoise_us": None,
}
_RECORDED_DEFAULTS: dict[str, Any] = {"denoise_us": None, "frame_size": None, "verify_md5": True,
                                      "allow_incomplete": False}

EVENT_DATASET_OPTIONS: dict[str, dict[str, Any]] = {
    "emulated_digits": _EMULATED_DEFAULTS,
    "nmnist": {**_RECORDED_DEFAULTS, "first_saccade_only": False},
    "dvsgesture": dict(_RECORDED_DEFAULTS),
    "cifar10dvs": dict(_RECORDED_DEFAULTS),
}
"""The ``dataset_kwargs`` each event data set accepts, with their defaults.

emulated_digits: the options of :func:`~qsnn.data.events.emulate_events` (``contrast_threshold``,
``path``, ``duration_us``, ``steps``, ``upsample``, ``log_eps``, ``noise_rate_hz``,
``threshold_sigma``, ``sensor_size``), ``split_seed`` of the digits split, ``emulator_seed`` (seed of
threshold mismatch and background noise; None: the run's seed) and ``denoise_us``.
Recorded sets: ``denoise_us`` (None: no filter), ``frame_size`` (None: the sensor's size; an int
or (H, W): bilinear resize with antialiasing, as ``torchvision.transforms.Resize`` in the VGGSNN
recipe), ``verify_md5`` of an archive before extracting it, ``allow_incomplete`` (accept fewer
samples than the complete split; off by default), and for N-MNIST ``first_saccade_only``.
"""

EVENT_DATASET_NAMES = tuple(EVENT_DATASET_OPTIONS)

EVENT_SPLIT_SIZES: dict[str, dict[str, int]] = {
    "emulated_digits": {"train": 1_437, "test": 360},
    **{n: RECORDED_SIZES[n] for n in ("nmnist", "dvsgesture", "cifar10dvs")},
}
"""Samples per split of each complete event data set."""

# Classes and tonic sensor size (W, H, P) of the recorded sets.
_RECORDED = {
    "nmnist": (10, (34, 34, 2)),
    "dvsgesture": (11, (128, 128, 2)),
    "cifar10dvs": (10, (128, 128, 2)),
}
_DIGIT_SHAPE = (8, 8)
_CLASS_NAMES = {
    "emulated_digits": tuple(str(d) for d in range(10)),
    "nmnist": tuple(str(d) for d in range(10)),
    # tonic.datasets.DVSGesture.classes
    "dvsgesture": ("Hand clapping", "Right hand wave", "Left hand wave", "Right arm cw",
                   "Right arm ccw", "Left arm cw", "Left arm ccw", "Arm roll", "Air drums",
                   "Air guitar", "Other gestures"),
    "cifar10dvs": CIFAR10_CLASSES,
}


def _int_at_least(name: str, value: Any, low: int) -> int:
    return check_int(f"dataset_kwargs[{name!r}]", value, min=low)


def _frame_size(value: Any) -> tuple[int, int] | None:
    if value is None:
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and value > 0:
        return (int(value), int(value))
    if (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0 for v in value)
    ):
        return (int(value[0]), int(value[1]))
    raise ValueError(
        f"dataset_kwargs['frame_size'] must be None, a positive integer or (H, W), got {value!r}"
    )


def _hashable(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    return value


def check_event_options(name: str, options: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate the ``dataset_kwargs`` of an event data set and fill in the defaults.

    Parameters
    ----------
    name : str
        One of :data:`EVENT_DATASET_NAMES`.
    options : mapping or None
        Keys from :data:`EVENT_DATASET_OPTIONS` ``[name]``; YAML lists stand for tuples.

    Returns
    -------
    dict
        Every option of the data set, with hashable values (tuples for sequences).

    Raises
    ------
    ValueError
        For an unknown name or key (the message lists the allowed ones) or an invalid value
        (the message names the key, the value and what is allowed).
    """
    if name not in EVENT_DATASET_OPTIONS:
        raise ValueError(f"name must be one of {', '.join(EVENT_DATASET_NAMES)}; got {name!r}")
    if options is None:
        options = {}
    if not isinstance(options, Mapping) or not all(isinstance(k, str) for k in options):
        raise ValueError(f"dataset_kwargs must be a mapping of option names to values, got {options!r}")
    defaults = EVENT_DATASET_OPTIONS[name]
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise ValueError(
            f"dataset_kwargs has unknown keys {', '.join(unknown)} for {name!r}; allowed: "
            f"{', '.join(defaults)}"
        )
    opts = {k: _hashable(options.get(k, v)) for k, v in defaults.items()}
    if opts["denoise_us"] is not None:
        opts["denoise_us"] = _int_at_least("denoise_us", opts["denoise_us"], 1)
    if name == "emulated_digits":
        try:
            values = validate_settings(
                opts["contrast_threshold"], opts["duration_us"], opts["steps"], opts["upsample"],
                opts["log_eps"], opts["noise_rate_hz"], opts["threshold_sigma"],
            )
            keys = ("contrast_threshold", "duration_us", "steps", "upsample", "log_eps",
                    "noise_rate_hz", "threshold_sigma")
            opts.update(zip(keys, values))
            if not isinstance(opts["path"], str):
                opts["path"] = _hashable(resolve_path(opts["path"], (1, 1)).tolist())
            else:
                resolve_path(opts["path"], (1, 1))
            if opts["sensor_size"] is not None:
                w, h, _ = check_sensor_size(opts["sensor_size"])
                opts["sensor_size"] = (w, h)
            if opts["emulator_seed"] is not None:
                opts["emulator_seed"] = _hashable(check_seed(opts["emulator_seed"]))
        except ValueError as exc:
            raise ValueError(f"dataset_kwargs of 'emulated_digits': {exc}") from exc
        opts["split_seed"] = _int_at_least("split_seed", opts["split_seed"], 0)
        if opts["steps"] is not None and opts["steps"] > opts["duration_us"]:
            raise ValueError(
                f"dataset_kwargs of 'emulated_digits': steps must be <= duration_us, got "
                f"steps={opts['steps']}, duration_us={opts['duration_us']}"
            )
    else:
        opts["frame_size"] = _frame_size(opts["frame_size"])
        for key in ("verify_md5", "allow_incomplete", "first_saccade_only"):
            if key in opts:
                check_bool(f"dataset_kwargs[{key!r}]", opts[key])
    return opts


def _sensor_size(name: str, opts: dict) -> tuple[int, int, int]:
    if name == "emulated_digits":
        return emulated_sensor_size(
            _DIGIT_SHAPE, path=opts["path"], upsample=opts["upsample"], sensor_size=opts["sensor_size"]
        )
    return _RECORDED[name][1]


def event_dataset_info(name: str, options: Mapping[str, Any] | None = None) -> DatasetInfo:
    """Description of an event data set's frames (classes, 2 channels, (H, W), temporal).

    Parameters
    ----------
    name : str
        One of :data:`EVENT_DATASET_NAMES`.
    options : mapping or None
        Its ``dataset_kwargs`` (see :data:`EVENT_DATASET_OPTIONS`); they set the frame size.

    Returns
    -------
    DatasetInfo
        ``temporal=True``, ``in_channels=2`` (OFF, ON), ``input_size=(H, W)`` of the frames.

    Raises
    ------
    ValueError
        As :func:`check_event_options`.
    """
    opts = check_event_options(name, options)
    w, h, p = _sensor_size(name, opts)
    size = (h, w) if opts.get("frame_size") is None else opts["frame_size"]
    classes = 10 if name == "emulated_digits" else _RECORDED[name][0]
    return DatasetInfo(name=name, num_classes=classes, in_channels=p, input_size=size,
                       temporal=True, class_names=_CLASS_NAMES[name])


def _resize(frames: torch.Tensor, size: tuple[int, int] | None) -> torch.Tensor:
    if size is None or tuple(frames.shape[-2:]) == tuple(size):
        return frames
    return F.interpolate(frames, size=size, mode="bilinear", align_corners=False, antialias=True)


class EventFrames(Dataset):
    """A map-style data set of frame sequences [T, P, H, W] from an event data set.

    Parameters
    ----------
    events : sequence
        Indexable, ``len()``, items ``(event stream, label)`` (a tonic data set, an
        :class:`~qsnn.data.emulated_digits.EmulatedDigits`, ...).
    transform : callable
        Event stream -> frames [T, P, H', W'] (:func:`~qsnn.data.frames.frame_transform`).
    frame_size : tuple of int or None
        (H, W) to resize the frames to (bilinear, antialiased), None: keep.
    precompute : bool
        Convert every sample once now and keep all frames in memory (small data sets).
    frames : (numpy.ndarray, numpy.ndarray) or None
        Frames [N, T, P, H, W] and labels [N] already converted (copied here); implies
        ``precompute``.

    Notes
    -----
    ``__getitem__`` returns ``(x, y)``: x float32 tensor [T, P, H, W], y int; the protocol of
    temporal data sets in :mod:`qsnn.data`.
    """

    def __init__(self, events, transform: Callable, frame_size: tuple[int, int] | None = None,
                 precompute: bool = False, frames: tuple[np.ndarray, np.ndarray] | None = None
                 ) -> None:
        if not callable(transform):
            raise ValueError(f"transform must be callable, got {transform!r}")
        self.events, self.transform, self.frame_size = events, transform, frame_size
        self._frames = self._labels = None
        if frames is None and precompute:
            frames = self.convert_all()
        if frames is not None:
            self._frames = torch.tensor(frames[0], dtype=torch.float32)
            self._labels = torch.tensor(frames[1], dtype=torch.int64)

    def convert_all(self) -> tuple[np.ndarray, np.ndarray]:
        """Every sample converted: frames [N, T, P, H, W] float32 and labels [N] int64."""
        xs, ys = zip(*(self._convert(i) for i in range(len(self.events))), strict=True)
        return torch.stack(xs).numpy(), np.asarray(ys, dtype=np.int64)

    def _convert(self, index: int) -> tuple[torch.Tensor, int]:
        stream, label = self.events[index]
        x = torch.from_numpy(np.ascontiguousarray(self.transform(stream), dtype=np.float32))
        return _resize(x, self.frame_size), int(label)

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """All frames and labels as tensors when precomputed (None otherwise); see
        :class:`~qsnn.data.loaders.TensorBatches`."""
        if self._frames is None:
            return None
        return self._frames, self._labels

    def __len__(self) -> int:
        return len(self.events)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        if self._frames is not None:
            return self._frames[index].clone(), int(self._labels[index])
        return self._convert(index)


FRAME_CACHE = DataCache("emulated digit frames", max_entries=4)
"""Binned frames of the emulated digits per (split, options, T), read-only."""


def _emulated_frames(train: bool, key: tuple, time_steps: int) -> EventFrames:
    opts = dict(key)
    seed = opts.pop("emulator_seed")
    denoise_us = opts.pop("denoise_us")
    ds = EmulatedDigits(train=train, seed=seed, **opts)
    transform = frame_transform(ds.sensor_size, time_steps, ds.duration_us, denoise_us)
    frames = FRAME_CACHE.get((train, key, time_steps),
                             lambda: EventFrames(ds, transform).convert_all())
    return EventFrames(ds, transform, frames=frames)


def load_event_frames(name: str, data_dir, split: str, *, time_steps: int, seed: int = 0,
                      options: Mapping[str, Any] | None = None) -> EventFrames:
    """One split of an event data set as frames [T, P, H, W] (see the module docstring).

    Parameters
    ----------
    name : str
        One of :data:`EVENT_DATASET_NAMES`.
    data_dir : str or path-like
        Folder holding ``<ClassName>/`` of a recorded data set (ignored by ``emulated_digits``).
    split : {"train", "test"}
    time_steps : int
        T, the number of time bins.
    seed : int
        The run's seed; the emulator's seed when ``options["emulator_seed"]`` is None.
    options : mapping or None
        ``dataset_kwargs`` (see :data:`EVENT_DATASET_OPTIONS`).

    Returns
    -------
    EventFrames

    Raises
    ------
    ValueError
        Bad name, split, T or options.
    DatasetNotFoundError
        A recorded data set missing under ``data_dir`` (the message names files and folder).
    DatasetIncompleteError
        Fewer samples than the complete split, unless ``allow_incomplete``.
    """
    opts = check_event_options(name, options)
    check_choice("split", split, ("train", "test"))
    time_steps = _int_at_least("time_steps", time_steps, 1)
    if name == "emulated_digits":
        if opts["emulator_seed"] is None:
            opts["emulator_seed"] = _int_at_least("seed", seed, 0)
        return _emulated_frames(split == "train", tuple(sorted(opts.items())), time_steps)
    extra = {"first_saccade_only": opts["first_saccade_only"]} if name == "nmnist" else {}
    events = load_event_dataset(name, data_dir, train=split == "train",
                                verify_md5=opts["verify_md5"],
                                allow_incomplete=opts["allow_incomplete"], **extra)
    transform = frame_transform(_RECORDED[name][1], time_steps, None, opts["denoise_us"])
    return EventFrames(events, transform, frame_size=opts["frame_size"])
