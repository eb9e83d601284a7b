"""Training entry point for Part II (Wei et al., Q-SNNs): configuration, loop, evaluation, CLI.

Recipe (spec section 2, the authors' code): loss
``L = (1/T) sum_t CE(O[t], y) + lambda_sr * L_SR`` (:func:`qsnn_loss`), prediction = argmax of
the mean output over T, SGD with momentum 0.9 and lr 0.1, cosine schedule to 0, weight decay
1e-4 on weights only (not on BatchNorm parameters and biases), batch 64, 300 epochs, the EDE
sign-gradient annealed over the epochs (``qsnn.nn.set_ede_progress``).

Choices this module makes explicit:

* The learning rate follows ``torch.optim.lr_scheduler.CosineAnnealingLR(T_max=epochs)``
  stepped **once per epoch**: epoch e (0-based) trains at ``lr * (1 + cos(pi e / epochs)) / 2``,
  reaching 0 after the last epoch.
* Weight decay applies to parameters with two or more dimensions (conv and linear weights);
  parameters with fewer (BatchNorm gamma/beta, every bias) are in a group without decay.
* The EDE progress of epoch e is ``e / (epochs - 1)`` (0 for a single epoch), set before the
  epoch's first step.
* ``batch_size`` is the **global** batch: under ``torchrun`` each of the W processes takes
  ``batch_size / W`` samples per step (W must divide it), so the recipe's batch 64 means the
  same number of optimizer steps whatever W is. BatchNorm statistics are per process.
* Every epoch's shuffle order and augmentation are functions of ``(seed, epoch)`` and the
  checkpoint (written atomically after each epoch) carries model, optimizer, scheduler, history
  and all RNG states, so ``resume=True`` continues bit-exactly on the CPU.

Usage::

    python -m qsnn.train --config book/params/vgg11_cifar10.yaml --set epochs=1 --set data_dir=data
    torchrun --nproc_per_node=4 -m qsnn.train --config book/params/vgg11_cifar10.yaml

or from Python: ``result = fit(TrainConfig(model="small", epochs=20))``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Iterable, NamedTuple, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._yaml import apply_overrides, parse_overrides, read_mapping
from .checkpoint import (
    atomic_write_text,
    get_rng_state,
    load_checkpoint,
    save_checkpoint,
    set_rng_state,
)
from .data import (
    DATASETS,
    DatasetNotFoundError,
    check_dataset_kwargs,
    get_loaders,
    set_epoch,
    to_time_first,
)

__all__ = [
    "MODEL_NAMES",
    "TrainConfig",
    "TrainResult",
    "EvalResult",
    "LossParts",
    "qsnn_loss",
    "param_groups",
    "ede_progress",
    "evaluate",
    "firing_rates",
    "fit",
    "main",
]

MODEL_NAMES = ("vgg11", "resnet19", "resnet18", "vggsnn", "small")
# Keyword arguments of qsnn.models.build that a configuration may set; the data set supplies
# num_classes, in_channels and input_size.
_CONTRACT_MODEL_KWARGS = (
    "weight_bits",
    "membrane_bits",
    "decay",
    "threshold",
    "reset",
    "weight_regulation",
    "estimator",
    "membrane_quantizer",
    "surrogate",
    "widths",
)
_DATA_MODEL_KWARGS = ("num_classes", "in_channels", "input_size")
# Fields that may change between a run and its resumption without changing the numbers.
_RESUMABLE_DIFFERENCES = frozenset(
    {
        "resume",
        "progress",
        "num_workers",
        "device",
        "threads",
        "checkpoint_dir",
        "output_dir",
        "data_dir",
        "eval_every",
        "eval_batch_size",
    }
)
CHECKPOINT_NAME = "last.pt"
CHECKPOINT_FORMAT = "qsnn.train/1"


# ---------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_real(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _allowed_model_kwargs() -> tuple[str, ...] | None:
    """Keyword arguments ``qsnn.models.build`` accepts (None: it takes ``**kwargs``)."""
    try:
        build = importlib.import_module("qsnn.models").build
        params = inspect.signature(build).parameters
    except (ImportError, AttributeError, TypeError, ValueError):
        return _CONTRACT_MODEL_KWARGS
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return None
    return tuple(n for n in list(params)[1:] if n not in _DATA_MODEL_KWARGS)


@dataclass
class TrainConfig:
    """Everything that defines a training run; validated at construction.

    Parameters
    ----------
    model : str
        Architecture, one of :data:`MODEL_NAMES` (built by ``qsnn.models.build``).
    model_kwargs : dict
        Keyword arguments of ``qsnn.models.build`` (``weight_bits``, ``membrane_bits``,
        ``decay``, ``threshold``, ``reset``, ``weight_regulation``, ``estimator``,
        ``membrane_quantizer``, ``surrogate``, ``widths``); omitted ones take the builder's
        defaults. ``num_classes``, ``in_channels`` and ``input_size`` come from the data set.
    dataset : str
        One of ``qsnn.data.DATASETS``.
    dataset_kwargs : dict
        Options of the data set (event sets: emulator settings, ``denoise_us``, ``frame_size``;
        see ``qsnn.data.event_sets.EVENT_DATASET_OPTIONS``); empty for static image sets. Event
        sets are binned into ``time_steps`` frames.
    data_dir : str or None
        Folder of on-disk data sets (None: ``./data``; unused by ``"digits"``).
    augment : bool or None
        Standard training augmentation (None: the data set's default, on for CIFAR).
    time_steps : int
        T, simulation steps per sample (static inputs are repeated T times).
    epochs : int
        Number of epochs (also the cosine schedule's length).
    batch_size : int
        Global training batch size (split evenly across processes under torchrun).
    eval_batch_size : int or None
        Test batch size per process (None: the per-process training batch size).
    lr : float
        Initial learning rate (> 0), annealed to 0 by a per-epoch cosine schedule.
    momentum : float
        SGD momentum in [0, 1).
    weight_decay : float
        L2 coefficient (>= 0) for weights with >= 2 dimensions; none on BN parameters/biases.
    lambda_sr : float
        Weight of the spike-rate regulariser L_SR (>= 0; 0 trains without it).
    sr_target : float
        Target firing rate of L_SR in [0, 1] (0.5, the maximum-entropy rate).
    seed : int
        Seed (>= 0) of everything random: initialisation, shuffling, augmentation.
    device : str
        "auto" (CUDA when available), "cpu", "cuda" or "cuda:N".
    num_workers : int
        DataLoader worker processes (>= 0).
    threads : int or None
        ``torch.set_num_threads`` during the run (None: leave as is).
    deterministic : bool
        Ask PyTorch for deterministic kernels (and cuDNN determinism on CUDA).
    eval_every : int
        Evaluate on the test set every this many epochs (the last epoch always).
    checkpoint_dir : str or None
        Folder of the per-epoch checkpoint ``last.pt`` (None: no checkpoints).
    resume : bool
        Continue from ``checkpoint_dir/last.pt`` when it exists (start fresh otherwise).
    output_dir : str or None
        Where the command line writes ``metrics.json`` and ``model.pt``.
    progress : bool
        Show a tqdm progress bar per epoch (on stderr).

    Raises
    ------
    ValueError
        Naming the field, the value given and what is allowed.
    """

    model: str = "small"
    model_kwargs: dict = field(default_factory=dict)
    dataset: str = "digits"
    dataset_kwargs: dict = field(default_factory=dict)
    data_dir: str | None = None
    augment: bool | None = None
    time_steps: int = 4
    epochs: int = 20
    batch_size: int = 64
    eval_batch_size: int | None = None
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    lambda_sr: float = 5e-3
    sr_target: float = 0.5
    seed: int = 0
    device: str = "auto"
    num_workers: int = 0
    threads: int | None = None
    deterministic: bool = True
    eval_every: int = 1
    checkpoint_dir: str | None = None
    resume: bool = False
    output_dir: str | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        def bad(name: str, allowed: str) -> ValueError:
            return ValueError(f"{name} must be {allowed}, got {getattr(self, name)!r}")

        if self.model not in MODEL_NAMES:
            raise bad("model", f"one of {', '.join(MODEL_NAMES)}")
        if self.model_kwargs is None:
            self.model_kwargs = {}
        if not isinstance(self.model_kwargs, dict) or not all(
            isinstance(k, str) for k in self.model_kwargs
        ):
            raise bad("model_kwargs", "a mapping of keyword names to values")
        self.model_kwargs = dict(self.model_kwargs)
        reserved = sorted(set(self.model_kwargs) & set(_DATA_MODEL_KWARGS))
        if reserved:
            raise ValueError(
                f"model_kwargs must not set {', '.join(reserved)} (they come from the data set)"
            )
        allowed = _allowed_model_kwargs()
        if allowed is not None:
            unknown = sorted(set(self.model_kwargs) - set(allowed))
            if unknown:
                raise ValueError(
                    f"model_kwargs has unknown keys {', '.join(unknown)}; allowed: "
                    f"{', '.join(allowed)}"
                )
        if self.dataset not in DATASETS:
            raise bad("dataset", f"one of {', '.join(DATASETS)}")
        if self.dataset_kwargs is None:
            self.dataset_kwargs = {}
        if not isinstance(self.dataset_kwargs, dict) or not all(
            isinstance(k, str) for k in self.dataset_kwargs
        ):
            raise bad("dataset_kwargs", "a mapping of option names to values")
        self.dataset_kwargs = dict(self.dataset_kwargs)
        check_dataset_kwargs(self.dataset, self.dataset_kwargs)
        for name in ("data_dir", "checkpoint_dir", "output_dir"):
            v = getattr(self, name)
            if isinstance(v, os.PathLike):
                setattr(self, name, os.fspath(v))
            elif v is not None and (not isinstance(v, str) or not v):
                raise bad(name, "a non-empty path string or None")
        for name in ("augment",):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), bool):
                raise bad(name, "true, false or None")
        for name in ("deterministic", "resume", "progress"):
            if not isinstance(getattr(self, name), bool):
                raise bad(name, "true or false")
        for name, low in (
            ("time_steps", 1),
            ("epochs", 1),
            ("batch_size", 1),
            ("seed", 0),
            ("num_workers", 0),
            ("eval_every", 1),
        ):
            if not _is_int(getattr(self, name)) or getattr(self, name) < low:
                raise bad(name, f"an integer >= {low}")
        for name in ("eval_batch_size", "threads"):
            v = getattr(self, name)
            if v is not None and (not _is_int(v) or v < 1):
                raise bad(name, "an integer >= 1 or None")
        if not _is_real(self.lr) or self.lr <= 0:
            raise bad("lr", "a finite number > 0")
        if not _is_real(self.momentum) or not 0 <= self.momentum < 1:
            raise bad("momentum", "a number in [0, 1)")
        for name in ("weight_decay", "lambda_sr"):
            if not _is_real(getattr(self, name)) or getattr(self, name) < 0:
                raise bad(name, "a finite number >= 0")
        if not _is_real(self.sr_target) or not 0 <= self.sr_target <= 1:
            raise bad("sr_target", "a number in [0, 1]")
        d = self.device
        if not isinstance(d, str) or not (
            d in ("auto", "cpu", "cuda") or (d.startswith("cuda:") and d[5:].isdigit())
        ):
            raise bad("device", "'auto', 'cpu', 'cuda' or 'cuda:N'")

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """Names of all configuration fields."""
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        """Build a configuration from a mapping, rejecting unknown keys.

        Raises
        ------
        ValueError
            If ``values`` is not a mapping, has keys that are not fields (the message lists the
            allowed ones), or a value is invalid.
        """
        if not isinstance(values, dict):
            raise ValueError(f"a configuration must be a mapping, got {type(values).__name__}")
        unknown = sorted(set(values) - set(cls.field_names()))
        if unknown:
            raise ValueError(
                f"unknown configuration keys: {', '.join(map(str, unknown))}; allowed: "
                f"{', '.join(cls.field_names())}"
            )
        return cls(**values)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> "TrainConfig":
        """Read a YAML file holding one mapping of configuration fields (see :meth:`from_dict`).

        Raises
        ------
        FileNotFoundError
            If ``path`` does not exist.
        ValueError
            If the YAML is malformed or the configuration invalid.
        """
        return cls.from_dict(_read_yaml(path))

    def to_dict(self) -> dict:
        """The configuration as plain, JSON- and YAML-serialisable values."""
        return json.loads(json.dumps(asdict(self)))


def _read_yaml(path: str | os.PathLike) -> dict:
    return read_mapping(path, "configuration file")


# ---------------------------------------------------------------------------------------------
# Loss, optimizer groups, schedules
# ---------------------------------------------------------------------------------------------


class LossParts(NamedTuple):
    """The training loss and its two parts (scalar tensors)."""

    total: torch.Tensor
    ce: torch.Tensor
    sr: torch.Tensor


def qsnn_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    rates: Sequence[torch.Tensor],
    lambda_sr: float,
    sr_target: float = 0.5,
) -> LossParts:
    """Q-SNN loss ``L = (1/T) sum_t CE(O[t], y) + lambda_sr * L_SR`` (spec section 2).

    Parameters
    ----------
    logits : torch.Tensor
        O, [T, B, K], the readout at every time step.
    targets : torch.Tensor
        y, [B] class indices.
    rates : sequence of torch.Tensor
        Per-spiking-layer mean firing rates r_l (scalars, depth order), as returned by
        ``model(x, return_rates=True)``.
    lambda_sr : float
        Weight of L_SR (0: the regulariser is computed for logging but does not contribute).
    sr_target : float
        Target rate of L_SR (0.5).

    Returns
    -------
    LossParts
        ``total``, ``ce`` = (1/T) sum_t CE(O[t], y) with CE the batch mean, ``sr`` = L_SR from
        ``qsnn.nn.spike_rate_loss(rates, target=sr_target, exclude_first_last=True)``.
    """
    if logits.ndim != 3 or targets.ndim != 1 or logits.shape[1] != targets.shape[0]:
        raise ValueError(
            f"logits must be [T, B, K] and targets [B], got {tuple(logits.shape)} and "
            f"{tuple(targets.shape)}"
        )
    t = logits.shape[0]
    # Every step has the same B samples, so the mean over T*B equals (1/T) sum_t (batch mean).
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.repeat(t))
    nn_mod = importlib.import_module("qsnn.nn")
    sr = nn_mod.spike_rate_loss(list(rates), target=sr_target, exclude_first_last=True)
    sr = torch.as_tensor(sr, dtype=ce.dtype, device=ce.device)
    total = ce + lambda_sr * sr if lambda_sr else ce
    return LossParts(total, ce, sr)


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """SGD parameter groups: decay on weights with >= 2 dimensions, none on BN params and biases.

    Returns
    -------
    list of dict
        ``[{"params": decayed, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0}]``
        (empty groups are left out).
    """
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (decay if p.ndim >= 2 else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return [g for g in groups if g["params"]]


def ede_progress(epoch: int, epochs: int) -> float:
    """Training progress p in [0, 1] that sets the EDE estimator's t for ``epoch`` (0-based).

    ``p = epoch / (epochs - 1)``: the first epoch uses t = 0.1 and the last t = 10 (spec
    section 1); a single-epoch run uses p = 0.
    """
    return 0.0 if epochs <= 1 else min(max(epoch / (epochs - 1), 0.0), 1.0)


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------


@dataclass
class EvalResult:
    """Test-set metrics: accuracy in [0, 1], mean loss (CE mean over T), per-layer firing rates."""

    accuracy: float
    loss: float
    rates: list[float]
    count: int


def _dist_active() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def _sum_across(stats: torch.Tensor, all_reduce: bool) -> torch.Tensor:
    if all_reduce and _dist_active():
        torch.distributed.all_reduce(stats)
    return stats


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: Iterable,
    time_steps: int,
    device: str | torch.device = "cpu",
    *,
    all_reduce: bool = False,
) -> EvalResult:
    """Accuracy, loss and per-layer firing rates of ``model`` on ``loader``.

    Parameters
    ----------
    model : torch.nn.Module
        Follows the models' contract: ``model(x, return_rates=True)`` with x [T, B, C, H, W]
        returns (logits [T, B, K], rates). Put in eval mode for the pass, then restored.
    loader : iterable of (x, y)
        Batches [B, C, H, W] (static) or [B, T, C, H, W] (temporal), labels [B].
    time_steps : int
        T.
    device : str or torch.device
    all_reduce : bool
        Sum the counts over all processes of an initialised process group (each evaluates its
        own shard of the test set).

    Returns
    -------
    EvalResult
        Prediction = argmax of the logits' mean over T; rates are sample-weighted means.
    """
    device = torch.device(device)
    was_training = model.training
    model.eval()
    stats = None
    try:
        for x, y in loader:
            x = to_time_first(x.to(device, non_blocking=True), time_steps)
            y = y.to(device, non_blocking=True)
            logits, rates = model(x, return_rates=True)
            b = y.shape[0]
            ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.repeat(logits.shape[0]))
            correct = (logits.mean(0).argmax(-1) == y).sum()
            row = torch.stack(
                [ce.double() * b, correct.double(), torch.tensor(float(b), device=device, dtype=torch.float64)]
                + [r.detach().double() * b for r in rates]
            )
            stats = row if stats is None else stats + row
    finally:
        model.train(was_training)
    if stats is None:
        raise ValueError("the loader yielded no batches")
    stats = _sum_across(stats, all_reduce).tolist()
    n = stats[2]
    return EvalResult(
        accuracy=stats[1] / n, loss=stats[0] / n, rates=[s / n for s in stats[3:]], count=int(n)
    )


def firing_rates(
    model: nn.Module, loader: Iterable, time_steps: int, device: str | torch.device = "cpu"
) -> list[float]:
    """Per-spiking-layer mean firing rate (depth order) of ``model`` over ``loader``."""
    return evaluate(model, loader, time_steps, device).rates


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------


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
        ``test_loss``, ``test_rates`` (None on epochs without evaluation), ``epoch_time`` (s).
    test_acc, test_loss : float
        Final test accuracy in [0, 1] and loss.
    test_rates : list of float
        Final per-layer firing rates on the test set.
    device : str
    world_size : int
    checkpoint_path : str or None
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

    def to_dict(self) -> dict:
        """JSON-serialisable summary (everything but the model)."""
        return _jsonable(
            {
                "config": self.config.to_dict(),
                "test_acc": self.test_acc,
                "test_loss": self.test_loss,
                "test_rates": self.test_rates,
                "history": self.history,
                "device": self.device,
                "world_size": self.world_size,
                "checkpoint_path": self.checkpoint_path,
            }
        )


def _jsonable(value: Any) -> Any:
    """Replace non-finite floats by None so the output is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


@dataclass
class _Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    owns_group: bool = False

    @property
    def main(self) -> bool:
        return self.rank == 0


def _setup_distributed(config: TrainConfig) -> _Dist:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1 in the environment)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return _Dist()
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    owns = False
    if not _dist_active():
        use_cuda = config.device.startswith("cuda") or (
            config.device == "auto" and torch.cuda.is_available()
        )
        if use_cuda:
            torch.cuda.set_device(local)
        torch.distributed.init_process_group(backend="nccl" if use_cuda else "gloo")
        owns = True
    return _Dist(rank, world, local, owns)


def _resolve_device(config: TrainConfig, dist: _Dist) -> torch.device:
    d = config.device
    if d == "auto":
        d = "cuda" if torch.cuda.is_available() else "cpu"
    if d.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device={config.device!r}, but CUDA is not available here; use 'cpu' or 'auto'")
        if dist.world_size > 1:
            return torch.device("cuda", dist.local_rank)
    return torch.device(d)


@contextlib.contextmanager
def _runtime(config: TrainConfig, device: torch.device):
    """Thread count and determinism flags for the run, restored afterwards."""
    threads = torch.get_num_threads()
    det = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    try:
        if config.threads is not None:
            torch.set_num_threads(config.threads)
        if config.deterministic:
            if device.type == "cuda":
                # Needed by cuBLAS for reproducible results; read when the handle is created.
                os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
                torch.backends.cudnn.deterministic = True
                torch.backends.cudnn.benchmark = False
            torch.use_deterministic_algorithms(True, warn_only=True)
        yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(det, warn_only=warn_only)
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = cudnn


def _seed_everything(seed: int) -> None:
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def _build_model(config: TrainConfig, info) -> nn.Module:
    models = importlib.import_module("qsnn.models")
    return models.build(
        config.model,
        num_classes=info.num_classes,
        in_channels=info.in_channels,
        input_size=tuple(info.input_size),
        **config.model_kwargs,
    )


def _check_resumable(state: dict, config: TrainConfig, path: Path) -> None:
    if state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a qsnn.train checkpoint (format {state.get('format')!r})")
    saved, now = state.get("config", {}), config.to_dict()
    differ = sorted(
        k for k in set(saved) | set(now) if k not in _RESUMABLE_DIFFERENCES and saved.get(k) != now.get(k)
    )
    if differ:
        detail = "; ".join(f"{k}: checkpoint {saved.get(k)!r}, now {now.get(k)!r}" for k in differ)
        raise ValueError(
            f"cannot resume from {path}: the configuration differs ({detail}); use another "
            f"checkpoint_dir or resume=False"
        )


def _broadcast_buffers(model: nn.Module) -> None:
    """Give every process rank 0's buffers (BatchNorm running statistics)."""
    for buf in model.buffers():
        torch.distributed.broadcast(buf, src=0)


def _train_epoch(
    model: nn.Module,
    loader,
    optimizer: torch.optim.Optimizer,
    config: TrainConfig,
    device: torch.device,
    desc: str,
    show: bool,
    all_reduce: bool,
) -> dict:
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
    s = _sum_across(stats, all_reduce).tolist()
    n = s[4]
    return {
        "train_loss": s[0] / n,
        "train_ce": s[1] / n,
        "train_sr": s[2] / n,
        "train_acc": s[3] / n,
        "train_rates": [v / n for v in s[5:]],
    }


def fit(config: TrainConfig, on_epoch: Callable[[dict], None] | None = None) -> TrainResult:
    """Train a Q-SNN as configured, evaluate it, checkpoint it each epoch.

    Parameters
    ----------
    config : TrainConfig
    on_epoch : callable or None
        Called (on rank 0 only) with each epoch's history record after it is complete.

    Returns
    -------
    TrainResult

    Raises
    ------
    TypeError
        If ``config`` is not a :class:`TrainConfig`.
    ValueError
        Invalid device, indivisible batch, or a checkpoint from a different configuration.
    DatasetNotFoundError
        Missing data files.

    Notes
    -----
    Under ``torchrun`` (``WORLD_SIZE > 1``) the process group is initialised (NCCL on CUDA,
    Gloo on the CPU), the model is wrapped in DistributedDataParallel, metrics are summed over
    processes, BatchNorm buffers are taken from rank 0 after every epoch, and only rank 0
    checkpoints and calls ``on_epoch``.
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    dist = _setup_distributed(config)
    try:
        device = _resolve_device(config, dist)
        with _runtime(config, device):
            return _fit(config, on_epoch, dist, device)
    finally:
        if dist.owns_group:
            torch.distributed.destroy_process_group()


def _fit(config: TrainConfig, on_epoch, dist: _Dist, device: torch.device) -> TrainResult:
    if config.batch_size % dist.world_size:
        raise ValueError(
            f"batch_size must be divisible by the number of processes ({dist.world_size}), got "
            f"{config.batch_size}"
        )
    per_rank = config.batch_size // dist.world_size
    _seed_everything(config.seed)
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
    nn_mod = importlib.import_module("qsnn.nn")
    model = _build_model(config, loaders.info).to(device)
    optimizer = torch.optim.SGD(
        param_groups(model, config.weight_decay), lr=config.lr, momentum=config.momentum
    )
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs, eta_min=0.0)
    history: list[dict] = []
    start = 0
    ckpt = Path(config.checkpoint_dir) / CHECKPOINT_NAME if config.checkpoint_dir else None
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
    for epoch in range(start, config.epochs):
        t0 = time.perf_counter()
        p = ede_progress(epoch, config.epochs)
        nn_mod.set_ede_progress(model, p)
        set_epoch(loaders.train, epoch)
        lr = optimizer.param_groups[0]["lr"]
        record: dict[str, Any] = {"epoch": epoch + 1, "lr": lr, "ede_progress": p}
        record.update(
            _train_epoch(
                net, loaders.train, optimizer, config, device,
                desc=f"epoch {epoch + 1}/{config.epochs}",
                show=config.progress and dist.main,
                all_reduce=dist.world_size > 1,
            )
        )
        scheduler.step()
        if dist.world_size > 1:
            _broadcast_buffers(model)
        last_eval = None
        if (epoch + 1) % config.eval_every == 0 or epoch + 1 == config.epochs:
            last_eval = evaluate(model, loaders.test, config.time_steps, device, all_reduce=dist.world_size > 1)
        record.update(
            test_acc=None if last_eval is None else last_eval.accuracy,
            test_loss=None if last_eval is None else last_eval.loss,
            test_rates=None if last_eval is None else last_eval.rates,
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
    if last_eval is None:  # resumed a finished run, or no evaluation in this session
        last_eval = evaluate(model, loaders.test, config.time_steps, device, all_reduce=dist.world_size > 1)
    model.eval()
    return TrainResult(
        config=config,
        model=model,
        history=history,
        test_acc=last_eval.accuracy,
        test_loss=last_eval.loss,
        test_rates=last_eval.rates,
        device=str(device),
        world_size=dist.world_size,
        checkpoint_path=None if ckpt is None else str(ckpt),
    )


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def format_epoch(record: dict, epochs: int) -> str:
    """One line summarising an epoch's history record."""
    rates = " ".join(f"{r:.3f}" for r in record["train_rates"])
    test = "" if record["test_acc"] is None else f"  test {100 * record['test_acc']:.2f}%"
    return (
        f"epoch {record['epoch']:>{len(str(epochs))}}/{epochs}  lr {record['lr']:.4g}  "
        f"loss {record['train_loss']:.4f} (ce {record['train_ce']:.4f}, sr {record['train_sr']:.4f})  "
        f"train {100 * record['train_acc']:.2f}%{test}  rates [{rates}]  {record['epoch_time']:.1f} s"
    )


def _build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="qsnn-train",
        description="Train a Q-SNN (Wei et al., ACM MM 2024) on digits, MNIST, CIFAR or event data.",
        epilog=f"Configuration keys: {', '.join(TrainConfig.field_names())}.",
    )
    p.add_argument("--config", help="YAML file with configuration keys (defaults otherwise)")
    p.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override one key (YAML value; dotted keys reach into model_kwargs and dataset_kwargs), repeatable",
    )
    p.add_argument("--output-dir", help="where metrics.json and model.pt go (default: output_dir, else runs/qsnn-train)")
    p.add_argument("--resume", action="store_true", default=None, help="continue from checkpoint_dir/last.pt")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Command line ``python -m qsnn.train`` / ``qsnn-train``; returns the exit status.

    Prints one line per epoch and the final result, writes ``metrics.json`` (the
    :meth:`TrainResult.to_dict` summary) and ``model.pt`` (state dict and configuration) to the
    output folder, atomically. A bad configuration or missing data prints the reason and returns 2.
    """
    args = _build_parser().parse_args(argv)
    try:
        values = _read_yaml(args.config) if args.config else {}
        apply_overrides(values, parse_overrides(args.overrides))
        if args.resume:
            values["resume"] = True
        if args.no_progress:
            values["progress"] = False
        if args.output_dir:
            values["output_dir"] = args.output_dir
        config = TrainConfig.from_dict(values)
    except (ValueError, FileNotFoundError) as exc:
        print(f"qsnn-train: error: {exc}", file=sys.stderr)
        return 2
    out = Path(config.output_dir or "runs/qsnn-train")
    try:
        result = fit(config, on_epoch=lambda r: print(format_epoch(r, config.epochs), flush=True))
    except (ValueError, DatasetNotFoundError) as exc:
        print(f"qsnn-train: error: {exc}", file=sys.stderr)
        return 2
    if int(os.environ.get("RANK", "0")) == 0:
        metrics = out / "metrics.json"
        atomic_write_text(metrics, json.dumps(result.to_dict(), indent=2) + "\n")
        save_checkpoint(
            {"model": result.model.state_dict(), "config": config.to_dict()}, out / "model.pt"
        )
        rates = " ".join(f"{r:.3f}" for r in result.test_rates)
        print(
            f"final: test accuracy {100 * result.test_acc:.2f}%  test loss {result.test_loss:.4f}  "
            f"rates [{rates}]  device {result.device}  metrics {metrics}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
