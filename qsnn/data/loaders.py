"""Training and test loaders for one process of a (possibly distributed) run.

Shuffling uses a :class:`~torch.utils.data.DistributedSampler` (with one replica when not
distributed) whose order is a function of ``(seed, epoch)`` only, and augmentation choices are a
function of ``(seed, epoch, sample)`` only, so a run resumed at any epoch sees the same batches
as an uninterrupted one, whatever the number of workers.

A split held in memory without augmentation (the static image sets, the emulated digits) is
served by :class:`TensorBatches`: each batch is one indexing operation into the split's
pre-normalised tensor, in the sampler's order, with no per-sample Python work. Other splits go
through a :class:`~torch.utils.data.DataLoader`. Both give the same batches.
"""

from __future__ import annotations

import os
import random
from typing import Iterator, NamedTuple

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler

from .._core.validation import check_int
from .info import DatasetInfo
from .registry import dataset_info, load_dataset

__all__ = ["Loaders", "ShardSampler", "TensorBatches", "get_loaders", "seed_worker", "set_epoch"]


class ShardSampler(Sampler[int]):
    """Every ``world_size``-th index starting at ``rank``, in order, without padding.

    Used for evaluation: the shards of all ranks partition the data set exactly, so summed
    metrics count every test sample once.
    """

    def __init__(self, length: int, rank: int = 0, world_size: int = 1) -> None:
        self.length, self.rank, self.world_size = int(length), int(rank), int(world_size)

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.rank, self.length, self.world_size))

    def __len__(self) -> int:
        return len(range(self.rank, self.length, self.world_size))


class TensorBatches:
    """Batches ``(x[idx], y[idx])`` of a split held as two tensors, ``idx`` from ``sampler``.

    Behaves as the :class:`~torch.utils.data.DataLoader` it replaces where the training loop
    looks: iteration, ``len()``, ``dataset``, ``sampler``, ``batch_size``, ``generator``. The
    sampler's order is drawn once per pass (a seeded permutation); the rest is one gather per
    batch.

    Parameters
    ----------
    dataset : Dataset
        The split; ``dataset.tensors()`` gives (inputs [N, ...], labels [N]).
    batch_size : int
        Samples per batch; the last batch may be smaller.
    sampler : Sampler
        Order of the indices (a ``DistributedSampler`` or :class:`ShardSampler`).
    pin_memory : bool
        Pin each batch (for CUDA).
    generator : torch.Generator or None
        Kept for :func:`set_epoch`'s interface; the batches do not depend on it.
    """

    def __init__(self, dataset: Dataset, batch_size: int, sampler: Sampler, *,
                 pin_memory: bool = False, generator: torch.Generator | None = None) -> None:
        tensors = dataset.tensors()
        if tensors is None:
            raise ValueError(f"{type(dataset).__name__} is not held as tensors")
        self.dataset, self.batch_size, self.sampler = dataset, int(batch_size), sampler
        self.pin_memory, self.generator = bool(pin_memory), generator
        # NumPy views of the tensors: ``np.take`` copies the rows of a batch on one thread. A
        # torch gather of a batch is just large enough to be split across torch's threads, and
        # on a busy machine the thread hand-off costs far more than the copy.
        self._x, self._y = tensors[0].numpy(), tensors[1].numpy()

    def __len__(self) -> int:
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = np.fromiter(iter(self.sampler), dtype=np.int64)
        for start in range(0, order.size, self.batch_size):
            idx = order[start:start + self.batch_size]
            x = torch.from_numpy(np.take(self._x, idx, axis=0))
            y = torch.from_numpy(np.take(self._y, idx, axis=0))
            if self.pin_memory:
                x, y = x.pin_memory(), y.pin_memory()
            yield x, y


def seed_worker(worker_id: int) -> None:
    """``worker_init_fn``: seed NumPy and ``random`` in a loader worker from its torch seed."""
    s = torch.initial_seed() % 2**32
    np.random.seed(s)
    random.seed(s)


class Loaders(NamedTuple):
    """The training loader, the test loader and the data set's description."""

    train: DataLoader | TensorBatches
    test: DataLoader | TensorBatches
    info: DatasetInfo

    @property
    def sample_counts(self) -> dict[str, int]:
        """The number of samples of each split (whole splits, not this process's shard)."""
        return {"train": len(self.train.dataset), "test": len(self.test.dataset)}


def _epoch_seed(seed: int, epoch: int, stream: int = 0x10AD) -> int:
    """A 32-bit seed derived from (seed, epoch, stream); distinct streams never collide."""
    return int(np.random.SeedSequence([int(seed), int(epoch), stream]).generate_state(1)[0])


def _in_memory(dataset: Dataset) -> bool:
    tensors = getattr(dataset, "tensors", None)
    return callable(tensors) and tensors() is not None


def get_loaders(
    name: str = "digits",
    data_dir: str | os.PathLike | None = None,
    batch_size: int = 64,
    seed: int = 0,
    num_workers: int = 0,
    augment: bool | None = None,
    eval_batch_size: int | None = None,
    rank: int = 0,
    world_size: int = 1,
    pin_memory: bool = False,
    time_steps: int | None = None,
    dataset_kwargs: dict | None = None,
) -> Loaders:
    """Training and test loaders for one process of a run.

    Parameters
    ----------
    name, data_dir, augment, seed
        As in :func:`~qsnn.data.load_dataset` (``augment`` concerns the training split only).
    batch_size : int
        Training batch size **per process** (>= 1).
    num_workers : int
        Loader worker processes (0: load in the main process). Splits held in memory need none
        and ignore it.
    eval_batch_size : int or None
        Test batch size per process (None: ``batch_size``).
    rank, world_size : int
        This process's rank and the number of processes (1 when not distributed). The training
        set is shuffled by a ``DistributedSampler(seed=seed)``: call :func:`set_epoch` before
        each epoch. The test set is split by :class:`ShardSampler`, without padding.
    pin_memory : bool
        Pin host memory (useful with CUDA).
    time_steps, dataset_kwargs
        As in :func:`~qsnn.data.load_dataset`; ``info`` describes the data set with these options.

    Returns
    -------
    Loaders
        ``(train, test, info)``; ``sample_counts`` gives the size of each split.

    Raises
    ------
    ValueError
        Invalid sizes, ranks or names.
    DatasetNotFoundError
        Missing data files.
    """
    check_int("batch_size", batch_size, min=1)
    check_int("num_workers", num_workers, min=0)
    check_int("world_size", world_size, min=1)
    eval_batch_size = batch_size if eval_batch_size is None else eval_batch_size
    check_int("eval_batch_size", eval_batch_size, min=1)
    check_int("seed", seed, min=0)
    check_int("rank", rank, min=0, max=world_size - 1)
    info = dataset_info(name, dataset_kwargs)
    common_data = dict(seed=seed, time_steps=time_steps, dataset_kwargs=dataset_kwargs)
    train_set = load_dataset(name, data_dir, "train", augment=augment, **common_data)
    test_set = load_dataset(name, data_dir, "test", augment=False, **common_data)
    sampler = DistributedSampler(
        train_set, num_replicas=world_size, rank=rank, shuffle=True, seed=seed, drop_last=False
    )
    train_gen = torch.Generator().manual_seed(_epoch_seed(seed, 0))
    test_gen = torch.Generator().manual_seed(_epoch_seed(seed, 0, 0x7E57))
    test_sampler = ShardSampler(len(test_set), rank, world_size)
    common = dict(num_workers=num_workers, worker_init_fn=seed_worker, pin_memory=pin_memory)
    if _in_memory(train_set):
        train = TensorBatches(train_set, batch_size, sampler, pin_memory=pin_memory,
                              generator=train_gen)
    else:
        train = DataLoader(train_set, batch_size=batch_size, sampler=sampler,
                           generator=train_gen, **common)
    if _in_memory(test_set):
        test = TensorBatches(test_set, eval_batch_size, test_sampler, pin_memory=pin_memory,
                             generator=test_gen)
    else:
        test = DataLoader(test_set, batch_size=eval_batch_size, sampler=test_sampler,
                          generator=test_gen, **common)
    return Loaders(train, test, info)


def set_epoch(loader: DataLoader | TensorBatches, epoch: int) -> None:
    """Make ``loader``'s next pass a function of ``(seed, epoch)`` only.

    Sets the sampler's epoch (shuffle order), the data set's epoch (augmentation choices) and
    reseeds the loader's generator (worker seeds). Call before iterating, every epoch.
    """
    seed = getattr(loader.sampler, "seed", 0)
    if hasattr(loader.sampler, "set_epoch"):
        loader.sampler.set_epoch(epoch)
    if hasattr(loader.dataset, "set_epoch"):
        loader.dataset.set_epoch(epoch)
    if loader.generator is not None:
        loader.generator.manual_seed(_epoch_seed(seed, epoch))
