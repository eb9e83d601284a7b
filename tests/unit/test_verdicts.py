"""Tests of the verdict helpers of qsnn.stats: p-values, Holm's adjustment, and the words a chapter may use
for an interval (in line with the paper, opposite, not distinguishable, level, below, above)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsnn.book.events import polarity_inversion
from qsnn.stats import (declared_verdict, difference_word, direction_verdict, effect_verdict, holm, interval_text,
                        level_verdict, paired_p_value, status_from_verdict, welch_difference, with_holm)
from qsnn.experiments import paired_difference


def d(ci, p_holm=None, mean=None):
    out = {"ci": list(ci), "mean": sum(ci) / 2 if mean is None else mean}
    if p_holm is not None:
        out["p_holm"] = p_holm
    return out


def test_paired_p_value_inverts_the_interval():
    """The t test's p-value is below 0.05 exactly when the 95 % t interval excludes zero."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        a = {s: float(x) for s, x in enumerate(rng.normal(0.1, 1.0, 4))}
        b = {s: 0.0 for s in a}
        diff = paired_difference(a, b)
        p = paired_p_value(diff)
        lo, hi = diff["ci"]
        assert (p < 0.05) == (lo > 0 or hi < 0)


def test_paired_p_value_of_identical_differences():
    """Equal non-zero differences on every seed give p = 0; all-zero differences p = 1; one seed gives None."""
    assert paired_p_value({"n": 3, "mean": 0.5, "std": 0.0}) == 0.0
    assert paired_p_value({"n": 3, "mean": 0.0, "std": 0.0}) == 1.0
    assert paired_p_value({"n": 1, "mean": 0.5, "std": 0.0}) is None


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1.0, 1.0), min_size=2, max_size=12), st.lists(st.floats(-1.0, 1.0), min_size=2, max_size=12),
       st.sampled_from([0.9, 0.95, 0.99]))
def test_welch_difference_matches_scipy(a, b, confidence):
    """Differential: the interval and p-value of scipy's Welch test (``ttest_ind(equal_var=False)``)."""
    from scipy.stats import ttest_ind

    w = welch_difference(a, b, confidence)
    assert w["mean"] == pytest.approx(np.mean(a) - np.mean(b), abs=1e-12)
    if np.var(a) + np.var(b) < 1e-20:  # no spread: no interval (scipy returns NaN there)
        return
    ref = ttest_ind(a, b, equal_var=False)
    lo, hi = ref.confidence_interval(confidence)
    assert w["ci"] == pytest.approx([lo, hi], rel=1e-6, abs=1e-9)
    assert w["p"] == pytest.approx(ref.pvalue, rel=1e-6, abs=1e-12)


def test_welch_difference_golden_and_degenerate_samples():
    """A hand-computed case; one value or no spread gives the mean without an interval; bad input is refused."""
    w = welch_difference([1.0, 2.0, 3.0], [0.0, 1.0, 2.0])  # variance 1 each, n = 3: df = 4
    assert w["mean"] == pytest.approx(1.0) and w["df"] == pytest.approx(4.0)
    half = 2.7764451051977987 * math.sqrt(2.0 / 3.0)  # t_{0.975, 4} * sqrt(1/3 + 1/3)
    assert w["ci"] == pytest.approx([1.0 - half, 1.0 + half])
    assert welch_difference([0.3], [0.1, 0.2])["ci"] is None
    assert welch_difference([0.3, 0.3], [0.1, 0.1])["ci"] is None
    huge, tiny = welch_difference([1e300, -1e300], [0.0, 1e-300]), welch_difference([1e-300, 3e-300], [0.0, 2e-300])
    assert huge["mean"] == pytest.approx(0.0, abs=1e285) and huge["p"] == pytest.approx(1.0)
    assert np.isfinite(huge["ci"]).all() and huge["ci"][1] > 1e300  # no overflow in the squares
    assert tiny["mean"] == pytest.approx(1e-300) and tiny["p"] == pytest.approx(
        welch_difference([1.0, 3.0], [0.0, 2.0])["p"])  # scale-free
    for bad in ([], [float("nan")], [float("inf"), 1.0]):
        with pytest.raises(ValueError, match="sample a"):
            welch_difference(bad, [0.0, 1.0])
    with pytest.raises(ValueError, match="confidence"):
        welch_difference([0.0, 1.0], [0.0, 1.0], 1.0)


def test_holm_matches_the_step_down_definition():
    """Holm multiplies the k-th smallest of m p-values by m - k + 1 and keeps the sequence monotone, capped at 1."""
    assert holm({"a": 0.01, "b": 0.04, "c": 0.03}) == pytest.approx({"a": 0.03, "b": 0.06, "c": 0.06})
    assert holm({"a": 0.5, "b": 0.9}) == {"a": 1.0, "b": 1.0}
    assert holm({"a": 0.01, "b": None}) == {"a": 0.01, "b": None}


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=8))
def test_holm_never_lowers_a_p_value_and_keeps_the_order(ps):
    """An adjusted p-value is at least the raw one, at most 1, and the adjustment keeps their order."""
    adj = holm({i: p for i, p in enumerate(ps)})
    for i, p in enumerate(ps):
        assert p <= adj[i] <= 1.0
    order = sorted(range(len(ps)), key=lambda i: ps[i])
    assert all(adj[i] <= adj[j] for i, j in zip(order, order[1:]))


def test_with_holm_leaves_the_primary_comparison_unadjusted():
    """The primary comparison keeps its own p-value; the others are adjusted among themselves only."""
    diffs = {k: paired_difference({0: a, 1: a + 0.1, 2: a - 0.05}, {0: 0.0, 1: 0.0, 2: 0.0})
             for k, a in (("primary", 0.3), ("x", 0.2), ("y", 0.01))}
    out = with_holm(diffs, "primary")
    assert out["primary"]["primary"] and out["primary"]["p_holm"] == out["primary"]["p"]
    family = holm({"x": out["x"]["p"], "y": out["y"]["p"]})
    assert out["x"]["p_holm"] == pytest.approx(family["x"]) and out["y"]["p_holm"] == pytest.approx(family["y"])
    with pytest.raises(ValueError, match="primary"):
        with_holm(diffs, "nope")


def test_direction_verdict_needs_the_interval_on_the_papers_side():
    """In line only when the interval excludes zero on the paper's side; opposite on the other; else neither."""
    assert direction_verdict(d((0.1, 0.5))) == "in line with the paper"
    assert direction_verdict(d((-0.5, -0.1))) == "opposite to the paper"
    assert direction_verdict(d((-0.5, -0.1)), paper_sign=-1) == "in line with the paper"
    assert direction_verdict(d((-0.1, 0.5))) == "not distinguishable from zero"


def test_an_interval_that_does_not_survive_holm_carries_no_direction():
    """A secondary comparison whose own interval excludes zero but whose Holm-adjusted p is 0.05 or more is
    not distinguishable: one interval among several does not carry "opposite to the paper"."""
    assert direction_verdict(d((-0.72, -0.04), p_holm=0.16)) == "not distinguishable from zero"
    assert direction_verdict(d((-0.72, -0.04), p_holm=0.01)) == "opposite to the paper"
    assert difference_word(d((-2.7, -0.5), p_holm=0.12)) == "not distinguishable from zero"
    assert difference_word(d((-2.7, -0.5), p_holm=0.01)) == "below zero"


def test_a_declared_comparison_withholds_its_verdict_until_all_its_pairs_are_in():
    """With fewer pairs than declared, no verdict, however far the interval lies from zero; with all of them the
    direction verdict, which the status table then carries."""
    early = paired_difference({s: 0.9 + 0.01 * s for s in range(4)}, {s: 0.8 for s in range(4)})
    assert early["ci"][0] > 0  # an interval far from zero ...
    assert declared_verdict(early, 10) == "withheld: 4 of 10 pairs"  # ... read before its time says nothing
    assert status_from_verdict(declared_verdict(early, 10)) == "open (withheld: 4 of 10 pairs)"
    assert declared_verdict(early, 4) == "in line with the paper"
    assert declared_verdict(early, 4, paper_sign=-1) == "opposite to the paper"
    assert declared_verdict(dict(early, n=12), 10) == "in line with the paper"  # more than declared: read as well
    with pytest.raises(ValueError, match="declared"):
        declared_verdict(early, 1)


def test_level_verdict_needs_the_interval_within_the_margin():
    """Level only when the whole interval lies within the margin; below/above when it excludes the paper's
    difference; otherwise not distinguishable."""
    assert level_verdict(d((-0.5, 0.4)), paper_effect=-0.03, margin=1.0) == "level, as in the paper"
    assert level_verdict(d((-2.84, 0.45)), paper_effect=-0.03, margin=1.0) == "not distinguishable"
    assert level_verdict(d((-2.71, -0.49)), paper_effect=-0.03, margin=1.0) == "below"
    assert level_verdict(d((0.2, 0.4)), paper_effect=-0.03, margin=0.5) == "level, as in the paper"
    assert level_verdict(d((0.2, 1.6)), paper_effect=-0.03, margin=0.5) == "above"
    with pytest.raises(ValueError):
        level_verdict(d((0, 1)), 0.0, 0.0)


def test_effect_verdict_holds_the_papers_effect_and_excludes_the_alternative():
    """In line needs the paper's effect inside the interval and no effect outside it."""
    assert effect_verdict(d((2.0, 8.0)), paper_effect=5.2) == "in line with the paper"
    assert effect_verdict(d((-4.47, 0.14)), paper_effect=5.2) == "below the paper's effect"
    assert effect_verdict(d((6.0, 9.0)), paper_effect=5.2) == "above the paper's effect"
    assert effect_verdict(d((-1.0, 8.0)), paper_effect=5.2) == "not distinguishable"


def test_statuses_say_no_more_than_the_verdicts():
    """Only a verdict in line with the paper (or level) becomes "reproduced at small scale"."""
    assert status_from_verdict("in line with the paper") == "reproduced at small scale"
    assert status_from_verdict("level, as in the paper") == "reproduced at small scale"
    assert status_from_verdict("not distinguishable from zero") == "not reproduced (not distinguishable from zero)"
    assert status_from_verdict("opposite to the paper").startswith("not reproduced")


def test_interval_text_is_signed_and_scaled():
    """Intervals print with their signs, in the chosen unit."""
    assert interval_text({"ci": [-0.0508, 0.0397]}) == "[-5.08, +3.97]"
    assert interval_text({"ci": [-0.252, 0.021]}, scale=1.0, digits=3) == "[-0.252, +0.021]"
    assert interval_text({"ci": None}) == "no interval"
    # a bound that rounds to zero has no sign to show: never "-0.00"
    assert interval_text({"ci": [-1e-7, 0.0]}) == "[+0.00, +0.00]"


def test_polarity_inversion_check_can_fail():
    """Inverting an image flips the net polarity per saccade and pixel; the recording against itself, the
    control, scores zero, so a polarity that did not flip would fail the chapter's check."""
    rng = np.random.default_rng(1)
    img = np.zeros((8, 8))
    img[2:6, 3:5] = 1.0
    img += 0.1 * rng.random((8, 8))
    out = polarity_inversion(img, contrast_threshold=0.15, upsample=1.0, duration_us=300_000)
    assert out["cells"] > 20
    assert out["opposite"] >= 0.95 and out["control"] == 0.0
    assert math.isclose(out["on_fraction"], 0.5, abs_tol=0.05)
