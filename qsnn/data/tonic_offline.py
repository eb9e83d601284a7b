"""N-MNIST, DVS Gesture, CIFAR10-DVS and SHD through tonic's own classes, read from archives or
extracted files the user has placed on disk; no download is ever attempted.

tonic downloads whenever its presence check fails, and its checks accept a folder as soon as a
minimum number of files is there. Here a data set is accepted only when it is complete: the
number of samples of each split (and, where known, of each class) is checked against the
published size, so an interrupted extraction is refused with a message naming what is missing
(``allow_incomplete=True`` accepts a part on purpose).
"""

from __future__ import annotations

import importlib.util
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .._core.validation import check_bool
from .emulated_digits import EmulatedDigits
from .event_format import import_tonic
from .info import DatasetIncompleteError, DatasetNotFoundError

__all__ = ["CIFAR10DVS_TRAIN_FRACTION", "DATASET_NAMES", "RECORDED_SIZES", "load_event_dataset"]

# MNIST's per-digit counts: N-MNIST is every MNIST image recorded once (Orchard et al. 2015).
_MNIST_PER_CLASS = {
    True: (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
    False: (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009),
}
RECORDED_SIZES = {
    "nmnist": {"train": 60_000, "test": 10_000},
    # tonic's preprocessed DVS Gesture: 1,077 / 264 recordings (1,341 of the paper's 1,342;
    # neuromorphs/tonic issue 270).
    "dvsgesture": {"train": 1_077, "test": 264},
    # 1,000 recordings per class, split 90/10 per class (CIFAR10DVS_TRAIN_FRACTION).
    "cifar10dvs": {"train": 9_000, "test": 1_000},
    "shd": {"train": 8_156, "test": 2_264},
}
"""The number of samples of each split of the complete recorded data sets."""
_CIFAR10DVS_PER_CLASS = 1_000


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
    import_tonic()
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


def _class_counts(ds) -> Counter:
    return Counter(int(t) for t in ds.targets)


def _shortfall(name: str, ds, train: bool) -> tuple[int, int, list[str]]:
    """(found, expected, what is missing) of a complete split of recorded set ``name``."""
    split = "train" if train else "test"
    if name == "nmnist":
        counts, per_class = _class_counts(ds), _MNIST_PER_CLASS[train]
        missing = [f"digit {d}: {counts.get(d, 0)} of {n}" for d, n in enumerate(per_class)
                   if counts.get(d, 0) < n]
        return len(ds), RECORDED_SIZES[name][split], missing
    if name == "cifar10dvs":  # checked on the whole set, before the 90/10 split
        counts = _class_counts(ds)
        missing = [f"{c}: {counts.get(k, 0)} of {_CIFAR10DVS_PER_CLASS}"
                   for k, c in enumerate(ds.classes) if counts.get(k, 0) < _CIFAR10DVS_PER_CLASS]
        return len(ds), _CIFAR10DVS_PER_CLASS * len(ds.classes), missing
    return len(ds), RECORDED_SIZES[name][split], []


def _check_complete(name: str, ds, train: bool, location: str, spec: dict) -> None:
    found, expected, missing = _shortfall(name, ds, train)
    if found >= expected and not missing:
        return
    what = "recordings" if name == "cifar10dvs" else f"{'training' if train else 'test'} samples"
    detail = f" (short: {'; '.join(missing)})" if missing else ""
    raise DatasetIncompleteError(
        f"{type(ds).__name__} in {location} is incomplete: {found} of {expected} {what}{detail}. "
        f"An extraction was probably interrupted: delete the extracted files ({spec['extracted']}) "
        f"and keep {' and '.join(spec['archives'])} there, so that it is extracted again on the "
        f"next load; or pass allow_incomplete=True to use this part on purpose."
    )


def load_event_dataset(name: str, data_dir=None, train: bool = True,
                       transform: Callable | None = None, *, verify_md5: bool = True,
                       allow_incomplete: bool = False, **kwargs):
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
    - ``emulated_digits``: :class:`~qsnn.data.emulated_digits.EmulatedDigits` (no files; ``data_dir`` is ignored).

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
    allow_incomplete : bool
        Accept fewer samples than the complete split (:data:`RECORDED_SIZES`, per class where
        known); False (default): refuse them with :class:`~qsnn.data.DatasetIncompleteError`.
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
        (a ``FileNotFoundError``) When neither the archive nor its extracted files are in
        ``<data_dir>/<ClassName>/``; the message names the files and the folder.
    DatasetIncompleteError
        (a ``DatasetNotFoundError``) When the files hold fewer samples than the complete split;
        the message names the counts (per class where known).
    ImportError
        For CIFAR10-DVS without the ``aedat`` package.
    """
    if not isinstance(name, str) or name.lower() not in DATASET_NAMES:
        raise ValueError(f"name must be one of {', '.join(DATASET_NAMES)}; got {name!r}")
    name = name.lower()
    check_bool("train", train)
    if name == "emulated_digits":
        return EmulatedDigits(train=train, transform=transform, **kwargs)
    if data_dir is None:
        raise ValueError(f"data_dir is required for {name!r}: the folder holding its archive")
    tonic = import_tonic()

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
        ds = cls(os.fspath(data_dir), transform=transform, **kwargs)
    else:
        ds = cls(os.fspath(data_dir), train=train, transform=transform, **kwargs)
    if not check_bool("allow_incomplete", allow_incomplete):
        _check_complete(name, ds, train, location, spec)
    return _cifar10dvs_split(ds, train) if name == "cifar10dvs" else ds
