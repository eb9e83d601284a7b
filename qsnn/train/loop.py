"""The training loop: :func:`fit` and its :class:`TrainResult`.

Choices this module makes explicit:

* The learning rate follows ``torch.optim.lr_scheduler.CosineAnnealingLR(T_max=epochs)``
  stepped **once per epoch**: epoch e (0-based) trains at ``lr * (1 + cos(pi e / epochs)) / 2``,
  reaching 0 after the last epoch.
* Weight decay applies to parameters with two or more dimensions (conv and linear weights);
  parameters with fewer (BatchNorm gamma/beta, every bias) are in a group without decay.
* The EDE progress of epoch e is ``ede_progress(e, epochs, config.ede_schedule)`` (the authors'
  ``e / epochs`` by default), set before the epoch's first step.
* Every epoch's shuffle order and augmentation are functions of ``(seed, epoch)`` and the
  checkpoint (written atomically after each epoch) carries model, optimizer, scheduler, history
  and all RNG states, so ``resume=True`` continues bit-exactly on the CPU.
"""

from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from .._core.jsonio import to_jsonable
from .._core.lock import FolderBusyError
from ..checkpoint import get_rng_state, load_checkpoint, save_checkpoint, set_rng_state
from ..data import get_loaders, set_epoch, to_time_first
from ..nn import set_ede_progress
from .config import TrainConfig, config_differences
from .evaluation import EvalResult, evaluate, sign_balance
from .loss import ede_progress, param_groups, qsnn_loss
from .outputs import CHECKPOINT_FORMAT, CHECKPOINT_NAME, hold_outputs, write_config, write_results
from .runtime import (
    Distributed,
    any_rank,
    broadcast_buffers,
    resolve_device,
    runtime,
    seed_everything,
    setup_distributed,
    sum_across,
)

__all__ = ["TrainResult", "fit"]

ModelFactory = Callable[[TrainConfig, Any], nn.Module]


@dataclass
class TrainResult:
    """Outcome of :func:`fit`.

    Attributes
    ----------
    config : TrainConfig
    model : torch.nn.Module
        The trained model (unwrapped, on the training device, in eval mode).
    history : list of dict
        One record per epoch: ``epoch`` (1-based), ``lr``, ``ede_progress``, ``train_loss``,
        ``train_ce``, ``train_sr``, ``train_acc``, ``train_rates``, ``test_acc``,
        ``test_loss``, ``test_rates`` (None on epochs without evaluation), ``sign_balance``
        (entropy in bits of the binarised weight signs, per binary layer), ``epoch_time`` (s).
    test_acc, test_loss : float
        Final test accuracy in [0, 1] and loss.
    test_rates : list of float
        Final per-layer firing rates on the test set.
    device : str
    world_size : int
    checkpoint_path : str or None
    samples : dict
        Number of samples per split, ``{"train": N, "test": M}`` (whole data set, all processes).
    """

    config: TrainConfig
    model: nn.Module
    history: list[dict]
    test_acc: float
    test_loss: float
    test_rates: list[float]
    device: str
    world_size: int = 1
    checkpoint_path: str | None = None
    samples: dict = field(default_factory=dict)

    @property
    def best_epoch(self) -> int | None:
        """The (first) epoch of the highest test accuracy among evaluated epochs."""
        evaluated = [r for r in self.history if r.get("test_acc") is not None]
        if not evaluated:
            return None
        return max(evaluated, key=lambda r: (r["test_acc"], -r["epoch"]))["epoch"]

    @property
    def best_test_acc(self) -> float | None:
        """The highest test accuracy among evaluated epochs (a fraction)."""
        best = self.best_epoch
        return None if best is None else next(r["test_acc"] for r in self.history if r["epoch"] == best)

    def to_dict(self) -> dict:
        """JSON-serialisable summary (everything but the model): the content of ``metrics.json``."""
        return to_jsonable(
            {
                "config": self.config.to_dict(),
                "test_acc": self.test_acc,
                "test_loss": self.test_loss,
                "test_rates": self.test_rates,
                "best_test_acc": self.best_test_acc,
                "best_epoch": self.best_epoch,
                "samples": self.samples,
                "history": self.history,
                "device": self.device,
                "world_size": self.world_size,
                "checkpoint_path": self.checkpoint_path,
            }
        )


def _check_resumable(state: dict, config: TrainConfig, path: Path) -> None:
    if state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a qsnn.train checkpoint (format {state.get('format')!r})")
    differ = config_differences(state.get("config", {}), config)
    if differ:
        detail = "; ".join(f"{k}: checkpoint {was!r}, now {now!r}" for k, (was, now) in differ.items())
        raise ValueError(
            f"cannot resume from {path}: the configuration differs ({detail}); use another "
            f"checkpoint_dir or resume=False"
        )


def _train_epoch(model, loader, optimizer, config: TrainConfig, device, desc: str, show: bool,
                 all_reduce: bool) -> dict:
    from tqdm import tqdm

    model.train()
    stats = None
    bar = tqdm(loader, desc=desc, leave=False, disable=not show, file=sys.stderr, dynamic_ncols=True)
    for x, y in bar:
        x = to_time_first(x.to(device, non_blocking=True), config.time_steps)
        y = y.to(device, non_blocking=True)
        logits, rates = model(x, return_rates=True)
        parts = qsnn_loss(logits, y, rates, config.lambda_sr, config.sr_target)
        optimizer.zero_grad(set_to_none=True)
        parts.total.backward()
        optimizer.step()
        b = float(y.shape[0])
        with torch.no_grad():
            correct = (logits.mean(0).argmax(-1) == y).sum().double()
            row = torch.stack(
                [parts.total.detach().double() * b, parts.ce.detach().double() * b,
                 parts.sr.detach().double() * b, correct,
                 torch.tensor(b, dtype=torch.float64, device=device)]
                + [r.detach().double() * b for r in rates]
            )
        stats = row if stats is None else stats + row
    bar.close()
    if stats is None:
        raise ValueError("the training loader yielded no batches")
    s = sum_across(stats, all_reduce).tolist()
    n = s[4]
    return {
        "train_loss": s[0] / n,
        "train_ce": s[1] / n,
        "train_sr": s[2] / n,
        "train_acc": s[3] / n,
        "train_rates": [v / n for v in s[5:]],
    }


def fit(
    config: TrainConfig,
    *,
    model_factory: ModelFactory | None = None,
    on_epoch: Callable[[dict], None] | None = None,
) -> TrainResult:
    """Train a Q-SNN as configured, evaluate it, checkpoint it each epoch, write its results.

    Parameters
    ----------
    config : TrainConfig
    model_factory : callable or None
        ``model_factory(config, info) -> nn.Module`` builds the model for the data set described by
        ``info`` (None: :meth:`TrainConfig.build_model`). The model must follow the models'
        contract: ``model(x [T, B, C, H, W], return_rates=True)`` -> (logits [T, B, K], rates).
    on_epoch : callable or None
        Called (on rank 0 only) with each epoch's history record after it is complete.

    Returns
    -------
    TrainResult

    Raises
    ------
    TypeError
        If ``config`` is not a :class:`TrainConfig`, or ``model_factory`` gives no ``nn.Module``.
    ValueError
        Invalid device, indivisible batch, a checkpoint from a different configuration, or an
        unusable output folder (:class:`qsnn.train.outputs.OutputFolderError`), raised before the
        data are loaded.
    RuntimeError
        ``FolderBusyError``: another process holds ``output_dir`` or ``checkpoint_dir``.
    DatasetNotFoundError
        Missing data files.

    Notes
    -----
    With ``output_dir`` set, the run writes ``config.yaml`` at its start, and ``model.pt`` then
    ``metrics.json`` (:meth:`TrainResult.to_dict`) at its end. Under ``torchrun``
    (``WORLD_SIZE > 1``) the process group is initialised (NCCL on CUDA, Gloo on the CPU), the
    model is wrapped in DistributedDataParallel, metrics are summed over processes, BatchNorm
    buffers are taken from rank 0 after every epoch, and only rank 0 holds the folders, writes
    files and calls ``on_epoch``.
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    if model_factory is not None and not callable(model_factory):
        raise TypeError(f"model_factory must be callable (config, info) -> nn.Module, got {model_factory!r}")
    dist = setup_distributed(config.device)
    try:
        device = resolve_device(config.device, dist)
        with contextlib.ExitStack() as stack:
            folders, failure = None, None
            if dist.main:
                try:
                    folders = stack.enter_context(hold_outputs(config))
                except (ValueError, FolderBusyError) as exc:
                    failure = exc
            if any_rank(failure is not None, dist):
                if failure is not None:
                    raise failure
                raise RuntimeError("rank 0 could not prepare the output folders (its message says why)")
            with runtime(config.threads, config.deterministic, device):
                return _fit(config, model_factory, on_epoch, dist, device, folders)
    finally:
        if dist.owns_group:
            torch.distributed.destroy_process_group()


def _fit(config: TrainConfig, model_factory, on_epoch, dist: Distributed, device: torch.device,
         folders) -> TrainResult:
    if config.batch_size % dist.world_size:
        raise ValueError(
            f"batch_size must be divisible by the number of processes ({dist.world_size}), got "
            f"{config.batch_size}"
        )
    per_rank = config.batch_size // dist.world_size
    seed_everything(config.seed)
    loaders = get_loaders(
        config.dataset,
        config.data_dir,
        batch_size=per_rank,
        seed=config.seed,
        num_workers=config.num_workers,
        augment=config.augment,
        eval_batch_size=config.eval_batch_size,
        rank=dist.rank,
        world_size=dist.world_size,
        pin_memory=device.type == "cuda",
        time_steps=config.time_steps,
        dataset_kwargs=config.dataset_kwargs,
    )
    model = config.build_model(loaders.info) if model_factory is None else model_factory(config, loaders.info)
    if not isinstance(model, nn.Module):
        raise TypeError(f"model_factory must return a torch.nn.Module, got {type(model).__name__}")
    model = model.to(device)
    if dist.main and folders is not None and folders.output is not None:
        write_config(folders.output, config)
    optimizer = torch.optim.SGD(
        param_groups(model, config.weight_decay), lr=config.lr, momentum=config.momentum
    )
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs, eta_min=0.0)
    history: list[dict] = []
    start = 0
    ckpt = None if config.checkpoint_dir is None else Path(config.checkpoint_dir) / CHECKPOINT_NAME
    if config.resume and ckpt is not None and ckpt.is_file():
        state = load_checkpoint(ckpt, map_location="cpu")
        _check_resumable(state, config, ckpt)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        history = list(state["history"])
        start = int(state["epoch"])
        set_rng_state(state["rng"])
    net = model
    if dist.world_size > 1:
        net = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    last_eval: EvalResult | None = None
    all_reduce = dist.world_size > 1
    for epoch in range(start, config.epochs):
        t0 = time.perf_counter()
        p = ede_progress(epoch, config.epochs, config.ede_schedule)
        set_ede_progress(model, p)
        set_epoch(loaders.train, epoch)
        lr = optimizer.param_groups[0]["lr"]
        record: dict[str, Any] = {"epoch": epoch + 1, "lr": lr, "ede_progress": p}
        record.update(
            _train_epoch(
                net, loaders.train, optimizer, config, device,
                desc=f"epoch {epoch + 1}/{config.epochs}",
                show=config.progress and dist.main,
                all_reduce=all_reduce,
            )
        )
        scheduler.step()
        if dist.world_size > 1:
            broadcast_buffers(model)
        last_eval = None
        if (epoch + 1) % config.eval_every == 0 or epoch + 1 == config.epochs:
            last_eval = evaluate(model, loaders.test, config.time_steps, device, all_reduce=all_reduce)
        record.update(
            test_acc=None if last_eval is None else last_eval.accuracy,
            test_loss=None if last_eval is None else last_eval.loss,
            test_rates=None if last_eval is None else last_eval.rates,
            sign_balance=sign_balance(model),
            epoch_time=time.perf_counter() - t0,
        )
        history.append(record)
        if ckpt is not None and dist.main:
            save_checkpoint(
                {
                    "format": CHECKPOINT_FORMAT,
                    "epoch": epoch + 1,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "history": history,
                    "rng": get_rng_state(),
                    "config": config.to_dict(),
                    "world_size": dist.world_size,
                    "torch_version": str(torch.__version__),
                },
                ckpt,
            )
        if dist.world_size > 1:
            torch.distributed.barrier()
        if on_epoch is not None and dist.main:
            on_epoch(record)
    if last_eval is None:  # resumed a finished run, or no evaluation in this call
        last_eval = evaluate(model, loaders.test, config.time_steps, device, all_reduce=all_reduce)
    model.eval()
    result = TrainResult(
        config=config,
        model=model,
        history=history,
        test_acc=last_eval.accuracy,
        test_loss=last_eval.loss,
        test_rates=last_eval.rates,
        device=str(device),
        world_size=dist.world_size,
        checkpoint_path=None if ckpt is None else str(ckpt),
        samples={"train": len(loaders.train.dataset), "test": len(loaders.test.dataset)},
    )
    if dist.main and folders is not None and folders.output is not None:
        write_results(folders.output, result.to_dict(), model.state_dict(), config)
    return result
