"""Data sets and loaders for Part II (Q-SNNs).

Names (one record each in :data:`qsnn.data.registry.REGISTRY`)
-----------------------------------------------------------------
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

API
---
:func:`dataset_info` describes a data set (classes and their names, channels, size,
normalisation, temporal or not); :func:`dataset_record` gives its whole record (also the
samples per split and the source). :func:`load_dataset` returns one split as a
:class:`torch.utils.data.Dataset`. :func:`get_loaders` returns the training and test loaders for
one process of a (possibly distributed) run; call :func:`set_epoch` on the training loader
before each epoch. :func:`repeat_time` / :func:`to_time_first` give the batch the time-first
layout. :func:`clear_caches` frees what was read or emulated once.

Dataset protocol
----------------
A data set yields ``(x, y)`` with ``y`` an int class label and ``x`` a float32 tensor that is
either **static**, [C, H, W] (repeated T times by the training loop), or **temporal**,
[T, C, H, W] (event frames, already binned in time; the loader batch [B, T, C, H, W] is
transposed to [T, B, C, H, W]). :class:`DatasetInfo.temporal` says which. A data set may define
``set_epoch(epoch)`` to draw its per-epoch random augmentation from ``(seed, epoch)``; the
loaders call it. A data set held in memory defines ``tensors()`` and is batched without
per-sample work.

Missing files raise :class:`DatasetNotFoundError`, a ``FileNotFoundError`` whose message names
the expected files, the folder searched and where to get them; an incomplete set raises its
subclass :class:`DatasetIncompleteError`; a corrupt or foreign file raises
:class:`DatasetFileError` (a ``ValueError``) naming the file. Nothing is downloaded.
"""

from .._core.extras import require_extra

require_extra("torch", "qsnn.data", modules=("torch",))  # a message naming the extra, not a bare ModuleNotFoundError

from .cache import clear_caches
from .images import ImageDataset, crop_flip
from .info import DatasetFileError, DatasetIncompleteError, DatasetInfo, DatasetNotFoundError
from .loaders import Loaders, ShardSampler, TensorBatches, get_loaders, seed_worker, set_epoch
from .registry import (
    DATASETS,
    DEFAULT_DATA_DIR,
    REGISTRY,
    STATIC_OPTIONS,
    DatasetRecord,
    check_dataset_kwargs,
    dataset_info,
    dataset_names,
    dataset_record,
    load_dataset,
    register_dataset,
    unregister_dataset,
)
from .time_layout import repeat_time, to_time_first

__all__ = [
    "DATASETS",
    "DEFAULT_DATA_DIR",
    "REGISTRY",
    "STATIC_OPTIONS",
    "DatasetFileError",
    "DatasetIncompleteError",
    "DatasetInfo",
    "DatasetNotFoundError",
    "DatasetRecord",
    "ImageDataset",
    "Loaders",
    "ShardSampler",
    "TensorBatches",
    "check_dataset_kwargs",
    "clear_caches",
    "crop_flip",
    "dataset_info",
    "dataset_names",
    "dataset_record",
    "get_loaders",
    "load_dataset",
    "register_dataset",
    "repeat_time",
    "seed_worker",
    "set_epoch",
    "to_time_first",
    "unregister_dataset",
]
