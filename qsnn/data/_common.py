"""Pieces shared by the data sets: the error type, the data-set description, the in-memory image
data set with seeded augmentation, and the time-axis functions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

__all__ = [
    "DatasetNotFoundError",
    "DatasetInfo",
    "ImageDataset",
    "crop_flip",
    "repeat_time",
    "to_time_first",
]


class DatasetNotFoundError(FileNotFoundError):
    """A data set's files are missing or incomplete; the message says which files go where."""


@dataclass(frozen=True)
class DatasetInfo:
    """What a model builder and the training loop need to know about a data set.

    Attributes
    ----------
    name : str
        Registry name (``"digits"``, ``"mnist"``, ``"cifar10"``, ``"cifar100"``, and the event
        sets ``"emulated_digits"``, ``"nmnist"``, ``"dvsgesture"``, ``"cifar10dvs"``).
    num_classes : int
        Number of classes K.
    in_channels : int
        Channels C of one frame.
    input_size : tuple of int
        Frame height and width (H, W) in pixels.
    temporal : bool
        False: a sample is one static frame [C, H, W], repeated T times by the training loop.
        True: a sample is already a sequence [T, C, H, W] (event frames).
    mean, std : tuple of float
        Per-channel normalisation applied to pixel values in [0, 1].
    crop_padding : int or None
        Zero padding (pixels) of the standard random-crop augmentation; None: the data set has no
        standard augmentation.
    hflip : bool
        Whether the standard augmentation includes a random horizontal flip.
    """

    name: str
    num_classes: int
    in_channels: int
    input_size: tuple[int, int]
    temporal: bool = False
    mean: tuple[float, ...] = (0.0,)
    std: tuple[float, ...] = (1.0,)
    crop_padding: int | None = None
    hflip: bool = False

    @property
    def has_augmentation(self) -> bool:
        """True when a standard training augmentation is defined for this data set."""
        return self.crop_padding is not None or self.hflip


def crop_flip(x: torch.Tensor, dy: int, dx: int, flip: bool, padding: int) -> torch.Tensor:
    """Random-crop-with-padding and horizontal flip with the random choices given explicitly.

    Parameters
    ----------
    x : torch.Tensor
        One image [C, H, W] (values in [0, 1], before normalisation, so the padding is black as
        in the usual ``RandomCrop(padding=p)`` on pixel data).
    dy, dx : int
        Top-left corner of the crop in the zero-padded image, each in ``0 .. 2 * padding``.
    flip : bool
        Mirror the crop left-right.
    padding : int
        Zero padding on every side, pixels (>= 0).

    Returns
    -------
    torch.Tensor
        [C, H, W]; ``dy == dx == padding`` and ``flip=False`` return ``x`` unchanged.
    """
    h, w = x.shape[-2:]
    if padding > 0:
        x = F.pad(x, (padding, padding, padding, padding))
        x = x[..., dy : dy + h, dx : dx + w]
    if flip:
        x = x.flip(-1)
    return x


class ImageDataset(Dataset):
    """Static images held in memory, normalised per channel, optionally augmented.

    The augmentation's random choices are drawn once per epoch for all samples from
    ``(seed, epoch)`` (see :meth:`set_epoch`), so they do not depend on the number of loader
    workers, on the batch order or on where a run was resumed.

    Parameters
    ----------
    images : numpy.ndarray
        [N, C, H, W], ``uint8`` (0..255) or floating point in [0, 1].
    labels : numpy.ndarray
        [N] integer class labels.
    info : DatasetInfo
        Normalisation and augmentation settings.
    augment : bool
        Apply the standard augmentation of ``info`` (training split only, by convention).
    seed : int
        Seed of the augmentation.

    Notes
    -----
    ``__getitem__`` returns ``(x, y)`` with x a float32 tensor [C, H, W] and y an int. This is the
    protocol every static data set follows; temporal data sets return x as [T, C, H, W].
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        info: DatasetInfo,
        augment: bool = False,
        seed: int = 0,
    ) -> None:
        if images.ndim != 4 or images.shape[0] != labels.shape[0]:
            raise ValueError(
                f"images must be [N, C, H, W] with N == len(labels), got {images.shape} and "
                f"{labels.shape}"
            )
        if augment and not info.has_augmentation:
            raise ValueError(f"augment=True, but {info.name} has no standard augmentation")
        self.info = info
        self.images = torch.from_numpy(np.ascontiguousarray(images))
        self.labels = torch.from_numpy(np.asarray(labels, dtype=np.int64))
        self._scale = 255.0 if images.dtype == np.uint8 else 1.0
        self._mean = torch.tensor(info.mean, dtype=torch.float32).view(-1, 1, 1)
        self._std = torch.tensor(info.std, dtype=torch.float32).view(-1, 1, 1)
        self.augment = bool(augment)
        self.seed = int(seed)
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        """Draw this epoch's crop offsets and flips for every sample from ``(seed, epoch)``."""
        self.epoch = int(epoch)
        if not self.augment:
            return
        n = len(self)
        rng = np.random.default_rng([self.seed, self.epoch, 0x51A7])
        p = self.info.crop_padding or 0
        self._offsets = rng.integers(0, 2 * p + 1, size=(n, 2))
        self._flips = rng.random(n) < 0.5 if self.info.hflip else np.zeros(n, dtype=bool)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        x = self.images[index].to(torch.float32) / self._scale
        if self.augment:
            dy, dx = self._offsets[index]
            x = crop_flip(x, int(dy), int(dx), bool(self._flips[index]), self.info.crop_padding or 0)
        return (x - self._mean) / self._std, int(self.labels[index])


def repeat_time(x: torch.Tensor, time_steps: int) -> torch.Tensor:
    """Repeat a static batch along a new leading time axis (direct encoding).

    Parameters
    ----------
    x : torch.Tensor
        [B, ...] static input.
    time_steps : int
        T >= 1.

    Returns
    -------
    torch.Tensor
        [T, B, ...], contiguous (a copy, so models may ``view`` it freely): every step sees the
        same frame, and the first conv + BN + LIF layer turns it into spikes (spec section 1).

    Raises
    ------
    ValueError
        If ``time_steps`` is not an integer >= 1.
    """
    if isinstance(time_steps, bool) or not isinstance(time_steps, int) or time_steps < 1:
        raise ValueError(f"time_steps must be an integer >= 1, got {time_steps!r}")
    return x.unsqueeze(0).repeat(time_steps, *([1] * x.ndim))


def to_time_first(x: torch.Tensor, time_steps: int, static_ndim: int = 4) -> torch.Tensor:
    """Bring a loader batch into the time-first layout [T, B, ...] the models expect.

    Parameters
    ----------
    x : torch.Tensor
        A batch from a loader: [B, C, H, W] for static images (``x.ndim == static_ndim``), or
        [B, T, C, H, W] for temporal samples (``x.ndim == static_ndim + 1``).
    time_steps : int
        T. Static batches are repeated T times; temporal batches must already have T steps.
    static_ndim : int
        Number of dimensions of a static batch (4 for images).

    Returns
    -------
    torch.Tensor
        [T, B, C, H, W].

    Raises
    ------
    ValueError
        If ``x`` has another number of dimensions, or a temporal batch has a different T.
    """
    if x.ndim == static_ndim:
        return repeat_time(x, time_steps)
    if x.ndim == static_ndim + 1:
        if x.shape[1] != time_steps:
            raise ValueError(
                f"temporal batch has {x.shape[1]} time steps, but time_steps={time_steps}"
            )
        return x.transpose(0, 1).contiguous()
    raise ValueError(
        f"batch must be [B, C, H, W] (static) or [B, T, C, H, W] (temporal), got shape "
        f"{tuple(x.shape)}"
    )


def _check_files(root, names: Sequence[str]) -> list[str]:
    """Names from ``names`` missing in folder ``root``."""
    return [n for n in names if not (root / n).is_file()]
