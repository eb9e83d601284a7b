"""Readers for MNIST and Fashion-MNIST (IDX files) and CIFAR-10/100 (the "python version" pickled
batches).

Nothing is downloaded: the files are read from a folder the user provides. A missing or
incomplete folder raises :class:`~qsnn.data.DatasetNotFoundError` (a ``FileNotFoundError``)
whose message names every expected file, the folder searched and where to get the archive.

The CIFAR batches are pickles. They are read with a restricted unpickler that resolves only the
few NumPy functions needed to rebuild arrays (and ``_codecs.encode``, which Python-3 pickles of
bytes use); any other global in the file makes loading fail before anything is executed.
"""

from __future__ import annotations

import codecs
import io
import os
import pickle
from pathlib import Path

import numpy as np
import numpy._core.multiarray as _np_multiarray
import numpy._core.numeric as _np_numeric

from .cache import DataCache, file_key
from .idx import read_idx, read_idx_split
from .info import DatasetInfo, DatasetNotFoundError

__all__ = [
    "MNIST_INFO",
    "CIFAR10_CLASSES",
    "CIFAR100_CLASSES",
    "FASHION_MNIST_INFO",
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_DEBIAN_DIR",
    "CIFAR10_INFO",
    "CIFAR100_INFO",
    "read_idx",
    "load_mnist_arrays",
    "load_fashion_mnist_arrays",
    "fashion_mnist_folders",
    "load_cifar_arrays",
    "safe_unpickle",
]

MNIST_INFO = DatasetInfo(
    name="mnist", num_classes=10, in_channels=1, input_size=(28, 28), mean=(0.1307,), std=(0.3081,),
    class_names=tuple(str(d) for d in range(10)),
)
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                         "Sneaker", "Bag", "Ankle boot")
"""Label names of Fashion-MNIST in label order (Xiao, Rasul & Vollgraf 2017, Table 1)."""
# Mean and standard deviation of the 60,000 training images' pixels in [0, 1] (47,040,000 values),
# computed from the official files; tests recompute them where the files are present.
FASHION_MNIST_INFO = DatasetInfo(
    name="fashion_mnist", num_classes=10, in_channels=1, input_size=(28, 28),
    mean=(0.2860,), std=(0.3530,), class_names=FASHION_MNIST_CLASSES,
)
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                   "truck")
"""CIFAR-10's label names in label order (those of its ``batches.meta`` file)."""
CIFAR100_CLASSES = (
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
    "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
    "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup",
    "dinosaur", "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house",
    "kangaroo", "keyboard", "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man",
    "maple_tree", "motorcycle", "mountain", "mouse", "mushroom", "oak_tree", "orange", "orchid",
    "otter", "palm_tree", "pear", "pickup_truck", "pine_tree", "plain", "plate", "poppy",
    "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket", "rose", "sea", "seal",
    "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider", "squirrel", "streetcar",
    "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor",
    "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman",
    "worm",
)
"""CIFAR-100's fine label names in label order (those of its ``meta`` file)."""
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
    class_names=CIFAR10_CLASSES,
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
    class_names=CIFAR100_CLASSES,
)

CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar.html"
MNIST_URL = "https://yann.lecun.com/exdb/mnist/ (or any mirror of the four IDX files)"
FASHION_MNIST_URL = (
    "https://github.com/zalandoresearch/fashion-mnist (files served from "
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/), or `make data`, which takes "
    "them from the Debian package dataset-fashion-mnist"
)
FASHION_MNIST_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
"""Where the Debian package ``dataset-fashion-mnist`` installs the four IDX files."""

# ---------------------------------------------------------------------------------------------
# MNIST and Fashion-MNIST (the same four IDX files each)
# ---------------------------------------------------------------------------------------------
_IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_IDX_CACHE = DataCache("IDX splits", max_entries=4)


def _find_idx_file(folders: list[Path], stem: str) -> Path | None:
    for folder in folders:
        for name in (stem, stem + ".gz"):
            if (folder / name).is_file():
                return folder / name
    return None


def _load_idx_set(folders: list[Path], split: str, *, title: str, url: str) -> tuple:
    if split not in _IDX_FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    stems = _IDX_FILES[split]
    found = [_find_idx_file(folders, s) for s in stems]
    if any(p is None for p in found):
        every = [s for pair in _IDX_FILES.values() for s in pair]
        missing = [s for s, p in zip(stems, found) if p is None]
        raise DatasetNotFoundError(
            f"{title} not found: missing {', '.join(missing)}. Expected the IDX files "
            f"{{{', '.join(every)}}} (each raw or .gz) in one of {', '.join(map(str, folders))}; "
            f"get them from {url} and put them there."
        )
    images_path, labels_path = found
    return _IDX_CACHE.get(
        (title, file_key(images_path, labels_path)),
        lambda: read_idx_split(images_path, labels_path, image_size=(28, 28), num_classes=10,
                               title=title),
    )


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
        uint8 [N, 1, 28, 28], read-only (shared by every caller; copy to modify).
    labels : numpy.ndarray
        int64 [N], read-only.

    Raises
    ------
    DatasetNotFoundError
        If a file is missing (the message lists the four expected files and both folders).
    DatasetFileError
        (a ``ValueError``) A corrupt or truncated file, images that are not 28x28, labels
        outside 0..9, or files that disagree; the message names the file.
    ValueError
        If ``split`` is invalid.
    """
    root = Path(data_dir)
    return _load_idx_set([root / "MNIST" / "raw", root], split, title="MNIST", url=MNIST_URL)


def fashion_mnist_folders(data_dir: str | os.PathLike) -> list[Path]:
    """The folders searched for Fashion-MNIST's IDX files, in order.

    ``<data_dir>/FashionMNIST/raw`` (torchvision's layout), ``<data_dir>/fashion-mnist`` (where
    ``make data`` puts them), ``<data_dir>/usr/share/datasets/fashion-mnist`` (``dpkg -x`` of the
    Debian package into ``data_dir``), ``<data_dir>`` itself, and the Debian package's own folder
    :data:`FASHION_MNIST_DEBIAN_DIR` (``apt-get install dataset-fashion-mnist``).
    """
    root = Path(data_dir)
    return [root / "FashionMNIST" / "raw", root / "fashion-mnist",
            root / "usr" / "share" / "datasets" / "fashion-mnist", root, FASHION_MNIST_DEBIAN_DIR]


def load_fashion_mnist_arrays(data_dir: str | os.PathLike, split: str = "train"):
    """Images and labels of one Fashion-MNIST split (Xiao, Rasul & Vollgraf 2017, MIT licence).

    Zalando's article images in the format of MNIST: 60,000 training and 10,000 test grey images
    of 28x28 pixels, ten classes (:data:`FASHION_MNIST_CLASSES`), 6,000 / 1,000 per class.

    Parameters
    ----------
    data_dir : str or os.PathLike
        Where to look first; see :func:`fashion_mnist_folders` for every folder searched.
    split : {"train", "test"}

    Returns
    -------
    images : numpy.ndarray
        uint8 [N, 1, 28, 28], read-only.
    labels : numpy.ndarray
        int64 [N], read-only.

    Raises
    ------
    DatasetNotFoundError, DatasetFileError, ValueError
        As :func:`load_mnist_arrays`.
    """
    return _load_idx_set(fashion_mnist_folders(data_dir), split, title="Fashion-MNIST",
                         url=FASHION_MNIST_URL)


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
