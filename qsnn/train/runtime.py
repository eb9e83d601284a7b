"""Where and how a run executes: the process group under ``torchrun``, the device, thread count and
determinism flags, and the seeding of every random source.

``batch_size`` is the global batch: under ``torchrun`` each of the W processes takes
``batch_size / W`` samples per step, so a recipe's batch means the same number of optimiser steps
whatever W is. BatchNorm statistics are per process during an epoch and taken from rank 0 after it.
"""

from __future__ import annotations

import contextlib
import os
import random
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

__all__ = [
    "Distributed",
    "setup_distributed",
    "resolve_device",
    "runtime",
    "seed_everything",
    "dist_active",
    "sum_across",
    "broadcast_buffers",
    "any_rank",
]


@dataclass
class Distributed:
    """This process's place in the run (a single process: rank 0 of 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    owns_group: bool = False

    @property
    def main(self) -> bool:
        return self.rank == 0


def dist_active() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def setup_distributed(device: str) -> Distributed:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1 in the environment).

    NCCL when the configured ``device`` is CUDA (or "auto" with CUDA present), Gloo otherwise.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Distributed()
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    owns = False
    if not dist_active():
        use_cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
        if use_cuda:
            torch.cuda.set_device(local)
        torch.distributed.init_process_group(backend="nccl" if use_cuda else "gloo")
        owns = True
    return Distributed(rank, world, local, owns)


def resolve_device(device: str, dist: Distributed) -> torch.device:
    """The torch device for a configured ``device`` string ("auto", "cpu", "cuda", "cuda:N")."""
    d = device
    if d == "auto":
        d = "cuda" if torch.cuda.is_available() else "cpu"
    if d.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device={device!r}, but CUDA is not available here; use 'cpu' or 'auto'")
        if dist.world_size > 1:
            return torch.device("cuda", dist.local_rank)
    return torch.device(d)


@contextlib.contextmanager
def runtime(threads: int | None, deterministic: bool, device: torch.device):
    """Thread count and determinism flags for the run, restored afterwards."""
    saved_threads = torch.get_num_threads()
    det = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    fill = torch.utils.deterministic.fill_uninitialized_memory
    try:
        if threads is not None:
            torch.set_num_threads(threads)
        if deterministic:
            if device.type == "cuda":
                # Needed by cuBLAS for reproducible results; read when the handle is created.
                os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
                torch.backends.cudnn.deterministic = True
                torch.backends.cudnn.benchmark = False
            torch.use_deterministic_algorithms(True, warn_only=True)
            # Deterministic mode also fills every new uninitialized tensor with NaN, to expose reads of
            # uninitialized memory; no op of a run reads any, and the fills were 11 % of a training
            # step of the small net on the CPU (1,085 fills in 5 steps, benchmarks/README.md).
            torch.utils.deterministic.fill_uninitialized_memory = False
        yield
    finally:
        torch.set_num_threads(saved_threads)
        torch.use_deterministic_algorithms(det, warn_only=warn_only)
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = cudnn
        torch.utils.deterministic.fill_uninitialized_memory = fill


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch (every CUDA device too)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def sum_across(stats: torch.Tensor, all_reduce: bool) -> torch.Tensor:
    """``stats`` summed over the processes of an initialised group (itself otherwise)."""
    if all_reduce and dist_active():
        torch.distributed.all_reduce(stats)
    return stats


def broadcast_buffers(model: nn.Module) -> None:
    """Give every process rank 0's buffers (BatchNorm running statistics)."""
    for buf in model.buffers():
        torch.distributed.broadcast(buf, src=0)


def any_rank(flag: bool, dist: Distributed) -> bool:
    """True on every process when ``flag`` is true on any (a collective: all ranks must call it)."""
    if dist.world_size <= 1 or not dist_active():
        return flag
    backend = torch.distributed.get_backend()
    device = torch.device("cuda", torch.cuda.current_device()) if backend == "nccl" else torch.device("cpu")
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
    return bool(t.item() > 0)
