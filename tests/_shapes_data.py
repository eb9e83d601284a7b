"""A small data set made here, for the tests of training on a reader's own data: 8x8 images of three
shapes (a horizontal bar, a vertical bar, a diagonal) in noise, and the same as event frames [T, C, H, W].

Imported as a module it registers both (``shapes`` and ``shapes_events``), as a reader's own module would
for ``--import``.
"""

import numpy as np
import torch
from torch.utils.data import Dataset

from qsnn.data import register_dataset

CLASSES = ("horizontal", "vertical", "diagonal")


def shapes(n_per_class: int, seed: int, frames: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Images [N, 1, 8, 8] (or frames [N, T, 1, 8, 8]) in [0, 1] and labels [N], from ``seed``."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for label in range(3):
        for _ in range(n_per_class):
            img = rng.uniform(0.0, 0.3, size=(8, 8))
            k = rng.integers(1, 7)
            if label == 0:
                img[k, 1:7] = 1.0
            elif label == 1:
                img[1:7, k] = 1.0
            else:
                np.fill_diagonal(img, 1.0)
            xs.append(img[None])
            ys.append(label)
    x = torch.tensor(np.stack(xs), dtype=torch.float32)
    if frames is not None:  # events: the shape's pixels fire at random steps
        x = (torch.rand((x.shape[0], frames, *x.shape[1:]), generator=torch.Generator().manual_seed(seed)) < x[:, None]).float()
    return x, torch.tensor(ys)


class Pairs(Dataset):
    """A map-style data set over tensors: ``[i] -> (x[i], int(y[i]))``."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int):
        return self.x[i], int(self.y[i])


register_dataset("shapes", Pairs(*shapes(40, seed=1)), Pairs(*shapes(20, seed=2)), num_classes=3, class_names=CLASSES)
register_dataset("shapes_events", Pairs(*shapes(40, seed=1, frames=4)), Pairs(*shapes(20, seed=2, frames=4)),
                 num_classes=3)
