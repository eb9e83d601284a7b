"""The files a run writes and the folders it holds, checked before the first epoch so that no
finished work is lost.

``checkpoint_dir`` receives ``last.pt`` after every epoch; ``output_dir`` receives ``config.yaml``
when the run starts, and ``model.pt`` then ``metrics.json`` when it ends (``metrics.json`` last, so
its presence means a finished run). Before anything is loaded or trained, every configured folder is
created and tried for writing, and held with a lock file (``qsnn._core.lock``) for the duration of
the run: a second run on the same folder stops at once with a message naming the folder and the
holder. A run that does not resume refuses to replace an earlier run's ``last.pt``, ``metrics.json``
or ``model.pt`` unless ``overwrite: true`` says so.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import yaml

from .._core.lock import hold_folder, held_here
from .._core.atomic import atomic_write_text
from ..checkpoint import save_checkpoint
from .config import TrainConfig

__all__ = [
    "CHECKPOINT_NAME",
    "CHECKPOINT_FORMAT",
    "OutputFolderError",
    "RunFolders",
    "check_folder",
    "hold_outputs",
    "write_config",
    "write_results",
]

CHECKPOINT_NAME = "last.pt"
CHECKPOINT_FORMAT = "qsnn.train/1"
CONFIG_NAME = "config.yaml"
METRICS_NAME = "metrics.json"
MODEL_NAME = "model.pt"


class OutputFolderError(ValueError):
    """An output location cannot be used, or holds an earlier run's work that must not be replaced."""


@dataclass(frozen=True)
class RunFolders:
    """The folders of one run (None where not configured) and its checkpoint file."""

    output: Path | None
    checkpoint: Path | None

    @property
    def checkpoint_file(self) -> Path | None:
        return None if self.checkpoint is None else self.checkpoint / CHECKPOINT_NAME


def check_folder(name: str, path: str) -> Path:
    """Create ``path`` if missing and make sure a file can be written in it; return it.

    Raises
    ------
    OutputFolderError
        If ``path`` (or a folder above it) is a file, cannot be created, or is not writable; the
        message names the setting and the path.
    """
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise OutputFolderError(f"{name} {folder} is a file, not a folder; remove it or choose another {name}")
    above = folder
    while not above.exists() and above != above.parent:
        above = above.parent
    if above.exists() and not above.is_dir():
        raise OutputFolderError(f"{name} {folder} cannot be created: {above} is a file; choose another {name}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # Writing is the only reliable test: permission bits do not bind root, read-only mounts do.
        with tempfile.TemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise OutputFolderError(
            f"{name} {folder} is not a writable folder ({exc.strerror or exc}); choose another {name}"
        ) from exc
    return folder


def _refuse_existing(config: TrainConfig, folders: RunFolders) -> None:
    if config.overwrite:
        return
    ckpt = folders.checkpoint_file
    resuming = config.resume and ckpt is not None and ckpt.is_file()
    if ckpt is not None and ckpt.exists() and not config.resume:
        raise OutputFolderError(
            f"{ckpt} holds the checkpoint of an earlier run and resume is false; set resume: true to "
            f"continue it (its configuration must match), overwrite: true to replace it, or choose "
            f"another checkpoint_dir"
        )
    if folders.output is not None and not resuming:
        found = [n for n in (METRICS_NAME, MODEL_NAME) if (folders.output / n).exists()]
        if found:
            raise OutputFolderError(
                f"{folders.output} already holds the results of a run ({', '.join(found)}); set "
                f"overwrite: true to replace them, or choose another output_dir"
            )


@contextlib.contextmanager
def hold_outputs(config: TrainConfig) -> Iterator[RunFolders]:
    """Check, create and hold the run's folders for the ``with`` block (see the module notes).

    Raises
    ------
    OutputFolderError
        A folder cannot be used, or would lose an earlier run's files.
    RuntimeError
        ``FolderBusyError``: another live process holds one of the folders.
    """
    created = []  # folders this run made: removed again if it stops before writing anything into them
    output = checkpoint = None
    for name in ("output_dir", "checkpoint_dir"):
        path = getattr(config, name)
        if path is not None:
            missing = [p for p in (Path(path), *Path(path).parents) if not p.exists()]
            folder = check_folder(name, path)
            created += missing
            if name == "output_dir":
                output = folder
            else:
                checkpoint = folder
    folders = RunFolders(output, checkpoint)
    with contextlib.ExitStack() as stack:
        stack.callback(_remove_if_empty, created)
        held = set()
        for folder in (output, checkpoint):
            if folder is None or folder.resolve() in held:
                continue
            held.add(folder.resolve())
            if not held_here(folder):  # a caller of fit (an experiment runner) may hold it already
                stack.enter_context(hold_folder(folder, "qsnn.train"))
        _refuse_existing(config, folders)
        yield folders


def _remove_if_empty(folders: list[Path]) -> None:
    """Remove the folders a run created, deepest first, where they are still empty (a run that stopped before
    its first result leaves no empty folder behind; a folder holding anything stays)."""
    for folder in sorted(set(folders), key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):
            folder.rmdir()


def write_config(folder: Path, config: TrainConfig) -> None:
    """``config.yaml``: the configuration, loadable by :meth:`~qsnn.train.TrainConfig.from_yaml`."""
    atomic_write_text(folder / CONFIG_NAME, yaml.safe_dump(config.to_dict(), sort_keys=False))


def write_results(folder: Path, summary: dict, model_state: dict, config: TrainConfig) -> Path:
    """``model.pt`` (the model's state dict, on the CPU) and then ``metrics.json``; returns the latter.

    ``model.pt`` holds the weights alone, as in a grid's run folder, so one loader
    (:func:`qsnn.experiments.load_run`) reads both; the configuration is ``config.yaml`` beside it.
    """
    state = {k: v.detach().cpu().clone() for k, v in model_state.items()}
    save_checkpoint(state, folder / MODEL_NAME)
    metrics = folder / METRICS_NAME
    atomic_write_text(metrics, json.dumps(summary, indent=2) + "\n")
    return metrics
