"""Chapter 7's section on the second regime and the sweeps, against the committed runs: how many runs it reads,
and the paired effects it prints (mean, 95 % interval, pairs, the family's verdict), recomputed here from the
runs' metrics.json with scipy alone, so a run committed without the section refreshed fails."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from _glued import committed_accuracy, effect, family_verdicts, glued
from scipy.stats import t as student_t
from scipy.stats import ttest_ind

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "book" / "07_fashion_mnist_sweeps.ipynb"
GRIDS = ROOT / "book" / "experiments"


def paired(grid: str, a: str, b: str, other: str | None = None) -> tuple[list, list]:
    """The per-seed differences ``a - b`` over the seeds both have (``b`` from the grid ``other`` if given)."""
    x = committed_accuracy(GRIDS / grid, a)
    y = committed_accuracy(GRIDS / (other or grid), b)
    return [x[s] - y[s] for s in sorted(x) if s in y], [s for s in sorted(x) if s in y]


def across(pairs: dict) -> dict:
    """The section's words for narrow minus full width, per comparison (``{key: (narrow, full, declared)}``): the
    difference of the two regimes' mean effects, Welch's interval (Welch-Satterthwaite degrees of freedom) and
    p-value, Holm-adjusted over the comparisons once every one has the pairs both regimes declare."""
    words, ps = {}, {}
    for key, (narrow, full, declared) in pairs.items():
        ma, mb = sum(narrow) / len(narrow), sum(full) / len(full)
        va, vb = (sum((x - m) ** 2 for x in v) / (len(v) - 1) / len(v) for v, m in ((narrow, ma), (full, mb)))
        df = (va + vb) ** 2 / (va ** 2 / (len(narrow) - 1) + vb ** 2 / (len(full) - 1))
        half = student_t.ppf(0.975, df) * math.sqrt(va + vb)
        words[key] = (f"{100 * (ma - mb):+z.2f} points [{100 * (ma - mb - half):+z.2f}, "
                      f"{100 * (ma - mb + half):+z.2f}] over {len(narrow)} and {len(full)} pairs")
        if len(narrow) < declared[0] or len(full) < declared[1]:
            words[key] += (f" (withheld: {len(narrow)} of {declared[0]} and {len(full)} of {declared[1]} pairs)")
        ps[key] = (ttest_ind(narrow, full, equal_var=False).pvalue, ma - mb)
    if any("withheld" in w for w in words.values()):
        return words
    order, running = sorted(ps, key=lambda k: ps[k][0]), 0.0
    for j, key in enumerate(order):  # Holm's step-down
        running = max(running, min(1.0, (len(order) - j) * ps[key][0]))
        word = "not distinguishable from zero" if running >= 0.05 else "above zero" if ps[key][1] > 0 else "below zero"
        words[key] += f" ({word}, Holm-adjusted {'p < 0.001' if running < 1e-3 else f'p = {running:.3f}'})"
    return words


def test_the_section_reads_every_committed_run():
    g = glued(PAGE)
    for grid in ("narrow", "lambda_full", "membrane_full"):
        done = sum(1 for f in (GRIDS / f"fashion_mnist_{grid}").glob("*/seed*") if (f / "model.pt").is_file())
        assert g[f"{grid}_done"] == done, f"fashion_mnist_{grid}: {done} runs committed, the section read " \
                                          f"{g[f'{grid}_done']}: refresh it"


def test_the_printed_effects_are_those_of_the_committed_runs():
    g = glued(PAGE)
    wsdr, _ = paired("fashion_mnist_main", "qsnn_wsdr", "qsnn")
    cost, _ = paired("fashion_mnist_main", "qsnn_wsdr", "fp_snn", other="fashion_mnist_factorial")
    assert g["full_fx_wsdr"] == effect(wsdr) and g["full_fx_cost"] == effect(cost)
    narrow = [paired("fashion_mnist_narrow", "qsnn_wsdr", b)[0] for b in ("qsnn", "fp_snn")]
    for key, d, verdict in zip(("wsdr", "cost"), narrow, family_verdicts(narrow, 5)):
        assert g[f"narrow_fx_{key}"] == f"{effect(d)} ({verdict})"
    pairs = {}
    for key, (a, b), declared in (("wsdr", ("qsnn_wsdr", "qsnn"), 10), ("cost", ("qsnn_wsdr", "fp_snn"), 5)):
        full, _ = paired("fashion_mnist_main", a, b, other=None if b == "qsnn" else "fashion_mnist_factorial")
        pairs[key] = (paired("fashion_mnist_narrow", a, b)[0], full, (5, declared))
    for key, words in across(pairs).items():
        assert g[f"across_{key}"] == words
        answer = g[f"answer_{key}"]  # the sentence follows the verdict's direction
        if "withheld" in words:
            assert answer.startswith("Whether")
        elif "not distinguishable" in words:
            assert answer.endswith("does not differ measurably between the regimes (within "
                                   f"{words[words.index('['):words.index(']') + 1]} points).")
        else:
            lower = "below zero" in words
            assert (("stands lower" if lower else "stands higher") if key == "cost"
                    else ("does worse" if lower else "does better")) in answer
    membrane = [paired("fashion_mnist_membrane_full", a, b)[0]
                for a, b in (("uniform_4", "fp32"), ("uniform_2", "fp32"), ("tanh_4", "uniform_4"))]
    verdicts = family_verdicts(membrane, 3)
    for i, (d, verdict) in enumerate(zip(membrane, verdicts)):
        assert g[f"mem_fx_{i}"] == f"{effect(d)} ({verdict})"
    if verdicts[0].startswith("withheld"):  # its own pairs, or the rest of its Holm family, still being trained
        assert g["status_membrane"] == f"open ({verdicts[0]})"
    else:  # level with full precision: the whole interval within +-1 point (the section's level_margin)
        d, n = membrane[0], len(membrane[0])
        mean = sum(d) / n
        half = student_t.ppf(0.975, n - 1) * math.sqrt(sum((x - mean) ** 2 for x in d) / (n - 1)) / math.sqrt(n)
        lo, hi = mean - half, mean + half
        word = ("reproduced at small scale" if -0.01 <= lo and hi <= 0.01 else "not reproduced (below)" if hi < 0
                else "not reproduced (above)" if lo > 0 else "not reproduced (not distinguishable)")
        assert g["status_membrane"] == word


@pytest.mark.parametrize("arm", ["lambda_0", "lambda_0.005", "lambda_0.05", "lambda_0.5", "lambda_5"])
def test_the_lambda_rows_name_their_seeds(arm):
    g = glued(PAGE)
    n = len(committed_accuracy(GRIDS / "fashion_mnist_lambda_full", arm))
    text = g[f"lam_{arm.replace('.', '_')}"]
    assert text.startswith(f"{float(arm.removeprefix('lambda_')):g}: ")
    assert (f"over {n} of 3 seeds" if n > 1 else f"on {n} of 3 seeds" if n == 1 else "no run finished") in text


def test_the_printed_last_steps_are_those_of_the_committed_histories():
    """What the last evaluated epoch added to the one before, averaged over each grid's finished runs, from the
    runs' metrics.json (copies of chapter 7's runs included, as the section counts them)."""
    words = []
    for grid, where in (("narrow", "at half the width"), ("lambda_full", "in the spike-regulation sweep"),
                        ("membrane_full", "in the membrane sweep")):
        steps = []
        for f in sorted((GRIDS / f"fashion_mnist_{grid}").glob("*/seed*")):
            if (f / "model.pt").is_file():
                acc = [r["test_acc"] for r in json.loads((f / "metrics.json").read_text())["history"]
                       if r.get("test_acc") is not None]
                steps += [acc[-1] - acc[-2]] if len(acc) > 1 else []
        if steps:
            n = len(steps)
            words.append(f"{100 * sum(steps) / n:+z.2f} points over {n} run{'s' if n != 1 else ''} {where}")
    assert glued(PAGE)["last_steps"] == ", ".join(words)


def test_the_lambda_effects_are_those_of_the_committed_runs():
    """Accuracy against lambda_SR = 0 (the grid's Holm family of three) and where the regulated layers' rates start to
    move: per weight, the paired shift of the mean over the middle layers of |r - 1/2| against lambda_SR = 0 (a Holm
    family of four), recomputed from the runs' metrics.json."""
    g, grid = glued(PAGE), "fashion_mnist_lambda_full"
    acc = [paired(grid, f"lambda_{lam}", "lambda_0")[0] for lam in ("0.005", "0.5", "5")]
    for i, (lam, d, verdict) in enumerate(zip((0.005, 0.5, 5), acc, family_verdicts(acc, 3))):
        assert g[f"lam_fx_{i}"] == f"at {lam:g}, {effect(d)} ({verdict})"

    def distance(arm):
        return {int(f.name.removeprefix("seed")): sum(abs(r - 0.5) for r in rates[1:-1]) / len(rates[1:-1])
                for f in sorted((GRIDS / grid / arm).glob("seed*")) if (f / "model.pt").is_file()
                for rates in [json.loads((f / "metrics.json").read_text())["test_rates"]]}

    zero = distance("lambda_0")
    shifts = {lam: [x - zero[s] for s, x in sorted(distance(f"lambda_{lam}").items()) if s in zero]
              for lam in ("0.005", "0.05", "0.5", "5")}
    sentence = g["lam_rates_move"]
    if any(len(d) < 3 for d in shifts.values()):
        fewest = min(len(d) for d in shifts.values())
        assert sentence == f"Where the rates start to move is read when every weight has its 3 seeds (the fewest " \
                           f"so far: {fewest})."
        assert g["status_lambda"] == f"open (withheld: {fewest} of 3 pairs)"
        return
    words = {float(lam): v.split(",")[0] for lam, v in zip(shifts, family_verdicts(list(shifts.values()), 3))}

    def shift(d):
        n, mean = len(d), sum(d) / len(d)
        half = student_t.ppf(0.975, n - 1) * math.sqrt(sum((x - mean) ** 2 for x in d) / (n - 1)) / math.sqrt(n)
        return f"{mean:+z.3f} [{mean - half:+z.3f}, {mean + half:+z.3f}]"

    by = {w: [lam for lam in words if words[lam] == w] for w in ("below zero", "not distinguishable from zero",
                                                              "above zero")}
    clauses = [f"{verb} at " + ", ".join(f"{lam:g} ({shift(shifts[f'{lam:g}'])})" for lam in by[w])
               for w, verb in (("below zero", "falls measurably"), ("not distinguishable from zero",
                               "does not change measurably"), ("above zero", "grows")) if by[w]]
    body = "against no spike term, the regulated layers' distance from 1/2 " + "; it ".join(clauses)
    closer = by["below zero"]
    if closer and all(words[lam] == "below zero" for lam in words if lam >= min(closer)):
        body = f"The rates start to move at a weight of {min(closer):g}: {body}"
    elif not closer:
        body = f"At no weight up to 5 do the rates move measurably towards 1/2: {body}"
    else:
        body = body[:1].upper() + body[1:]
    assert sentence == f"{body} (verdicts Holm-adjusted over the 4 weights; each interval the weight's own)."
    at = {"below zero": "the rates move towards 1/2", "not distinguishable from zero": "the rates do not move "
          "measurably", "above zero": "the rates move away from 1/2"}[words[0.005]] + " at the authors' weight"
    if closer and all(words[lam] == "below zero" for lam in words if lam >= min(closer)):
        at += "" if min(closer) == 0.005 else f"; they move towards 1/2 from {min(closer):g}"
    else:
        at += "; some weights move them towards 1/2, but not every larger one" if closer else \
            "; no weight up to 5 moves them towards 1/2"
    assert g["status_lambda"] == at
