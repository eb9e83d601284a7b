"""The embedded data set: UCI handwritten digits shipped inside scikit-learn (no download).

1,797 grey images of 8x8 pixels with values 0..16, ten classes. Pixels are scaled to [0, 1]
(value / 16). The split is fixed and stratified: 1,437 training and 360 test images, drawn with
``sklearn.model_selection.train_test_split(..., test_size=360, stratify=y,
random_state=split_seed)``; the default ``split_seed=0`` is the book's split, independent of the
training seed, so every run is evaluated on the same 360 images.
"""

from __future__ import annotations

import numpy as np

from .info import DatasetInfo

__all__ = ["DIGITS_INFO", "DIGITS_TEST_SIZE", "DIGITS_SPLIT_SEED", "load_digits_arrays"]

DIGITS_TEST_SIZE = 360
DIGITS_SPLIT_SEED = 0

DIGITS_INFO = DatasetInfo(
    name="digits", num_classes=10, in_channels=1, input_size=(8, 8), mean=(0.0,), std=(1.0,),
    class_names=tuple(str(d) for d in range(10)),
)


def load_digits_arrays(
    split: str = "train", split_seed: int = DIGITS_SPLIT_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels of one split of the digits.

    Parameters
    ----------
    split : {"train", "test"}
        1,437 training or 360 test images.
    split_seed : int
        ``random_state`` of the stratified split (default 0, the book's split).

    Returns
    -------
    images : numpy.ndarray
        float32 [N, 1, 8, 8], values in [0, 1].
    labels : numpy.ndarray
        int64 [N], 0..9.

    Raises
    ------
    ValueError
        If ``split`` is not "train" or "test".
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    images = (bunch.images / 16.0).astype(np.float32)[:, None, :, :]
    labels = bunch.target.astype(np.int64)
    index = np.arange(labels.shape[0])
    train_idx, test_idx = train_test_split(
        index, test_size=DIGITS_TEST_SIZE, stratify=labels, random_state=split_seed
    )
    idx = np.sort(train_idx if split == "train" else test_idx)
    return images[idx], labels[idx]
