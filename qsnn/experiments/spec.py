"""A declarative experiment: one base training configuration, named arms that override it, and seeds.

Every arm is trained on every seed (a paired design): arm ``a`` with seed ``k`` and arm ``b`` with seed
``k`` share the initialisation stream and the data order wherever their configurations agree, so the
difference of their results per seed isolates what the arms change. An experiment is written as YAML::

    name: ablation                 # optional, default: the folder holding the file
    base:                          # a TrainConfig mapping (qsnn.train.TrainConfig.from_dict)
      model: small
      model_kwargs: {widths: [8, 16, 32], weight_bits: 1, membrane_bits: 2}
      epochs: 20
    arms:                          # name: overrides of base (dotted keys reach into mappings)
      fp_snn: {model_kwargs.weight_bits: 32, model_kwargs.membrane_bits: null, lambda_sr: 0.0}
      qsnn_wsdr: {}
    seeds: [0, 1, 2]
    compare: [[qsnn_wsdr, fp_snn]] # optional: pairs (a, b) whose paired difference a - b the summary shows
"""

from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from .._core.yamlio import apply_overrides, read_mapping

__all__ = ["Experiment", "RUN_SETTINGS"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_KEYS = ("name", "base", "arms", "seeds", "compare")
#: Configuration fields an experiment decides itself: a run never writes checkpoints or output folders
#: of its own (the run folder is its output), and never draws a progress bar per epoch (the runner does).
RUN_SETTINGS = {"checkpoint_dir": None, "resume": False, "output_dir": None, "progress": False}


def _train_config():
    from ..train import TrainConfig  # torch is imported only when a configuration is built

    return TrainConfig


@dataclass(frozen=True)
class Experiment:
    """Arms x seeds of training runs, all derived from one base configuration.

    Parameters
    ----------
    name : str
        A plain name (letters, digits, ``_ . -``).
    base : mapping
        Fields of :class:`qsnn.train.TrainConfig` shared by every run (``seed`` is set per run).
    arms : mapping of str to mapping
        Arm name -> overrides of ``base`` (dotted keys such as ``model_kwargs.membrane_bits``).
    seeds : sequence of int
        Seeds every arm is trained with (distinct, >= 0).
    compare : sequence of (str, str)
        Arm pairs ``(a, b)`` whose paired difference ``a - b`` the summary reports (default: every other
        arm against the first).

    Raises
    ------
    ValueError
        For a bad name, no arms, an arm name that is not a plain name, duplicate or negative seeds, a
        comparison of unknown arms, or an arm whose configuration is invalid (the message names the arm).
    """

    name: str
    base: Mapping[str, Any]
    arms: Mapping[str, Mapping[str, Any]]
    seeds: Sequence[int]
    compare: Sequence[tuple[str, str]] = field(default=())

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValueError(f"experiment name must be a plain name (letters, digits, _ . -), got {self.name!r}")
        if not isinstance(self.base, Mapping):
            raise ValueError(f"base must be a mapping of TrainConfig fields, got {type(self.base).__name__}")
        if "seed" in self.base:
            raise ValueError("base must not set seed: the experiment's seeds set it per run")
        if not isinstance(self.arms, Mapping) or not self.arms:
            raise ValueError("an experiment needs at least one arm: arms: {name: {overrides}}")
        for arm, overrides in self.arms.items():
            if not isinstance(arm, str) or not _NAME.match(arm):
                raise ValueError(f"arm names must be plain names (letters, digits, _ . -), got {arm!r}")
            if not isinstance(overrides, Mapping):
                raise ValueError(f"arm {arm}: overrides must be a mapping (use {{}} for none), got {overrides!r}")
            if any(str(k).split(".")[0] == "seed" for k in overrides):
                raise ValueError(f"arm {arm} must not set seed: the experiment's seeds set it per run")
        seeds = list(self.seeds) if isinstance(self.seeds, (list, tuple)) else None
        if not seeds or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds):
            raise ValueError(f"seeds must be a non-empty list of integers >= 0, got {self.seeds!r}")
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds must be distinct, got {seeds}")
        pairs = []
        for pair in self.compare:
            if not isinstance(pair, (list, tuple)) or len(pair) != 2 or any(p not in self.arms for p in pair):
                raise ValueError(f"compare takes pairs of arm names among {list(self.arms)}, got {pair!r}")
            pairs.append((str(pair[0]), str(pair[1])))
        object.__setattr__(self, "base", copy.deepcopy(dict(self.base)))
        object.__setattr__(self, "arms", {str(k): copy.deepcopy(dict(v)) for k, v in self.arms.items()})
        object.__setattr__(self, "seeds", tuple(seeds))
        object.__setattr__(self, "compare", tuple(pairs))
        for arm in self.arms:  # every run's configuration is valid before anything trains
            try:
                self.config(arm, self.seeds[0])
            except (ValueError, TypeError) as exc:
                raise ValueError(f"arm {arm}: {exc}") from None

    # -- construction -----------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], name: str | None = None) -> "Experiment":
        """Build from a mapping with keys ``name`` (optional if given here), ``base``, ``arms``, ``seeds``,
        ``compare`` (optional); unknown keys are refused."""
        if not isinstance(values, Mapping):
            raise ValueError(f"an experiment must be a mapping, got {type(values).__name__}")
        unknown = sorted(set(map(str, values)) - set(_KEYS))
        if unknown:
            raise ValueError(f"unknown experiment keys: {', '.join(unknown)}; allowed: {', '.join(_KEYS)}")
        missing = [k for k in ("arms", "seeds") if k not in values]
        if missing:
            raise ValueError(f"an experiment needs {' and '.join(missing)} (keys: {', '.join(_KEYS)})")
        return cls(
            name=values.get("name", name),
            base=values.get("base") or {},
            arms={k: (v or {}) for k, v in values["arms"].items()} if isinstance(values["arms"], Mapping)
            else values["arms"],
            seeds=values["seeds"],
            compare=values.get("compare") or (),
        )

    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> "Experiment":
        """Read an experiment file (see the module docstring); errors name the file.

        Raises
        ------
        FileNotFoundError
            If ``path`` is not a file.
        ValueError
            If the YAML is malformed or the experiment invalid.
        """
        path = Path(path)
        values = read_mapping(path, "experiment file")
        try:
            return cls.from_dict(values, name=path.parent.name if path.name == "experiment.yaml" else path.stem)
        except ValueError as exc:
            raise ValueError(f"experiment file {path}: {exc}") from None

    def to_dict(self) -> dict:
        """The experiment as plain values (``from_dict(to_dict())`` gives it back)."""
        out = {"name": self.name, "base": copy.deepcopy(dict(self.base)),
               "arms": copy.deepcopy({k: dict(v) for k, v in self.arms.items()}), "seeds": list(self.seeds)}
        if self.compare:
            out["compare"] = [list(p) for p in self.compare]
        return out

    def with_base(self, overrides: Mapping[str, Any] | None = None, seeds: Sequence[int] | None = None
                  ) -> "Experiment":
        """A copy with ``overrides`` (dotted keys) applied to the base and, if given, other seeds."""
        base = apply_overrides(copy.deepcopy(dict(self.base)), dict(overrides or {}), "override")
        return Experiment(self.name, base, self.arms, list(self.seeds if seeds is None else seeds), self.compare)

    # -- runs -------------------------------------------------------------------------------------

    def config_dict(self, arm: str, seed: int) -> dict:
        """The training configuration of run (``arm``, ``seed``) as a mapping."""
        if arm not in self.arms:
            raise KeyError(f"no arm {arm!r} in experiment {self.name}; arms: {', '.join(self.arms)}")
        values = apply_overrides(copy.deepcopy(dict(self.base)), copy.deepcopy(dict(self.arms[arm])),
                                 f"arm {arm}:")
        values.update(RUN_SETTINGS, seed=int(seed))
        return values

    def config(self, arm: str, seed: int):
        """The :class:`qsnn.train.TrainConfig` of run (``arm``, ``seed``)."""
        return _train_config().from_dict(self.config_dict(arm, seed))

    def runs(self) -> list[tuple[str, int]]:
        """Every (arm, seed), arm by arm in the order written."""
        return [(arm, seed) for arm in self.arms for seed in self.seeds]

    def comparisons(self) -> tuple[tuple[str, str], ...]:
        """``compare``, or every other arm against the first."""
        if self.compare:
            return self.compare
        first, *rest = list(self.arms)
        return tuple((arm, first) for arm in rest)
