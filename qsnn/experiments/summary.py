"""Summaries of a finished grid: per arm mean, standard deviation and per-seed values, and paired differences.

Arms share seeds, so the difference of two arms is taken seed by seed, ``d_k = a_k - b_k``; its mean has the
95 % confidence interval ``mean(d) +- t_{0.975, n-1} * sd(d) / sqrt(n)`` (Student's t over the n common
seeds, sample standard deviation). Pairing removes the variance that two arms share through a seed (the
initialisation and the data order), which an unpaired comparison of the two means would keep.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

from ..stats import arm_summary, mean_std, paired_difference  # noqa: F401  (re-exported by qsnn.experiments)
from .runs import _stale_error, is_complete, run_folder, stale_runs
from .spec import Experiment

__all__ = ["summarize", "format_summary", "read_metric", "learning_curves",
           "format_curves"]


def read_metric(experiment: Experiment, root: str | os.PathLike, metric: str = "test_acc") -> dict:
    """``{arm: {seed: value}}`` of ``metric`` from every finished run's ``metrics.json`` (others left out).

    Raises
    ------
    StaleRunsError
        If a finished run was trained with another configuration than the grid gives it now: values of two
        configurations are never pooled (the message lists the runs and the settings that differ).
    """
    import json

    stale = stale_runs(experiment, root)
    if stale:
        raise _stale_error(stale, Path(root), "Their values are not pooled with those of the grid as written: "
                                              "retrain them (python -m qsnn.experiments run SPEC --retrain-stale), "
                                              "or summarise the grid they were trained with.")

    out: dict = {}
    for arm, seed in experiment.runs():
        folder = run_folder(root, arm, seed)
        if is_complete(folder):
            metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
            if metric not in metrics:
                raise KeyError(f"{folder / 'metrics.json'} has no {metric!r}; it has {', '.join(metrics)}")
            out.setdefault(arm, {})[seed] = metrics[metric]
    return out


def summarize(experiment: Experiment, root: str | os.PathLike, metric: str = "test_acc",
              pairs: Sequence[tuple[str, str]] | None = None) -> dict:
    """``{"metric", "arms": {arm: arm_summary}, "differences": {"a - b": paired_difference}}`` of the
    finished runs (arms without a finished run are left out; so are comparisons that need them).

    Raises
    ------
    StaleRunsError
        If finished runs of another configuration than the grid's are among them (see :func:`read_metric`).
    """
    values = read_metric(experiment, root, metric)
    arms = {arm: arm_summary(v) for arm, v in values.items()}
    diffs = {}
    for a, b in (experiment.comparisons() if pairs is None else pairs):
        if a in values and b in values and any(s in values[b] for s in values[a]):
            diffs[f"{a} - {b}"] = paired_difference(values[a], values[b])
    return {"metric": metric, "arms": arms, "differences": diffs}


def format_summary(summary: dict, scale: float = 100.0, unit: str = "%") -> str:
    """A plain-text table of :func:`summarize`'s result (values times ``scale``)."""
    def f(x):
        return "-" if x is None else f"{scale * x:.2f}"

    lines = [f"{'arm':<16} {'n':>2}  {'mean +- std':>16}  per seed"]
    for arm, s in summary["arms"].items():
        seeds = "  ".join(f"{k}: {f(v)}" for k, v in s["per_seed"].items())
        lines.append(f"{arm:<16} {s['n']:>2}  {f(s['mean']):>7} +- {f(s['std']):<6}  {seeds}")
    if summary["differences"]:
        lines.append("")
        lines.append(f"{'paired difference':<28} {'n':>2}  {'mean':>7}  95 % confidence interval")
        for name, d in summary["differences"].items():
            ci = "- (one seed)" if d["ci"] is None else f"[{f(d['ci'][0])}, {f(d['ci'][1])}]"
            lines.append(f"{name:<28} {d['n']:>2}  {f(d['mean']):>7}  {ci}")
    return "\n".join(lines) + (f"\n(values in {unit})" if unit else "")


def learning_curves(experiment: Experiment, root: str | os.PathLike) -> dict:
    """Per finished run, the test accuracy after each evaluated epoch and what the run cost.

    Returns
    -------
    dict
        ``{arm: {seed: {"epochs": [e, ...], "test_acc": [a, ...], "final": a_last, "plateau_gap": a_last -
        a_before_last (None with one evaluation), "core_minutes": train_seconds * threads / 60}}}`` for every
        finished run. ``core_minutes`` is wall time times the run's thread count: on a machine shared with
        other work it is an upper bound of the CPU time.

    Raises
    ------
    StaleRunsError
        If a finished run was trained with another configuration than the grid's (see :func:`read_metric`).
    """
    import json

    stale = stale_runs(experiment, root)
    if stale:
        raise _stale_error(experiment, root, stale)
    out: dict = {}
    for arm, seed in experiment.runs():
        folder = run_folder(root, arm, seed)
        if not is_complete(folder):
            continue
        metrics = json.loads((Path(folder) / "metrics.json").read_text(encoding="utf-8"))
        evaluated = [r for r in metrics["history"] if r.get("test_acc") is not None]
        acc = [float(r["test_acc"]) for r in evaluated]
        threads = experiment.config(arm, seed).threads or 1
        out.setdefault(arm, {})[seed] = {
            "epochs": [int(r["epoch"]) for r in evaluated],
            "test_acc": acc,
            "final": acc[-1],
            "plateau_gap": acc[-1] - acc[-2] if len(acc) > 1 else None,
            "core_minutes": float(metrics["train_seconds"]) * threads / 60.0,
        }
    return out


def format_curves(curves: Mapping, scale: float = 100.0) -> str:
    """A plain-text table of :func:`learning_curves`: one line per run, accuracy (in %) after each evaluation."""
    lines = [f"{'arm':<16} {'seed':>4}  {'core-min':>8}  {'final':>6}  {'last step':>9}  test accuracy per evaluation"]
    for arm, seeds in curves.items():
        for seed, c in seeds.items():
            gap = "-" if c["plateau_gap"] is None else f"{scale * c['plateau_gap']:+z.2f}"
            per = " ".join(f"{scale * a:.2f}" for a in c["test_acc"])
            lines.append(f"{arm:<16} {seed:>4}  {c['core_minutes']:>8.1f}  {scale * c['final']:>6.2f}  {gap:>9}  {per}")
    return "\n".join(lines)
