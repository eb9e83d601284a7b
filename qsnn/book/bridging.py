"""What chapter 8 computes and prints with :mod:`qsnn.bridge`: the layer against Part I's neuron, the search for
currents that reach the bound of Theorem 1 with a b-bit stored membrane, the error measured inside trained
networks, and the cost of the spikes that each reset emits.

Theorem 1 is that of Moser & Lunglmayr, "Quantization in Spiking Neural Networks" (arXiv:2305.08012); the
networks are Q-SNNs of Wei et al., "Q-SNNs: Quantized Spiking Neural Networks" (arXiv:2406.13672), trained in
chapters 5 and 7. Imports torch (through :mod:`qsnn.bridge`).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch

from .. import bridge
from .._core.resets import RESETS
from ..data import load_dataset, to_time_first

__all__ = ["first_test_images", "agreement", "agreement_text", "tightness_grid", "tightness_text",
           "outside_assumptions", "outside_text", "network_errors", "networks_text", "network_ranges", "reset_costs",
           "costs_text", "cost_ratios"]

SEARCHES = ("random", "optimised", "constructed")


def first_test_images(config, count: int, data_root=None):
    """The first ``count`` test images of a run's data set, as its network reads them: ``[T, B, ...]``
    (:func:`qsnn.data.to_time_first`), without augmentation. ``data_root`` is where the data set's files are
    (the digits need none)."""
    test = load_dataset(config.dataset, data_root if config.dataset != "digits" else None, "test", augment=False,
                        seed=config.seed, time_steps=config.time_steps, dataset_kwargs=config.dataset_kwargs)
    x = torch.stack([test[i][0] for i in range(min(count, len(test)))])
    return to_time_first(x, config.time_steps)


def agreement(currents, decays: Sequence[float], threshold: float = 1.0, resets: Sequence[str] = RESETS) -> dict:
    """Per reset and decay, the share of neurons (columns of ``currents`` ``[T, N]``) whose outputs are identical
    in the Q-SNN layer and in Part I's neuron at unit time steps (:func:`qsnn.bridge.run_both`):
    ``{reset: {"<decay>": share}}``."""
    return {reset: {f"{d:g}": float(bridge.run_both(currents, d, threshold, reset).agree.mean()) for d in decays}
            for reset in resets}


def agreement_text(shares: Mapping[str, Mapping[str, float]]) -> str:
    """One line per reset of :func:`agreement`."""
    return "\n".join(f"reset {reset!r:<11} share of neurons with identical outputs, per decay: "
                     + ", ".join(f"{d}: {v:.4f}" for d, v in per_decay.items()) for reset, per_decay in shares.items())


def tightness_grid(bits_range: Sequence[int], decays: Sequence[float], threshold: float = 1.0, *, steps: int,
                   trials: int, iterations: int, seed: int) -> dict:
    """The search for currents that reach the bound (:func:`qsnn.bridge.tightness_search`) for every bit width,
    decay and the scales ``s = theta`` and ``s = 2 theta`` of the stored membrane.

    Returns ``ratios[(bits, decay, scale)]`` (largest error over the bound) and ``searches`` (the best ratio of each
    search), ``per_bits_and_decay`` (``{"b<bits>": {"<decay>": largest ratio over the scales}}``), for
    ``s = theta`` the ``bounds`` and the largest errors ``found`` in units of ``theta``
    (``{decay: {bits: value}}``), the ``worst`` ratio, and per search its largest (``by_search``) and least
    (``least``) ratio over the settings.
    """
    scales = (threshold, 2 * threshold)
    ratios, searches, bounds, found = {}, {}, {}, {}
    for d in decays:
        for b in bits_range:
            for scale in scales:
                t = bridge.tightness_search(b, d, threshold, scale, steps=steps, trials=trials, iterations=iterations,
                                            seed=seed)
                ratios[(b, d, scale)], searches[(b, d, scale)] = t.worst_ratio, t.ratios
                if scale == threshold:
                    bounds.setdefault(d, {})[b] = t.bound / threshold
                    found.setdefault(d, {})[b] = t.worst_ratio * t.bound / threshold
    return {"ratios": ratios, "searches": searches, "bounds": bounds, "found": found,
            "per_bits_and_decay": {f"b{b}": {f"{d:g}": max(ratios[(b, d, s)] for s in scales) for d in decays}
                                   for b in bits_range},
            "worst": max(ratios.values()),
            "by_search": {k: max(v[k] for v in searches.values()) for k in SEARCHES},
            "least": {k: min(v[k] for v in searches.values()) for k in SEARCHES}}


def tightness_text(grid: Mapping) -> str:
    """The table of :func:`tightness_grid` (a row per decay, a column per bit width) and the range of each
    search."""
    table = grid["per_bits_and_decay"]
    bits = [int(k[1:]) for k in table]
    decays = list(next(iter(table.values())))
    lines = [f"{'decay':>6} " + " ".join(f"{f'b={b}':>9}" for b in bits) + "   (largest error / bound)"]
    lines += [f"{float(d):>6g} " + " ".join(f"{table[f'b{b}'][d]:>9.6f}" for b in bits) for d in decays]
    lines.append(f"over {len(grid['ratios'])} settings: worst ratio {grid['worst']:.6f}; per search, from lowest to "
                 "highest: " + ", ".join(f"{k} {grid['least'][k]:.6f}..{grid['by_search'][k]:.6f}" for k in SEARCHES))
    return "\n".join(lines)


def outside_assumptions(threshold: float = 1.0, *, steps: int, trials: int, iterations: int, seed: int,
                        bits: int = 4, decay: float = 0.5, scales: Sequence[float] = (0.5, 0.8)) -> dict:
    """The largest error over the bound where the proposition's assumptions fail: a scale below the threshold
    (``"clipped, s = <scale> theta"``, the remainders are clipped; :func:`qsnn.bridge.tightness_search`) and one
    negative current of ``-3 theta`` (``"one current of -3 theta"``, the layer does not fire below zero)."""
    out = {}
    for scale in scales:
        t = bridge.tightness_search(bits, decay, threshold, scale * threshold, steps=steps, trials=trials,
                                    iterations=iterations, seed=seed)
        out[f"clipped, s = {scale:g} theta"] = t.worst_ratio
    negative = np.array([-3.0 * threshold, 0.0, 0.0])
    spikes = bridge.layer_spikes(negative, decay, threshold, "mod", bits=bits)
    error = float(bridge.error_norms(negative, spikes, decay, threshold)[0]) * threshold
    out["one current of -3 theta"] = error / bridge.membrane_bound(bits, decay, threshold, steps=len(negative))
    return out


def outside_text(ratios: Mapping[str, float], bits: int = 4, decay: float = 0.5) -> str:
    """One line per case of :func:`outside_assumptions`."""
    return "\n".join(f"b = {bits}, decay {decay:g}, {what:<24} largest error / bound = {ratio:.3f}"
                     for what, ratio in ratios.items())


def network_errors(networks: Mapping[str, object], n_images: int, data_root=None, detail: str | None = None):
    """The quantization error of every LIF layer of trained networks, on their first ``n_images`` test images.

    ``networks`` maps a label to a run (``model`` and ``config``). Per network, the currents of every layer are
    recorded (:func:`qsnn.bridge.layer_currents`) and summarised for the three resets
    (:func:`qsnn.bridge.network_error_statistics`). Returns ``(stats, distributions)``: ``stats[label]`` the
    summary, ``distributions`` the per-neuron errors of each layer of the network ``detail`` (None without one),
    ``{layer: {reset: errors}}``.
    """
    stats, distributions = {}, None
    for label, run in networks.items():
        records = bridge.layer_currents(run.model, first_test_images(run.config, n_images, data_root))
        stats[label] = bridge.network_error_statistics(records)
        if label == detail:
            distributions = {r.name: bridge.quantization_errors(r.currents, r.decay, r.threshold, RESETS, r.bits,
                                                                 r.scale, r.quantizer) for r in records}
    return stats, distributions


def networks_text(stats: Mapping[str, Mapping]) -> str:
    """Per network of :func:`network_errors`: the share of neurons with non-negative currents, the median, 99th
    percentile and largest error of each reset (units of ``theta``), and reset-to-mod's largest error on the
    non-negative neurons against the bound (none for the tanh quantizer)."""
    lines = [f"{'network':<28} {'I >= 0':>7} " + " ".join(f"{r + ' q50 / q99 / max':>24}" for r in RESETS)
             + f" {'mod, I >= 0: max / bound':>25}"]
    for label, st in stats.items():
        a = st["all"]
        e = a["errors"]
        cells = " ".join(f"{e[r]['q50']:>7.3f} / {e[r]['q99']:>5.3f} / {e[r]['max']:>6.2f}" for r in RESETS)
        bound = "n/a (tanh)" if a["bound"] is None else f"{a['bound']:.4f}"
        lines.append(f"{label:<28} {a['nonnegative']:>7.3f} {cells} {a['mod_nonnegative']['max']:>9.4f} / {bound:<10}")
    return "\n".join(lines)


def network_ranges(summaries: Mapping[str, Mapping]) -> dict:
    """Over the networks' summaries (``stats[label]["all"]`` of :func:`network_errors`): the least and largest
    share of neurons with non-negative currents in percent (``nonneg_min``, ``nonneg_max``) and the least and
    largest of the largest errors of the three resets (``tail_min``, ``tail_max``)."""
    nonneg = [a["nonnegative"] for a in summaries.values()]
    tails = [a["errors"][r]["max"] for a in summaries.values() for r in RESETS]
    return {"nonneg_min": 100 * min(nonneg), "nonneg_max": 100 * max(nonneg), "tail_min": min(tails),
            "tail_max": max(tails)}


def reset_costs(runs: Mapping[str, object], x) -> tuple[dict, dict]:
    """Per reset, the network trained with it (``runs[reset]``, a run) on the test images ``x``: the cost of its
    spikes per image (:func:`qsnn.bridge.spike_costs`: events, spike bits, accumulates, bits per value, summed
    over the layers; the mean test rate of the regulated layers) and the quantization error of its own reset.

    Returns ``(costs, errors)``, ``costs[reset]`` with ``layers`` (per layer), ``events``, ``spike_bits``,
    ``accumulates``, ``bits_per_value`` and ``regulated_rate``; ``errors[reset]`` the error summary
    (:func:`qsnn.bridge.network_error_statistics`).
    """
    costs, errors = {}, {}
    for reset, run in runs.items():
        records = bridge.layer_currents(run.model, x)
        errors[reset] = bridge.network_error_statistics(records, resets=(reset,))["all"]["errors"][reset]
        c = bridge.spike_costs(run.model, records)
        costs[reset] = {"layers": c, "events": sum(k["events"] for k in c),
                        "spike_bits": sum(k["spike_bits"] for k in c), "accumulates": sum(k["accumulates"] for k in c),
                        "bits_per_value": max(k["bits_per_value"] for k in c),
                        "regulated_rate": float(np.mean(run.metrics["test_rates"][1:-1]))}
    return costs, errors


def cost_ratios(costs: Mapping[str, Mapping], base: str = "zero") -> dict:
    """``{reset: {"events", "bits", "acc"}}``: the events, spike bits and accumulates of every reset but ``base``
    over those of ``base``."""
    b = costs[base]
    return {reset: {"events": c["events"] / b["events"], "bits": c["spike_bits"] / b["spike_bits"],
                    "acc": c["accumulates"] / b["accumulates"]} for reset, c in costs.items() if reset != base}


def costs_text(costs: Mapping[str, Mapping], errors: Mapping[str, Mapping], seed: int, base: str = "zero") -> str:
    """The table of :func:`reset_costs` (per reset: regulated rate, own error, events, bits per value, spike
    kbit, accumulates per test image) and each reset's cost against ``base`` (:func:`cost_ratios`)."""
    lines = [f"{'reset':<10} {'rate':>6} {'own error q50 / max':>20} {'events':>9} {'bits/value':>10} "
             f"{'spike kbit':>10} {'accumulates':>12}   (per test image, run seed {seed})"]
    for reset, k in costs.items():
        e = errors[reset]
        lines.append(f"{reset:<10} {k['regulated_rate']:>6.3f} {e['q50']:>9.3f} / {e['max']:<8.3f} {k['events']:>9.0f} "
                     f"{k['bits_per_value']:>10} {k['spike_bits'] / 1e3:>10.1f} {k['accumulates'] / 1e6:>10.2f} M")
    for reset, r in cost_ratios(costs, base).items():
        lines.append(f"{reset} against {base}: {r['events']:.2f}x the events, {r['bits']:.2f}x the spike bits, "
                     f"{r['acc']:.2f}x the accumulates")
    return "\n".join(lines)
