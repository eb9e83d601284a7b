"""Data sets and loaders for Part II (Q-SNNs).

Names
-----
``"digits"``   UCI handwritten digits from scikit-learn (embedded, 1,437 / 360, 1x8x8) — default.
``"mnist"``    MNIST from its four IDX files (1x28x28).
``"cifar10"``  CIFAR-10 from ``cifar-10-batches-py`` (3x32x32).
``"cifar100"`` CIFAR-100 from ``cifar-100-python`` (3x32x32, fine labels).
``"emulated_digits"`` the digits recorded by the event-camera emulator (2x20x20 frames, temporal).
``"nmnist"``, ``"dvsgesture"``, ``"cifar10dvs"`` recorded event data through tonic (temporal).

Event data sets take options (``dataset_kwargs``: emulator settings, denoising, frame size; see
:data:`qsnn.data.event_sets.EVENT_DATASET_OPTIONS`) and are binned into ``time_steps`` frames.

API
---
:func:`dataset_info` describes a data set (classes, channels, size, temporal or not).
:func:`load_dataset` returns one split as a :class:`torch.utils.data.Dataset`.
:func:`get_loaders` returns the training and test :class:`~torch.utils.data.DataLoader` for one
process of a (possibly distributed) run; call :func:`set_epoch` on the training loader before
each epoch. :func:`repeat_time` / :func:`to_time_first` give the batch the time-first layout.

Dataset protocol
----------------
A data set yields ``(x, y)`` with ``y`` an int class label and ``x`` a float32 tensor that is
either **static**, [C, H, W] (repeated T times by the training loop), or **temporal**,
[T, C, H, W] (event frames, already binned in time; the loader batch [B, T, C, H, W] is
transposed to [T, B, C, H, W]). :class:`DatasetInfo.temporal` says which. A data set may define
``set_epoch(epoch)`` to draw its per-epoch random augmentation from ``(seed, epoch)``; the
loaders call it. A new data set plugs in by adding a loader function to ``_REGISTRY``.

Missing files raise :class:`DatasetNotFoundError`, a ``FileNotFoundError`` whose message names
the expected files, the folder searched and where to download them. Nothing is downloaded.

Determinism
-----------
Shuffling uses a :class:`~torch.utils.data.DistributedSampler` (with one replica when not
distributed) whose order is a function of ``(seed, epoch)`` only, and augmentation choices are a
function of ``(seed, epoch, sample)`` only, so a run resumed at any epoch sees the same batches
as an uninterrupted one, whatever the number of workers.
"""

from __future__ import annotations

import os
import random
from typing import Callable, Iterator, NamedTuple

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler

from ._common import (
    DatasetInfo,
    DatasetNotFoundError,
    ImageDataset,
    crop_flip,
    repeat_time,
    to_time_first,
)
from .digits import DIGITS_INFO, load_digits_arrays
from .event_sets import EVENT_DATASET_NAMES, check_event_options, event_dataset_info, load_event_frames
from .vision import CIFAR10_INFO, CIFAR100_INFO, MNIST_INFO, load_cifar_arrays, load_mnist_arrays

__all__ = [
    "DATASETS",
    "DatasetInfo",
    "DatasetNotFoundError",
    "check_dataset_kwargs",
    "ImageDataset",
    "Loaders",
    "ShardSampler",
    "crop_flip",
    "dataset_info",
    "get_loaders",
    "load_dataset",
    "repeat_time",
    "set_epoch",
    "to_time_first",
    "seed_worker",
]

DEFAULT_DATA_DIR = "data"


def _digits(data_dir, split):
    return load_digits_arrays(split)


def _mnist(data_dir, split):
    return load_mnist_arrays(data_dir, split)


def _cifar10(data_dir, split):
    return load_cifar_arrays(data_dir, split, 10)[:2]


def _cifar100(data_dir, split):
    return load_cifar_arrays(data_dir, split, 100)[:2]


def _event_loader(name):
    def load(data_dir, split, *, seed, time_steps, options):
        return load_event_frames(name, data_dir, split, time_steps=time_steps, seed=seed,
                                 options=options)

    return load


# name -> (description with default options, loader). Static sets: loader(data_dir, split) ->
# (images [N, C, H, W], labels [N]). Temporal sets (info.temporal): loader(data_dir, split, *,
# seed, time_steps, options) -> Dataset of ([T, C, H, W], label); their description depends on
# the options (``dataset_kwargs``).
_REGISTRY: dict[str, tuple[DatasetInfo, Callable]] = {
    "digits": (DIGITS_INFO, _digits),
    "mnist": (MNIST_INFO, _mnist),
    "cifar10": (CIFAR10_INFO, _cifar10),
    "cifar100": (CIFAR100_INFO, _cifar100),
    **{n: (event_dataset_info(n), _event_loader(n)) for n in EVENT_DATASET_NAMES},
}
DATASETS = tuple(_REGISTRY)


def _check_name(name: str) -> str:
    if name not in _REGISTRY:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)}; got {name!r}")
    return name


def check_dataset_kwargs(name: str, dataset_kwargs: dict | None) -> dict:
    """Validate the options of data set ``name``; return them complete, with defaults.

    Static image sets take none; event sets take those of
    :data:`qsnn.data.event_sets.EVENT_DATASET_OPTIONS`.

    Raises
    ------
    ValueError
        Unknown data set, unknown key (the message lists the allowed ones) or invalid value.
    """
    info = _REGISTRY[_check_name(name)][0]
    if info.temporal:
        return check_event_options(name, dataset_kwargs)
    if dataset_kwargs:
        raise ValueError(
            f"dataset_kwargs must be empty for {name!r} (it has no options), got {dataset_kwargs!r}"
        )
    return {}


def dataset_info(name: str, dataset_kwargs: dict | None = None) -> DatasetInfo:
    """Description of data set ``name`` (see :class:`DatasetInfo`).

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
    info = _REGISTRY[_check_name(name)][0]
    if info.temporal:
        return event_dataset_info(name, dataset_kwargs)
    check_dataset_kwargs(name, dataset_kwargs)
    return info


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
        the module's Dataset protocol).

    Raises
    ------
    ValueError
        Unknown ``name`` or ``split``, ``augment=True`` where no augmentation is defined, bad
        options, or no ``time_steps`` for an event set.
    DatasetNotFoundError
        The data set's files are missing under ``data_dir``.
    """
    info, loader = _REGISTRY[_check_name(name)]
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if augment is None:
        augment = split == "train" and info.has_augmentation
    if augment and not info.has_augmentation:
        raise ValueError(f"augment=True, but the data set {name!r} has no standard augmentation")
    data_dir = DEFAULT_DATA_DIR if data_dir is None else data_dir
    if info.temporal:
        if time_steps is None:
            raise ValueError(f"time_steps is required for the temporal data set {name!r}")
        return loader(data_dir, split, seed=seed, time_steps=time_steps, options=dataset_kwargs)
    check_dataset_kwargs(name, dataset_kwargs)
    images, labels = loader(data_dir, split)
    return ImageDataset(images, labels, info, augment=bool(augment), seed=seed)


class ShardSampler(Sampler[int]):
    """Every ``world_size``-th index starting at ``rank``, in order, without padding.

    Used for evaluation: the shards of all ranks partition the data set exactly, so summed
    metrics count every test sample once.
    """

    def __init__(self, length: int, rank: int = 0, world_size: int = 1) -> None:
        self.length, self.rank, self.world_size = int(length), int(rank), int(world_size)

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.rank, self.length, self.world_size))

    def __len__(self) -> int:
        return len(range(self.rank, self.length, self.world_size))


def seed_worker(worker_id: int) -> None:
    """``worker_init_fn``: seed NumPy and ``random`` in a loader worker from its torch seed."""
    s = torch.initial_seed() % 2**32
    np.random.seed(s)
    random.seed(s)


class Loaders(NamedTuple):
    """The training loader, the test loader and the data set's description."""

    train: DataLoader
    test: DataLoader
    info: DatasetInfo


def _epoch_seed(seed: int, epoch: int, stream: int = 0x10AD) -> int:
    """A 32-bit seed derived from (seed, epoch, stream); distinct streams never collide."""
    return int(np.random.SeedSequence([int(seed), int(epoch), stream]).generate_state(1)[0])


def get_loaders(
    name: str = "digits",
    data_dir: str | os.PathLike | None = None,
    batch_size: int = 64,
    seed: int = 0,
    num_workers: int = 0,
    augment: bool | None = None,
    eval_batch_size: int | None = None,
    rank: int = 0,
    world_size: int = 1,
    pin_memory: bool = False,
    time_steps: int | None = None,
    dataset_kwargs: dict | None = None,
) -> Loaders:
    """Training and test loaders for one process of a run.

    Parameters
    ----------
    name, data_dir, augment, seed
        As in :func:`load_dataset` (``augment`` concerns the training split only).
    batch_size : int
        Training batch size **per process** (>= 1).
    num_workers : int
        Loader worker processes (0: load in the main process).
    eval_batch_size : int or None
        Test batch size per process (None: ``batch_size``).
    rank, world_size : int
        This process's rank and the number of processes (1 when not distributed). The training
        set is shuffled by a ``DistributedSampler(seed=seed)``: call :func:`set_epoch` before
        each epoch. The test set is split by :class:`ShardSampler`, without padding.
    pin_memory : bool
        Pin host memory (useful with CUDA).
    time_steps, dataset_kwargs
        As in :func:`load_dataset`; ``info`` describes the data set with these options.

    Returns
    -------
    Loaders
        ``(train, test, info)``.

    Raises
    ------
    ValueError
        Invalid sizes, ranks or names.
    DatasetNotFoundError
        Missing data files.
    """
    for field, value, low in (
        ("batch_size", batch_size, 1),
        ("num_workers", num_workers, 0),
        ("world_size", world_size, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{field} must be an integer >= {low}, got {value!r}")
    if eval_batch_size is None:
        eval_batch_size = batch_size
    if isinstance(eval_batch_size, bool) or not isinstance(eval_batch_size, int) or eval_batch_size < 1:
        raise ValueError(f"eval_batch_size must be an integer >= 1 or None, got {eval_batch_size!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    if not (isinstance(rank, int) and 0 <= rank < world_size):
        raise ValueError(f"rank must be an integer in 0..{world_size - 1}, got {rank!r}")
    info = dataset_info(name, dataset_kwargs)
    common_data = dict(seed=seed, time_steps=time_steps, dataset_kwargs=dataset_kwargs)
    train_set = load_dataset(name, data_dir, "train", augment=augment, **common_data)
    test_set = load_dataset(name, data_dir, "test", augment=False, **common_data)
    sampler = DistributedSampler(
        train_set, num_replicas=world_size, rank=rank, shuffle=True, seed=seed, drop_last=False
    )
    generator = torch.Generator()
    generator.manual_seed(_epoch_seed(seed, 0))
    common = dict(num_workers=num_workers, worker_init_fn=seed_worker, pin_memory=pin_memory)
    train = DataLoader(
        train_set, batch_size=batch_size, sampler=sampler, generator=generator, **common
    )
    test = DataLoader(
        test_set,
        batch_size=eval_batch_size,
        sampler=ShardSampler(len(test_set), rank, world_size),
        generator=torch.Generator().manual_seed(_epoch_seed(seed, 0, 0x7E57)),
        **common,
    )
    return Loaders(train, test, info)


def set_epoch(loader: DataLoader, epoch: int) -> None:
    """Make ``loader``'s next pass a function of ``(seed, epoch)`` only.

    Sets the sampler's epoch (shuffle order), the data set's epoch (augmentation choices) and
    reseeds the loader's generator (worker seeds). Call before iterating, every epoch.
    """
    seed = getattr(loader.sampler, "seed", 0)
    if hasattr(loader.sampler, "set_epoch"):
        loader.sampler.set_epoch(epoch)
    if hasattr(loader.dataset, "set_epoch"):
        loader.dataset.set_epoch(epoch)
    if loader.generator is not None:
        loader.generator.manual_seed(_epoch_seed(seed, epoch))
