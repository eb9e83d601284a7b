"""What a chapter reads of grids whose runs are trained over days and committed one by one: how far each grid
is, an arm's finished runs by seed, its accuracy and size for a paper-style table whose rows say how many seeds
they hold, the learning curves of the finished runs, the main contrast with its declared number of pairs, the
families of comparisons a grid declares, an effect compared between two regimes, and the sweeps of the
spike-rate weight and of the membrane precision over their finished seeds.

The grids come from :func:`qsnn.book.trained.open_grids` with ``finished_only=True``: ``{name: (experiment,
{arm: [Run]})}``, each arm holding the runs finished so far (``run.config.seed`` says which seed). A comparison
pairs the seeds both arms have; its verdict waits for the pairs declared before any run was read
(:func:`qsnn.stats.declared_verdict`).
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

from ..experiments import build_model, learning_curves
from ..size import model_size
from ..stats import (declared_verdict, difference_word, holm, interval_text, level_verdict, mean_std,
                     paired_difference, paired_p_value, welch_difference)
from .reports import size_accuracy_status
from .trained import loss_shares, membrane_setting, regulated_layers_entropy, regulated_rates

__all__ = ["grid_progress", "progress_text", "by_seed", "arm_accuracy", "arm_size_mb", "table_rows", "grid_curves",
           "mean_plateau_gap", "main_contrast", "half_width_at", "accuracy_text", "level_status",
           "FACTORIAL_EFFECTS", "contrast_family", "factorial_effects", "grid_contrasts", "between_regimes",
           "regimes_family",
           "effect_text", "p_text", "effect_verdict_text", "family_state_text", "weight_regulation_split",
           "plateau_text", "verdict_sentence", "lambda_rows", "lambda_text", "lambda_row_text",
           "regulated_distance", "regulated_entropy", "ENTROPY_EFFECTS", "entropy_effects", "rate_shifts",
           "shift_text", "shift_verdict_text", "rates_move_sentence", "lambda_status", "membrane_rows", "membrane_text"]


def grid_progress(grids: Mapping[str, tuple]) -> dict:
    """``{grid: {"done", "total", "arms": {arm: (finished, seeds)}}}``: how many of each grid's runs are
    finished, overall and per arm (``seeds`` the number the grid declares)."""
    out = {}
    for name, (experiment, runs) in grids.items():
        arms = {arm: (len(runs.get(arm, ())), len(experiment.seeds)) for arm in experiment.arms}
        out[name] = {"done": sum(a for a, _ in arms.values()), "total": len(experiment.runs()), "arms": arms}
    return out


def progress_text(progress: Mapping[str, Mapping]) -> str:
    """One line per grid of :func:`grid_progress`: finished runs of all, then ``arm k/n`` per arm."""
    width = max(len(n) for n in progress)
    return "\n".join(f"{name:<{width}}  {p['done']:>3} of {p['total']:>3} runs finished   "
                     + "  ".join(f"{arm} {k}/{n}" for arm, (k, n) in p["arms"].items())
                     for name, p in progress.items())


def by_seed(runs: Sequence, metric: str = "test_acc") -> dict:
    """``{seed: metrics[metric]}`` of an arm's finished runs."""
    return {int(r.config.seed): float(r.metrics[metric]) for r in runs}


def arm_accuracy(runs: Sequence) -> dict | None:
    """The final test accuracy of an arm's finished runs, ``{"mean", "std", "n", "seeds", "per_seed"}``
    (standard deviation with ddof = 1, 0 for one run; ``per_seed`` a list in the order of ``seeds``), or None
    before its first run is finished."""
    if not runs:
        return None
    values = by_seed(runs)
    m, sd = mean_std(list(values.values()))
    return {"mean": m, "std": sd, "n": len(values), "seeds": list(values), "per_seed": list(values.values())}


def accuracy_text(accuracy: Mapping | None, seeds: int) -> str:
    """``"92.80 ± 0.12 % over 3 of 5 seeds"`` for :func:`arm_accuracy` (``"93.07 % on 1 of 5 seeds"`` for a
    single run), ``"no run finished (of 5 seeds)"`` for None; ``seeds`` is the number the grid declares."""
    if accuracy is None:
        return f"no run finished (of {seeds} seeds)"
    if accuracy["n"] == 1:  # one run has no spread
        return f"{100 * accuracy['mean']:.2f} % on 1 of {seeds} seed{'s' if seeds != 1 else ''}"
    return (f"{100 * accuracy['mean']:.2f} \u00b1 {100 * accuracy['std']:.2f} % over {accuracy['n']} of "
            f"{seeds} seed{'s' if seeds != 1 else ''}")


def level_status(a: Sequence, b: Sequence, declared: int, paper_effect: float, margin: float) -> tuple:
    """The status of the paper's result tables (binary weights shrink the network, the Q-SNN ``a`` level with
    the full-precision SNN ``b``) on the seeds both have: ``(difference, status)``. Until ``declared`` pairs
    are in, the difference is None and the accuracy open; then :func:`qsnn.stats.level_verdict` with
    ``paper_effect`` and ``margin`` (fractions) decides (:func:`qsnn.book.reports.size_accuracy_status`)."""
    common = set(by_seed(a)) & set(by_seed(b))
    if len(common) < declared:
        return None, (f"size reproduced; accuracy open ({len(common)} of {int(declared)} pairs with the "
                      f"full-precision SNN)")
    d = paired_difference(by_seed(a), by_seed(b))
    return d, size_accuracy_status(level_verdict(d, paper_effect, margin))


def arm_size_mb(experiment, arm: str) -> float:
    """The size of ``arm``'s network by the paper's convention (:func:`qsnn.size.model_size`), built from the
    grid's configuration: known before any of its runs is trained."""
    return model_size(build_model(experiment.config(arm, experiment.seeds[0])))


def table_rows(arms: Mapping[str, tuple], labels: Mapping[str, str], reference: str) -> list[dict]:
    """The rows of :func:`qsnn.book.analysis.paper_table` for arms of several grids, ``{arm: (experiment,
    runs)}``; each label says how many seeds its mean holds, an arm without finished runs has no accuracy
    (None), and the size reduction is taken against ``reference``'s size."""
    if reference not in arms:
        raise ValueError(f"the reference arm {reference!r} is not among {sorted(arms)}")
    sizes = {arm: arm_size_mb(exp, arm) for arm, (exp, _) in arms.items()}
    rows = []
    for arm, (exp, runs) in arms.items():
        config, n = exp.config(arm, exp.seeds[0]), len(runs)
        rows.append({"method": f"{labels[arm]} ({n} seed{'s' if n != 1 else ''})",
                     "weight_bits": config.model_kwargs["weight_bits"],
                     "membrane_bits": config.model_kwargs["membrane_bits"], "time_steps": config.time_steps,
                     "size_mb": sizes[arm], "accuracy": arm_accuracy(runs), "reference_mb": sizes[reference]})
    return rows


def grid_curves(experiment, runs: Mapping[str, Sequence]) -> dict:
    """:func:`qsnn.experiments.learning_curves` of the grid's finished runs (test accuracy after each evaluated
    epoch, the last step, core-minutes), read from the folder the runs lie in."""
    folders = [r.folder for rs in runs.values() for r in rs]
    if not folders:
        raise ValueError(f"grid {experiment.name}: no finished run to read curves from")
    return learning_curves(experiment, folders[0].parent.parent)  # <root>/<arm>/seed<k>


def mean_plateau_gap(curves: Mapping[int, Mapping]) -> float:
    """The mean over an arm's seeds (``{seed: curve}`` of :func:`grid_curves`) of what its last evaluated
    epoch added to the one before (a fraction): the distance from a plateau."""
    gaps = [c["plateau_gap"] for c in curves.values() if c["plateau_gap"] is not None]
    if not gaps:
        raise ValueError("no run with two evaluations: a plateau gap needs two")
    return float(np.mean(gaps))


def main_contrast(a: Sequence, b: Sequence, declared: int, paper_sign: int = 1, alpha: float = 0.05) -> dict:
    """The paired difference ``a - b`` of two arms' finished runs over the seeds both have
    (:func:`qsnn.stats.paired_difference`), with its p-value (``p``) and its verdict, withheld until
    ``declared`` pairs are in (:func:`qsnn.stats.declared_verdict`); ``declared`` is kept (``declared``)."""
    d = paired_difference(by_seed(a), by_seed(b))
    d["p"] = paired_p_value(d)
    d["verdict"] = declared_verdict(d, declared, paper_sign, alpha)
    d["declared"] = int(declared)
    return d


def half_width_at(d: Mapping, n: int, confidence: float = 0.95) -> float | None:
    """The half-width of the t interval of a paired difference with the spread of ``d`` (its ``std``) over
    ``n`` pairs: what ``n`` pairs would give if the differences kept the spread seen so far (None without a
    spread, i.e. fewer than two pairs)."""
    from scipy.stats import t as student_t  # scipy loads slowly; only the chapters that project need it

    if n < 2:
        raise ValueError(f"an interval needs n >= 2 pairs, got {n!r}")
    if d.get("std") is None or d["n"] < 2:
        return None
    return float(student_t.ppf(0.5 + confidence / 2, n - 1)) * d["std"] / math.sqrt(n)


FACTORIAL_EFFECTS = {
    "weight regulation (centring)": ({"qsnn_wr": 1, "qsnn": -1}, "qsnn_wr - qsnn: standardized signs against raw "
                                     "signs on the same scale, spike regulation off"),
    "scale for the estimator": ({"qsnn": 1, "qsnn_raw": -1}, "qsnn - qsnn_raw: raw signs, the estimator on the "
                                "standardized scale against the raw one"),
    "weight regulation in all": ({"qsnn_wr": 1, "qsnn_raw": -1}, "qsnn_wr - qsnn_raw: centring and scale"),
    "spike regulation": ({"qsnn_sr": 1, "qsnn": -1}, "qsnn_sr - qsnn: lambda_SR = 5e-3 against 0, raw signs"),
    "interaction": ({"qsnn_wsdr": 1, "qsnn_sr": -1, "qsnn_wr": -1, "qsnn": 1},
                    "(qsnn_wsdr - qsnn_sr) - (qsnn_wr - qsnn): what weight regulation adds more with spike "
                    "regulation on"),
    "WS-DR vs full precision": ({"qsnn_wsdr": 1, "fp_snn": -1}, "qsnn_wsdr - fp_snn"),
    "plain Q-SNN vs full precision": ({"qsnn": 1, "fp_snn": -1}, "qsnn - fp_snn"),
}
"""The factorial's comparisons beside the main contrast: each a signed sum of arms, taken seed by seed, and how
it is formed. Weight regulation's effect on raw weights splits into the scale the sign's estimator sees (the EDE
window is made for unit-variance weights) and the centring of each filter."""


def contrast_family(per_seed: Mapping[str, Mapping[int, float]], contrasts: Mapping[str, tuple], declared: int,
                    alpha: float = 0.05) -> dict:
    """Comparisons, each a signed sum of arms (``{name: ({arm: +1 or -1}, how it is formed)}``) taken seed by
    seed over the seeds all its arms have in ``per_seed`` (``{arm: {seed: accuracy}}``), read as one family:
    p-values Holm-adjusted among them.

    Every entry has ``n``, ``mean`` (None without a pair), ``ci``, ``p``, ``p_holm`` (None until the family is
    read), ``formed`` and ``verdict``:
    withheld until every comparison of the family has ``declared`` pairs (a Holm family is read once, whole; a
    comparison with its pairs waits for the rest),
    then where the interval lies (:func:`qsnn.stats.difference_word`, with the adjusted p-value).
    """
    out = {}
    for name, (signs, formed) in contrasts.items():
        seeds = sorted(set.intersection(*(set(per_seed.get(arm, {})) for arm in signs)))
        values = {s: sum(sign * float(per_seed[arm][s]) for arm, sign in signs.items()) for s in seeds}
        if seeds:
            d = paired_difference(values, {s: 0.0 for s in seeds})
        else:
            d = {"mean": None, "std": None, "n": 0, "ci": None, "seeds": [], "per_seed": {}}
        d["p"], d["formed"] = paired_p_value(d) if seeds else None, formed
        out[name] = d
    complete = all(d["n"] >= declared for d in out.values())
    adjusted = holm({k: d["p"] for k, d in out.items()}) if complete else {}
    for name, d in out.items():
        d["p_holm"] = adjusted.get(name)  # None until the family is read: a partial family would adjust over fewer
        if complete:
            d["verdict"] = difference_word(d, alpha)
        elif d["n"] < declared:
            d["verdict"] = f"withheld: {d['n']} of {int(declared)} pairs"
        else:
            d["verdict"] = "withheld until the rest of its family is in"
    return out


def factorial_effects(per_seed: Mapping[str, Mapping[int, float]], declared: int, alpha: float = 0.05) -> dict:
    """The comparisons of :data:`FACTORIAL_EFFECTS` as a :func:`contrast_family` (the main contrast, WS-DR against
    the plain Q-SNN, is the primary comparison and not in the family)."""
    return contrast_family(per_seed, FACTORIAL_EFFECTS, declared, alpha)


def grid_contrasts(experiment, runs: Mapping[str, Sequence], alpha: float = 0.05) -> dict:
    """The comparisons a grid file declares (``compare``: ``a - b``, keyed ``"a - b"``) on its finished runs, as
    a :func:`contrast_family` whose verdicts wait for all the grid's seeds."""
    contrasts = {f"{a} - {b}": ({a: 1, b: -1}, f"{a} - {b}") for a, b in experiment.comparisons()}
    per_seed = {arm: by_seed(rs) for arm, rs in runs.items()}
    return contrast_family(per_seed, contrasts, len(experiment.seeds), alpha)


def between_regimes(a: Mapping, b: Mapping, declared: tuple[int, int], alpha: float = 0.05) -> dict:
    """Whether one paired effect is larger in one regime (``a``) than in another (``b``): the difference of their
    means by Welch's test on their per-seed values (:func:`qsnn.stats.welch_difference`; the regimes' networks
    differ, so a seed number pairs nothing across them). ``declared`` holds each effect's declared pairs; the
    verdict (:func:`qsnn.stats.difference_word`) waits for both. Without a pair on either side, ``mean`` is None.
    """
    if not (a["per_seed"] and b["per_seed"]):
        out = {"mean": None, "ci": None, "p": None, "n_a": a["n"], "n_b": b["n"]}
    else:
        out = welch_difference(a["per_seed"].values(), b["per_seed"].values())
    complete = a["n"] >= declared[0] and b["n"] >= declared[1]
    out["verdict"] = (difference_word(out, alpha) if complete and out["mean"] is not None
                      else f"withheld: {a['n']} of {int(declared[0])} and {b['n']} of {int(declared[1])} pairs")
    return out


def regimes_family(pairs: Mapping[str, tuple], alpha: float = 0.05) -> dict:
    """Several :func:`between_regimes` comparisons read as one family: ``pairs`` maps a name to ``(a, b,
    declared)``; once every comparison has its declared pairs, their Welch p-values are Holm-adjusted among them
    (``p_holm``) and the verdicts read with the adjusted values (:func:`qsnn.stats.difference_word`)."""
    out = {k: between_regimes(a, b, declared, alpha) for k, (a, b, declared) in pairs.items()}
    if all(not d["verdict"].startswith("withheld") for d in out.values()):
        adjusted = holm({k: d["p"] for k, d in out.items()})
        for k, d in out.items():
            d["p_holm"] = adjusted[k]
            d["verdict"] = difference_word(d, alpha)
    return out


def regimes_sentence(d: Mapping, subject: str, above: str, below: str) -> str:
    """A :func:`between_regimes` result in a sentence: ``above`` or ``below`` (a clause saying what a difference
    above or below zero means) with the difference and its interval, or that ``subject`` does not differ
    measurably between the regimes, or that the answer waits for the pairs both regimes declare."""
    if d["verdict"].startswith("withheld"):
        return f"Whether {subject} differs between the regimes waits for the pairs both declare."
    size = f"{100 * d['mean']:+z.2f} points" + ("" if d["ci"] is None else f" {interval_text(d)}")
    if d["verdict"] in ("above zero", "below zero"):
        clause = above if d["verdict"] == "above zero" else below
        return f"{clause[:1].upper()}{clause[1:]} (the difference: {size})."
    within = f"{100 * d['mean']:+z.2f} points" if d["ci"] is None else f"within {interval_text(d)} points"
    return f"{subject[:1].upper()}{subject[1:]} does not differ measurably between the regimes ({within})."


def effect_text(d: Mapping) -> str:
    """``"+0.12 points [-0.30, +0.54] over 3 pairs"`` of a :func:`contrast_family` entry (``"no pair"`` without
    one; no interval with one pair); of a :func:`between_regimes` result, ``"... over 5 and 10 pairs"``."""
    if d["mean"] is None:
        return "no pair"
    ci = "" if d["ci"] is None else f" {interval_text(d)}"
    n = f"{d['n_a']} and {d['n_b']} pairs" if "n_a" in d else f"{d['n']} pair{'s' if d['n'] != 1 else ''}"
    return f"{100 * d['mean']:+z.2f} points{ci} over {n}"


def p_text(p: float) -> str:
    """``"p = 0.042"``, or ``"p < 0.001"`` below a thousandth."""
    return "p < 0.001" if p < 1e-3 else f"p = {p:.3f}"


def effect_verdict_text(d: Mapping) -> str:
    """:func:`effect_text` with the verdict in brackets; once the verdict is read, with the p-value that decided
    it: Holm-adjusted for a :func:`contrast_family` entry (``"... (above zero, Holm-adjusted p = 0.012)"``),
    Welch's for :func:`between_regimes`."""
    return f"{effect_text(d)} ({_verdict_words(d)})"


def shift_verdict_text(d: Mapping, digits: int = 4, unit: str = " bit") -> str:
    """:func:`shift_text` of a difference that is no accuracy (an entropy, a distance), with its unit and, as
    :func:`effect_verdict_text` words it, its verdict: ``"+0.0239 bit [+0.0077, +0.0402] over 10 pairs (above
    zero)"``."""
    return f"{shift_text(d, digits=digits, unit=unit)} ({_verdict_words(d)})"


def _verdict_words(d: Mapping) -> str:
    verdict = d["verdict"]
    if not verdict.startswith("withheld"):
        adjusted = d.get("p_holm") is not None
        p = d["p_holm"] if adjusted else d.get("p")
        if p is not None:
            verdict += f", {'Holm-adjusted ' if adjusted else ''}{p_text(p)}"
    return verdict


def family_state_text(family: Mapping[str, Mapping], seeds: int) -> str:
    """Where a :func:`contrast_family` stands, for the prose: its verdicts withheld until every comparison has its
    ``seeds`` pairs, or read with Holm-adjusted p-values once they have."""
    if any(d["verdict"].startswith("withheld") for d in family.values()):
        return f"the family's verdicts, read when every comparison has its {seeds} pairs, are withheld"
    return (f"every comparison has its {seeds} pairs; the verdicts are read with Holm-adjusted p-values, so an "
            f"interval shown (each comparison's own, unadjusted) can exclude zero while its verdict does not")


def weight_regulation_split(family: Mapping[str, Mapping]) -> str:
    """How much of weight regulation's effect on raw weights (:data:`FACTORIAL_EFFECTS`) is the scale and how much
    the centring: seed by seed the whole is the sum of its two parts, so over the seeds all three comparisons
    share, the means add up."""
    parts = [family[k]["per_seed"] for k in ("weight regulation in all", "scale for the estimator",
                                             "weight regulation (centring)")]
    seeds = sorted(set.intersection(*(set(p) for p in parts)))
    if not seeds:
        return "No seed has all three binary arms yet, so weight regulation is not yet split into scale and centring."
    whole, scale, centring = (100 * float(np.mean([p[s] for s in seeds])) for p in parts)
    return (f"Over the {len(seeds)} seed{'s' if len(seeds) != 1 else ''} all three binary arms share, weight "
            f"regulation in all ({whole:+z.2f} points) is the scale's {scale:+z.2f} plus the centring's "
            f"{centring:+z.2f}.")


def plateau_text(gaps: Mapping[str, float], goal: float) -> str:
    """Which arms end within ``goal`` points of a plateau, from their mean last steps (``{arm: points}``)."""
    beyond = [a for a, g in gaps.items() if g >= goal]
    if not beyond:
        return f"every arm is within the {goal:g}-point goal"
    if len(beyond) == len(gaps):
        return f"no arm is within the {goal:g}-point goal"
    names = beyond[0] if len(beyond) == 1 else f"{', '.join(beyond[:-1])} and {beyond[-1]}"
    return f"{names} {'is' if len(beyond) == 1 else 'are'} not within the {goal:g}-point goal, the other arms are"


def verdict_sentence(d: Mapping, what: str = "WS-DR") -> str:
    """The main contrast's verdict in words: ``"<what> adds 0.40 points [+0.12, +0.68]."`` (or ``"costs"``) when
    its interval excludes zero, ``"Any effect of <what> lies within ±0.22 points."`` when it does not, and a
    sentence that the verdict waits while :func:`qsnn.stats.declared_verdict` withholds it, with the half-width the
    declared pairs would give at the spread seen so far (:func:`half_width_at`). ``d`` as :func:`main_contrast`
    returns it."""
    if d["verdict"].startswith("withheld"):
        are = "is" if d["n"] == 1 else "are"
        wait = f"The verdict waits for the {d['declared']} declared pairs ({d['n']} {are} in)"
        projected = half_width_at(d, d["declared"])
        return wait + ("." if projected is None else f"; at the spread seen so far they would give a half-width of "
                                                      f"about {100 * projected:.2f} points.")
    lo, hi = (100 * x for x in d["ci"])
    if lo <= 0.0 <= hi:
        return f"Any effect of {what} lies within \u00b1{max(-lo, hi):.2f} points."
    return f"{what} {'adds' if lo > 0 else 'costs'} {abs(100 * d['mean']):.2f} points {interval_text(d)}."


def _mean_std_seeds(accuracy: Mapping) -> str:
    """``"92.60 +- 0.14 (3)"``: an :func:`arm_accuracy` in percent, with its number of seeds, for a table cell;
    ``"92.68 (1)"`` for one seed, which has no spread."""
    if accuracy["n"] == 1:
        return f"{100 * accuracy['mean']:.2f} (1)"
    return f"{100 * accuracy['mean']:.2f} +- {100 * accuracy['std']:.2f} ({accuracy['n']})"


def lambda_rows(runs: Mapping[str, Sequence]) -> dict:
    """The spike-rate weight sweep over its finished runs, ``{lambda_SR: row}`` in ascending order, arms without
    a finished run left out. A row holds ``accuracy`` (:func:`arm_accuracy`), ``rates`` (the mean test rate per
    spiking layer over the seeds), ``distance_to_half`` (the mean over seeds and regulated layers, those between
    the first and the last, of ``|r - 1/2|``), ``entropy`` (the mean entropy in bits of a spike of a regulated
    layer) and ``sr_share`` (the weighted spike term's share of the last epoch's training loss, percent: how
    hard the regularizer pulls against the cross-entropy)."""
    rows = {}
    for rs in runs.values():
        if not rs:
            continue
        lam = float(rs[0].config.lambda_sr)
        rates = np.array([r.metrics["test_rates"] for r in rs], dtype=float)  # [seeds, layers]
        if rates.shape[1] < 3:
            raise ValueError(f"lambda_SR = {lam:g}: a sweep of the spike term needs a regulated layer (>= 3 spiking "
                             f"layers), got {rates.shape[1]}")
        rows[lam] = {"accuracy": arm_accuracy(rs), "rates": rates.mean(0).tolist(),
                     "distance_to_half": float(np.mean([regulated_distance(r) for r in rs])),
                     "entropy": float(np.mean([regulated_entropy(r) for r in rs])),
                     "sr_share": loss_shares(rs, lam)["sr_share"]}
    return dict(sorted(rows.items()))


def lambda_text(rows: Mapping[float, Mapping]) -> str:
    """A printed table of :func:`lambda_rows`: per weight, accuracy over the seeds, the mean rate per layer, the
    regulated layers' distance from 1/2 and spike entropy, and the spike term's share of the loss."""
    if not rows:
        return "no run of the sweep finished yet"
    lines = [f"{'lambda_SR':>10} {'accuracy [%] (seeds)':>22}  {'mean rate per layer':<28} {'|r - 1/2|':>9} "
             f"{'H(r) [bit]':>10} {'share of loss':>13}"]
    for lam, r in rows.items():
        acc = _mean_std_seeds(r["accuracy"])
        lines.append(f"{lam:>10g} {acc:>22}  {' '.join(f'{x:.3f}' for x in r['rates']):<28} "
                     f"{r['distance_to_half']:>9.3f} {r['entropy']:>10.3f} {r['sr_share']:>12.3g}%")
    return "\n".join(lines)


def lambda_row_text(row: Mapping | None, seeds: int) -> str:
    """One weight of :func:`lambda_rows` in words: ``"92.60 ± 0.14 % over 3 of 3 seeds, |r - 1/2| = 0.311, the
    spike term 0.28 % of the loss"``; ``"no run finished (of 3 seeds)"`` for None."""
    if row is None:
        return accuracy_text(None, seeds)
    return (f"{accuracy_text(row['accuracy'], seeds)}, |r \u2212 1/2| = {row['distance_to_half']:.3f}, the spike term "
            f"{row['sr_share']:.2g} % of the loss")


def regulated_distance(run) -> float:
    """The mean over a run's regulated layers (the spiking layers between the first and the last, those WS-DR's
    spike term pulls) of ``|r - 1/2|``, ``r`` a layer's mean test rate: 0 where every regulated layer fires half
    the time, 1/2 where each is silent or always on. Measured from 1/2, the spike term's default target
    (``sr_target``), whatever target a run was trained towards."""
    return float(np.abs(regulated_rates(run.metrics["test_rates"]) - 0.5).mean())


def regulated_entropy(run) -> float:
    """The mean over a run's regulated layers (as in :func:`regulated_distance`) of the entropy in bits of a spike
    at the layer's mean test rate, ``H(r) = -r log2 r - (1 - r) log2 (1 - r)``: 1 at ``r = 1/2``."""
    return regulated_layers_entropy(run.metrics["test_rates"])


ENTROPY_EFFECTS = ("spike regulation", "weight regulation (centring)")
"""The comparisons of :data:`FACTORIAL_EFFECTS` that :func:`entropy_effects` reads on the spikes: WS-DR's two
halves, each added alone to the plain Q-SNN."""


def entropy_effects(runs: Mapping[str, Sequence], declared: int, alpha: float = 0.05) -> dict:
    """Which half of WS-DR moves the spikes: the comparisons :data:`ENTROPY_EFFECTS` of the factorial taken on
    :func:`regulated_entropy` (bits) instead of accuracy, seed by seed, as a :func:`contrast_family` of their own
    whose verdicts wait for ``declared`` pairs. ``runs`` maps the factorial's arms to their finished runs."""
    per_seed = {arm: {int(r.config.seed): regulated_entropy(r) for r in rs} for arm, rs in runs.items()}
    return contrast_family(per_seed, {k: FACTORIAL_EFFECTS[k] for k in ENTROPY_EFFECTS}, declared, alpha)


def rate_shifts(experiment, runs: Mapping[str, Sequence], alpha: float = 0.05) -> dict:
    """How far each spike-rate weight moves the regulated layers towards ``r = 1/2``: per arm of the sweep with
    ``lambda_SR > 0`` (``{lambda_SR: entry}``, ascending), the paired difference over seeds of
    :func:`regulated_distance` against the arm with ``lambda_SR = 0`` (negative: closer to 1/2), the arms read as
    one :func:`contrast_family` (Holm) whose verdicts wait for every seed the grid declares. Each arm needs a
    weight of its own, and exactly one of them 0."""
    weights = {arm: float(experiment.config(arm, experiment.seeds[0]).lambda_sr) for arm in experiment.arms}
    zero = [arm for arm, lam in weights.items() if lam == 0.0]
    if len(zero) != 1:
        raise ValueError(f"{experiment.name}: a rate shift is taken against exactly one arm with lambda_sr = 0, "
                         f"found {len(zero)} ({', '.join(zero) or 'none'})")
    if len(set(weights.values())) != len(weights):
        raise ValueError(f"{experiment.name}: every arm of a lambda_SR sweep needs a weight of its own, got "
                         f"{', '.join(f'{a}: {lam:g}' for a, lam in weights.items())}")
    per_seed = {arm: {int(r.config.seed): regulated_distance(r) for r in runs.get(arm, ())} for arm in weights}
    contrasts = {arm: ({arm: 1, zero[0]: -1}, f"{arm} - {zero[0]}: distance from 1/2")
                 for arm, lam in sorted(weights.items(), key=lambda x: x[1]) if lam > 0.0}
    family = contrast_family(per_seed, contrasts, len(experiment.seeds), alpha)
    return {weights[arm]: d for arm, d in family.items()}


def shift_text(d: Mapping, pairs: bool = True, digits: int = 3, unit: str = "") -> str:
    """A :func:`rate_shifts` or :func:`entropy_effects` entry in words: ``"-0.023 [-0.038, -0.009] over 3 pairs"``
    (a distance or an entropy, not points; no interval with one pair, ``"no pair"`` without one);
    ``pairs=False`` leaves the count out, ``digits`` after the point, ``unit`` follows the mean."""
    if d["mean"] is None:
        return "no pair"
    ci = "" if d["ci"] is None else f" {interval_text(d, scale=1.0, digits=digits)}"
    n = f" over {d['n']} pair{'s' if d['n'] != 1 else ''}" if pairs else ""
    return f"{d['mean']:+z.{digits}f}{unit}{ci}{n}"


def rates_move_sentence(shifts: Mapping[float, Mapping], seeds: int) -> str:
    """Where the rates start to move, from :func:`rate_shifts`, naming every weight's verdict: the weights at
    which the regulated layers' distance from 1/2 falls measurably, those where it does not change measurably and
    those where it grows, each with its shift and interval (the interval each weight's own, the verdicts
    Holm-adjusted). It opens with the weight where the rates start to move when every larger weight moves them
    too, or with no weight moving them; until every weight has its ``seeds``, it says the answer waits."""
    if not shifts:
        raise ValueError("a lambda_SR sweep needs a weight above 0 to say where the rates move")
    if any(d["verdict"].startswith("withheld") for d in shifts.values()):
        fewest = min(d["n"] for d in shifts.values())
        return (f"Where the rates start to move is read when every weight has its {seeds} seeds (the fewest so "
                f"far: {fewest}).")
    by = {w: [lam for lam, d in shifts.items() if d["verdict"] == w]
          for w in ("below zero", "not distinguishable from zero", "above zero")}

    def listed(lams):
        return ", ".join(f"{lam:g} ({shift_text(shifts[lam], pairs=False)})" for lam in lams)

    clauses = [f"{verb} at {listed(by[w])}" for w, verb in (("below zero", "falls measurably"),
               ("not distinguishable from zero", "does not change measurably"), ("above zero", "grows")) if by[w]]
    closer, start = by["below zero"], _start_weight(shifts)
    if start is not None:
        head = f"The rates start to move at a weight of {start:g}: "
    elif not closer:
        head = f"At no weight up to {max(shifts):g} do the rates move measurably towards 1/2: "
    else:
        head = ""
    body = f"against no spike term, the regulated layers' distance from 1/2 {'; it '.join(clauses)}"
    return (f"{head}{body if head else body[:1].upper() + body[1:]} (verdicts Holm-adjusted over the "
            f"{len(shifts)} weights; each interval the weight's own).")


def _start_weight(shifts: Mapping[float, Mapping]) -> float | None:
    """The smallest weight at which the distance from 1/2 falls measurably, when every larger weight makes it fall
    too; None where no weight does, or a larger one does not."""
    closer = [lam for lam, d in shifts.items() if d["verdict"] == "below zero"]
    if closer and all(lam in closer for lam in shifts if lam >= min(closer)):
        return min(closer)
    return None


def lambda_status(shifts: Mapping[float, Mapping], authors: float) -> str:
    """The spike-rate sweep's status in a few words, from :func:`rate_shifts`: whether the regulated layers' rates
    move at the ``authors`` weight, and the weight from which they move towards 1/2 (as
    :func:`rates_move_sentence` reads it); ``"open (withheld: k of n pairs)"`` until every weight has its seeds."""
    if authors not in shifts:
        weights = ", ".join(f"{x:g}" for x in shifts)
        raise ValueError(f"the authors' weight {authors:g} is not a weight of the sweep above 0 ({weights})")
    waiting = [d for d in shifts.values() if d["verdict"].startswith("withheld")]
    if waiting:
        return f"open ({min(waiting, key=lambda d: d['n'])['verdict']})"
    at = {"below zero": "the rates move towards 1/2 at the authors' weight",
          "not distinguishable from zero": "the rates do not move measurably at the authors' weight",
          "above zero": "the rates move away from 1/2 at the authors' weight"}[shifts[authors]["verdict"]]
    start = _start_weight(shifts)
    if start is None:
        if any(d["verdict"] == "below zero" for d in shifts.values()):
            return f"{at}; some weights move them towards 1/2, but not every larger one"
        return f"{at}; no weight up to {max(shifts):g} moves them towards 1/2"
    return at if start == authors else f"{at}; they move towards 1/2 from {start:g}"


def membrane_rows(runs: Mapping[str, Sequence], quantizers: Sequence[str] = ("uniform", "tanh")) -> dict:
    """The membrane-precision sweep over its finished runs: ``{quantizer: {bits: accuracy}}`` with
    :func:`arm_accuracy` of each arm (``model_kwargs.membrane_bits``, None for full precision, keyed 32;
    ``model_kwargs.membrane_quantizer``, ``"uniform"`` when not set), widest first; the full-precision arm has
    no quantizer and is entered under each; arms without a finished run are left out."""
    out = {q: {} for q in quantizers}
    for rs in runs.values():
        if not rs:
            continue
        bits, entered = membrane_setting(rs[0].config, quantizers)
        for quantizer in entered:
            out[quantizer][bits] = arm_accuracy(rs)
    return {q: dict(sorted(v.items(), reverse=True)) for q, v in out.items()}


def membrane_text(rows: Mapping[str, Mapping[int, Mapping]]) -> str:
    """A printed table of :func:`membrane_rows`: a row per bit width, a column per quantizer, mean +- std (seeds)."""
    widths = sorted({b for v in rows.values() for b in v}, reverse=True)
    if not widths:
        return "no run of the sweep finished yet"
    lines = [f"{'membrane':>10} " + " ".join(f"{q:>20}" for q in rows)]
    for bits in widths:
        cells = " ".join(f"{_mean_std_seeds(rows[q][bits]) if bits in rows[q] else '-':>20}" for q in rows)
        lines.append(f"{'FP32' if bits == 32 else f'{bits} bit':>10} {cells}")
    return "\n".join(lines)
