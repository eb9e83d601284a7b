"""Tests of qsnn.spiketrains.theorem_checks: the batch checks agree with hand computations and with per-train definitions."""

import numpy as np
import pytest

import qsnn
from qsnn.spiketrains import theorem_checks as tc

GOLDEN = qsnn.SpikeTrain([0.0, 1.0, 2.0, 3.0, 4.0], [0.8, 0.9, 2.4, -0.5, 0.6])


def test_max_error_grid_golden_values():
    batches = {1.0: (GOLDEN.times[None], GOLDEN.amplitudes[None])}
    grid = tc.max_error_grid(batches, [0.0], theta=1.0)
    # by hand (chapter 2): alpha = 0 errors 2.2 (zero), 2.1 (subtract), 0.8 (mod)
    assert grid[(1.0, 0.0)] == pytest.approx({"zero": 2.2, "subtract": 2.1, "mod": 0.8})
    assert tc.max_error_grid(batches, [0.0], theta=2.0)[(1.0, 0.0)]["mod"] < 1.0  # Theorem 1 in units of theta


def test_norm_axioms_on_random_pairs():
    t1, a1 = qsnn.random_trains(50, 10, amplitude=1.0, gap=(0.2, 1.0), seed=1)
    t2, a2 = qsnn.random_trains(50, 10, amplitude=1.0, gap=(0.2, 1.0), seed=2)
    a = tc.norm_axioms(t1, a1, t2, a2, 1.0, np.random.default_rng(0))
    assert a["max_triangle_excess"] <= 1e-12 and a["max_scaling_error"] <= 1e-12
    assert a["min_norm"] == pytest.approx(qsnn.alexiewicz_norm_batch(t1, a1, 1.0).min())


def test_invariance_and_fused_checks_find_nothing_on_correct_code():
    t, a = qsnn.random_trains(30, 8, amplitude=1.5, gap=(0.2, 1.0), seed=3)
    d = tc.invariance_diffs(t, a, 0.5, np.random.default_rng(0), n_scaled=10)
    assert d["max_shift_diff"] < 1e-9 and d["max_scale_diff"] < 1e-9
    largest, violations = tc.fused_against_explicit(t[:10], a[:10], 1.0, [0.0, 1.0])
    assert largest < 1e-9 and violations == 0


def test_quasi_isometry_distances_of_identical_pairs_are_zero():
    t, a = qsnn.random_trains(4, 6, amplitude=1.5, gap=(0.2, 1.0), seed=4)
    d_in, d_out = tc.quasi_isometry_distances(t, a, a[:2].copy(), t[:2], a[:2], 1.0, 1.0)
    assert np.all(d_in[:2] == 0) and np.all(d_out[:2] == 0)
    x, y = qsnn.SpikeTrain(t[2], a[2]), qsnn.SpikeTrain(t[0], a[0])
    assert d_in[2] == pytest.approx(qsnn.alexiewicz_norm(x - y, 1.0))


def test_threshold_change_of_zero_moves_nothing():
    t, a = qsnn.random_trains(5, 6, amplitude=1.5, gap=(0.2, 1.0), seed=5)
    violations, worst = tc.threshold_change_violations(t, a, 1.0, [1.0], np.zeros(3))
    assert violations == 0 and worst == 0.0


def test_timing_returns_two_positive_durations():
    t, a = qsnn.random_trains(2, 20, amplitude=1.0, gap=(0.2, 1.0), seed=6)
    fast, slow = tc.timing_against_definition(t, a)
    assert fast > 0 and slow > 0


def test_norm_bounds_golden_and_tight():
    b = tc.norm_bounds(np.array([[0.0, 1.0]]), np.array([[1.0, -2.0]]), 0.0)
    # alpha = 0: partial sums 1, -1 -> norm 1; max |a| = 2, sum |a| = 3
    assert b["min_norm_over_max_amp"] == pytest.approx(0.5) and b["min_sum_over_norm"] == pytest.approx(3.0)


def test_reference_difference_is_tiny():
    t, a = qsnn.random_trains(5, 8, amplitude=1.0, gap=(0.2, 1.0), seed=7)
    assert tc.reference_difference(t, a, 1.0) < 1e-12


def test_subthreshold_ball_silent_exactly_inside():
    t, a = qsnn.random_trains(200, 10, amplitude=1.0, gap=(0.2, 1.0), seed=8)
    inside, on_sphere, mismatches = tc.subthreshold_ball(t, a, 1.0, 1.0, np.random.default_rng(0))
    assert 0 < inside < 200 and on_sphere == 0
    assert mismatches == {"zero": 0, "subtract": 0, "mod": 0}


def test_max_error_markdown_truncates():
    text = tc.max_error_markdown({(1.0, np.inf): {"mod": 0.99999, "subtract": 1.23456, "zero": 2.0}})
    header, sep, row = text.split("\n")
    assert header == "| amplitudes | $\\alpha$ | reset-to-mod | reset-by-subtraction | reset-to-zero |"
    assert sep == "| --- | --- | --- | --- | --- |"
    assert row == "| $\\pm1.0\\vartheta$ | inf | 0.9999 | 1.2345 | 2.0000 |"
    assert tc.truncate4(0.12349) == "0.1234"


def test_limit_differences_vanish():
    t, a = qsnn.random_trains(20, 10, amplitude=1.0, gap=(0.2, 1.0), seed=9)
    d = tc.limit_differences(t, a)
    assert d["alpha0"] < 1e-12 and d["alpha_inf"] == 0.0 and d["alpha_large"] < 1e-12


def test_discrepancy_ratios_golden():
    # a single spike: both norms equal; delta(t) - 2 delta(t - 1): ||x||_D = 2, ||x||_A = 1 (by hand)
    r = tc.discrepancy_ratios(np.array([[0.0, 1.0]]), np.array([[1.0, -2.0]]))
    assert r.tolist() == [2.0]
    assert tc.discrepancy_ratios(np.array([[0.0]]), np.array([[1.0]])).tolist() == [1.0]


def test_timing_by_length_times_each_length():
    timing = tc.timing_by_length([10, 30], 2, seed=1)
    assert list(timing) == [10, 30] and all(fast > 0 and slow > 0 for fast, slow in timing.values())


def test_lower_bound_ratios_are_one_over_one_plus_the_decay():
    ratios = tc.lower_bound_ratios(1.0, [1.0, 0.001])
    assert ratios[1.0] == pytest.approx(1 / (1 + np.exp(-1.0)))  # 0.7311, the partial sums 1 and -1
    assert ratios[0.001] == pytest.approx(0.5, abs=1e-3)  # the bound 1/2 as the gap shrinks


def test_sphere_firing_the_ball_is_open():
    x = qsnn.SpikeTrain([0.0, 0.5, 1.5], [0.7, -0.4, 0.9])
    assert tc.sphere_firing(x, 1.0, 1.0) == (True, False)
    assert tc.sphere_firing(x, 2.5, 0.1, reset="zero") == (True, False)


def test_counterexamples_by_hand():
    c = tc.counterexamples()
    assert c == {"zero_three_0.9_alpha0": pytest.approx(1.7), "mod_three_0.9_alpha0": pytest.approx(0.9),
                 "subtract_single_2.5": pytest.approx(1.5), "mod_single_2.5": pytest.approx(0.5)}


def test_zero_reset_growth_is_linear_and_mod_stays_below_one():
    growth = tc.zero_reset_growth([3, 10, 100])
    # 0.8 thrown away at every second input: 0.9 + 0.8 * (n // 2) (n odd) -> 1.7, 4.1, 40.1 (chapter 2)
    assert [g[0] for g in growth.values()] == pytest.approx([1.7, 4.1, 40.1])
    assert all(g[1] == pytest.approx(0.9) for g in growth.values())


def test_golden_table_recomputes_the_hand_values():
    rows = [(0.0, "zero", [0, 1, 1, 0, 0], 2.2), (0.0, "mod", [0, 1, 3, 0, 0], 0.8),
            (np.log(2), "mod", [0, 1, 2, 0, 0], 0.8)]
    computed, table = tc.golden_table(GOLDEN, rows, alpha_names={0.0: "0", np.log(2): "ln 2"})
    for alpha, reset, outputs, error in rows:
        assert computed[(alpha, reset)][0] == outputs and computed[(alpha, reset)][1] == pytest.approx(error)
    lines = table.splitlines()
    assert lines[0] == "| $\\alpha$ | reset | outputs | error | by hand |"
    assert lines[2] == "| 0 | zero | 0, 1, 1, 0, 0 | 2.20 | 2.2 |" and lines[4].startswith("| ln 2 | mod | 0, 1, 2, 0, 0 |")


def test_quasi_isometry_pairs_share_times_and_draw_from_the_generator():
    t1, a1, a_pert, t2, a2 = tc.quasi_isometry_pairs(10, 8, 1.5, (0.2, 1.0), 30, np.random.default_rng(0))
    ref_t1, ref_a1 = qsnn.random_trains(10, 8, amplitude=1.5, gap=(0.2, 1.0), seed=30)
    assert np.array_equal(t1, ref_t1) and np.array_equal(a1, ref_a1)
    assert a_pert.shape == (5, 8) and t2.shape == (5, 8)
    assert np.array_equal(t2, qsnn.random_trains(5, 8, amplitude=1.5, gap=(0.2, 1.0), seed=31)[0])
    rng = np.random.default_rng(0)  # the perturbation, drawn in the same order by hand
    eps = np.exp(rng.uniform(np.log(0.01), np.log(3.0), size=(5, 1)))
    assert np.allclose(a_pert, a1[:5] + eps * rng.uniform(-1.0, 1.0, size=(5, 8)))
