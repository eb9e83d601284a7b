"""Running an experiment's grid into folders, one per run, resumable and safe against concurrent runners.

Layout under a root folder::

    <root>/<arm>/seed<k>/config.yaml    the run's TrainConfig (TrainConfig.from_yaml reads it)
                        /metrics.json   per-epoch history, final test_acc (a fraction), best epoch,
                                        the predicted class of the first PREDICTION_SLICE test images
                        /model.pt       the trained state dict (torch.load(..., weights_only=True))

A run is trained into a hidden folder ``<root>/<arm>/.seed<k>.partial-<pid>`` and renamed into place
only when all three files are written, so a folder ``seed<k>`` is always complete: a runner killed at any
moment leaves at most a partial folder, which the next runner of that run deletes. Each epoch of a run in
progress is checkpointed into ``<root>/<arm>/.seed<k>.checkpoint/``, from which the next runner of that run
resumes exactly; a killed runner loses at most the epoch it was training. Before training, a
runner claims the run (a lock held by its pid, ``qsnn._core.lock``); a second runner skips runs claimed by a
live process, so two runners of one grid share the work and never train a run twice. A claim left by a
killed runner is taken over.

A finished run is *stale* when the configuration its ``config.yaml`` records no longer matches the one
the grid gives it (the experiment file was edited after it was trained): :func:`status` says so,
:func:`run_experiment` refuses to train beside stale runs unless asked to retrain them (the stale folder is
then kept as ``<arm>/seed<k>.stale-<UTC time>/``), and :func:`qsnn.experiments.summarize` refuses to pool
them with current ones. Settings that do not change the numbers (``qsnn.train.RESUMABLE_DIFFERENCES``:
threads, folders, ...) and fields added to the configuration since, at their defaults, do not make a run
stale.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from .._core.jsonio import to_jsonable
from .._core.lock import FolderBusyError, acquire, is_held, release
from .spec import Experiment

__all__ = ["StaleRunsError", "stale_runs", "run_differences", "Run", "RunOutcome", "PREDICTION_SLICE", "locate_data",
           "slice_predictions", "run_folder", "checkpoint_folder", "run_experiment", "status", "load_run", "load_runs",
           "open_grid", "locate", "is_complete", "RUN_FILES"]

RUN_FILES = ("config.yaml", "metrics.json", "model.pt")


def run_folder(root: str | os.PathLike, arm: str, seed: int) -> Path:
    """``<root>/<arm>/seed<seed>``."""
    return Path(root) / arm / f"seed{int(seed)}"


def is_complete(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` holds a finished run (all of :data:`RUN_FILES`)."""
    folder = Path(folder)
    return folder.is_dir() and all((folder / name).is_file() for name in RUN_FILES)


class StaleRunsError(ValueError):
    """Finished runs were trained with another configuration than the grid now gives them (the message lists
    them with the differing settings and what to do)."""


def _recorded_config(folder: Path) -> dict:
    import yaml

    return yaml.safe_load((folder / "config.yaml").read_text(encoding="utf-8")) or {}


def run_differences(experiment: Experiment, root: str | os.PathLike, arm: str, seed: int) -> dict:
    """``{setting: (recorded, grid)}`` where the finished run (``arm``, ``seed``) under ``root`` was trained with
    other settings than ``experiment`` gives it now (empty: current); see ``qsnn.train.config_differences``."""
    from ..train.config import config_differences  # torch, only to train or load

    return config_differences(_recorded_config(run_folder(root, arm, seed)), experiment.config(arm, seed))


def stale_runs(experiment: Experiment, root: str | os.PathLike) -> dict:
    """``{(arm, seed): differences}`` of every finished run under ``root`` whose configuration is not the grid's."""
    out = {}
    for arm, seed in experiment.runs():
        if is_complete(run_folder(root, arm, seed)):
            differ = run_differences(experiment, root, arm, seed)
            if differ:
                out[(arm, seed)] = differ
    return out


def _describe_stale(stale: dict, limit: int = 6) -> str:
    def one(differ):
        return ", ".join(f"{k}: run {was!r}, grid {now!r}" for k, (was, now) in differ.items())

    lines = [f"{arm}/seed{seed} ({one(d)})" for (arm, seed), d in list(stale.items())[:limit]]
    more = len(stale) - limit
    return "; ".join(lines) + (f"; and {more} more" if more > 0 else "")


def _stale_error(stale: dict, root: Path, what: str) -> StaleRunsError:
    return StaleRunsError(
        f"{len(stale)} finished run(s) under {root} were trained with another configuration than the grid gives "
        f"them now: {_describe_stale(stale)}. {what}")


@dataclass(frozen=True)
class RunOutcome:
    """What a call of :func:`run_experiment` did with each run: lists of (arm, seed)."""

    trained: list
    skipped: list  # finished before this call
    busy: list  # claimed by another live runner
    copied: list  # the same configuration finished in another experiment (see ``reuse``)


PREDICTION_SLICE = 500
"""How many test images (the first, in file order) a run's ``metrics.json`` stores predictions for."""


def slice_predictions(model, config, count: int = PREDICTION_SLICE) -> list[int]:
    """The classes ``model`` predicts for the first ``count`` test samples of ``config``'s data set
    (fewer if the split is smaller), in order, in batches of 250."""
    from torch.utils.data import DataLoader, Subset

    from ..data import load_dataset  # torch, only to train or load
    from ..train import predict  # torch, only to train or load

    test = load_dataset(config.dataset, config.data_dir, "test", augment=False, seed=config.seed,
                        time_steps=config.time_steps, dataset_kwargs=config.dataset_kwargs)
    part = Subset(test, range(min(int(count), len(test))))
    return [int(c) for c in predict(model.cpu(), DataLoader(part, batch_size=250), config.time_steps)]


def _metrics(result, arm: str, seed: int, experiment: str, seconds: float) -> dict:
    history = [dict(r) for r in result.history]
    evaluated = [r for r in history if r.get("test_acc") is not None]
    best = max(evaluated, key=lambda r: r["test_acc"]) if evaluated else None
    return to_jsonable({
        "experiment": experiment,
        "arm": arm,
        "seed": int(seed),
        "test_acc": float(result.test_acc),
        "test_loss": float(result.test_loss),
        "test_rates": [float(r) for r in result.test_rates],
        "best_epoch": None if best is None else int(best["epoch"]),
        "best_test_acc": None if best is None else float(best["test_acc"]),
        "epochs": len(history),
        "train_seconds": float(seconds),
        "device": result.device,
        "history": history,
        "test_predictions": slice_predictions(result.model, result.config),
    })


def _write_run(folder: Path, config, result, metrics: dict) -> None:
    import torch
    import yaml

    (folder / "config.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=False), encoding="utf-8")
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n", encoding="utf-8")
    state = {k: v.detach().cpu().clone() for k, v in result.model.state_dict().items()}
    torch.save(state, folder / "model.pt")


def _claim(root: Path, arm: str, seed: int):
    claims = root / arm / f".seed{int(seed)}.claim"
    return acquire(claims, what=f"run {arm}/seed{seed}")


def _unclaim(lock: Path) -> None:
    release(lock)
    with contextlib.suppress(OSError):  # another runner may hold it again already: then it stays
        lock.parent.rmdir()


def checkpoint_folder(root: str | os.PathLike, arm: str, seed: int) -> Path:
    """``<root>/<arm>/.seed<seed>.checkpoint``: the per-epoch checkpoint of a run in progress."""
    return Path(root) / arm / f".seed{int(seed)}.checkpoint"


def _train_one(exp: Experiment, root: Path, arm: str, seed: int, on_epoch, retrain_stale: bool = False) -> dict:
    import dataclasses

    from ..train import fit  # torch, only to train or load
    from ..train.config import config_differences  # torch, only to train or load

    final = run_folder(root, arm, seed)
    for stale in final.parent.glob(f".seed{int(seed)}.partial-*"):  # left by a killed runner of this run
        shutil.rmtree(stale, ignore_errors=True)
    partial = final.parent / f".seed{int(seed)}.partial-{os.getpid()}"
    partial.mkdir(parents=True)
    # Every epoch is checkpointed beside the run, so a runner that is stopped loses at most the epoch in
    # flight: the next runner of this run resumes from it exactly (fit checks that the configuration is
    # the same). The checkpoint goes when the run lands.
    checkpoint = checkpoint_folder(root, arm, seed)
    config = exp.config(arm, seed)
    saved = checkpoint / "last.pt"
    if saved.is_file():  # a run in progress of another configuration is stale too
        from ..checkpoint import load_checkpoint  # torch, only to train or load

        differ = config_differences(load_checkpoint(saved).get("config", {}), config)
        if differ and not retrain_stale:
            shutil.rmtree(partial, ignore_errors=True)
            raise _stale_error({(arm, seed): differ}, root, "Its checkpoint holds epochs of the earlier configuration: "
                               "train the changed grid into a fresh folder (--root), or with --retrain-stale, "
                               "which keeps the checkpoint as <arm>/seed<k>.stale-<UTC time>/.")
        if differ:
            _set_aside(checkpoint)
    try:
        trained_here = []

        def callback(record):
            trained_here.append(record["epoch"])
            if on_epoch is not None:
                on_epoch(arm, seed, record)

        start = time.perf_counter()
        result = fit(dataclasses.replace(config, checkpoint_dir=str(checkpoint), resume=True), on_epoch=callback)
        seconds = time.perf_counter() - start
        earlier = result.history[: len(result.history) - len(trained_here)]
        seconds += sum(r["epoch_time"] for r in earlier)  # epochs trained by an earlier runner
        result.config = config  # the run folder records the run's own configuration, not its checkpoint's
        metrics = _metrics(result, arm, seed, exp.name, seconds)
        if earlier:
            metrics["resumed_after_epoch"] = len(earlier)
        _write_run(partial, config, result, metrics)
        if final.exists():  # an incomplete folder (files deleted by hand): this runner holds the claim
            shutil.rmtree(final)
        os.rename(partial, final)  # the one step that makes the run visible, all files at once
        shutil.rmtree(checkpoint, ignore_errors=True)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return metrics


def _find_same(config, roots) -> Path | None:
    """A finished run folder under one of ``roots`` trained with ``config`` (up to settings that do not change
    the numbers)."""
    from ..train.config import config_differences  # torch, only to train or load

    for root in roots:
        for folder in sorted(Path(root).glob(f"*/seed{config.seed}")):
            if is_complete(folder) and not config_differences(_recorded_config(folder), config):
                return folder
    return None


def _copy_one(exp: Experiment, root: Path, arm: str, seed: int, source: Path) -> None:
    final = run_folder(root, arm, seed)
    partial = final.parent / f".seed{int(seed)}.partial-{os.getpid()}"
    try:
        shutil.copytree(source, partial, ignore=shutil.ignore_patterns(".*"))
        metrics = json.loads((partial / "metrics.json").read_text(encoding="utf-8"))
        metrics.update(experiment=exp.name, arm=arm, copied_from=f"{source.parent.parent.name}/"
                       f"{source.parent.name}/{source.name}")
        (partial / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n", encoding="utf-8")
        if final.exists():
            shutil.rmtree(final)
        os.rename(partial, final)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def run_experiment(
    experiment: Experiment,
    root: str | os.PathLike,
    *,
    on_epoch: Callable[[str, int, dict], None] | None = None,
    on_run: Callable[[str, int, str], None] | None = None,
    reuse: Sequence[str | os.PathLike] = (),
    retrain_stale: bool = False,
) -> RunOutcome:
    """Train every run of ``experiment`` that is not finished under ``root``; resumable.

    Runs are trained seed by seed (every arm of seed k before seed k+1), so a grid stopped half-way holds
    complete pairs.

    Parameters
    ----------
    experiment : Experiment
    root : path
        Folder of the run folders ``<root>/<arm>/seed<k>/`` (created if missing).
    on_epoch : callable, optional
        ``on_epoch(arm, seed, record)`` after every epoch of a run being trained (``record`` as in
        :attr:`qsnn.train.TrainResult.history`).
    on_run : callable, optional
        ``on_run(arm, seed, what)`` once per run, ``what`` one of ``"trained"``, ``"copied"``,
        ``"skipped"`` (finished earlier) or ``"busy"`` (claimed by another live runner).
    reuse : sequence of paths
        Roots of other experiments: a finished run there with this run's configuration is copied
        instead of trained again (training is deterministic, so it is the same run; ``metrics.json``
        records ``copied_from``).
    retrain_stale : bool
        Train stale runs (see the module notes) again; each stale folder, and a checkpoint of another
        configuration, is first renamed to ``<arm>/seed<k>.stale-<UTC time>`` (kept, never deleted).
        False: stale runs stop the call before anything is trained.

    Returns
    -------
    RunOutcome

    Raises
    ------
    StaleRunsError
        Without ``retrain_stale``, when finished runs under ``root`` (or a checkpoint of a run in
        progress) were trained with another configuration; the message lists them.
    """
    if not isinstance(experiment, Experiment):
        raise TypeError(f"experiment must be an Experiment, got {type(experiment).__name__}")
    if not isinstance(retrain_stale, bool):
        raise TypeError(f"retrain_stale must be True or False, got {retrain_stale!r}")
    root = Path(root)
    stale = stale_runs(experiment, root) if root.is_dir() else {}
    if stale and not retrain_stale:
        raise _stale_error(stale, root, "Train the changed grid into a fresh folder (--root), or train these runs "
                                        "again with --retrain-stale (retrain_stale=True), which keeps each old "
                                        "folder as <arm>/seed<k>.stale-<UTC time>/.")
    root.mkdir(parents=True, exist_ok=True)
    outcome = RunOutcome([], [], [], [])
    # Seed by seed (every arm of a seed before the next seed), so that whatever part of a grid has finished
    # holds complete pairs for the paired comparisons.
    for arm, seed in [(arm, seed) for seed in experiment.seeds for arm in experiment.arms]:
        what = "skipped"
        if (arm, seed) in stale or not is_complete(run_folder(root, arm, seed)):
            try:
                lock = _claim(root, arm, seed)
            except FolderBusyError:
                what = "busy"
            else:
                try:
                    folder = run_folder(root, arm, seed)
                    if (arm, seed) in stale and is_complete(folder) and run_differences(experiment, root, arm, seed):
                        _set_aside(folder)
                    if not is_complete(folder):  # checked again, now that we hold it
                        same = _find_same(experiment.config(arm, seed), reuse) if reuse else None
                        if same is not None:
                            _copy_one(experiment, root, arm, seed, same)
                            what = "copied"
                        else:
                            _train_one(experiment, root, arm, seed, on_epoch, retrain_stale)
                            what = "trained"
                finally:
                    _unclaim(lock)
        getattr(outcome, what).append((arm, seed))
        if on_run is not None:
            on_run(arm, seed, what)
    return outcome


def _set_aside(path: Path) -> Path:
    """Rename ``path`` (a stale run folder or checkpoint) to ``<arm>/seed<k>.stale-<UTC time>``; return it."""
    import datetime as dt

    stem = path.name.lstrip(".").removesuffix(".checkpoint")
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    target = path.parent / f"{stem}.stale-{stamp}"
    os.rename(path, target)
    return target


def status(experiment: Experiment, root: str | os.PathLike) -> dict:
    """``{(arm, seed): "done" | "stale" | "running" | "missing"}`` for every run of ``experiment`` under ``root``
    ("stale": finished with another configuration than the grid now gives it, see :func:`run_differences`)."""
    out = {}
    for arm, seed in experiment.runs():
        if is_complete(run_folder(root, arm, seed)):
            out[(arm, seed)] = "stale" if run_differences(experiment, root, arm, seed) else "done"
        else:
            out[(arm, seed)] = "running" if is_held(Path(root) / arm / f".seed{int(seed)}.claim") else "missing"
    return out


@dataclass
class Run:
    """A finished run read back from its folder.

    Attributes
    ----------
    folder : pathlib.Path
    config : qsnn.train.TrainConfig
    metrics : dict
        The run's ``metrics.json`` (``metrics["test_acc"]`` is the final test accuracy as a fraction).
    model : torch.nn.Module
        Built from ``config``, weights loaded, in eval mode, on the CPU.
    """

    folder: Path
    config: Any
    metrics: dict
    model: Any


def build_model(config):
    """The untrained network of ``config`` (its data set decides classes, channels and input size): the one
    :meth:`qsnn.train.TrainConfig.build_model` builds for the data set's description."""
    from ..data import dataset_info  # torch, only to train or load

    return config.build_model(dataset_info(config.dataset, config.dataset_kwargs))


def _read_weights(path: Path) -> dict:
    """The state dict in ``path``: a plain state dict (every run folder), or the ``{"model": ..., "config": ...}``
    form that ``python -m qsnn.train`` wrote before it wrote plain state dicts."""
    import torch

    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise ValueError(f"it holds a {type(state).__name__}, not a state dict")
    if isinstance(state.get("model"), dict) and not isinstance(state.get("model"), torch.Tensor):
        state = state["model"]
    return state


def load_run(folder: str | os.PathLike) -> Run:
    """Read a finished run folder: one written by :func:`run_experiment` or by :func:`qsnn.train.fit` with an
    ``output_dir`` (``python -m qsnn.train``).

    The folder holds ``config.yaml``, ``metrics.json`` and ``model.pt`` (a state dict, loaded with
    ``torch.load(..., weights_only=True)``: nothing but tensors is unpickled).

    Raises
    ------
    FileNotFoundError
        If ``folder`` is not a finished run (the message names the missing files).
    ValueError
        If its configuration is invalid or its weights do not fit the model the configuration builds; the
        folder is left as it is.
    """
    from ..train import TrainConfig  # torch, only to train or load

    folder = Path(folder)
    missing = [name for name in RUN_FILES if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{folder} is not a finished run: {', '.join(missing)} missing; a run is finished "
                                f"when {', '.join(RUN_FILES)} are all there (python -m qsnn.experiments run "
                                f"SPEC.yaml or python -m qsnn.train write them)")
    config = TrainConfig.from_yaml(folder / "config.yaml")
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    model = build_model(config)
    try:
        model.load_state_dict(_read_weights(folder / "model.pt"))
    except Exception as exc:  # torch raises RuntimeError, UnpicklingError, EOFError, ... for a file it cannot use
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ValueError(f"{folder / 'model.pt'} does not hold the weights of the model its config.yaml builds "
                         f"({type(exc).__name__}: {detail}); the folder was left as it is. Check that config.yaml "
                         f"is the configuration these weights were trained with (model, model_kwargs, dataset), "
                         f"or load the weights by hand with torch.load(..., weights_only=True)") from None
    return Run(folder=folder, config=config, metrics=metrics, model=model.eval())


def load_runs(experiment: Experiment, root: str | os.PathLike, *, finished_only: bool = False) -> dict:
    """``{arm: [Run per seed, in the experiment's seed order]}``; every run must be finished, or with
    ``finished_only`` the finished ones are read and the others left out (an arm may then have fewer runs than
    seeds, or none; ``run.config.seed`` says which seed a run is)."""
    return {arm: [load_run(run_folder(root, arm, s)) for s in experiment.seeds
                  if not finished_only or is_complete(run_folder(root, arm, s))] for arm in experiment.arms}


def locate(path: str | os.PathLike) -> Path:
    """``path`` if it exists; a relative one not found in the current directory is looked up in the folders
    above it, as ``<folder>/<path>`` and ``<folder>/book/<path>`` (a chapter executed by ``python -m qsnn.book
    chapter`` runs in a fresh folder under the repository, not in the book's folder).

    Raises
    ------
    FileNotFoundError
        If no such file or folder exists (the message names what was looked for).
    """
    path = Path(path)
    if path.exists() or path.is_absolute():
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist")
        return path
    folders = [Path.cwd(), *Path.cwd().parents]
    if os.environ.get("QSNN_BOOK"):  # set by python -m qsnn.book for the chapter it executes
        book = Path(os.environ["QSNN_BOOK"])
        folders += [book, book.parent]
    for folder in folders:
        for candidate in (folder / path, folder / "book" / path):
            if candidate.exists():
                return candidate
    raise FileNotFoundError(f"{path} not found in the current directory, the folders above it, their book/ "
                            f"folders, or the book of the chapter being run (QSNN_BOOK)")


def locate_data(data_dir: str | os.PathLike | None = None) -> Path:
    """The folder a chapter reads data sets from: ``data_dir`` when given, else the repository's ``data/``
    (found by :func:`locate`, from the book or from a run folder beside it), else ``data`` relative to the current
    directory (where there is no such folder the loaders also look in the folders of the Debian packages)."""
    if data_dir is not None:
        return Path(data_dir)
    try:
        return locate("data")
    except FileNotFoundError:
        return Path("data")


def open_grid(spec: str | os.PathLike, *, retrain: bool = False, root: str | os.PathLike | None = None,
              overrides: dict | None = None, reuse: Sequence[str | os.PathLike] = (),
              finished_only: bool = False) -> tuple[Experiment, dict]:
    """The experiment of ``spec`` and its finished runs ``{arm: [Run per seed]}``, as a chapter reads them.

    ``retrain=False`` reads the runs committed beside ``spec``: all must be finished, or with ``finished_only``
    those that are (a grid whose runs are still being trained; see :func:`load_runs`). ``retrain=True``
    trains the grid, with ``overrides`` (dotted keys) applied to every run's configuration, into
    ``<root>/<name>`` (resumable) or, without ``root``, into a fresh temporary folder.

    Raises
    ------
    ValueError
        For ``overrides`` without ``retrain`` (committed runs have the committed configuration).
    FileNotFoundError
        If ``retrain=False`` and a run is not finished (the message says how to train it), unless
        ``finished_only``.
    """
    import tempfile

    spec = locate(spec)
    exp = Experiment.from_yaml(spec)
    if not retrain:
        if overrides:
            raise ValueError(f"overrides {overrides!r} change the runs, but the committed runs beside {spec} were "
                             f"trained without them: set retrain=True to train the changed grid")
        root = spec.parent
        missing = [f"{a}/seed{s}" for a, s in exp.runs() if not is_complete(run_folder(root, a, s))]
        if missing and not finished_only:
            raise FileNotFoundError(f"{spec.parent} lacks the finished runs {', '.join(missing)}: train them with "
                                    f"python -m qsnn.experiments run {spec}, or set retrain=True")
    else:
        exp = exp.with_base(overrides or {})
        root = Path(tempfile.mkdtemp(prefix=f"qsnn-{exp.name}-")) if root is None else Path(root) / exp.name
        run_experiment(exp, root, reuse=reuse)
    return exp, load_runs(exp, root, finished_only=finished_only)
