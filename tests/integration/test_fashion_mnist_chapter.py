"""Chapter 7 against the committed runs: the main contrast it prints (mean, 95 % interval, pairs, verdict) is
recomputed here from the runs' metrics.json with scipy alone, so a run committed without the chapter refreshed,
or a chapter that computes its interval wrongly, fails; and the table's sizes are the runs' own."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from _glued import committed_accuracy as committed_in
from _glued import effect, family_verdicts
from _glued import glued as glued_in
from scipy.stats import t as student_t

ROOT = Path(__file__).resolve().parents[2]
CHAPTER = ROOT / "book" / "07_fashion_mnist.ipynb"
MAIN = ROOT / "book" / "experiments" / "fashion_mnist_main"
FACTORIAL = ROOT / "book" / "experiments" / "fashion_mnist_factorial"
# the factorial's comparisons as the chapter describes them: signed sums of arms, seed by seed
FACTORIAL_EFFECTS = {
    "centring": {"qsnn_wr": 1, "qsnn": -1},
    "scale": {"qsnn": 1, "qsnn_raw": -1},
    "wr_all": {"qsnn_wr": 1, "qsnn_raw": -1},
    "sr": {"qsnn_sr": 1, "qsnn": -1},
    "interaction": {"qsnn_wsdr": 1, "qsnn_sr": -1, "qsnn_wr": -1, "qsnn": 1},
    "wsdr_fp": {"qsnn_wsdr": 1, "fp_snn": -1},
    "qsnn_fp": {"qsnn": 1, "fp_snn": -1},
}
DECLARED = 10  # the pairs the grid declares (fashion_mnist_main/experiment.yaml)


def glued() -> dict:
    return glued_in(CHAPTER)


def committed_accuracy(arm: str) -> dict:
    return committed_in(MAIN, arm)


def test_the_printed_main_contrast_is_that_of_the_committed_runs():
    g = glued()
    a, b = committed_accuracy("qsnn_wsdr"), committed_accuracy("qsnn")
    diffs = [a[s] - b[s] for s in sorted(a) if s in b]
    n = len(diffs)
    mean = sum(diffs) / n
    half = student_t.ppf(0.975, n - 1) * math.sqrt(sum((x - mean) ** 2 for x in diffs) / (n - 1)) / math.sqrt(n)
    assert g["d_wsdr_qsnn_n"] == n, "the chapter reads another number of pairs than is committed: refresh it"
    assert g["d_wsdr_qsnn_mean"] == pytest.approx(100 * mean, rel=1e-5, abs=1e-4)
    assert g["d_wsdr_qsnn_ci"] == f"[{100 * (mean - half):+z.2f}, {100 * (mean + half):+z.2f}]"
    assert g["d_wsdr_qsnn_half"] == pytest.approx(100 * half, rel=1e-5, abs=1e-4)
    assert g["main_done"] == len(a) + len(b)
    if n < DECLARED:
        assert g["verdict_wsdr_qsnn"] == f"withheld: {n} of {DECLARED} pairs"
    else:
        lo, hi = mean - half, mean + half
        expected = ("not distinguishable from zero" if lo <= 0 <= hi else
                    "in line with the paper" if lo > 0 else "opposite to the paper")
        assert g["verdict_wsdr_qsnn"] == expected


def test_the_printed_factorial_is_that_of_the_committed_runs():
    """Each comparison over the seeds all its arms have (the main grid's arms from fashion_mnist_main, the rest
    from fashion_mnist_factorial), one Holm family read when every comparison has its five pairs."""
    acc = {arm: committed_in(MAIN, arm) for arm in ("qsnn", "qsnn_wsdr")}
    acc.update({arm: committed_in(FACTORIAL, arm) for arm in ("fp_snn", "qsnn_wr", "qsnn_sr", "qsnn_raw")})
    diffs = []
    for signs in FACTORIAL_EFFECTS.values():
        seeds = sorted(set.intersection(*(set(acc[arm]) for arm in signs)))
        diffs.append([sum(sign * acc[arm][s] for arm, sign in signs.items()) for s in seeds])
    g = glued()
    for key, d, verdict in zip(FACTORIAL_EFFECTS, diffs, family_verdicts(diffs, 5)):
        assert g[f"fx_{key}"] == f"{effect(d)} ({verdict})", key
    assert g["factorial_done"] == sum(len(acc[arm]) for arm in ("fp_snn", "qsnn_wr", "qsnn_sr", "qsnn_raw"))
    shared = sorted(set(acc["qsnn"]) & set(acc["qsnn_wr"]) & set(acc["qsnn_raw"]))  # the split's seeds
    whole, scale, centring = (100 * sum(acc[a][s] - acc[b][s] for s in shared) / len(shared)
                              for a, b in (("qsnn_wr", "qsnn_raw"), ("qsnn", "qsnn_raw"), ("qsnn_wr", "qsnn")))
    assert g["fx_split"] == (f"Over the {len(shared)} seeds all three binary arms share, weight regulation in all "
                             f"({whole:+z.2f} points) is the scale's {scale:+z.2f} plus the centring's {centring:+z.2f}.")


def test_the_table_sizes_are_the_runs_own(monkeypatch):
    from qsnn.book import progress, trained

    monkeypatch.chdir(ROOT)
    grids = trained.open_grids(("fashion_mnist_main", "fashion_mnist_factorial"), finished_only=True)
    (main_exp, main), (factorial_exp, factorial) = grids.values()
    rows = progress.table_rows({"fp_snn": (factorial_exp, factorial["fp_snn"]), "qsnn": (main_exp, main["qsnn"])},
                               {"fp_snn": "FP", "qsnn": "Q"}, reference="fp_snn")
    assert rows[1]["size_mb"] == trained.model_sizes({"qsnn": main["qsnn"]})["qsnn"]
    assert rows[1]["method"] == f"Q ({len(main['qsnn'])} seeds)" and rows[1]["weight_bits"] == 1
    g = glued()
    assert g["size_reduction"] == pytest.approx(100 * (1 - rows[1]["size_mb"] / rows[0]["size_mb"]), abs=1e-4)


def test_the_printed_plateau_is_that_of_the_committed_histories():
    """The mean last step over every finished run of the main grid and the factorial: the last evaluated epoch's
    test accuracy minus the one before, read from each run's metrics.json."""
    steps = []
    for grid in (MAIN, FACTORIAL):
        for metrics in sorted(grid.glob("*/seed*/metrics.json")):
            if (metrics.parent / "model.pt").is_file():
                history = json.loads(metrics.read_text())["history"]
                accs = [h["test_acc"] for h in history if h.get("test_acc") is not None]
                steps.append(accs[-1] - accs[-2])
    g = glued()
    assert g["n_gap_runs"] == len(steps)
    assert g["gap_all"] == pytest.approx(100 * sum(steps) / len(steps), rel=1e-5, abs=1e-4)


def test_the_halves_of_wsdr_on_the_spikes_are_those_of_the_committed_runs():
    """The spike term alone and the centring alone against the plain Q-SNN, on the regulated layers' spike entropy
    (per seed, the mean over the spiking layers between the first and the last of H(r) in bits at the layer's test
    rate), a Holm family of two over the factorial's five seeds, from the runs' metrics.json."""
    def entropy(grid: Path, arm: str) -> dict:
        out = {}
        for f in sorted((grid / arm).glob("seed*")):
            if (f / "model.pt").is_file():
                rates = json.loads((f / "metrics.json").read_text())["test_rates"][1:-1]
                out[int(f.name.removeprefix("seed"))] = sum(-r * math.log2(r) - (1 - r) * math.log2(1 - r)
                                                            for r in rates) / len(rates)
        return out

    plain = entropy(MAIN, "qsnn")
    diffs = []
    for arm in ("qsnn_sr", "qsnn_wr"):
        alone = entropy(FACTORIAL, arm)
        diffs.append([alone[s] - plain[s] for s in sorted(alone) if s in plain])
    g = glued()
    for key, d, verdict in zip(("fx_h_spike", "fx_h_weight"), diffs, family_verdicts(diffs, 5)):
        n, mean = len(d), sum(d) / len(d)
        half = student_t.ppf(0.975, n - 1) * math.sqrt(sum((x - mean) ** 2 for x in d) / (n - 1)) / math.sqrt(n)
        assert g[key] == (f"{mean:+z.4f} bit [{mean - half:+z.4f}, {mean + half:+z.4f}] over {n} pairs "
                          f"({verdict})"), key
