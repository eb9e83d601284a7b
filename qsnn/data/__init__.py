"""Data sets and loaders for Part II (Q-SNNs): the built-in sets, a reader's own, and their loaders.

The names, the options of each and the protocol a data set follows are in :mod:`qsnn.data.registry`.
:func:`dataset_info` describes a data set; :func:`load_dataset` returns one split as a
:class:`torch.utils.data.Dataset`; :func:`get_loaders` returns the training and test loaders for one
process of a (possibly distributed) run (call :func:`set_epoch` before each epoch);
:func:`register_dataset` makes a reader's own data set a name like the built-in ones. Missing files
raise :class:`DatasetNotFoundError` naming the files, the folder searched and where to get them;
nothing is downloaded.
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
