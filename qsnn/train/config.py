"""The configuration of a training run: :class:`TrainConfig`, validated at construction.

A configuration is plain data (numbers, strings, lists and mappings), so it round-trips through
YAML (:meth:`TrainConfig.from_yaml`, the ``--config`` of ``python -m qsnn.train``) and JSON (the
``config`` entry of ``metrics.json`` and of every checkpoint). Model names and the keyword arguments
a configuration may pass to the builder are read from :mod:`qsnn.models`, the one place that lists them.
"""

from __future__ import annotations

import inspect
import json
import os
from dataclasses import asdict, dataclass, field, fields

from torch import nn

from .. import models
from .._core.validation import check_bool, check_choice, check_int, check_real
from .._core.yamlio import read_mapping
from ..data import check_dataset_kwargs, dataset_record
from .loss import EDE_SCHEDULES

__all__ = ["MODEL_NAMES", "TrainConfig", "RESUMABLE_DIFFERENCES", "config_differences"]

# The architectures qsnn.models.build knows (listed there, read here).
MODEL_NAMES = models.MODELS
# Arguments of qsnn.models.build that the data set supplies, never the configuration.
_DATA_MODEL_KWARGS = ("num_classes", "in_channels", "input_size")
# Fields that may change between a run and its resumption without changing the numbers it produces.
RESUMABLE_DIFFERENCES = frozenset(
    {
        "resume",
        "overwrite",
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


def _builder_options() -> tuple[str, ...]:
    """Keyword arguments of ``qsnn.models.build`` a configuration may set (all but name and data)."""
    names = list(inspect.signature(models.build).parameters)[1:]
    return tuple(n for n in names if n not in _DATA_MODEL_KWARGS)


MODEL_OPTIONS = _builder_options()


@dataclass
class TrainConfig:
    """Everything that defines a training run; validated at construction.

    Parameters
    ----------
    model : str
        Architecture, one of ``qsnn.models.MODELS`` (built by ``qsnn.models.build``).
    model_kwargs : dict
        Keyword arguments of ``qsnn.models.build`` (``weight_bits``, ``membrane_bits``,
        ``decay``, ``threshold``, ``reset``, ``weight_regulation``, ``estimator``,
        ``membrane_quantizer``, ``surrogate``, ``widths``); omitted ones take the builder's
        defaults. ``num_classes``, ``in_channels`` and ``input_size`` come from the data set.
    dataset : str
        A built-in data set (``qsnn.data.DATASETS``) or one registered with
        ``qsnn.data.register_dataset`` (your own images or event tensors).
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
    ede_schedule : {"log_up", "endpoints"}
        How the EDE sharpness t anneals over the epochs (``qsnn.train.ede_progress``): ``"log_up"``
        as the authors' code, t = 10**(-1 + 2 e / epochs) in epoch e = 0..epochs-1; ``"endpoints"``
        reaches t = 10 in the last epoch.
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
    overwrite : bool
        Allow a run that does not resume to replace an existing ``last.pt`` in ``checkpoint_dir``
        and an existing ``metrics.json`` / ``model.pt`` in ``output_dir`` (False: such a run
        stops before its first epoch, so no finished work is lost by accident).
    output_dir : str or None
        Where :func:`qsnn.train.fit` writes ``config.yaml``, ``metrics.json`` and ``model.pt``
        (None: nothing is written; the command line defaults to ``runs/qsnn-train``).
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
    ede_schedule: str = "log_up"
    seed: int = 0
    device: str = "auto"
    num_workers: int = 0
    threads: int | None = None
    deterministic: bool = True
    eval_every: int = 1
    checkpoint_dir: str | None = None
    resume: bool = False
    overwrite: bool = False
    output_dir: str | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        check_choice("model", self.model, MODEL_NAMES)
        self.model_kwargs = _mapping("model_kwargs", self.model_kwargs, "keyword names")
        reserved = sorted(set(self.model_kwargs) & set(_DATA_MODEL_KWARGS))
        if reserved:
            raise ValueError(
                f"model_kwargs must not set {', '.join(reserved)} (they come from the data set)"
            )
        unknown = sorted(set(self.model_kwargs) - set(MODEL_OPTIONS))
        if unknown:
            raise ValueError(
                f"model_kwargs has unknown keys {', '.join(unknown)}; allowed: {', '.join(MODEL_OPTIONS)}"
            )
        dataset_record(self.dataset)  # a built-in or registered data set; the message lists them
        self.dataset_kwargs = _mapping("dataset_kwargs", self.dataset_kwargs, "option names")
        check_dataset_kwargs(self.dataset, self.dataset_kwargs)
        for name in ("data_dir", "checkpoint_dir", "output_dir"):
            v = getattr(self, name)
            if isinstance(v, os.PathLike):
                setattr(self, name, os.fspath(v))
            elif v is not None and (not isinstance(v, str) or not v):
                raise ValueError(f"{name} must be a non-empty path string or None, got {v!r}")
        if self.augment is not None:
            check_bool("augment", self.augment)
        for name in ("deterministic", "resume", "overwrite", "progress"):
            check_bool(name, getattr(self, name))
        for name, low in (
            ("time_steps", 1),
            ("epochs", 1),
            ("batch_size", 1),
            ("seed", 0),
            ("num_workers", 0),
            ("eval_every", 1),
        ):
            check_int(name, getattr(self, name), min=low)
        for name in ("eval_batch_size", "threads"):
            v = getattr(self, name)
            if v is not None:
                try:
                    check_int(name, v, min=1)
                except ValueError:
                    raise ValueError(f"{name} must be an integer >= 1 or None, got {v!r}") from None
        check_real("lr", self.lr, min=0, min_open=True)
        check_real("momentum", self.momentum, min=0, max=1, max_open=True)
        check_real("weight_decay", self.weight_decay, min=0)
        check_real("lambda_sr", self.lambda_sr, min=0)
        check_real("sr_target", self.sr_target, min=0, max=1)
        check_choice("ede_schedule", self.ede_schedule, EDE_SCHEDULES)
        d = self.device
        if not isinstance(d, str) or not (
            d in ("auto", "cpu", "cuda") or (d.startswith("cuda:") and d[5:].isdigit())
        ):
            raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {d!r}")

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
        unknown = sorted(set(values) - set(cls.field_names()), key=str)
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
        return cls.from_dict(read_mapping(path, "configuration file"))

    def to_dict(self) -> dict:
        """The configuration as plain, JSON- and YAML-serialisable values."""
        return json.loads(json.dumps(asdict(self)))

    def build_model(self, info) -> nn.Module:
        """The configured model for a data set described by ``info`` (``qsnn.data.dataset_info``).

        ``qsnn.models.build(model, num_classes, in_channels, input_size, **model_kwargs)`` with the
        class count, channels and resolution taken from ``info``.
        """
        return models.build(
            self.model,
            num_classes=info.num_classes,
            in_channels=info.in_channels,
            input_size=tuple(info.input_size),
            **self.model_kwargs,
        )


def config_differences(recorded: dict, config: TrainConfig) -> dict[str, tuple]:
    """The fields in which a recorded configuration (a run's ``config.yaml``, a checkpoint's ``config``)
    and ``config`` train different numbers: ``{field: (recorded value, value in config)}``.

    A field the record lacks (one added to :class:`TrainConfig` after the run) counts with its default,
    and the fields of :data:`RESUMABLE_DIFFERENCES` (where the run writes, how many threads, ...) are
    ignored, so a run stays current until a setting that changes its numbers changes.
    """
    defaults = TrainConfig().to_dict()
    now = config.to_dict()
    out = {}
    for key in sorted(set(recorded) | set(now)):
        if key in RESUMABLE_DIFFERENCES:
            continue
        was = recorded.get(key, defaults.get(key))
        if was != now.get(key):
            out[key] = (was, now.get(key))
    return out


def _mapping(name: str, value, keys: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ValueError(f"{name} must be a mapping of {keys} to values, got {value!r}")
    return dict(value)
