"""The data-set registry: one record per data set, holding everything known about it.

A record carries the data set's description (:class:`~qsnn.data.info.DatasetInfo`: shape,
classes, class names, normalisation, augmentation), the known number of samples of each split,
where the files come from, its options (``dataset_kwargs``) with their defaults, and its loader,
the way tonic's data sets carry their own metadata. :func:`dataset_info`, :func:`load_dataset`
and :func:`check_dataset_kwargs` only look records up; a new data set plugs in by adding one.

A reader's own data set plugs in the same way, without editing the package:
:func:`register_dataset` adds a record for a map-style data set (images [C, H, W] or event tensors
[T, C, H, W]) under a name, which a :class:`~qsnn.train.TrainConfig`, a grid and the command lines
(``--import``) then use like a built-in one.

Names (one record each in :data:`REGISTRY`)
-------------------------------------------
- ``"digits"``: UCI handwritten digits from scikit-learn (embedded, 1,437 / 360, 1x8x8) — default.
- ``"mnist"``: MNIST from its four IDX files (60,000 / 10,000, 1x28x28).
- ``"fashion_mnist"``: Fashion-MNIST (Xiao, Rasul & Vollgraf 2017; 60,000 / 10,000, 1x28x28), from
  ``data_dir`` or the folder of the Debian package ``dataset-fashion-mnist``
  (``make data`` fetches it into ``data/``).
- ``"cifar10"``: CIFAR-10 from ``cifar-10-batches-py`` (3x32x32).
- ``"cifar100"``: CIFAR-100 from ``cifar-100-python`` (3x32x32, fine labels).
- ``"emulated_digits"``: the digits recorded by the event-camera emulator (2x20x20 frames, temporal).
- ``"nmnist"``, ``"dvsgesture"``, ``"cifar10dvs"``: recorded event data through tonic (temporal).

Your own data set: :func:`register_dataset` (``name``, train and test splits as map-style data sets,
``num_classes``) makes it a name like these, for :class:`~qsnn.train.TrainConfig`, grids and the command
lines (``--import`` the module that registers it).

Event data sets take options (``dataset_kwargs``: emulator settings, denoising, frame size; see
:data:`qsnn.data.event_sets.EVENT_DATASET_OPTIONS`) and are binned into ``time_steps`` frames.

Dataset protocol
----------------
A data set yields ``(x, y)`` with ``y`` an int class label and ``x`` a float32 tensor that is
either **static**, [C, H, W] (repeated T times by the training loop), or **temporal**,
[T, C, H, W] (event frames, already binned in time; the loader batch [B, T, C, H, W] is
transposed to [T, B, C, H, W]). :attr:`~qsnn.data.info.DatasetInfo.temporal` says which. A data set may define
``set_epoch(epoch)`` to draw its per-epoch random augmentation from ``(seed, epoch)``; the
loaders call it. A data set held in memory defines ``tensors()`` and is batched without
per-sample work.

Missing files raise :class:`~qsnn.data.info.DatasetNotFoundError`, a ``FileNotFoundError`` whose message names
the expected files, the folder searched and where to get them; an incomplete set raises its
subclass :class:`~qsnn.data.info.DatasetIncompleteError`; a corrupt or foreign file raises
:class:`~qsnn.data.info.DatasetFileError` (a ``ValueError``) naming the file. Nothing is downloaded.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping

from torch.utils.data import Dataset

from .._core.extras import require_extra
from .._core.validation import check_choice, check_int
from . import event_sets
from .digits import DIGITS_INFO, DIGITS_TEST_SIZE, load_digits_arrays
from .images import ImageDataset
from .info import DatasetInfo
from .vision import (
    CIFAR10_INFO,
    CIFAR100_INFO,
    CIFAR_URL,
    FASHION_MNIST_INFO,
    FASHION_MNIST_URL,
    MNIST_INFO,
    MNIST_URL,
    load_cifar_arrays,
    load_fashion_mnist_arrays,
    load_mnist_arrays,
)

__all__ = ["DATASETS", "DEFAULT_DATA_DIR", "DatasetRecord", "REGISTRY", "STATIC_OPTIONS", "check_dataset_kwargs",
           "dataset_info", "dataset_names", "dataset_record", "load_dataset", "register_dataset",
           "unregister_dataset"]

DEFAULT_DATA_DIR = "data"


@dataclass(frozen=True)
class DatasetRecord:
    """Everything the package knows about one data set.

    Attributes
    ----------
    info : DatasetInfo
        Its description with the default options (event sets: the frame size follows the
        options, see :meth:`describe`).
    split_sizes : mapping
        The number of samples of each split, ``{"train": n, "test": m}``.
    source : str
        The reference and where the files come from.
    load_arrays : callable or None
        Static sets: ``(data_dir, split) -> (images [N, C, H, W], labels [N])``.
    load_frames : callable or None
        Temporal sets: ``(name, data_dir, split, *, time_steps, seed, options) -> Dataset``.
    options : mapping
        The ``dataset_kwargs`` it accepts, with their defaults (empty: none).
    load_data : callable or None
        Registered sets (:func:`register_dataset`): ``(data_dir, split) -> Dataset``.
    sample_shape : tuple of int or None
        Registered sets: the shape of one sample, [C, H, W] or [T, C, H, W].
    extra : str or None
        The optional extra of the package its loader needs (``"events"``: tonic), None for none.
    """

    info: DatasetInfo
    split_sizes: Mapping[str, int]
    source: str
    load_arrays: Callable | None = None
    load_frames: Callable | None = None
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    load_data: Callable | None = None
    sample_shape: tuple[int, ...] | None = None
    extra: str | None = None

    @property
    def name(self) -> str:
        return self.info.name

    def check_options(self, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """The options complete with defaults, validated (see :func:`check_dataset_kwargs`)."""
        if self.load_data is not None:
            if options:
                raise ValueError(f"the registered data set {self.name!r} takes no dataset_kwargs, got {options!r}")
            return {}
        if self.info.temporal:
            return event_sets.check_event_options(self.name, options)
        return check_static_options(self.name, options)

    def describe(self, options: Mapping[str, Any] | None = None) -> DatasetInfo:
        """The description under ``options``."""
        if self.load_data is not None:
            self.check_options(options)
            return self.info
        if self.info.temporal:
            return event_sets.event_dataset_info(self.name, options)
        self.check_options(options)
        return self.info


STATIC_OPTIONS: Mapping[str, Any] = MappingProxyType({"train_per_class": None, "test_per_class": None})
"""The ``dataset_kwargs`` every static image set accepts: ``<split>_per_class`` = n keeps the first n
images of each class of that split, in file order (a stratified subset that needs no seed, so every run
that names it sees the same images); None keeps the whole split."""


def check_static_options(name: str, options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The options of the static set ``name`` complete with defaults, validated."""
    if options is None:
        options = {}
    if not isinstance(options, Mapping):
        raise ValueError(f"dataset_kwargs must be a mapping of option names to values, got {options!r}")
    unknown = sorted(set(options) - set(STATIC_OPTIONS))
    if unknown:
        raise ValueError(f"dataset_kwargs has unknown keys {', '.join(map(str, unknown))} for {name!r}; "
                         f"allowed: {', '.join(STATIC_OPTIONS)}")
    out = dict(STATIC_OPTIONS, **options)
    for key, value in out.items():
        if value is not None:
            check_int(f"dataset_kwargs[{key!r}]", value, min=1)
    return out


def _per_class(labels, n: int):
    """Indices of the first ``n`` samples of every class, in file order."""
    import numpy as np

    labels = np.asarray(labels)
    keep = np.zeros(labels.shape[0], dtype=bool)
    for c in np.unique(labels):
        keep[np.flatnonzero(labels == c)[:n]] = True
    return np.flatnonzero(keep)


def _static(info, sizes, source, load_arrays) -> DatasetRecord:
    return DatasetRecord(info=info, split_sizes=MappingProxyType(sizes), source=source,
                         load_arrays=load_arrays, options=STATIC_OPTIONS)


def _temporal(name, source, extra=None) -> DatasetRecord:
    return DatasetRecord(
        info=event_sets.event_dataset_info(name), source=source,
        split_sizes=MappingProxyType(dict(event_sets.EVENT_SPLIT_SIZES[name])),
        load_frames=event_sets.load_event_frames,
        options=MappingProxyType(dict(event_sets.EVENT_DATASET_OPTIONS[name])), extra=extra,
    )


REGISTRY: Mapping[str, DatasetRecord] = MappingProxyType({
    "digits": _static(
        DIGITS_INFO, {"train": 1797 - DIGITS_TEST_SIZE, "test": DIGITS_TEST_SIZE},
        "UCI optical recognition of handwritten digits (Alpaydin & Kaynak 1998), embedded in "
        "scikit-learn (sklearn.datasets.load_digits); the book's fixed stratified split",
        lambda data_dir, split: load_digits_arrays(split)),
    "mnist": _static(
        MNIST_INFO, {"train": 60_000, "test": 10_000},
        f"LeCun, Cortes & Burges, the MNIST database: {MNIST_URL}", load_mnist_arrays),
    "fashion_mnist": _static(
        FASHION_MNIST_INFO, {"train": 60_000, "test": 10_000},
        "Xiao, Rasul & Vollgraf 2017, Fashion-MNIST, arXiv:1708.07747 (MIT licence): "
        + FASHION_MNIST_URL, load_fashion_mnist_arrays),
    "cifar10": _static(
        CIFAR10_INFO, {"train": 50_000, "test": 10_000},
        f"Krizhevsky 2009, CIFAR-10 (python version): {CIFAR_URL}",
        lambda data_dir, split: load_cifar_arrays(data_dir, split, 10)[:2]),
    "cifar100": _static(
        CIFAR100_INFO, {"train": 50_000, "test": 10_000},
        f"Krizhevsky 2009, CIFAR-100 (python version, fine labels): {CIFAR_URL}",
        lambda data_dir, split: load_cifar_arrays(data_dir, split, 100)[:2]),
    "emulated_digits": _temporal(
        "emulated_digits",
        "the digits recorded by the event-camera emulator of qsnn.data.emulator (no files)"),
    "nmnist": _temporal(
        "nmnist", "Orchard et al. 2015, N-MNIST, through tonic.datasets.NMNIST (read offline)", "events"),
    "dvsgesture": _temporal(
        "dvsgesture",
        "Amir et al. 2017, DVS Gesture (tonic's preprocessed version) through "
        "tonic.datasets.DVSGesture (read offline)", "events"),
    "cifar10dvs": _temporal(
        "cifar10dvs",
        "Li et al. 2017, CIFAR10-DVS through tonic.datasets.CIFAR10DVS (read offline; split "
        "90/10 per class)", "events"),
})
"""Every data set by name."""

DATASETS = tuple(REGISTRY)
"""The names of the built-in data sets (:func:`dataset_names` adds the registered ones)."""

# Data sets registered in this process with register_dataset, by name.
_REGISTERED: dict[str, DatasetRecord] = {}
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")


def dataset_names() -> tuple[str, ...]:
    """Every data set a configuration may name: the built-in ones, then those registered in this process."""
    return DATASETS + tuple(_REGISTERED)


def dataset_record(name: str) -> DatasetRecord:
    """The record of data set ``name``; the message of the ValueError lists the names."""
    if isinstance(name, str) and name in REGISTRY:
        return REGISTRY[name]
    if isinstance(name, str) and name in _REGISTERED:
        return _REGISTERED[name]
    raise ValueError(f"dataset must be one of {', '.join(dataset_names())}, or a data set registered with "
                     f"qsnn.data.register_dataset (command lines: --import the module that registers it); "
                     f"got {name!r}")


class _Checked(Dataset):
    """A registered split as the loaders need it: x a float32 tensor of the registered shape, y an int
    class; a sample that is not says which, with its index. ``set_epoch`` reaches the wrapped set."""

    def __init__(self, data, name: str, split: str, shape: tuple[int, ...], num_classes: int) -> None:
        self.data, self.name, self.split, self.shape, self.num_classes = data, name, split, shape, num_classes

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int):
        return _check_sample(self.data[index], f"{self.name} {self.split}[{index}]", self.shape, self.num_classes)

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.data, "set_epoch"):
            self.data.set_epoch(epoch)


def _check_sample(sample, where: str, shape: tuple[int, ...] | None, num_classes: int):
    """``(x float32 tensor, y int)`` from one sample of a registered set, checked."""
    import numpy as np
    import torch

    if not isinstance(sample, (tuple, list)) or len(sample) != 2:
        raise ValueError(f"{where} must be a pair (x, y), got {type(sample).__name__}")
    x, y = sample
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise ValueError(f"{where}: x must be a floating-point tensor (images [C, H, W] or event frames "
                         f"[T, C, H, W], scaled as the network should see them), got "
                         f"{getattr(x, 'dtype', type(x).__name__)}")
    if shape is None and x.ndim not in (3, 4):
        raise ValueError(f"{where}: x must be an image [C, H, W] or event frames [T, C, H, W], got shape "
                         f"{tuple(x.shape)}")
    if shape is not None and tuple(x.shape) != shape:
        raise ValueError(f"{where}: x has shape {tuple(x.shape)}, but the data set's samples have shape {shape} "
                         f"(every sample of a data set has one shape; resize or pad them to it)")
    if isinstance(y, torch.Tensor) and y.numel() == 1 and not y.is_floating_point():
        y = y.item()
    if isinstance(y, np.integer):
        y = int(y)
    if isinstance(y, bool) or not isinstance(y, int) or not 0 <= y < num_classes:
        raise ValueError(f"{where}: y must be an integer class in 0..{num_classes - 1}, got {y!r}")
    return x.to(torch.float32), y


def _as_split(data, split: str):
    """``data`` as a map-style data set: itself, or the data set of a DataLoader (the recipe's sampler then
    draws the batches)."""
    from torch.utils.data import DataLoader

    if isinstance(data, DataLoader):
        data = data.dataset
    if not (hasattr(data, "__getitem__") and hasattr(data, "__len__")):
        raise ValueError(f"{split} must be a map-style data set (len() and [i] -> (x, y)) or a DataLoader over "
                         f"one; got {type(data).__name__}")
    return data


def register_dataset(name: str, train, test, *, num_classes: int, class_names=(), source: str = "") -> DatasetInfo:
    """Make a data set of your own trainable by name, like the built-in ones.

    After ``register_dataset("shapes", train, test, num_classes=3)``, ``TrainConfig(dataset="shapes")``
    trains the recipe (binary weights, b-bit membranes, WS-DR, EDE) on it with :func:`qsnn.train.fit`, a
    grid may name it, and :func:`qsnn.experiments.load_run` rebuilds runs trained on it. The loaders
    treat it as any data set: the training order is shuffled from ``(seed, epoch)``, so runs are
    deterministic and resume exactly. A process that trains or loads by name registers first (the
    command lines take ``--import`` of a module or file that does).

    Parameters
    ----------
    name : str
        A plain name (a letter, then letters, digits, ``_ . -``), not one of :data:`DATASETS`.
        Registering a name again replaces the earlier registration.
    train, test : Dataset or DataLoader
        Each split: a map-style data set (``len()`` and ``[i] -> (x, y)``; one that reads its files in
        ``__getitem__`` keeps nothing in memory) or a DataLoader (its data set is used; batches are drawn
        by the recipe's sampler with the configuration's ``batch_size``). ``x`` is a floating-point
        tensor (or NumPy array), an image [C, H, W] (repeated
        over the T time steps) or event frames [T, C, H, W] (T must equal the configuration's
        ``time_steps``), already normalised as the network should see it; ``y`` an integer class in
        ``0 .. num_classes - 1``. A data set may define ``set_epoch(epoch)``: the loaders call it before
        every epoch, so that augmentation can be drawn from the epoch.
    num_classes : int
        K, the number of classes (>= 2).
    class_names : sequence of str
        The name of each class, in label order (optional).
    source : str
        Where the data come from (optional; kept in the record).

    Returns
    -------
    DatasetInfo
        The description the model builder uses (channels, size, classes, temporal or not).

    Raises
    ------
    ValueError
        For a name that is not plain or is built in, a split that is not a map-style data set,
        an empty split, ``num_classes`` < 2, class names of another count, or a first sample that is not
        ``(x, y)`` as above, or whose shape differs between the splits (each message names the split).
    """
    check_int("num_classes", num_classes, min=2)
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"a data set name must be plain (a letter, then letters, digits, _ . -), got {name!r}")
    if name in REGISTRY:
        raise ValueError(f"{name!r} is a built-in data set; register yours under another name")
    class_names = tuple(class_names)
    if class_names and (len(class_names) != num_classes or not all(isinstance(c, str) for c in class_names)):
        raise ValueError(f"class_names must be {num_classes} strings (one per class), got {class_names!r}")
    splits = {"train": _as_split(train, "train"), "test": _as_split(test, "test")}
    shape = None
    for split, data in splits.items():
        if len(data) == 0:
            raise ValueError(f"the {split} split of {name!r} is empty")
        x, _ = _check_sample(data[0], f"{name} {split}[0]", shape, num_classes)
        shape = tuple(x.shape)
    temporal = len(shape) == 4
    c, h, w = shape[-3:]
    info = DatasetInfo(name=name, num_classes=num_classes, in_channels=c, input_size=(h, w), temporal=temporal,
                       class_names=class_names)
    _REGISTERED[name] = DatasetRecord(
        info=info, split_sizes=MappingProxyType({k: len(v) for k, v in splits.items()}),
        source=source or "registered with qsnn.data.register_dataset",
        load_data=lambda data_dir, split: splits[split], sample_shape=shape)
    return info


def unregister_dataset(name: str) -> None:
    """Forget a data set registered with :func:`register_dataset` (built-in ones stay).

    Raises
    ------
    ValueError
        If ``name`` is not a registered data set.
    """
    if name not in _REGISTERED:
        raise ValueError(f"no data set {name!r} was registered; registered: {', '.join(_REGISTERED) or 'none'}")
    del _REGISTERED[name]


def check_dataset_kwargs(name: str, dataset_kwargs: dict | None) -> dict:
    """Validate the options of data set ``name``; return them complete, with defaults.

    Static image sets take :data:`STATIC_OPTIONS` (stratified subsets); event sets take those of
    :data:`qsnn.data.event_sets.EVENT_DATASET_OPTIONS`.

    Raises
    ------
    ValueError
        Unknown data set, unknown key (the message lists the allowed ones) or invalid value.
    """
    return dataset_record(name).check_options(dataset_kwargs)


def dataset_info(name: str, dataset_kwargs: dict | None = None) -> DatasetInfo:
    """Description of data set ``name`` (see :class:`~qsnn.data.info.DatasetInfo`).

    Parameters
    ----------
    name : str
        One of :data:`DATASETS`.
    dataset_kwargs : dict or None
        The data set's options (event sets: they set the frame size).

    Raises
    ------
    ValueError
        If ``name`` is not a known data set (the message lists them) or the options are invalid.
    """
    return dataset_record(name).describe(dataset_kwargs)


def load_dataset(
    name: str = "digits",
    data_dir: str | os.PathLike | None = None,
    split: str = "train",
    augment: bool | None = None,
    seed: int = 0,
    time_steps: int | None = None,
    dataset_kwargs: dict | None = None,
) -> Dataset:
    """One split of a data set, normalised, as a map-style :class:`~torch.utils.data.Dataset`.

    Parameters
    ----------
    name : str
        One of :func:`dataset_names`: a built-in data set or one registered with :func:`register_dataset`.
    data_dir : str, os.PathLike or None
        Folder of the on-disk data sets (None: ``./data``); ignored by ``"digits"`` and registered sets.
    split : {"train", "test"}
    augment : bool or None
        Apply the data set's standard training augmentation (CIFAR: random crop 32 with 4 pixels
        of zero padding, random horizontal flip). None: on for the CIFAR training split, off
        otherwise. True for a data set without a standard augmentation raises ValueError.
    seed : int
        Seed of the augmentation's random choices (event sets: also the emulator's seed unless
        ``dataset_kwargs`` sets ``emulator_seed``).
    time_steps : int or None
        T, the number of frames of a temporal sample; required for event sets, ignored by static
        ones (the training loop repeats them).
    dataset_kwargs : dict or None
        The data set's options (see :func:`check_dataset_kwargs`).

    Returns
    -------
    torch.utils.data.Dataset
        Yields ``(x, y)``, x float32 [C, H, W] (static) or [T, C, H, W] (temporal), y int (see
        the Dataset protocol in :mod:`qsnn.data`).

    Raises
    ------
    ValueError
        Unknown ``name`` or ``split``, ``augment=True`` where no augmentation is defined, bad
        options, or no ``time_steps`` for an event set.
    DatasetNotFoundError
        The data set's files are missing or incomplete under ``data_dir``.
    DatasetFileError
        A file is corrupt or holds something else than the data set (the message names it).
    ModuleNotFoundError
        ``MissingExtraError``: the data set needs an extra that is not installed (recorded event sets: ``events``).
    """
    record = dataset_record(name)
    info = record.info
    check_choice("split", split, ("train", "test"))
    if augment is None:
        augment = split == "train" and info.has_augmentation
    if augment and not info.has_augmentation:
        raise ValueError(f"augment=True, but the data set {name!r} has no standard augmentation")
    data_dir = DEFAULT_DATA_DIR if data_dir is None else data_dir
    if record.extra is not None:
        require_extra(record.extra, f"the data set {name!r}")
    if record.load_data is not None:
        record.check_options(dataset_kwargs)
        if info.temporal and time_steps is not None and time_steps != record.sample_shape[0]:
            raise ValueError(f"the samples of {name!r} have T = {record.sample_shape[0]} frames, but time_steps is "
                             f"{time_steps}; set time_steps: {record.sample_shape[0]}")
        return _Checked(record.load_data(data_dir, split), name, split, record.sample_shape, info.num_classes)
    if info.temporal:
        if time_steps is None:
            raise ValueError(f"time_steps is required for the temporal data set {name!r}")
        check_int("time_steps", time_steps, min=1)
        return record.load_frames(name, data_dir, split, time_steps=time_steps, seed=seed,
                                  options=dataset_kwargs)
    options = record.check_options(dataset_kwargs)
    images, labels = record.load_arrays(data_dir, split)
    if options[f"{split}_per_class"] is not None:
        keep = _per_class(labels, options[f"{split}_per_class"])
        images, labels = images[keep], labels[keep]
    return ImageDataset(images, labels, info, augment=bool(augment), seed=seed)
