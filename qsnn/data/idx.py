"""The IDX format of MNIST and Fashion-MNIST: reading one file, and one split from an image and a
label file, with every defect reported against the file that has it.

An IDX file holds two zero bytes, a type code, the number of dimensions, the big-endian 32-bit
sizes, then the data in C order (LeCun, Cortes & Burges, "The MNIST database", file-format
section). Files may be gzip-compressed (names ending in ``.gz``), as both data sets are
distributed.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from .info import DatasetFileError

__all__ = ["read_idx", "read_idx_split"]

_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_bytes(path: Path) -> bytes:
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as fh:
                return fh.read()
        return path.read_bytes()
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DatasetFileError(
            f"{path} is not a complete gzip file ({exc}); it is corrupt or was cut short: delete "
            f"it and fetch it again"
        ) from None


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (raw, or gzip-compressed when the name ends in ``.gz``).

    Parameters
    ----------
    path : str or os.PathLike
        An IDX file.

    Returns
    -------
    numpy.ndarray
        The array in native byte order.

    Raises
    ------
    DatasetFileError
        (a ``ValueError``) If the gzip stream is corrupt or truncated, the header is invalid, or
        the data size does not match it; the message names the file.
    """
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DatasetFileError(f"{path} is not an IDX file (bad magic number {raw[:4]!r})")
    dtype, ndim = _IDX_DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetFileError(f"{path}: truncated IDX header")
    shape = tuple(int(v) for v in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    count = int(np.prod(shape, dtype=np.int64))
    if len(raw) - header != count * dtype.itemsize:
        raise DatasetFileError(
            f"{path}: IDX header announces shape {shape} ({count * dtype.itemsize} bytes of "
            f"data), the file holds {len(raw) - header}; the file is truncated or not the one "
            f"expected: fetch it again"
        )
    data = np.frombuffer(raw, dtype=dtype, count=count, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def read_idx_split(images_path: Path, labels_path: Path, *, image_size: tuple[int, int],
                   num_classes: int, title: str) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels of one split from its two IDX files, checked against the data set.

    Parameters
    ----------
    images_path, labels_path : pathlib.Path
        The ``*-images-idx3-ubyte[.gz]`` and ``*-labels-idx1-ubyte[.gz]`` files.
    image_size : (int, int)
        The data set's image height and width (28x28 for MNIST and Fashion-MNIST).
    num_classes : int
        Labels must lie in ``0 .. num_classes - 1``.
    title : str
        The data set's name in messages.

    Returns
    -------
    images : numpy.ndarray
        uint8 [N, 1, H, W].
    labels : numpy.ndarray
        int64 [N].

    Raises
    ------
    DatasetFileError
        A file that :func:`read_idx` refuses, images that are not uint8 [N, H, W] of the data
        set's size, labels that are not uint8 [N] in range, or counts that disagree.
    """
    images, labels = read_idx(images_path), read_idx(labels_path)
    h, w = image_size
    if images.ndim != 3 or images.dtype != np.uint8 or images.shape[1:] != (h, w):
        raise DatasetFileError(
            f"{images_path} holds {images.dtype} images of shape {images.shape}, but {title} "
            f"images are uint8 [N, {h}, {w}]: this is not a {title} image file"
        )
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise DatasetFileError(
            f"{labels_path} holds {labels.dtype} values of shape {labels.shape}, but {title} "
            f"labels are uint8 [N]: this is not a {title} label file"
        )
    if images.shape[0] != labels.shape[0]:
        raise DatasetFileError(
            f"{title} files disagree: {images.shape[0]} images in {images_path}, "
            f"{labels.shape[0]} labels in {labels_path}"
        )
    if labels.size and int(labels.max()) >= num_classes:
        bad = np.flatnonzero(labels >= num_classes)
        raise DatasetFileError(
            f"{labels_path}: {bad.size} labels outside 0..{num_classes - 1} (first at index "
            f"{int(bad[0])}: {int(labels[bad[0]])}); this is not a {title} label file"
        )
    return images[:, None, :, :], labels.astype(np.int64)
