"""Statistics of runs over seeds, in one place: mean and spread, paired differences with their t interval and
p-value, Holm's adjustment for a family of comparisons, and the verdicts an interval allows.

Arms of a grid share seeds, so the difference of two arms is taken seed by seed, ``d_k = a_k - b_k``; its mean
has the 95 % confidence interval ``mean(d) +- t_{0.975, n-1} * sd(d) / sqrt(n)`` (Student's t over the n
common seeds, sample standard deviation). Pairing removes the variance that two arms share through a seed (the
initialisation and the data order), which an unpaired comparison of the two means would keep. A chapter names
its primary comparison before it reads the runs; the others form a family whose p-values are Holm-adjusted
(:func:`with_holm`), and a verdict says no more than its interval (and that adjustment) allows.
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping

import numpy as np

__all__ = ["mean_std", "arm_summary", "paired_difference", "paired_p_value", "welch_difference", "holm", "with_holm",
           "interval_text", "direction_verdict", "declared_verdict", "level_verdict", "effect_verdict", "difference_word",
           "status_from_verdict"]


def mean_std(values: Iterable[float | None]) -> tuple[float | None, float | None]:
    """Mean and sample standard deviation (ddof = 1; 0.0 for a single value) of ``values``.

    One rule for values that are not finite numbers: if any value is ``None``, NaN or infinite, the result is
    ``(None, None)``, because a mean over runs of which one never finished (or diverged) is no mean of the
    runs. Callers that want to drop such runs drop them first, and say so.

    Raises
    ------
    ValueError
        If ``values`` is empty.
    """
    raw = list(values)
    if not raw:
        raise ValueError("mean_std needs at least one value")
    if any(v is None or not math.isfinite(float(v)) for v in raw):
        return None, None
    v = np.asarray(raw, dtype=float)
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0


def arm_summary(per_seed: Mapping[int, float]) -> dict:
    """``{"mean", "std", "n", "per_seed": {seed: value}}`` (std with ddof = 1, 0 for one seed)."""
    m, sd = mean_std(list(per_seed.values()))
    return {"mean": m, "std": sd, "n": len(per_seed), "per_seed": dict(per_seed)}


def paired_difference(a: Mapping[int, float], b: Mapping[int, float], confidence: float = 0.95) -> dict:
    """Paired difference ``a - b`` over the seeds both have.

    Returns
    -------
    dict
        ``mean``, ``std`` (of the differences), ``n``, ``ci`` (``[low, high]``; ``None`` for fewer than two
        seeds, where no interval exists), ``seeds`` and ``per_seed`` differences.

    Raises
    ------
    ValueError
        If the two have no seed in common or ``confidence`` is not in (0, 1).
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence!r}")
    seeds = [s for s in a if s in b]
    if not seeds:
        raise ValueError(f"no common seeds: {sorted(a)} and {sorted(b)}")
    diffs = {s: float(a[s]) - float(b[s]) for s in seeds}
    m, sd = mean_std(list(diffs.values()))
    ci = None
    if len(seeds) > 1 and m is not None:
        from scipy.stats import t

        half = float(t.ppf(0.5 + confidence / 2, len(seeds) - 1)) * sd / math.sqrt(len(seeds))
        ci = [m - half, m + half]
    return {"mean": m, "std": sd, "n": len(seeds), "ci": ci, "confidence": confidence, "seeds": seeds,
            "per_seed": diffs}



def paired_p_value(d: Mapping) -> float | None:
    """Two-sided p-value of the paired t test that the mean difference is zero.

    ``d`` is a paired difference as :func:`paired_difference` returns it (``mean``, ``std``
    of the per-seed differences, ``n`` seeds): ``t = mean / (std / sqrt(n))`` with ``n - 1`` degrees of
    freedom, the test whose inversion is the interval ``d["ci"]``. None for fewer than two seeds; 0 (or 1)
    when every seed gives the same non-zero (or zero) difference.
    """
    from scipy.stats import t as student_t

    n, m, sd = d["n"], d["mean"], d["std"]
    if n is None or n < 2 or m is None or sd is None:
        return None
    if sd == 0.0:
        return 0.0 if m != 0.0 else 1.0
    return float(2.0 * student_t.sf(abs(m) / (sd / math.sqrt(n)), n - 1))


def welch_difference(a: Iterable[float], b: Iterable[float], confidence: float = 0.95) -> dict:
    """The difference ``mean(a) - mean(b)`` of two independent samples, with Welch's t interval and p-value.

    For values that share no seed: the per-seed effects of one comparison in two regimes whose networks differ
    (the same seed number gives a different initialisation in each), so that no pairing exists. Welch's test
    does not assume equal variances; its degrees of freedom are Welch-Satterthwaite's
    ``(va + vb)^2 / (va^2 / (na - 1) + vb^2 / (nb - 1))`` with ``va = sd_a^2 / na``.

    Returns
    -------
    dict
        ``mean``, ``ci`` and ``p`` (``None`` unless both samples have two values and some spread), ``df``,
        ``n_a``, ``n_b``, ``confidence``.

    Raises
    ------
    ValueError
        If a sample is empty, holds a value that is not a finite number, or ``confidence`` is not in (0, 1).
    """
    from scipy.stats import t as student_t

    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence!r}")
    xs = [np.asarray(list(v), dtype=float) for v in (a, b)]
    for name, x in zip("ab", xs):
        if x.size == 0 or not np.all(np.isfinite(x)):
            raise ValueError(f"sample {name} must hold at least one finite number, got {x.tolist()!r}")
    # on values scaled to at most 1 in magnitude (t, df and p do not change with the scale), so that squares of
    # values near the largest float do not overflow; the mean and the interval are scaled back
    scale = max(float(np.abs(x).max()) for x in xs) or 1.0
    xs = [x / scale for x in xs]
    (na, nb), mean = (x.size for x in xs), float(xs[0].mean() - xs[1].mean())
    out = {"mean": scale * mean, "ci": None, "p": None, "df": None, "n_a": int(na), "n_b": int(nb),
           "confidence": confidence}
    if min(na, nb) < 2:
        return out
    va, vb = (float(x.var(ddof=1)) / x.size for x in xs)
    if va + vb == 0.0:
        return out
    df = (va + vb) ** 2 / (va ** 2 / (na - 1) + vb ** 2 / (nb - 1))
    se = math.sqrt(va + vb)
    half = float(student_t.ppf(0.5 + confidence / 2, df)) * se
    out.update(ci=[scale * (mean - half), scale * (mean + half)], df=float(df),
               p=float(2.0 * student_t.sf(abs(mean) / se, df)))
    return out


def holm(pvalues: Mapping[str, float | None]) -> dict:
    """Holm's step-down adjustment of a family of p-values (Holm 1979): it keeps the probability of any false
    rejection in the family at the nominal level, whatever the dependence between the tests.

    The k-th smallest of m p-values becomes ``max over j <= k of min(1, (m - j + 1) p_(j))``. Entries that are
    None stay None and do not count in m.
    """
    given = sorted(((p, k) for k, p in pvalues.items() if p is not None), key=lambda x: x[0])
    m, out, running = len(given), {k: None for k in pvalues}, 0.0
    for j, (p, k) in enumerate(given):
        running = max(running, min(1.0, (m - j) * float(p)))
        out[k] = running
    return out


def with_holm(differences: Mapping[str, Mapping], primary: str | None = None) -> dict:
    """Paired differences with their p-value (``p``) and, for every comparison other than ``primary``, the
    Holm-adjusted p-value over those secondary comparisons (``p_holm``; the primary one keeps its own ``p``).

    The primary comparison is named before the data are read (the paper's claim a chapter tests); the others
    are a family whose verdicts must survive the adjustment.
    """
    if primary is not None and primary not in differences:
        raise ValueError(f"primary comparison {primary!r} is not among {sorted(differences)}")
    out = {k: dict(v, p=paired_p_value(v)) for k, v in differences.items()}
    adjusted = holm({k: v["p"] for k, v in out.items() if k != primary})
    for k, v in out.items():
        v["primary"] = k == primary
        v["p_holm"] = v["p"] if k == primary else adjusted[k]
    return out


def interval_text(d: Mapping, scale: float = 100.0, digits: int = 2) -> str:
    """``"[-5.08, +3.97]"``: the interval ``d["ci"]`` times ``scale``, signed (``"no interval"`` without one)."""
    if d.get("ci") is None:
        return "no interval"
    lo, hi = d["ci"]
    return f"[{scale * lo:+z.{digits}f}, {scale * hi:+z.{digits}f}]"


def direction_verdict(d: Mapping, paper_sign: int = 1, alpha: float = 0.05) -> str:
    """What an interval says about a claim of the paper that one arm is ahead (``paper_sign`` +1) or behind (-1).

    ``"in line with the paper"`` when the interval excludes zero on the paper's side, ``"opposite to the
    paper"`` when it excludes zero on the other side, ``"not distinguishable from zero"`` otherwise. A
    difference with a Holm-adjusted p-value (``p_holm``, :func:`with_holm`) at or above ``alpha`` counts as
    not distinguishable even where its own interval excludes zero: one interval among several does not carry
    a direction.
    """
    if paper_sign not in (1, -1):
        raise ValueError(f"paper_sign must be +1 or -1, got {paper_sign!r}")
    if d.get("ci") is None:
        return "not distinguishable from zero"
    lo, hi = d["ci"]
    if lo <= 0.0 <= hi or (d.get("p_holm") is not None and d["p_holm"] >= alpha):
        return "not distinguishable from zero"
    return "in line with the paper" if (lo > 0.0) == (paper_sign > 0) else "opposite to the paper"


def declared_verdict(d: Mapping, declared: int, paper_sign: int = 1, alpha: float = 0.05) -> str:
    """The verdict of a comparison whose number of paired seeds was declared before its runs were read.

    Until ``d["n"]`` reaches ``declared`` the verdict is withheld (``"withheld: 4 of 10 pairs"``): reading an
    interval as its runs arrive and stopping when it excludes zero would make a false verdict far likelier than
    ``alpha``. With all the pairs it is :func:`direction_verdict`.
    """
    if int(declared) < 2:
        raise ValueError(f"declared must be >= 2 pairs (an interval needs two), got {declared!r}")
    if d["n"] < declared:
        return f"withheld: {d['n']} of {int(declared)} pairs"
    return direction_verdict(d, paper_sign, alpha)


def level_verdict(d: Mapping, paper_effect: float, margin: float) -> str:
    """What an interval says about a claim of the paper that two arms are level (its difference ``paper_effect``,
    close to zero), with ``margin`` the largest difference that still counts as level (same units as ``d``).

    ``"level, as in the paper"`` when the whole interval lies within ``[-margin, +margin]``; ``"below"`` or
    ``"above"`` when the interval excludes the paper's difference on that side; ``"not distinguishable"``
    otherwise (the interval holds the paper's difference and a difference larger than the margin).
    """
    if not margin > 0:
        raise ValueError(f"margin must be > 0, got {margin!r}")
    if d.get("ci") is None:
        return "not distinguishable"
    lo, hi = d["ci"]
    if -margin <= lo and hi <= margin:
        return "level, as in the paper"
    if hi < paper_effect:
        return "below"
    if lo > paper_effect:
        return "above"
    return "not distinguishable"


def effect_verdict(d: Mapping, paper_effect: float, alternative: float = 0.0) -> str:
    """What an interval says about an effect of size ``paper_effect`` the paper reports, against the
    ``alternative`` (no effect by default).

    ``"in line with the paper"`` when the interval holds the paper's effect and excludes the alternative;
    ``"below the paper's effect"`` / ``"above the paper's effect"`` when it excludes the paper's effect;
    ``"not distinguishable"`` when it holds both.
    """
    if d.get("ci") is None:
        return "not distinguishable"
    lo, hi = d["ci"]
    if hi < paper_effect:
        return "below the paper's effect"
    if lo > paper_effect:
        return "above the paper's effect"
    return "not distinguishable" if lo <= alternative <= hi else "in line with the paper"


def difference_word(d: Mapping, alpha: float = 0.05) -> str:
    """``"below zero"``, ``"above zero"`` or ``"not distinguishable from zero"``: where the interval of a paired
    difference lies, with the Holm-adjusted p-value (``p_holm``, when present) deciding as in
    :func:`direction_verdict`. For differences the paper makes no claim about."""
    verdict = direction_verdict(d, 1, alpha)
    return {"in line with the paper": "above zero", "opposite to the paper": "below zero"}.get(verdict, verdict)


STATUS_REPRODUCED_AT_SMALL_SCALE = "reproduced at small scale"
STATUS_NOT_REPRODUCED = "not reproduced"


def status_from_verdict(verdict: str, what: str = "") -> str:
    """The status of the book's tables for a verdict of :func:`direction_verdict`, :func:`level_verdict` or
    :func:`effect_verdict` on the book's small-scale runs: ``"reproduced at small scale"`` for a verdict in
    line with the paper, ``"open (<verdict>)"`` for one :func:`declared_verdict` withholds, ``"not reproduced
    (<verdict>)"`` otherwise; ``what`` is prefixed (``"size reproduced; accuracy: ..."``)."""
    if verdict.startswith("withheld"):
        return f"{what}open ({verdict})"
    ok = verdict in ("in line with the paper", "level, as in the paper")
    status = STATUS_REPRODUCED_AT_SMALL_SCALE if ok else f"{STATUS_NOT_REPRODUCED} ({verdict})"
    return f"{what}{status}"
