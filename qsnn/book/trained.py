"""What the training chapters read from the runs of a grid: the grids themselves, the setting they trained,
per-arm metrics, firing rates per layer, the entropy of the regulated layers' spikes, late-epoch accuracy, mean
learning curves, loss shares, membrane-precision sweeps and training time.

A grid is what :func:`qsnn.experiments.open_grid` returns: the experiment and its finished runs
``{arm: [Run per seed, in the experiment's seed order]}``. The arms share their seeds, so every comparison is
paired seed by seed (:mod:`qsnn.stats`). The regulated layers are those between the first and the last spiking
layer: the spike-rate regularizer of Weight-Spike Dual Regulation leaves out both (Wei et al., "Q-SNNs:
Quantized Spiking Neural Networks", arXiv:2406.13672).

Plain NumPy on the runs' metrics; :mod:`qsnn.nn` (and so torch) is imported only where the binary entropy or
latent weights are needed.
"""

from __future__ import annotations

import os
from typing import Iterable, Mapping, Sequence

import numpy as np

from ..experiments import open_grid, summarize
from ..nn import binary_entropy, binary_layers, ede_t
from ..size import model_size
from ..stats import mean_std, with_holm

__all__ = ["open_grids", "setting_values", "final_ede_t", "per_arm", "test_rates", "model_sizes", "grid_differences",
           "regulated_rates", "regulated_layers_entropy", "regulated_entropy", "late_epoch_accuracy", "mean_curves",
           "loss_shares", "membrane_sweep_table", "membrane_setting", "training_seconds", "latent_rms"]


def open_grids(names: Sequence[str], *, retrain: bool = False, root: str | os.PathLike | None = None,
               overrides: dict | None = None, finished_only: bool = False) -> dict:
    """``{name: (experiment, runs)}`` of the grids ``experiments/<name>/experiment.yaml``, opened in order by
    :func:`qsnn.experiments.open_grid` with ``retrain``, ``root``, ``overrides`` and ``finished_only`` (read
    the committed runs finished so far, of grids still being trained).

    With ``retrain``, every grid reuses the runs of the grids opened before it: a run whose configuration equals
    one of theirs is copied, not trained again (a sweep that contains a run of the ablation trains it once).
    """
    if not names:
        raise ValueError("open_grids needs at least one grid")
    grids, shared = {}, []
    for name in names:
        experiment, runs = open_grid(f"experiments/{name}/experiment.yaml", retrain=retrain, root=root,
                                     overrides=overrides, reuse=list(shared) if retrain else (),
                                     finished_only=finished_only and not retrain)
        grids[name] = (experiment, runs)
        if retrain:
            shared.append(next(iter(runs.values()))[0].folder.parent.parent)  # <root>/<arm>/seed<k>
    return grids


def setting_values(config) -> dict:
    """The training setting a chapter quotes, from a run's :class:`qsnn.train.TrainConfig`: ``time_steps``,
    ``widths`` (as ``"8-16-32"``), ``membrane_bits``, ``epochs``, ``momentum``, ``lr`` and ``batch_size``."""
    return {"time_steps": config.time_steps, "widths": "-".join(map(str, config.model_kwargs["widths"])),
            "membrane_bits": config.model_kwargs["membrane_bits"], "epochs": config.epochs,
            "momentum": config.momentum, "lr": config.lr, "batch_size": config.batch_size}


def final_ede_t(run) -> float:
    """The sharpness ``t`` of the sign's estimator (EDE, :func:`qsnn.nn.ede_t`) in the last epoch of ``run``, from
    the schedule's progress its history recorded."""
    return ede_t(run.metrics["history"][-1]["ede_progress"])


def per_arm(runs: Mapping[str, Sequence], metric: str = "test_acc") -> dict:
    """``{arm: [metrics[metric] per seed]}``, in the order of the runs."""
    return {arm: [r.metrics[metric] for r in rs] for arm, rs in runs.items()}


def test_rates(runs: Mapping[str, Sequence]) -> dict:
    """``{arm: array [seeds, layers]}`` of the runs' test firing rates per spiking layer."""
    return {arm: np.array([r.metrics["test_rates"] for r in rs], dtype=float) for arm, rs in runs.items()}


def model_sizes(runs: Mapping[str, Sequence]) -> dict:
    """``{arm: size in MB}`` of each arm's network by the paper's convention (:func:`qsnn.size.model_size`: binary
    weights at one bit, everything else at 32); the seeds of an arm share the architecture, the first is measured."""
    return {arm: model_size(rs[0].model) for arm, rs in runs.items()}


def grid_differences(experiment, runs: Mapping[str, Sequence], primary: str, metric: str = "test_acc") -> dict:
    """The grid's paired differences (its ``compare`` pairs, or every arm against the first) of ``metric``, with
    p-values and the Holm adjustment of every comparison but ``primary`` (:func:`qsnn.stats.with_holm`).

    The values are read from the runs' folder by :func:`qsnn.experiments.summarize`, which refuses runs trained
    with another configuration than the grid's.
    """
    root = next(iter(runs.values()))[0].folder.parent.parent  # <root>/<arm>/seed<k>
    return with_holm(summarize(experiment, root, metric)["differences"], primary)


def regulated_rates(rates) -> np.ndarray:
    """The rates of the regulated layers, the spiking layers between the first and the last (those WS-DR's spike
    term pulls), from one network's rates per spiking layer; a network needs three spiking layers or more."""
    r = np.asarray(rates, dtype=float)
    if r.ndim != 1:
        raise ValueError(f"expected one network's rates, one per spiking layer (1-D), got shape {r.shape}")
    if r.size < 3:
        raise ValueError(f"a regulated layer needs >= 3 spiking layers, got {r.size} test rates")
    return r[1:-1]


def regulated_layers_entropy(rates) -> float:
    """The mean over the regulated layers (:func:`regulated_rates`) of the entropy in bits of a spike at the
    layer's rate, ``H(r) = -r log2 r - (1 - r) log2 (1 - r)``: 1 where every regulated layer fires half the time."""
    return float(np.mean(binary_entropy(regulated_rates(rates))))


def regulated_entropy(rates: Mapping[str, object], seeds: Sequence[int], arms: Iterable[str] | None = None) -> dict:
    """``{arm: {seed: H}}``: per seed, :func:`regulated_layers_entropy` of the arm's test rates.

    ``rates`` maps an arm to its rates ``[seeds, layers]`` (:func:`test_rates`), rows in the order of ``seeds``;
    ``arms`` selects arms (default: all). A network needs three spiking layers or more to have a regulated one.
    """
    out = {}
    for arm in (rates if arms is None else arms):
        r = np.asarray(rates[arm], dtype=float)
        if r.ndim != 2 or r.shape[0] != len(seeds) or r.shape[1] < 3:
            raise ValueError(f"arm {arm}: rates must be [{len(seeds)} seeds, >= 3 layers], got shape {r.shape}")
        out[arm] = {s: regulated_layers_entropy(r[i]) for i, s in enumerate(seeds)}
    return out


def late_epoch_accuracy(runs: Mapping[str, Sequence], seeds: Sequence[int], last: int) -> tuple[dict, dict]:
    """The test accuracy of the ``last`` epochs of every run: ``(late, swing)``, ``late[arm][seed]`` its mean
    over those epochs and ``swing[arm]`` the largest range (max - min) within them over the arm's seeds.

    The last epoch alone is one point of a noisy curve; the mean of the last few is a sensitivity check of a
    comparison made on it.
    """
    if last < 1:
        raise ValueError(f"last must be >= 1, got {last!r}")
    late, swing = {}, {}
    for arm, rs in runs.items():
        tails = [[h["test_acc"] for h in r.metrics["history"][-last:]] for r in rs]
        if any(len(t) < last for t in tails):
            raise ValueError(f"arm {arm}: a run has fewer than {last} epochs")
        late[arm] = {s: float(np.mean(t)) for s, t in zip(seeds, tails)}
        swing[arm] = max(max(t) - min(t) for t in tails)
    return late, swing


def mean_curves(runs: Mapping[str, Sequence], key: str) -> dict:
    """``{arm: array [epochs]}``: ``key`` of the per-epoch history, averaged over the seeds (fractions)."""
    out = {}
    for arm, rs in runs.items():
        curves = [[h[key] for h in r.metrics["history"]] for r in rs]
        if len({len(c) for c in curves}) != 1:
            raise ValueError(f"arm {arm}: the seeds' histories differ in length")
        out[arm] = np.array(curves, dtype=float).mean(0)
    return out


def loss_shares(runs: Sequence, lambda_sr: float) -> dict:
    """How much the spike-rate term weighs in the training loss of ``runs`` (one arm, mean over seeds).

    Returns the cross-entropy of the first and the last epoch (``ce_first``, ``ce_last``), the regularizer's
    value in the last epoch (``sr_last``) and its weighted share of the last epoch's loss in percent,
    ``sr_share = 100 lambda sr / (ce + lambda sr)`` (the WS-DR loss of Wei et al.).
    """
    ce = np.mean([[h["train_ce"] for h in r.metrics["history"]] for r in runs], axis=0)
    sr = np.mean([[h["train_sr"] for h in r.metrics["history"]] for r in runs], axis=0)
    return {"ce_first": float(ce[0]), "ce_last": float(ce[-1]), "sr_last": float(sr[-1]),
            "sr_share": float(100 * lambda_sr * sr[-1] / (ce[-1] + lambda_sr * sr[-1]))}


def membrane_sweep_table(runs: Mapping[str, Sequence], seeds: Sequence[int]) -> tuple[dict, str]:
    """Test accuracy per membrane precision of a sweep whose arms differ in ``model_kwargs.membrane_bits``
    (None: full precision, keyed 32), as numbers and as a printed table (percent).

    Returns ``(results, text)``: ``results[bits]`` holds ``mean``, ``std`` (:func:`qsnn.stats.mean_std`) and
    ``per_seed`` (in the order of ``seeds``), in the order of the arms.
    """
    results = {}
    lines = [f"{'membrane':>10} " + " ".join(f"{f'seed {s}':>8}" for s in seeds) + f"   {'mean':>7}"]
    for rs in runs.values():
        bits = rs[0].config.model_kwargs["membrane_bits"] or 32
        acc = [r.metrics["test_acc"] for r in rs]
        m, sd = mean_std(acc)
        results[bits] = {"mean": m, "std": sd, "per_seed": acc}
        label = "FP32" if bits == 32 else f"{bits}-bit"
        lines.append(f"{label:>10} " + " ".join(f"{100 * a:>7.2f}%" for a in acc) + f"   {100 * m:>6.2f}%")
    return results, "\n".join(lines)


def membrane_setting(config, quantizers: Sequence[str] = ("uniform", "tanh")) -> tuple[int, tuple]:
    """``(bits, quantizers)``: a run's membrane bit width (``model_kwargs.membrane_bits``, 32 for full precision)
    and the quantizers of a membrane sweep it is entered under: its own (``model_kwargs.membrane_quantizer``,
    ``"uniform"`` when not set), or every one of ``quantizers`` at full precision, which has none.

    Raises
    ------
    ValueError
        If the run's quantizer is not among ``quantizers``.
    """
    kw = config.model_kwargs
    bits = kw["membrane_bits"] or 32
    entered = tuple(quantizers) if bits == 32 else (kw.get("membrane_quantizer", "uniform"),)
    if not set(entered) <= set(quantizers):
        raise ValueError(f"a run uses the membrane quantizer {entered[0]!r}, not one of {list(quantizers)}")
    return bits, entered


def training_seconds(grids: Iterable[Mapping[str, Sequence]]) -> list[float]:
    """The recorded training time of every run of ``grids`` (each ``{arm: [Run]}``); a run that a grid copied
    from another (``copied_from`` in its metrics) was trained once and counts once."""
    return [float(r.metrics["train_seconds"]) for runs in grids for rs in runs.values() for r in rs
            if "copied_from" not in r.metrics]


def latent_rms(models: Iterable) -> float:
    """The root mean square of the latent weights of every binary layer, per filter, averaged over the filters
    of a layer, then over the layers of all ``models``: the scale the sign's estimator (EDE) sees."""
    per_layer = [float(layer.weight.detach().flatten(1).pow(2).mean(1).sqrt().mean())
                 for model in models for layer in binary_layers(model)]
    if not per_layer:
        raise ValueError("latent_rms needs at least one binary layer")
    return float(np.mean(per_layer))
