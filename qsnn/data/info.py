"""What a data set is: its description (:class:`DatasetInfo`) and the error for missing files."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DatasetFileError", "DatasetIncompleteError", "DatasetInfo", "DatasetNotFoundError"]


class DatasetNotFoundError(FileNotFoundError):
    """A data set's files are missing or incomplete; the message says which files go where."""


@dataclass(frozen=True)
class DatasetInfo:
    """What a model builder and the training loop need to know about a data set.

    Attributes
    ----------
    name : str
        Registry name (one of :data:`qsnn.data.DATASETS`).
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
    class_names : tuple of str
        The name of each class, in label order (empty where the data set names none).
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
    class_names: tuple[str, ...] = ()

    @property
    def has_augmentation(self) -> bool:
        """True when a standard training augmentation is defined for this data set."""
        return self.crop_padding is not None or self.hflip


class DatasetFileError(ValueError):
    """A data set's file is there but unreadable or inconsistent; the message names the file."""


class DatasetIncompleteError(DatasetNotFoundError):
    """A data set's files are there but fewer samples than the complete set (e.g. an interrupted
    extraction); the message names the folder, the counts and what is missing."""
