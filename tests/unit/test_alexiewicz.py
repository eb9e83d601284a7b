"""Tests of qsnn.spiketrains.alexiewicz: the (leaky) Alexiewicz norm, its O(N) recursion and its properties."""

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from qsnn import (
    SpikeTrain,
    alexiewicz_norm,
    alexiewicz_norm_batch,
    alexiewicz_norm_reference,
    discrepancy_norm,
    leaky_partial_sums,
    random_trains,
)

PROPS = settings(deadline=None, max_examples=60)
ALPHAS = st.one_of(st.sampled_from([0.0, math.inf, math.log(2)]), st.floats(0.0, 5.0))


@st.composite
def trains(draw, max_size=15, amplitude=3.0):
    """Spike trains with strictly increasing times drawn as positive gaps."""
    n = draw(st.integers(0, max_size))
    gaps = draw(st.lists(st.floats(0.05, 2.0), min_size=n, max_size=n))
    amps = draw(st.lists(st.floats(-amplitude, amplitude), min_size=n, max_size=n))
    return SpikeTrain(np.cumsum(gaps), amps)


GOLDEN = SpikeTrain([0.0, 1.0, 2.0, 3.0, 4.0], [0.8, 0.9, 2.4, -0.5, 0.6])


def test_empty_train_has_norm_zero():
    """The empty train has norm 0 for every alpha."""
    for alpha in (0.0, 1.0, math.inf):
        assert alexiewicz_norm(SpikeTrain(), alpha) == 0.0
        assert alexiewicz_norm_reference(SpikeTrain(), alpha) == 0.0
    assert discrepancy_norm(SpikeTrain()) == 0.0


def test_alpha_zero_is_largest_absolute_partial_sum():
    """At alpha = 0 the norm is max_k |a_1 + ... + a_k|: 4.2 for the golden train (the sum of all five)."""
    assert_allclose(alexiewicz_norm(GOLDEN, 0.0), 4.2)
    assert_allclose(alexiewicz_norm(SpikeTrain([0, 1, 2], [1.0, -3.0, 1.0]), 0.0), 2.0)


def test_alpha_ln2_golden_value():
    """At alpha = ln 2 each unit of time halves the past: U = 0.8, 1.3, 3.05, 1.025, 1.1125."""
    assert_allclose(leaky_partial_sums(GOLDEN, math.log(2)), [0.8, 1.3, 3.05, 1.025, 1.1125])
    assert_allclose(alexiewicz_norm(GOLDEN, math.log(2)), 3.05)


def test_alpha_inf_is_max_abs_amplitude():
    """At alpha = inf nothing is remembered: the norm is max_i |a_i|."""
    assert alexiewicz_norm(GOLDEN, math.inf) == 2.4
    assert_array_equal(leaky_partial_sums(GOLDEN, math.inf), GOLDEN.amplitudes)


def test_discrepancy_norm_golden_value():
    """Weyl's norm of (1, -3, 1) is 3 (the single spike -3), its Alexiewicz norm 2."""
    assert discrepancy_norm(SpikeTrain([0, 1, 2], [1.0, -3.0, 1.0])) == 3.0
    assert discrepancy_norm(SpikeTrain([0, 1], [1.0, 2.0])) == 3.0


@PROPS
@given(trains(), ALPHAS)
def test_recursion_equals_quadratic_definition(s, alpha):
    """The O(N) recursion agrees with the O(N^2) definition."""
    assert_allclose(alexiewicz_norm(s, alpha), alexiewicz_norm_reference(s, alpha), rtol=1e-12, atol=1e-12)


@PROPS
@given(trains(), ALPHAS)
def test_norm_is_max_of_leaky_partial_sums(s, alpha):
    """The norm is max_k |U_k| of the returned partial sums."""
    u = leaky_partial_sums(s, alpha)
    assert u.shape == (len(s),)
    assert alexiewicz_norm(s, alpha) == (np.abs(u).max() if len(s) else 0.0)


@PROPS
@given(trains(), trains(), ALPHAS)
def test_triangle_inequality(a, b, alpha):
    """||a + b|| <= ||a|| + ||b||."""
    assert alexiewicz_norm(a + b, alpha) <= alexiewicz_norm(a, alpha) + alexiewicz_norm(b, alpha) + 1e-9


@PROPS
@given(trains(), st.floats(-4.0, 4.0), ALPHAS)
def test_absolute_homogeneity(s, c, alpha):
    """||c eta|| = |c| ||eta||."""
    assert_allclose(alexiewicz_norm(c * s, alpha), abs(c) * alexiewicz_norm(s, alpha), rtol=1e-12, atol=1e-300)


@PROPS
@given(trains(), ALPHAS)
def test_definiteness(s, alpha):
    """The norm is 0 exactly for the empty train (zero spikes are no spikes)."""
    assert (alexiewicz_norm(s, alpha) == 0.0) == (len(s) == 0)


@PROPS
@given(trains(), ALPHAS)
def test_bounds_by_amplitudes(s, alpha):
    """(1/2) max|a_i| <= ||eta||_{A,alpha} <= sum |a_i|."""
    n = alexiewicz_norm(s, alpha)
    a = np.abs(s.amplitudes)
    assert 0.5 * (a.max() if len(a) else 0.0) <= n + 1e-12
    assert n <= a.sum() + 1e-9


def test_lower_bound_one_half_is_tight():
    """The train (1, -2) at alpha = 0 has norm 1 = (1/2) max|a|."""
    s = SpikeTrain([0.0, 1.0], [1.0, -2.0])
    assert alexiewicz_norm(s, 0.0) == 0.5 * np.abs(s.amplitudes).max()


@PROPS
@given(trains())
def test_discrepancy_norm_brackets_alexiewicz_norm(s):
    """At alpha = 0, ||x||_A <= ||x||_D <= 2 ||x||_A."""
    a, d = alexiewicz_norm(s, 0.0), discrepancy_norm(s)
    assert a <= d + 1e-12
    assert d <= 2 * a + 1e-12


def test_discrepancy_norm_brute_force():
    """discrepancy_norm equals the max over all windows n1 <= n2, by brute force."""
    _, amps = random_trains(20, 9, seed=4)
    for row in amps:
        s = SpikeTrain(np.arange(9.0), row)
        brute = max(abs(sum(row[i:j + 1])) for i in range(9) for j in range(i, 9))
        assert_allclose(discrepancy_norm(s), brute, rtol=1e-12)


@PROPS
@given(trains(), ALPHAS, st.floats(-100.0, 100.0))
def test_time_shift_invariance(s, alpha, shift):
    """Shifting every spike by the same time leaves the norm unchanged."""
    shifted = SpikeTrain(s.times + shift, s.amplitudes)
    assert_allclose(alexiewicz_norm(shifted, alpha), alexiewicz_norm(s, alpha), rtol=1e-9, atol=1e-12)


@PROPS
@given(trains(), ALPHAS, st.floats(0.1, 10.0))
def test_time_rescaling_invariance(s, alpha, c):
    """(t, alpha) -> (c t, alpha / c) leaves the norm unchanged."""
    stretched = SpikeTrain(c * s.times, s.amplitudes)
    assert_allclose(alexiewicz_norm(stretched, alpha / c), alexiewicz_norm(s, alpha), rtol=1e-9, atol=1e-12)


@PROPS
@given(trains(), st.floats(0.0, 3.0), st.floats(0.0, 3.0))
def test_norm_decreases_with_alpha_for_positive_amplitudes(s, a1, a2):
    """For non-negative amplitudes a larger leak forgets more: the norm does not grow with alpha."""
    pos = SpikeTrain(s.times, np.abs(s.amplitudes))
    lo, hi = sorted((a1, a2))
    assert alexiewicz_norm(pos, hi) <= alexiewicz_norm(pos, lo) + 1e-12


def test_batch_equals_single_on_random_trains():
    """alexiewicz_norm_batch equals alexiewicz_norm row by row, bit for bit."""
    t, a = random_trains(30, 50, amplitude=1.5, seed=7)
    for alpha in (0.0, 0.1, 1.0, math.inf):
        batch = alexiewicz_norm_batch(t, a, alpha)
        assert batch.shape == (30,)
        assert_array_equal(batch, [alexiewicz_norm(SpikeTrain(tr, ar), alpha) for tr, ar in zip(t, a)])


def test_batch_zero_amplitudes_are_no_spikes():
    """A zero amplitude in a batch row changes nothing: same as the train without it."""
    t = np.array([[0.0, 0.3, 1.0, 2.5]])
    a = np.array([[1.0, 0.0, -0.4, 0.7]])
    expected = alexiewicz_norm(SpikeTrain([0.0, 1.0, 2.5], [1.0, -0.4, 0.7]), 0.7)
    assert alexiewicz_norm_batch(t, a, 0.7)[0] == expected


def test_batch_of_empty_rows():
    """A batch of zero-length rows has norm 0; an empty batch gives an empty result."""
    assert_array_equal(alexiewicz_norm_batch(np.zeros((3, 0)), np.zeros((3, 0)), 1.0), np.zeros(3))
    assert alexiewicz_norm_batch(np.zeros((0, 5)), np.zeros((0, 5))).shape == (0,)


@pytest.mark.parametrize("alpha", [-0.1, math.nan, -math.inf, "1", None, True])
def test_bad_alpha_raises(alpha):
    """alpha must be a real number in [0, inf]."""
    with pytest.raises(ValueError, match="alpha"):
        alexiewicz_norm(GOLDEN, alpha)
    with pytest.raises(ValueError, match="alpha"):
        alexiewicz_norm_batch(GOLDEN.times[None], GOLDEN.amplitudes[None], alpha)


@pytest.mark.parametrize("fn", [alexiewicz_norm, alexiewicz_norm_reference, leaky_partial_sums, discrepancy_norm])
def test_non_train_raises_type_error(fn):
    """Arrays or lists where a SpikeTrain is expected are a TypeError naming the argument."""
    with pytest.raises(TypeError, match="train must be a qsnn.SpikeTrain"):
        fn(np.array([1.0, 2.0]))


@pytest.mark.parametrize(
    "times, amplitudes, match",
    [
        (np.zeros(3), np.zeros(3), "2-D"),
        (np.zeros((2, 3)), np.zeros((2, 4)), "same shape"),
        ([[0.0, 1.0, math.nan]], [[1.0, 1.0, 1.0]], "times must be finite"),
        ([[0.0, 1.0, 2.0]], [[1.0, math.inf, 1.0]], "amplitudes must be finite"),
        ([[0.0, 1.0, 1.0]], [[1.0, 1.0, 1.0]], "strictly increasing"),
        ([[0.0, 2.0, 1.0]], [[1.0, 1.0, 1.0]], "strictly increasing"),
        ([["x"]], [[1.0]], "times must be"),
    ],
)
def test_bad_batch_arrays_raise(times, amplitudes, match):
    """Malformed batch arrays are refused with a ValueError saying what is allowed."""
    with pytest.raises(ValueError, match=match):
        alexiewicz_norm_batch(times, amplitudes, 0.0)


def test_batch_refuses_complex_input():
    """Complex arrays were silently cut to their real part; the batch form now refuses them."""
    with pytest.raises(ValueError, match="amplitudes must be real"):
        alexiewicz_norm_batch([[0.0, 1.0]], [[1.0, 1j]])
    with pytest.raises(ValueError, match="times must be real"):
        alexiewicz_norm_batch(np.array([[0.0, 1.0]], dtype=np.complex64), [[1.0, 1.0]])


def test_exp_neg_is_within_one_ulp_of_math_exp_and_its_python_twin_is_bit_equal():
    """The vectorisable exp of the kernels: <= 1 ulp from math.exp on [-746, 0], 0 below, and the Python
    version used by the references gives the same bits."""
    from numba import njit

    from qsnn.spiketrains._exp import exp_neg, exp_neg_py

    rng = np.random.default_rng(3)
    x = np.concatenate([-rng.uniform(0, 1, 20000), -rng.uniform(0, 746, 20000), -10.0 ** rng.uniform(-300, 0, 2000),
                        [0.0, -0.0, -708.39, -709.8, -745.13, -745.2, -746.0, -800.0, -1e300, -math.inf]])
    many = njit(lambda v: np.array([exp_neg(e) for e in v]))(x)
    for v, got in zip(x.tolist(), many.tolist()):
        want = math.exp(v)
        assert abs(got - want) <= np.spacing(want) if want > 0 else got == 0.0, (v, got, want)
    for v, got in zip(x[::37].tolist() + x[-10:].tolist(), many[::37].tolist() + many[-10:].tolist()):
        assert exp_neg_py(v) == got
    assert exp_neg_py(0.0) == exp_neg_py(-0.0) == 1.0


@pytest.mark.parametrize("alpha", [0.0, 0.3, math.inf])
def test_batch_does_not_depend_on_the_thread_count(alpha, monkeypatch):
    """Large batches run rows in parallel; serial, one thread and all threads give the same bits."""
    import numba

    from qsnn.spiketrains import _kernels, quantization_error_batch

    t, a = random_trains(37, 301, amplitude=2.0, seed=4)
    a[::5, ::7] = 0.0

    def both():
        return alexiewicz_norm_batch(t, a, alpha), quantization_error_batch(t, a, 0.9, alpha, "mod")

    serial = both()
    monkeypatch.setattr(_kernels, "PARALLEL_MIN_SPIKES", 0)
    n0 = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = both()
    finally:
        numba.set_num_threads(n0)
    many = both()
    for x, y, z in zip(serial, one, many):
        assert_array_equal(x, y)
        assert_array_equal(x, z)
    for r in range(37):
        assert many[0][r] == alexiewicz_norm(SpikeTrain(t[r], a[r]), alpha)
