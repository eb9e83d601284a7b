"""Static images held in memory: normalised once, augmented with seeded per-epoch choices."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from .info import DatasetInfo

__all__ = ["ImageDataset", "crop_flip"]


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
        self.images = torch.from_numpy(np.array(images, copy=True, order="C"))
        self.labels = torch.from_numpy(np.array(labels, dtype=np.int64, copy=True))
        self._scale = 255.0 if images.dtype == np.uint8 else 1.0
        self._mean = torch.tensor(info.mean, dtype=torch.float32).view(-1, 1, 1)
        self._std = torch.tensor(info.std, dtype=torch.float32).view(-1, 1, 1)
        self.augment = bool(augment)
        self.seed = int(seed)
        # Without augmentation every sample is fixed: normalise the whole split once, so that a
        # batch is one indexing operation (see :meth:`tensors`). The arithmetic is the one of
        # ``__getitem__`` applied elementwise, so both give identical values.
        self._normalised = None if self.augment else self._normalise(self.images)
        self.set_epoch(0)

    def _normalise(self, images: torch.Tensor) -> torch.Tensor:
        return (images.to(torch.float32) / self._scale - self._mean) / self._std

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The whole split as (inputs [N, C, H, W] float32, labels [N] int64), or None if augmented.

        The tensors belong to this data set: a loader indexes them (which copies) and never
        hands them out.
        """
        if self._normalised is None:
            return None
        return self._normalised, self.labels

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
        if self._normalised is not None:
            return self._normalised[index].clone(), int(self.labels[index])
        x = self.images[index].to(torch.float32) / self._scale
        if self.augment:
            dy, dx = self._offsets[index]
            x = crop_flip(x, int(dy), int(dx), bool(self._flips[index]), self.info.crop_padding or 0)
        return (x - self._mean) / self._std, int(self.labels[index])
