"""Readers for MNIST (IDX files) and CIFAR-10/100 (the "python version" pickled batches).

Nothing is downloaded: the files are read from a folder the user provides. A missing or
incomplete folder raises :class:`~qsnn.data.DatasetNotFoundError` (a ``FileNotFoundError``)
whose message names every expected file, the folder searched and where to get the archive.

The CIFAR batches are pickles. They are read with a restricted unpickler that resolves only the
few NumPy functions needed to rebuild arrays (and ``_codecs.encode``, which Python-3 pickles of
bytes use); any other global in the file makes loading fail before anything is executed.
"""

from __future__ import annotations

import codecs
import gzip
import io
import os
import pickle
from pathlib import Path

import numpy as np
import numpy._core.multiarray as _np_multiarray
import numpy._core.numeric as _np_numeric

from ._common import DatasetInfo, DatasetNotFoundError

__all__ = [
    "MNIST_INFO",
    "CIFAR10_INFO",
    "CIFAR100_INFO",
    "read_idx",
    "load_mnist_arrays",
    "load_cifar_arrays",
    "safe_unpickle",
]

MNIST_INFO = DatasetInfo(
    name="mnist", num_classes=10, in_channels=1, input_size=(28, 28), mean=(0.1307,), std=(0.3081,)
)
# Per-channel statistics of the training images (pixel values in [0, 1]).
CIFAR10_INFO = DatasetInfo(
    name="cifar10",
    num_classes=10,
    in_channels=3,
    input_size=(32, 32),
    mean=(0.4914, 0.4822, 0.4465),
    std=(0.2470, 0.2435, 0.2616),
    crop_padding=4,
    hflip=True,
)
CIFAR100_INFO = DatasetInfo(
    name="cifar100",
    num_classes=100,
    in_channels=3,
    input_size=(32, 32),
    mean=(0.5071, 0.4865, 0.4409),
    std=(0.2673, 0.2564, 0.2762),
    crop_padding=4,
    hflip=True,
)

CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar.html"
MNIST_URL = "https://yann.lecun.com/exdb/mnist/ (or any mirror of the four IDX files)"

# ---------------------------------------------------------------------------------------------
# MNIST
# ---------------------------------------------------------------------------------------------

_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (raw, or gzip-compressed when the name ends in ``.gz``).

    Parameters
    ----------
    path : str or os.PathLike
        An IDX file: two zero bytes, a type code, the number of dimensions, the big-endian
        32-bit sizes, then the data in C order.

    Returns
    -------
    numpy.ndarray
        The array in native byte order.

    Raises
    ------
    ValueError
        If the header is invalid or the data size does not match it.
    """
    path = Path(path)
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number {raw[:4]!r})")
    dtype, ndim = _IDX_DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header")
    shape = tuple(int(v) for v in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    count = int(np.prod(shape, dtype=np.int64))
    if len(raw) - header != count * dtype.itemsize:
        raise ValueError(
            f"{path}: IDX header announces shape {shape} ({count * dtype.itemsize} bytes of "
            f"data), the file holds {len(raw) - header}"
        )
    data = np.frombuffer(raw, dtype=dtype, count=count, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def _find_mnist_file(folders: list[Path], stem: str) -> Path | None:
    for folder in folders:
        for name in (stem, stem + ".gz"):
            if (folder / name).is_file():
                return folder / name
    return None


def load_mnist_arrays(data_dir: str | os.PathLike, split: str = "train"):
    """Images and labels of one MNIST split.

    Parameters
    ----------
    data_dir : str or os.PathLike
        Folder holding the IDX files, either in ``<data_dir>/MNIST/raw`` (torchvision's layout)
        or directly in ``<data_dir>``; each file raw or ``.gz``.
    split : {"train", "test"}
        60,000 training or 10,000 test images (the ``t10k`` files).

    Returns
    -------
    images : numpy.ndarray
        uint8 [N, 1, 28, 28].
    labels : numpy.ndarray
        int64 [N].

    Raises
    ------
    DatasetNotFoundError
        If a file is missing (the message lists the four expected files and both folders).
    ValueError
        If ``split`` is invalid or the files are inconsistent.
    """
    if split not in _MNIST_FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    root = Path(data_dir)
    folders = [root / "MNIST" / "raw", root]
    stems = _MNIST_FILES[split]
    found = [_find_mnist_file(folders, s) for s in stems]
    if any(p is None for p in found):
        every = [s for pair in _MNIST_FILES.values() for s in pair]
        missing = [s for s, p in zip(stems, found) if p is None]
        raise DatasetNotFoundError(
            f"MNIST not found: missing {', '.join(missing)}. Expected the IDX files "
            f"{{{', '.join(every)}}} (each raw or .gz) in {folders[0]} or in {folders[1]}; "
            f"download them from {MNIST_URL} and put them there."
        )
    images, labels = read_idx(found[0]), read_idx(found[1])
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"MNIST files disagree: images {images.shape} in {found[0]}, labels {labels.shape} "
            f"in {found[1]}"
        )
    return images[:, None, :, :].astype(np.uint8), labels.astype(np.int64)


# ---------------------------------------------------------------------------------------------
# CIFAR
# ---------------------------------------------------------------------------------------------

_SAFE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _np_multiarray._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _np_multiarray._reconstruct,
    ("numpy.core.multiarray", "scalar"): _np_multiarray.scalar,
    ("numpy._core.multiarray", "scalar"): _np_multiarray.scalar,
    ("numpy.core.numeric", "_frombuffer"): _np_numeric._frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _np_numeric._frombuffer,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): codecs.encode,
}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild NumPy arrays, containers and scalars, and nothing else."""

    def find_class(self, module: str, name: str):
        try:
            return _SAFE_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to unpickle {module}.{name}: only NumPy arrays, lists, dicts, "
                f"numbers and strings are allowed in a data-set file"
            ) from None


def safe_unpickle(path: str | os.PathLike):
    """Unpickle a data file that may only contain NumPy arrays and plain containers.

    Parameters
    ----------
    path : str or os.PathLike
        A pickle (Python 2 pickles, as distributed for CIFAR, are read with
        ``encoding="bytes"``: their keys come back as ``bytes``).

    Returns
    -------
    object
        The unpickled object.

    Raises
    ------
    pickle.UnpicklingError
        If the file references any other global (nothing from it is executed).
    """
    with open(path, "rb") as fh:
        return _NumpyOnlyUnpickler(io.BufferedReader(fh), encoding="bytes").load()


_CIFAR_LAYOUT = {
    10: {
        "folder": "cifar-10-batches-py",
        "archive": "cifar-10-python.tar.gz",
        "title": "CIFAR-10",
        "train": [f"data_batch_{i}" for i in range(1, 6)],
        "test": ["test_batch"],
        "meta": "batches.meta",
        "label_key": b"labels",
        "names_key": b"label_names",
        "brace": "data_batch_1..5, test_batch, batches.meta",
    },
    100: {
        "folder": "cifar-100-python",
        "archive": "cifar-100-python.tar.gz",
        "title": "CIFAR-100",
        "train": ["train"],
        "test": ["test"],
        "meta": "meta",
        "label_key": b"fine_labels",
        "names_key": b"fine_label_names",
        "brace": "train, test, meta",
    },
}


def _cifar_folder(data_dir: str | os.PathLike, layout: dict) -> Path:
    """The batches folder: ``<data_dir>/<folder>``, or ``data_dir`` itself if it is that folder."""
    root = Path(data_dir)
    if root.name == layout["folder"] and not (root / layout["folder"]).is_dir():
        return root
    return root / layout["folder"]


def load_cifar_arrays(data_dir: str | os.PathLike, split: str = "train", num_classes: int = 10):
    """Images, labels and class names of one CIFAR split.

    Parameters
    ----------
    data_dir : str or os.PathLike
        Folder into which the official archive was extracted: it contains
        ``cifar-10-batches-py/`` (CIFAR-10) or ``cifar-100-python/`` (CIFAR-100). The batches
        folder itself is accepted too.
    split : {"train", "test"}
        50,000 training or 10,000 test images.
    num_classes : {10, 100}
        CIFAR-10 or CIFAR-100 (fine labels).

    Returns
    -------
    images : numpy.ndarray
        uint8 [N, 3, 32, 32].
    labels : numpy.ndarray
        int64 [N].
    class_names : list of str

    Raises
    ------
    DatasetNotFoundError
        If any file of the folder is missing (the message lists them all and the download page).
    ValueError
        If ``split`` or ``num_classes`` is invalid, or a batch is malformed.
    pickle.UnpicklingError
        If a batch file contains anything but arrays and plain containers.
    """
    if num_classes not in _CIFAR_LAYOUT:
        raise ValueError(f"num_classes must be 10 or 100, got {num_classes!r}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    layout = _CIFAR_LAYOUT[num_classes]
    folder = _cifar_folder(data_dir, layout)
    every = layout["train"] + layout["test"] + [layout["meta"]]
    missing = [n for n in every if not (folder / n).is_file()]
    if missing:
        raise DatasetNotFoundError(
            f"{layout['title']} not found: expected {folder}/{{{layout['brace']}}}, missing "
            f"{', '.join(missing)}; download {layout['archive']} from {CIFAR_URL} and extract "
            f"it into {folder.parent}"
        )
    images, labels = [], []
    for name in layout[split]:
        batch = safe_unpickle(folder / name)
        if not isinstance(batch, dict) or b"data" not in batch or layout["label_key"] not in batch:
            raise ValueError(
                f"{folder / name} is not a {layout['title']} batch (expected keys b'data' and "
                f"{layout['label_key']!r})"
            )
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        lab = np.asarray(batch[layout["label_key"]], dtype=np.int64)
        if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or data.shape[0] != lab.shape[0]:
            raise ValueError(
                f"{folder / name}: data {data.shape} and labels {lab.shape} do not form "
                f"N x 3072 images with N labels"
            )
        images.append(data.reshape(-1, 3, 32, 32))
        labels.append(lab)
    meta = safe_unpickle(folder / layout["meta"])
    if not isinstance(meta, dict) or layout["names_key"] not in meta:
        raise ValueError(f"{folder / layout['meta']} lacks the key {layout['names_key']!r}")
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in meta[layout["names_key"]]]
    labels_all = np.concatenate(labels)
    if labels_all.size and (labels_all.min() < 0 or labels_all.max() >= num_classes):
        raise ValueError(f"{layout['title']} labels outside 0..{num_classes - 1} in {folder}")
    return np.concatenate(images), labels_all, names
