"""What the training chapters print and glue from a grid's comparisons: the paired differences with their
Holm-adjusted p-values, per-arm accuracies, the rates of the regulated layers and the entropy of their spikes, the
late-epoch sensitivity check, the sign balance of binary filters and the model sizes against reported values.

Text functions return the lines a chapter prints (so they can be tested and printed as they are); ``glue_*``
functions store values for the prose with :func:`qsnn.book.results.glue`; ``report_*`` functions do both and
return what they computed. The comparisons are those of Wei et al., "Q-SNNs: Quantized Spiking Neural Networks"
(arXiv:2406.13672): full-precision SNN, Q-SNN without and with Weight-Spike Dual Regulation (WS-DR), paired by
seed (:mod:`qsnn.stats`).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ..nn import binary_entropy
from ..stats import difference_word, direction_verdict, interval_text, paired_difference
from .analysis import balance_summary, layer_rates, model_size_table, variants_table
from .trained import grid_differences, late_epoch_accuracy, per_arm, regulated_entropy
from .results import glue, glue_all

__all__ = ["report_accuracy", "mean_gap_text", "paired_text", "report_differences", "p_values_text",
           "size_accuracy_status", "PAIRED_FIELDS", "paired_values", "glue_paired", "glue_accuracy", "glue_per_layer",
           "glue_layer_rates", "glue_lambda_sweep",
           "report_regulated_rates", "report_entropy_difference", "report_late_epochs", "sign_balance_table",
           "report_sign_balance", "sign_entropy_text", "filter_share_text", "size_accuracy_text", "glue_reported",
           "glue_small_sizes", "report_model_sizes", "report_training_time"]


def report_accuracy(runs: Mapping[str, Sequence], labels: Mapping[str, str], seeds: Sequence[int], *, width: int = 22,
                    prefix: str | None = "acc_", per_seed: Sequence[str] = ()) -> dict:
    """Print the final test accuracy of every arm and seed with its mean +- std
    (:func:`qsnn.book.analysis.variants_table`) and, unless ``prefix`` is None, glue the means and standard
    deviations (:func:`glue_accuracy`), then the accuracy of every seed of the arms in ``per_seed``
    (``<prefix><arm>_seed<s>``, percent). Returns ``{arm: {"mean", "std", "per_seed"}}``."""
    accuracy, table = variants_table(per_arm(runs), labels, seeds, width=width)
    print(table)
    if prefix is not None:
        glue_accuracy(accuracy, prefix)
        for arm in per_seed:
            glue_all({f"{prefix}{arm}_seed{s}": 100 * a for s, a in zip(seeds, accuracy[arm]["per_seed"])})
    return accuracy


def mean_gap_text(accuracy: Mapping[str, Mapping], a: str, b: str, labels: Mapping[str, str]) -> str:
    """The difference of the mean accuracies of arms ``a`` and ``b`` in percentage points, beside the sum of their
    standard deviations (a first look before the paired comparison); ``accuracy`` as
    :func:`qsnn.book.analysis.variants_table` returns it."""
    gap = accuracy[a]["mean"] - accuracy[b]["mean"]
    spread = accuracy[a]["std"] + accuracy[b]["std"]
    return (f"{labels[a]} minus {labels[b]}: {100 * gap:+z.2f} percentage points "
            f"(sum of the two standard deviations: {100 * spread:.2f})")


def paired_text(paired: Mapping[str, Mapping], *, width: int = 20, per_seed: bool = False,
                holm_label: str = "Holm-adjusted p =") -> str:
    """One line per paired difference (in percentage points): mean, 95 % interval, seeds, p-value, and the
    Holm-adjusted p-value of a secondary comparison (``[primary]`` marks the primary one).

    ``paired`` is :func:`qsnn.stats.with_holm` of paired differences (``mean``, ``ci``, ``n``, ``p``,
    ``p_holm``, ``primary``, ``per_seed``); ``width`` pads the comparison's name; ``per_seed`` appends the
    difference of every seed; ``holm_label`` precedes the adjusted p-value.
    """
    lines = []
    for pair, d in paired.items():
        line = (f"paired, {pair:<{width}} {100 * d['mean']:+z.2f} points, 95 % interval {interval_text(d)} "
                f"(t over {d['n']} seeds), p = {d['p']:.3f}"
                + ("  [primary]" if d["primary"] else f", {holm_label} {d['p_holm']:.3f}"))
        if per_seed:
            line += "; per seed " + ", ".join(f"{100 * v:+z.2f}" for v in d["per_seed"].values())
        lines.append(line)
    return "\n".join(lines)


def report_differences(experiment, runs: Mapping[str, Sequence], primary: str, **text_options) -> dict:
    """Print the grid's paired differences of the final test accuracy (:func:`qsnn.book.trained.grid_differences`,
    Holm-adjusted but for ``primary``) as :func:`paired_text` (``text_options``) writes them; returns them."""
    paired = grid_differences(experiment, runs, primary)
    print(paired_text(paired, **text_options))
    return paired


def p_values_text(paired: Mapping[str, Mapping], width: int = 30) -> str:
    """One line per comparison of :func:`qsnn.stats.with_holm`: its p-value, and the Holm-adjusted one unless
    it is the primary comparison (marked ``[primary]``); ``width`` pads the name."""
    return "\n".join(f"{name:<{width}} p = {d['p']:.3f}"
                     + ("  [primary]" if d["primary"] else f", Holm-adjusted {d['p_holm']:.3f}")
                     for name, d in paired.items())


_SIZE_ACCURACY_STATUS = {
    "level, as in the paper": "size and accuracy reproduced at small scale",
    "below": "size reproduced; accuracy not reproduced (below full precision)",
    "above": "size reproduced; accuracy above full precision",
    "not distinguishable": "size reproduced; accuracy not established (the interval holds both the paper's "
                           "difference and a loss beyond the margin)",
}


def size_accuracy_status(verdict: str) -> str:
    """The status of the paper's result tables (binary weights shrink the network, accuracy level with full
    precision) for the :func:`qsnn.stats.level_verdict` of the Q-SNN against the full-precision SNN; the size
    is reproduced whatever the verdict (the chapters check it apart)."""
    if verdict not in _SIZE_ACCURACY_STATUS:
        raise ValueError(f"no status for the verdict {verdict!r}; level_verdict gives "
                         f"{', '.join(_SIZE_ACCURACY_STATUS)}")
    return _SIZE_ACCURACY_STATUS[verdict]


PAIRED_FIELDS = {
    "mean": lambda d: 100 * d["mean"],
    "ci": interval_text,
    "p": lambda d: d["p"],
    "p_holm": lambda d: d["p_holm"],
    "word": difference_word,
    "ahead": lambda d: sum(v > 0 for v in d["per_seed"].values()),
    "behind": lambda d: sum(v < 0 for v in d["per_seed"].values()),
}
"""What :func:`paired_values` can report of a paired difference: its mean in points, its interval as text, its
p-value and Holm-adjusted p-value, where it lies (:func:`qsnn.stats.difference_word`) and the number of seeds
with a positive (``ahead``) or negative (``behind``) difference."""


def paired_values(d: Mapping, fields: Sequence[str] = ("mean", "ci", "p", "p_holm")) -> dict:
    """``{field: value}`` of the paired difference ``d`` for each of ``fields`` (keys of :data:`PAIRED_FIELDS`)."""
    unknown = [f for f in fields if f not in PAIRED_FIELDS]
    if unknown:
        raise ValueError(f"unknown fields {unknown}; choose from {', '.join(PAIRED_FIELDS)}")
    return {f: PAIRED_FIELDS[f](d) for f in fields}


def glue_paired(paired: Mapping[str, Mapping], keys: Mapping[str, str], *, verdicts: Mapping[str, str] | None = None,
                fields: Sequence[str] = ("mean", "ci", "p", "p_holm"), prefix: str = "d_") -> dict:
    """Glue :func:`paired_values` of the comparisons ``keys`` (glue key -> comparison, e.g. ``{"wsdr_qsnn":
    "qsnn_wsdr - qsnn"}``) under ``<prefix><key>_<field>``, each followed by ``verdict_<key>`` when
    ``verdicts`` (glue key -> verdict) is given. Returns the values glued."""
    out = {}
    for key, pair in keys.items():
        out.update(glue_all(paired_values(paired[pair], fields), prefix=f"{prefix}{key}_"))
        if verdicts is not None:
            out[f"verdict_{key}"] = glue(f"verdict_{key}", verdicts[key])
    return out


def glue_accuracy(accuracy: Mapping[str, Mapping], prefix: str = "acc_") -> dict:
    """Glue the mean and standard deviation over seeds of every arm, in percent, as ``<prefix><arm>_mean`` and
    ``<prefix><arm>_std``; ``accuracy`` as :func:`qsnn.book.analysis.variants_table` returns it."""
    out = {}
    for arm, a in accuracy.items():
        out.update(glue_all({"mean": 100 * a["mean"], "std": 100 * a["std"]}, prefix=f"{prefix}{arm}_"))
    return out


def glue_per_layer(values: Sequence, prefix: str) -> dict:
    """Glue one value per layer as ``<prefix>l1``, ``<prefix>l2``, ... (layers counted from 1)."""
    return glue_all({f"l{l + 1}": v for l, v in enumerate(values)}, prefix=prefix)


def glue_layer_rates(rates: Mapping[str, object], arms: Sequence[str]) -> None:
    """Glue, for each of ``arms``, the mean test rate of every spiking layer over the seeds (``rate_<arm>_l<k>``)
    and the entropy of a spike at that rate (``h_<arm>_l<k>``, :func:`qsnn.book.analysis.layer_rates`)."""
    for arm in arms:
        summary = layer_rates(rates[arm])
        glue_per_layer(summary["mean"], f"rate_{arm}_")
        glue_per_layer(summary["entropy"], f"h_{arm}_")


_LAMBDA_FIELDS = {
    "rate": lambda row: float(np.mean(row["rates"][1:-1])),
    "acc": lambda row: 100 * row["test_acc"],
    "dist": lambda row: row["distance_to_half"],
    "rate_min": lambda row: min(row["rates"][1:-1]),
    "rate_max": lambda row: max(row["rates"][1:-1]),
}


def glue_lambda_sweep(table: Mapping[float, Mapping], fields: Sequence[str] = ("rate", "acc")) -> None:
    """Glue, per spike-rate weight of :func:`qsnn.book.analysis.lambda_table`, ``lam_<lambda>_<field>`` (the weight
    written with ``p`` for the point, ``lam_0p005_rate``): the mean, least or largest rate of the regulated layers
    (``rate``, ``rate_min``, ``rate_max``), the test accuracy in percent (``acc``) or the regulated layers' mean
    distance from 1/2 (``dist``)."""
    for lam, row in table.items():
        glue_all({f: _LAMBDA_FIELDS[f](row) for f in fields}, prefix=f"lam_{f'{lam:g}'.replace('.', 'p')}_")


def report_regulated_rates(rates: Mapping[str, object], labels: Mapping[str, str]) -> dict:
    """The mean test rate of every arm's regulated layers (those between the first and the last spiking layer),
    over seeds and layers. Prints them on one line, glues ``reg_rate_<arm>``, then ``reg_rate_all`` (their mean
    over the arms) and ``reg_rate_all_h`` (the entropy of a spike at that rate, bits); returns ``{arm: rate}``.

    ``rates`` maps an arm to its rates ``[seeds, layers]`` (:func:`qsnn.book.trained.test_rates`).
    """
    regulated = {}
    for arm, r in rates.items():
        r = np.asarray(r, dtype=float)
        if r.ndim != 2 or r.shape[1] < 3:
            raise ValueError(f"arm {arm}: rates must be [seeds, >= 3 layers], got shape {r.shape}")
        regulated[arm] = float(r[:, 1:-1].mean())
    print("mean rate of the regulated layers: " + ", ".join(f"{labels[n]} {v:.3f}" for n, v in regulated.items()))
    overall = float(np.mean(list(regulated.values())))
    glue_all({f"reg_rate_{arm}": v for arm, v in regulated.items()})
    glue_all({"reg_rate_all": overall, "reg_rate_all_h": float(binary_entropy(overall))})
    return regulated


def report_entropy_difference(rates: Mapping[str, object], seeds: Sequence[int], labels: Mapping[str, str], *,
                              a: str = "qsnn_wsdr", b: str = "qsnn", digits: int = 3,
                              heading: str | None = None) -> tuple[dict, str]:
    """Does arm ``a`` raise the entropy of the regulated layer's spikes over arm ``b``, seed by seed? (Wei et al.:
    WS-DR does.)

    The per-seed entropies are :func:`qsnn.book.trained.regulated_entropy`; their paired difference ``a - b`` (in
    bits) gets the verdict of :func:`qsnn.stats.direction_verdict` for a claim that ``a`` is ahead. Prints one
    line, which begins with ``heading`` (default: ``"regulated layer, H(r) of <label a> minus <label b>"``), glues
    ``d_h_mean``, ``d_h_ci`` (``digits`` decimals) and ``verdict_rates``; returns the difference and the verdict.
    """
    h = regulated_entropy(rates, seeds, (b, a))
    d = paired_difference(h[a], h[b])
    verdict = direction_verdict(d, +1)
    ci = interval_text(d, scale=1.0, digits=digits)
    if heading is None:
        heading = f"regulated layer, H(r) of {labels[a]} minus {labels[b]}"
    print(f"{heading}: {d['mean']:+z.{digits}f} bit, 95 % interval {ci} ({verdict})")
    glue_all({"d_h_mean": d["mean"], "d_h_ci": ci, "verdict_rates": verdict})
    return d, verdict


def report_late_epochs(runs: Mapping[str, Sequence], seeds: Sequence[int], labels: Mapping[str, str], last: int, *,
                       a: str = "qsnn_wsdr", b: str = "qsnn", width: int = 20) -> tuple[dict, dict, dict]:
    """The sensitivity check of a last-epoch comparison: per arm, the mean test accuracy of the ``last`` epochs
    (over seeds) and the largest swing within them; the paired difference ``a - b`` of those means.

    Prints a line per arm and one for the difference, glues ``swing_<arm>`` (points); returns ``(late, swing,
    difference)`` as :func:`qsnn.book.trained.late_epoch_accuracy` and :func:`qsnn.stats.paired_difference` give
    them.
    """
    late, swing = late_epoch_accuracy(runs, seeds, last)
    for arm in runs:
        print(f"{labels[arm]:<{width}} mean of the last {last} epochs {100 * np.mean(list(late[arm].values())):.2f}%, "
              f"largest swing within them {100 * swing[arm]:.2f} points")
    d = paired_difference(late[a], late[b])
    print(f"paired, {a} - {b} (last {last} epochs) {100 * d['mean']:+z.2f} points, 95 % interval {interval_text(d)}")
    glue_all({f"swing_{arm}": 100 * v for arm, v in swing.items()})
    return late, swing, d


def sign_balance_table(stats: Mapping[str, Sequence[Mapping]], labels: Mapping[str, str], width: int = 22) -> str:
    """Per arm and binary layer: the number of filters, the mean, least and largest fraction of +1 per filter and
    the mean entropy of the signs (bits); ``stats`` as :func:`qsnn.book.analysis.sign_balance_stats` gives it."""
    lines = [f"{'variant':<{width}} {'layer':>6} {'filters':>8} {'+1 fraction mean [min, max]':>30} "
             f"{'mean H [bit]':>13}"]
    for arm, layers in stats.items():
        for l, layer in enumerate(layers):
            s = balance_summary(layer["fractions"])
            spread = f"{s['mean']:.3f} [{s['min']:.2f}, {s['max']:.2f}]"
            lines.append(f"{labels[arm]:<{width}} {l + 1:>6} {layer['fractions'].size:>8} {spread:>30} "
                         f"{s['mean_entropy']:>13.3f}")
    return "\n".join(lines)


def report_sign_balance(stats: Mapping[str, Sequence[Mapping]], labels: Mapping[str, str]) -> dict:
    """Print :func:`sign_balance_table`, glue the mean sign entropy of every arm's binary layers as
    ``sign_h_<arm>_l<k>``; returns ``{arm: [balance_summary per layer]}``
    (:func:`qsnn.book.analysis.balance_summary`)."""
    print(sign_balance_table(stats, labels))
    summary = {arm: [balance_summary(layer["fractions"]) for layer in layers] for arm, layers in stats.items()}
    for arm, layers in summary.items():
        glue_per_layer([s["mean_entropy"] for s in layers], f"sign_h_{arm}_")
    return summary


def sign_entropy_text(entropy: Mapping[str, Sequence], drift: Mapping[str, Sequence[float]],
                      labels: Mapping[str, str], width: int = 22) -> str:
    """Per arm, two rows over its binary layers: the sign entropy in bits (mean over the seeds) and the mean
    ``|mu_c / sigma_c|`` of the latent filters; ``entropy`` and ``drift`` as
    :func:`qsnn.book.analysis.seed_sign_balance` returns them."""
    n_layers = {len(v) for v in drift.values()}
    if len(n_layers) != 1:
        raise ValueError(f"every arm needs the same number of binary layers, got {sorted(n_layers)}")
    lines = [f"{'arm':<{width}} " + " ".join(f"{f'binary {k + 1}':>9}" for k in range(n_layers.pop()))]
    for arm in drift:
        lines.append(f"{labels[arm]:<{width}} " + " ".join(f"{x:>9.3f}" for x in np.mean(entropy[arm], axis=0))
                     + "   sign entropy [bit]")
        lines.append(f"{'':<{width}} " + " ".join(f"{x:>9.3f}" for x in drift[arm]) + "   mean |mu_c / sigma_c|")
    return "\n".join(lines)


def filter_share_text(balance: Mapping[str, Sequence], labels: Mapping[str, str], width: int = 20) -> str:
    """One line per arm and binary layer: the number of filters and the share of +1 (mean [least, largest] over
    the filters); ``balance`` maps an arm to its per-layer arrays of per-filter fractions."""
    return "\n".join(f"{labels[arm]:<{width}} binary layer {l + 1}: {f.size} filters, share of +1 {f.mean():.3f} "
                     f"[{f.min():.2f}, {f.max():.2f}]" for arm, layers in balance.items() for l, f in enumerate(layers))


def size_accuracy_text(reported: Mapping[str, Mapping], sizes_mb: Mapping[str, float], accuracy: Mapping[str, Mapping],
                       labels: Mapping[str, str], measured: str) -> str:
    """The reported sizes and accuracies of the paper (``reported[data] = {"fp_snn": (MB, %), "qsnn": (MB, %)}``,
    Wei et al. as tabulated by Liang et al., BSO) above the sizes (kB) and accuracies measured here, under the
    heading ``measured``."""
    lines = ["reported (Wei et al. 2024, VGG-11, as tabulated by Liang et al. 2025, BSO):"]
    for data, v in reported.items():
        lines.append(f"  {data:<20} FP SNN {v['fp_snn'][0]:>6.2f} MB {v['fp_snn'][1]:.2f}%   "
                     f"Q-SNN {v['qsnn'][0]:.2f} MB {v['qsnn'][1]:.2f}%")
    lines.append(measured)
    for arm, size in sizes_mb.items():
        a = accuracy[arm]
        lines.append(f"  {labels[arm]:<22} {1e3 * size:>6.2f} kB  {100 * a['mean']:.2f} +- {100 * a['std']:.2f}%")
    return "\n".join(lines)


def glue_reported(reported: Mapping[str, Mapping], keys: Mapping[str, str]) -> dict:
    """Glue the reported values of each data set in ``keys`` (data set -> glue key) as ``rep_<key>_fp_mb``,
    ``_fp_acc``, ``_q_mb``, ``_q_acc`` and ``_ratio`` (full-precision size over the Q-SNN's)."""
    out = {}
    for data, key in keys.items():
        (fp_mb, fp_acc), (q_mb, q_acc) = reported[data]["fp_snn"], reported[data]["qsnn"]
        out.update(glue_all({"fp_mb": fp_mb, "fp_acc": fp_acc, "q_mb": q_mb, "q_acc": q_acc, "ratio": fp_mb / q_mb},
                            prefix=f"rep_{key}_"))
    return out


def glue_small_sizes(sizes_mb: Mapping[str, float], fp: str = "fp_snn", q: str = "qsnn_wsdr") -> dict:
    """Glue the sizes of the book's small network in kB, full precision (arm ``fp``) and Q-SNN (arm ``q``), and
    their ratio: ``small_fp_kb``, ``small_q_kb``, ``small_ratio``; ``sizes_mb`` maps an arm to MB."""
    return glue_all({"small_fp_kb": 1e3 * sizes_mb[fp], "small_q_kb": 1e3 * sizes_mb[q],
                     "small_ratio": sizes_mb[fp] / sizes_mb[q]})


def report_model_sizes(nets: Sequence[str], input_shape: tuple[int, int, int], *, classes: int = 10,
                       weight_bits: int = 1, membrane_bits: int = 8) -> dict:
    """The sizes of the networks ``nets`` (:func:`qsnn.models.build` names) on inputs ``(C, H, W)``, full precision
    against Q-SNN, by the paper's convention (:func:`qsnn.book.analysis.model_size_table`). Prints a line per
    network, glues ``<net>_fp_mb``, ``<net>_q_mb`` and ``<net>_ratio``; returns ``{net: {"fp_snn_mb",
    "qsnn_mb"}}``."""
    sizes, _, _ = model_size_table([(net, net, classes, input_shape) for net in nets], weight_bits=weight_bits,
                                   membrane_bits=membrane_bits)
    shape = "x".join(map(str, input_shape))
    out = {}
    for net, s in sizes.items():
        fp, q = s["fp32_mb"], s["qsnn_mb"]
        print(f"{net:<7} on {shape}:  full precision {fp:.2f} MB, Q-SNN {q:.2f} MB ({fp / q:.1f}x smaller)")
        glue_all({"fp_mb": fp, "q_mb": q, "ratio": fp / q}, prefix=f"{net}_")
        out[net] = {"fp_snn_mb": fp, "qsnn_mb": q}
    return out


def report_training_time(seconds: Sequence[float], lead: str = "", *, hours: bool = False) -> dict:
    """Print how many runs were trained and how long they took when they were trained (``seconds`` per run, as
    their metrics recorded them; ``lead`` goes before the line), and glue ``n_trained`` and
    ``train_minutes_total``; with ``hours``, the total in hours of one core and ``train_hours`` instead (for
    grids that took hours). Returns the values glued."""
    if not seconds:
        raise ValueError("report_training_time needs at least one run")
    total = sum(seconds)
    if hours:
        print(f"{lead}{len(seconds)} training runs, {total / 3600:.2f} h of one core in total when they were trained, "
              f"{total / len(seconds):.0f} s per run")
        return glue_all({"n_trained": len(seconds), "train_hours": total / 3600})
    print(f"{lead}{len(seconds)} training runs, {total:.0f} s in total when they were trained, "
          f"{total / len(seconds):.1f} s per run")
    return glue_all({"n_trained": len(seconds), "train_minutes_total": total / 60})
