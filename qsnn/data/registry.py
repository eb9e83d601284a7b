"""The data-set registry: one record per data set, holding everything known about it.

A record carries the data set's description (:class:`~qsnn.data.info.DatasetInfo`: shape,
classes, class names, normalisation, augmentation), the known number of samples of each split,
where the files come from, its options (``dataset_kwargs``) with their defaults, and its loader,
the way tonic's data sets carry their own metadata. :func:`dataset_info`, :func:`load_dataset`
and :func:`check_dataset_kwargs` only look records up; a new data set plugs in by adding one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping

from torch.utils.data import Dataset

from .._validation import check_choice, check_int
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
           "dataset_info", "dataset_record", "load_dataset"]

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
    """

    info: DatasetInfo
    split_sizes: Mapping[str, int]
    source: str
    load_arrays: Callable | None = None
    load_frames: Callable | None = None
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def name(self) -> str:
        return self.info.name

    def check_options(self, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """The options complete with defaults, validated (see :func:`check_dataset_kwargs`)."""
        if self.info.temporal:
            return event_sets.check_event_options(self.name, options)
        return check_static_options(self.name, options)

    def describe(self, options: Mapping[str, Any] | None = None) -> DatasetInfo:
        """The description under ``options``."""
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


def _temporal(name, source) -> DatasetRecord:
    return DatasetRecord(
        info=event_sets.event_dataset_info(name), source=source,
        split_sizes=MappingProxyType(dict(event_sets.EVENT_SPLIT_SIZES[name])),
        load_frames=event_sets.load_event_frames,
        options=MappingProxyType(dict(event_sets.EVENT_DATASET_OPTIONS[name])),
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
        "nmnist", "Orchard et al. 2015, N-MNIST, through tonic.datasets.NMNIST (read offline)"),
    "dvsgesture": _temporal(
        "dvsgesture",
        "Amir et al. 2017, DVS Gesture (tonic's preprocessed version) through "
        "tonic.datasets.DVSGesture (read offline)"),
    "cifar10dvs": _temporal(
        "cifar10dvs",
        "Li et al. 2017, CIFAR10-DVS through tonic.datasets.CIFAR10DVS (read offline; split "
        "90/10 per class)"),
})
"""Every data set by name."""

DATASETS = tuple(REGISTRY)


def dataset_record(name: str) -> DatasetRecord:
    """The record of data set ``name``; the message of the ValueError lists the names."""
    if not isinstance(name, str) or name not in REGISTRY:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)}; got {name!r}")
    return REGISTRY[name]


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
        One of :data:`DATASETS`.
    data_dir : str, os.PathLike or None
        Folder of the on-disk data sets (None: ``./data``); ignored by ``"digits"``.
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
    """
    record = dataset_record(name)
    info = record.info
    check_choice("split", split, ("train", "test"))
    if augment is None:
        augment = split == "train" and info.has_augmentation
    if augment and not info.has_augmentation:
        raise ValueError(f"augment=True, but the data set {name!r} has no standard augmentation")
    data_dir = DEFAULT_DATA_DIR if data_dir is None else data_dir
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
