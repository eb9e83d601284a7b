"""Tests of qsnn.spiketrains.lif_quantizer: the two-sided LIF neuron with three resets as a quantizer of spike trains."""

import dataclasses
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from qsnn import (
    FIRING_RTOL,
    RESETS,
    LIFTrace,
    SpikeTrain,
    alexiewicz_norm,
    alexiewicz_norm_reference,
    lif,
    lif_batch,
    lif_reference,
    lif_trace,
    quantization_error,
    quantization_error_batch,
    random_trains,
)

PROPS = settings(deadline=None, max_examples=60)
ALPHAS = st.one_of(st.sampled_from([0.0, math.inf, math.log(2)]), st.floats(0.0, 5.0))
THETAS = st.one_of(st.just(1.0), st.floats(0.1, 3.0))
LN2 = math.log(2)
GOLDEN = SpikeTrain([0.0, 1.0, 2.0, 3.0, 4.0], [0.8, 0.9, 2.4, -0.5, 0.6])


@st.composite
def trains(draw, max_size=15, amplitude=4.0):
    """Spike trains with strictly increasing times drawn as positive gaps."""
    n = draw(st.integers(0, max_size))
    gaps = draw(st.lists(st.floats(0.05, 2.0), min_size=n, max_size=n))
    amps = draw(st.lists(st.floats(-amplitude, amplitude), min_size=n, max_size=n))
    return SpikeTrain(np.cumsum(gaps), amps)


def on_grid(train, out):
    """Amplitudes of ``out`` on the time grid of ``train`` (0 where it has no spike)."""
    dense = np.zeros(len(train))
    dense[np.searchsorted(train.times, out.times)] = out.amplitudes
    return dense


# --- golden values, worked out by hand from the reset table (arXiv:2305.08012, Secs. 3-4) ---------

GOLDEN_TABLE = [
    (0.0, "zero", [0, 1, 1, 0, 0], 2.2),
    (0.0, "subtract", [0, 1, 1, 1, 1], 2.1),
    (0.0, "mod", [0, 1, 3, 0, 0], 0.8),
    (LN2, "zero", [0, 1, 1, 0, 0], 1.55),
    (LN2, "subtract", [0, 1, 1, 0, 0], 1.55),
    (LN2, "mod", [0, 1, 2, 0, 0], 0.8),
]


@pytest.mark.parametrize("alpha, reset, outputs, error", GOLDEN_TABLE)
def test_golden_table_outputs(alpha, reset, outputs, error):
    """The golden train gives the hand-computed outputs (theta = 1) on the input grid, single and batched."""
    assert_array_equal(on_grid(GOLDEN, lif(GOLDEN, 1.0, alpha, reset)), outputs)
    assert_array_equal(lif_batch(GOLDEN.times[None], GOLDEN.amplitudes[None], 1.0, alpha, reset), [outputs])
    assert lif_reference(GOLDEN, 1.0, alpha, reset) == lif(GOLDEN, 1.0, alpha, reset)


@pytest.mark.parametrize("alpha, reset, outputs, error", GOLDEN_TABLE)
def test_golden_table_errors(alpha, reset, outputs, error):
    """The golden train gives the hand-computed error norms, by the fused pass and by the definition."""
    assert_allclose(quantization_error(GOLDEN, 1.0, alpha, reset), error, rtol=1e-12)
    assert_allclose(alexiewicz_norm_reference(lif(GOLDEN, 1.0, alpha, reset) - GOLDEN, alpha), error, rtol=1e-12)
    assert_allclose(quantization_error_batch(GOLDEN.times[None], GOLDEN.amplitudes[None], 1.0, alpha, reset),
                    [error], rtol=1e-12)


def test_counterexample_reset_to_zero():
    """Reset-to-zero, alpha = 0, three spikes of 0.9: error 1.7 > theta (Theorem 1 fails without mod)."""
    s = SpikeTrain([0.0, 1.0, 2.0], [0.9, 0.9, 0.9])
    assert_allclose(quantization_error(s, 1.0, 0.0, "zero"), 1.7, rtol=1e-12)
    assert quantization_error(s, 1.0, 0.0, "mod") < 1.0


def test_counterexample_reset_by_subtraction():
    """One spike of 2.5: reset-by-subtraction errs by 1.5, reset-to-mod by 0.5."""
    s = SpikeTrain([0.0], [2.5])
    assert_allclose(quantization_error(s, 1.0, 0.0, "subtract"), 1.5)
    assert_allclose(quantization_error(s, 1.0, 0.0, "mod"), 0.5)
    assert lif(s, reset="mod") == SpikeTrain([0.0], [2.0])
    assert lif(s, reset="subtract") == SpikeTrain([0.0], [1.0])


def test_reset_to_mod_truncates_toward_zero():
    """u = -2.7 fires -2 and keeps -0.7 (not -3 and +0.3 as floor(u) would)."""
    tr = lif_trace(SpikeTrain([0.0], [-2.7]))
    assert_array_equal(tr.outputs, [-2.0])
    assert_allclose(tr.u_post, [-0.7])


def test_firing_is_non_strict_and_two_sided():
    """|u| = theta fires; the output carries the sign of u; just below theta nothing fires."""
    assert lif(SpikeTrain([0.0, 1.0], [1.0, -1.0]), reset="zero") == SpikeTrain([0.0, 1.0], [1.0, -1.0])
    assert len(lif(SpikeTrain([0.0], [0.999999]), reset="mod")) == 0


def test_reset_table_of_the_module_docstring():
    """u = 2.5 at theta = 1: zero -> (1, 0), subtract -> (1, 1.5), mod -> (2, 0.5)."""
    s = SpikeTrain([0.0], [2.5])
    for reset, (b, rest) in {"zero": (1.0, 0.0), "subtract": (1.0, 1.5), "mod": (2.0, 0.5)}.items():
        tr = lif_trace(s, reset=reset)
        assert (tr.outputs[0], tr.u_pre[0], tr.u_post[0]) == (b, 2.5, rest)


def test_subtraction_keeps_firing_while_above_threshold():
    """After subtraction u may still be >= theta and fires again at the next input (golden, alpha 0)."""
    tr = lif_trace(GOLDEN, reset="subtract")
    assert_allclose(tr.u_post, [0.8, 0.7, 2.1, 0.6, 0.2])


@pytest.mark.parametrize("reset", RESETS)
def test_exact_multiples_of_theta_do_not_flip(reset):
    """Ten spikes of 0.1 add up to 0.9999999999999999: the neuron still fires on every tenth, 0.1*30 -> 3."""
    assert sum([0.1] * 10) < 1.0  # the rounding the tolerance is for
    s = SpikeTrain(np.arange(30.0), np.full(30, 0.1))
    expected = SpikeTrain([9.0, 19.0, 29.0], [1.0, 1.0, 1.0])
    assert lif(s, 1.0, 0.0, reset) == expected
    assert lif_reference(s, 1.0, 0.0, reset) == expected
    assert_array_equal(lif_trace(s, 1.0, 0.0, reset).u_post[[9, 19, 29]], 0.0)


def test_exact_multiple_in_one_spike_does_not_flip():
    """0.3 / 0.1 = 2.9999999999999996: reset-to-mod emits 3 theta (not 2) and keeps remainder 0 (not 0.1)."""
    tr = lif_trace(SpikeTrain([0.0], [0.3]), threshold=0.1, reset="mod")
    assert_allclose(tr.outputs, [0.3])
    assert_array_equal(tr.u_post, [0.0])
    assert lif_reference(SpikeTrain([0.0], [0.3]), threshold=0.1) == tr.output_train


def test_firing_tolerance_is_documented_and_small():
    """FIRING_RTOL is a small relative tolerance: 1 - 2 rtol of theta does not fire."""
    assert 0 < FIRING_RTOL <= 1e-6
    assert len(lif(SpikeTrain([0.0], [1.0 - 2 * FIRING_RTOL]))) == 0
    assert len(lif(SpikeTrain([0.0], [1.0 - 0.5 * FIRING_RTOL]))) == 1


# --- Theorem 1, the error identity and the corollaries ------------------------------------------

@PROPS
@given(trains(), THETAS, ALPHAS)
def test_theorem1_reset_to_mod_error_is_strictly_below_theta(s, theta, alpha):
    """||LIF(eta) - eta||_{A,alpha} < theta for reset-to-mod, every alpha in [0, inf] (Theorem 1)."""
    err = quantization_error(s, theta, alpha, "mod")
    assert err < theta
    assert alexiewicz_norm(lif(s, theta, alpha, "mod") - s, alpha) < theta * (1 + 1e-12)


@pytest.mark.parametrize("alpha", [0.0, 0.1, 1.0, math.inf])
def test_theorem1_on_many_random_trains(alpha):
    """Theorem 1 holds on 300 random trains of 300 spikes with amplitudes in [-3 theta, 3 theta]."""
    t, a = random_trains(300, 300, amplitude=3.0, seed=5)
    assert quantization_error_batch(t, a, 1.0, alpha, "mod").max() < 1.0


@PROPS
@given(trains(), THETAS, ALPHAS, st.sampled_from(["mod", "subtract"]))
def test_error_identity_partial_sums_equal_post_reset_potential(s, theta, alpha, reset):
    """For mod and subtract the leaky partial sums of eta - LIF(eta) at t_k equal u_post,k."""
    tr = lif_trace(s, theta, alpha, reset)
    diff = s.amplitudes - tr.outputs  # on the input grid, without merging away exact zeros
    t = s.times
    delta = [sum(diff[i] * (1.0 if t[k] == t[i] or alpha == 0 else (0.0 if math.isinf(alpha) else
                                                                       math.exp(-alpha * (t[k] - t[i]))))
                 for i in range(k + 1)) for k in range(len(s))]
    assert_allclose(delta, tr.u_post, rtol=1e-9, atol=1e-9 * max(theta, np.abs(s.amplitudes).sum(initial=0)))
    assert_array_equal(tr.error_partial_sums, tr.u_post)


@PROPS
@given(trains(), THETAS, ALPHAS, st.sampled_from(RESETS))
def test_fused_error_equals_norm_of_difference(s, theta, alpha, reset):
    """quantization_error equals ||LIF(eta) - eta|| computed from the trains by the O(N^2) definition."""
    ref = alexiewicz_norm_reference(lif_reference(s, theta, alpha, reset) - s, alpha)
    scale = max(theta, np.abs(s.amplitudes).sum(initial=0))
    assert_allclose(quantization_error(s, theta, alpha, reset), ref, rtol=1e-9, atol=1e-9 * scale)


def test_reset_to_zero_error_differs_from_post_reset_potential():
    """Reset-to-zero breaks the identity: u_post is 0 after a spike but the error keeps the remainder."""
    tr = lif_trace(SpikeTrain([0.0, 1.0, 2.0], [0.9, 0.9, 0.9]), reset="zero")
    assert_allclose(tr.u_post, [0.9, 0.0, 0.9])
    assert_allclose(tr.error_partial_sums, [0.9, 0.8, 1.7])
    assert_allclose(tr.error, 1.7)


def test_reset_to_zero_error_grows_without_bound_at_alpha_zero():
    """At alpha = 0 every discarded remainder adds up: n spikes of 0.9 err by about 0.8 n / 2."""
    errs = [quantization_error(SpikeTrain(np.arange(float(n)), np.full(n, 0.9)), 1.0, 0.0, "zero")
            for n in (10, 100, 1000)]
    assert errs[0] < errs[1] < errs[2] and errs[2] > 100


@PROPS
@given(trains(), trains(), st.floats(0.2, 2.0), ALPHAS)
def test_quasi_isometry_of_reset_to_mod(a, b, theta, alpha):
    """||a - b|| - 2 theta < ||LIF(a) - LIF(b)|| < ||a - b|| + 2 theta (corollary of Theorem 1)."""
    d_in = alexiewicz_norm(a - b, alpha)
    d_out = alexiewicz_norm(lif(a, theta, alpha) - lif(b, theta, alpha), alpha)
    assert d_in - 2 * theta < d_out < d_in + 2 * theta


@PROPS
@given(trains(), st.floats(0.2, 2.0), st.floats(0.0, 2.0), ALPHAS)
def test_threshold_perturbation_corollary(s, theta, d, alpha):
    """||LIF_{theta+d}(eta) - LIF_theta(eta)|| < 2 theta + d."""
    diff = lif(s, theta + d, alpha) - lif(s, theta, alpha)
    assert alexiewicz_norm(diff, alpha) < 2 * theta + d


# --- symmetries and special cases --------------------------------------------------------------

@PROPS
@given(trains(), THETAS, ALPHAS, st.sampled_from(RESETS))
def test_odd_symmetry(s, theta, alpha, reset):
    """LIF(-eta) = -LIF(eta)."""
    assert lif(-s, theta, alpha, reset) == -lif(s, theta, alpha, reset)


@PROPS
@given(trains(), ALPHAS, st.sampled_from(RESETS), st.sampled_from([0.5, 2.0, 4.0, 0.25]))
def test_scaling_covariance(s, alpha, reset, c):
    """LIF_{c theta}(c eta) = c LIF_theta(eta) (powers of two: exact in floating point)."""
    assert lif(c * s, c * 1.0, alpha, reset) == c * lif(s, 1.0, alpha, reset)


@PROPS
@given(trains(), THETAS, ALPHAS, st.sampled_from(RESETS))
def test_idempotence(s, theta, alpha, reset):
    """LIF(LIF(eta)) = LIF(eta): the output is already quantized."""
    once = lif(s, theta, alpha, reset)
    assert lif(once, theta, alpha, reset) == once


@PROPS
@given(trains(), THETAS, ALPHAS, st.sampled_from(RESETS))
def test_sub_threshold_ball(s, theta, alpha, reset):
    """The neuron fires no spike exactly when ||eta||_{A,alpha} < theta (any reset)."""
    n = alexiewicz_norm(s, alpha)
    assume(abs(n - theta) > 1e-6 * theta)  # away from the tolerance band of the firing test
    assert (len(lif(s, theta, alpha, reset)) == 0) == (n < theta)


@PROPS
@given(trains(amplitude=1.0), ALPHAS)
def test_subtract_equals_mod_within_theta(s, alpha):
    """With all |a_i| <= theta, reset-by-subtraction and reset-to-mod give identical outputs."""
    assert lif(s, 1.0, alpha, "subtract") == lif(s, 1.0, alpha, "mod")


def test_subtract_and_mod_differ_beyond_theta():
    """Amplitudes up to 1.5 theta tell subtraction and mod apart on some random trains."""
    t, a = random_trains(50, 50, amplitude=1.5, seed=0)
    assert not np.array_equal(lif_batch(t, a, reset="subtract"), lif_batch(t, a, reset="mod"))


@PROPS
@given(trains(), THETAS)
def test_alpha_inf_zero_equals_subtract(s, theta):
    """At alpha = inf reset-to-zero and reset-by-subtraction coincide."""
    assert lif(s, theta, math.inf, "zero") == lif(s, theta, math.inf, "subtract")


@PROPS
@given(trains(), THETAS)
def test_alpha_inf_mod_is_uniform_quantization_by_truncation(s, theta):
    """At alpha = inf reset-to-mod maps each a_i to theta trunc(a_i / theta); error = max_i |a_i - b_i|."""
    out = on_grid(s, lif(s, theta, math.inf, "mod"))
    q = np.sign(s.amplitudes) * theta * np.floor(np.abs(s.amplitudes) * (1 + FIRING_RTOL) / theta)
    assert_array_equal(out, q)
    assert_allclose(quantization_error(s, theta, math.inf), np.abs(s.amplitudes - q).max(initial=0.0), rtol=1e-12)


@PROPS
@given(trains(), THETAS, ALPHAS, st.sampled_from(RESETS), st.floats(-50.0, 50.0))
def test_time_shift_invariance_of_lif(s, theta, alpha, reset, shift):
    """Shifting the input shifts the output and leaves the error unchanged."""
    shifted = SpikeTrain(s.times + shift, s.amplitudes)
    assume(np.all(np.diff(shifted.times) > 0) and len(shifted) == len(s))
    assert_allclose(on_grid(shifted, lif(shifted, theta, alpha, reset)), on_grid(s, lif(s, theta, alpha, reset)))
    assert_allclose(quantization_error(shifted, theta, alpha, reset), quantization_error(s, theta, alpha, reset),
                    rtol=1e-6, atol=1e-9)


@PROPS
@given(trains(), st.sampled_from(RESETS))
def test_output_spikes_are_on_input_times_and_quantized(s, reset):
    """Outputs sit on input times; amplitudes are +-theta, or integer multiples of theta for mod."""
    theta = 0.75
    out = lif(s, theta, 0.3, reset)
    assert np.isin(out.times, s.times).all()
    k = np.abs(out.amplitudes) / theta
    assert_allclose(k, np.round(k))
    if reset != "mod":
        assert_array_equal(np.abs(out.amplitudes), theta)


# --- differential tests: kernels against the references, batch against single ------------------

@PROPS
@given(trains(), THETAS, ALPHAS, st.sampled_from(RESETS))
def test_kernel_equals_python_reference(s, theta, alpha, reset):
    """The numba LIF equals the plain-Python per-spike loop, spike for spike."""
    assert lif(s, theta, alpha, reset) == lif_reference(s, theta, alpha, reset)


@pytest.mark.parametrize("reset", RESETS)
@pytest.mark.parametrize("alpha", [0.0, 0.1, 1.0, math.inf])
def test_batch_equals_single(reset, alpha):
    """lif_batch and quantization_error_batch equal the single-train functions row by row, bit for bit."""
    t, a = random_trains(40, 60, amplitude=1.5, seed=9)
    out = lif_batch(t, a, 1.0, alpha, reset)
    err = quantization_error_batch(t, a, 1.0, alpha, reset)
    assert out.shape == t.shape and err.shape == (40,)
    for r in range(40):
        s = SpikeTrain(t[r], a[r])
        assert_array_equal(out[r], on_grid(s, lif(s, 1.0, alpha, reset)))
        assert err[r] == quantization_error(s, 1.0, alpha, reset)
        assert err[r] == lif_trace(s, 1.0, alpha, reset).error


@pytest.mark.parametrize("reset", RESETS)
def test_batch_zero_amplitudes_are_no_spikes(reset):
    """A zero amplitude in a batch row is no input: no jump, no threshold check (matters for subtract)."""
    t = np.array([[0.0, 1.0, 2.0]])
    a = np.array([[2.5, 0.0, 0.2]])
    s = SpikeTrain([0.0, 2.0], [2.5, 0.2])
    out = lif_batch(t, a, 1.0, 0.0, reset)
    assert out[0, 1] == 0.0
    assert_array_equal(out[0, [0, 2]], on_grid(s, lif(s, 1.0, 0.0, reset)))
    assert quantization_error_batch(t, a, 1.0, 0.0, reset)[0] == quantization_error(s, 1.0, 0.0, reset)


@pytest.mark.parametrize("reset", RESETS)
@pytest.mark.parametrize("alpha", [0.0, 0.5, math.inf])
def test_batch_with_sprinkled_zeros_equals_single(reset, alpha):
    """Rows of any count (not a multiple of the kernel's block) with zero amplitudes equal their trains."""
    t, a = random_trains(13, 40, amplitude=1.5, seed=2)
    a[np.random.default_rng(0).random(a.shape) < 0.3] = 0.0
    err = quantization_error_batch(t, a, 0.7, alpha, reset)
    out = lif_batch(t, a, 0.7, alpha, reset)
    for r in range(13):
        s = SpikeTrain(t[r], a[r])
        assert err[r] == quantization_error(s, 0.7, alpha, reset)
        assert SpikeTrain(t[r], out[r]) == lif(s, 0.7, alpha, reset)


def test_empty_inputs():
    """The empty train and empty batches give empty outputs and zero error."""
    e = SpikeTrain()
    for reset in RESETS:
        assert lif(e, reset=reset) == e and quantization_error(e, reset=reset) == 0.0
    assert lif_batch(np.zeros((2, 0)), np.zeros((2, 0))).shape == (2, 0)
    assert_array_equal(quantization_error_batch(np.zeros((2, 0)), np.zeros((2, 0))), [0.0, 0.0])
    tr = lif_trace(e)
    assert tr.error == 0.0 and tr.times.shape == (0,)
    assert_array_equal(tr.potential([0.0, 1.0]), [0.0, 0.0])


# --- the trace ----------------------------------------------------------------------------------

def test_trace_is_frozen_with_read_only_arrays():
    """LIFTrace cannot be reassigned or written into."""
    tr = lif_trace(GOLDEN)
    assert isinstance(tr, LIFTrace)
    with pytest.raises(dataclasses.FrozenInstanceError):
        tr.error = 0.0
    with pytest.raises(ValueError):
        tr.u_post[0] = 1.0


def test_trace_golden_values_at_ln2():
    """Golden train, alpha = ln 2, mod: u_pre = 0.8, 1.3, 2.55, -0.225, 0.4875 and outputs 0, 1, 2, 0, 0."""
    tr = lif_trace(GOLDEN, 1.0, LN2, "mod")
    assert_allclose(tr.u_pre, [0.8, 1.3, 2.55, -0.225, 0.4875])
    assert_allclose(tr.u_post, [0.8, 0.3, 0.55, -0.225, 0.4875])
    assert_array_equal(tr.outputs, [0, 1, 2, 0, 0])
    assert tr.output_train == lif(GOLDEN, 1.0, LN2, "mod")
    assert (tr.threshold, tr.alpha, tr.reset) == (1.0, LN2, "mod")


def test_trace_potential_decays_between_inputs():
    """potential(t) is 0 before the first input, u_post at inputs, and halves per unit time at alpha ln 2."""
    tr = lif_trace(GOLDEN, 1.0, LN2, "mod")
    assert_allclose(tr.potential([-1.0, 0.0, 0.5, 1.0, 2.0, 5.0]),
                    [0.0, 0.8, 0.8 / math.sqrt(2), 0.3, 0.55, 0.4875 / 2])
    assert tr.potential(np.zeros((2, 3))).shape == (2, 3)


def test_trace_potential_at_alpha_inf_and_zero():
    """At alpha = inf the potential is u_post only at input times; at alpha = 0 it is piecewise constant."""
    s = SpikeTrain([0.0, 1.0], [0.5, 0.25])
    assert_allclose(lif_trace(s, alpha=math.inf).potential([0.0, 0.5, 1.0, 1.5]), [0.5, 0.0, 0.25, 0.0])
    assert_allclose(lif_trace(s, alpha=0.0).potential([0.0, 0.5, 1.0, 1.5]), [0.5, 0.5, 0.75, 0.75])


# --- bad input ----------------------------------------------------------------------------------

ALL_SINGLE = [lif, lif_reference, lif_trace, quantization_error]
ALL_BATCH = [lif_batch, quantization_error_batch]


@pytest.mark.parametrize("fn", ALL_SINGLE)
@pytest.mark.parametrize("kwargs, match", [
    (dict(threshold=0.0), "threshold must be a finite number > 0"),
    (dict(threshold=-1.0), "threshold"),
    (dict(threshold=math.nan), "threshold"),
    (dict(threshold=math.inf), "threshold"),
    (dict(threshold="1"), "threshold must be a real number"),
    (dict(alpha=-1e-3), r"alpha must be in \[0, inf\]"),
    (dict(alpha=math.nan), "alpha"),
    (dict(reset="hard"), r"reset must be one of \('zero', 'subtract', 'mod'\), got 'hard'"),
    (dict(reset=None), "reset"),
])
def test_bad_parameters_raise_value_error(fn, kwargs, match):
    """Bad threshold, alpha or reset raise a ValueError naming argument, value and what is allowed."""
    with pytest.raises(ValueError, match=match):
        fn(GOLDEN, **kwargs)


@pytest.mark.parametrize("fn", ALL_BATCH)
@pytest.mark.parametrize("kwargs, match", [
    (dict(threshold=0.0), "threshold"),
    (dict(alpha=-1.0), "alpha"),
    (dict(reset="Mod"), "reset"),
])
def test_bad_parameters_raise_in_batch(fn, kwargs, match):
    """The batched functions check their parameters like the single ones."""
    with pytest.raises(ValueError, match=match):
        fn(GOLDEN.times[None], GOLDEN.amplitudes[None], **kwargs)


@pytest.mark.parametrize("fn", ALL_SINGLE)
def test_non_train_raises_type_error(fn):
    """Passing arrays where a SpikeTrain is expected is a TypeError that points to the batch functions."""
    with pytest.raises(TypeError, match="train must be a qsnn.SpikeTrain.*_batch"):
        fn([0.8, 0.9])


@pytest.mark.parametrize("fn", ALL_BATCH)
@pytest.mark.parametrize("times, amplitudes, match", [
    (np.zeros(3), np.zeros(3), "2-D"),
    (np.zeros((1, 3)), np.zeros((2, 3)), "same shape"),
    ([[0.0, math.inf]], [[1.0, 1.0]], "times must be finite"),
    ([[0.0, 1.0]], [[math.nan, 1.0]], "amplitudes must be finite"),
    ([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 1.0]], r"strictly increasing.*times\[1, 0\]"),
])
def test_bad_batch_arrays_raise(fn, times, amplitudes, match):
    """Malformed batch arrays are a ValueError naming the array and the offending entry."""
    with pytest.raises(ValueError, match=match):
        fn(times, amplitudes)


def test_potential_rejects_non_finite_grid():
    """LIFTrace.potential refuses NaN times."""
    with pytest.raises(ValueError, match="t_grid"):
        lif_trace(GOLDEN).potential([0.0, math.nan])


# --- extremes: huge ratios |u| / theta, tiny and huge scales, overflow -----------------------------

def test_issue_example_large_ratio_is_exact():
    """|u| / theta = 1e10: the tolerance no longer makes the floor overshoot (it emitted 1e10 + 10)."""
    eta = SpikeTrain([0.0], [1e10])
    assert lif(eta) == eta
    assert quantization_error(eta) == 0.0 == alexiewicz_norm(lif(eta) - eta)
    eta = SpikeTrain([0.0], [1e10 + 0.5])
    assert lif(eta) == SpikeTrain([0.0], [1e10])
    assert quantization_error(eta) == 0.5 == alexiewicz_norm(lif(eta) - eta)


def test_counts_beyond_int64_stay_in_floating_point():
    """1e300 / theta = 1e300 multiples: the output is 1e300 (the floor saturated at 2**63 before)."""
    eta = SpikeTrain([0.0], [1e300])
    assert lif(eta) == eta == lif_reference(eta)
    assert quantization_error(eta) == 0.0
    eta = SpikeTrain([0.0], [-3e300])
    out = lif(eta, threshold=7e-300)
    assert out == lif_reference(eta, threshold=7e-300)
    rem = Fraction(-3e300) - Fraction(float(out.amplitudes[0]))
    assert abs(rem) < Fraction(7e-300) and quantization_error(eta, 7e-300) == abs(float(rem))


def _exact_single_spike_check(a, theta, alpha):
    """One spike: the emitted amplitude leaves an exact remainder of magnitude < theta, reported exactly."""
    s = SpikeTrain([0.0], [a])
    out = lif(s, theta, alpha, "mod")
    assert out == lif_reference(s, theta, alpha, "mod")
    b = float(out.amplitudes[0]) if len(out) else 0.0
    rem = Fraction(a) - Fraction(b)
    assert abs(rem) < Fraction(theta)
    n = math.floor(abs(Fraction(a)) / Fraction(theta))
    assert round(abs(Fraction(b)) / Fraction(theta)) in (n, n + 1)  # a multiple of theta, up to rounding
    err = quantization_error(s, theta, alpha, "mod")
    assert err < theta and err <= float(abs(rem))
    assert alexiewicz_norm(out - s, alpha) < theta


EXPONENTS = st.integers(-300, 300)
RATIOS = st.floats(0.0, 18.0)  # log10 of |a| / theta
MANTISSAS = st.floats(1.0, 9.999, allow_nan=False)


@settings(deadline=None, max_examples=300)
@given(MANTISSAS, EXPONENTS, RATIOS, st.booleans(), ALPHAS)
def test_theorem1_single_spike_at_extreme_scales_and_ratios(mant, exp10, log_ratio, negative, alpha):
    """Amplitudes 1e-300 .. 1e300, |a| / theta in 1e0 .. 1e18: the error is exact and below theta."""
    a = (-1.0 if negative else 1.0) * mant * 10.0 ** exp10
    theta = abs(a) / 10.0 ** log_ratio
    assume(theta > 0.0 and math.isfinite(theta))
    _exact_single_spike_check(a, theta, alpha)


@pytest.mark.parametrize("a, theta", [
    (1e300, 1e-300), (1.7976931348623157e308, 3.0), (5e-324, 5e-324), (1e-300, 3e-301), (2.0 ** 63 + 2 ** 11, 1.0),
    (2.0 ** 70, 3.0), (9.007199254740993e15, 0.9), (123456789.0, 1e-9), (0.3, 0.1), (1.0 - 1e-16, 1.0),
])
def test_theorem1_single_spike_at_named_extremes(a, theta):
    """Hand-picked extremes: max float, subnormals, just beyond 2**63, theta below float resolution."""
    for sign in (1.0, -1.0):
        _exact_single_spike_check(sign * a, theta, 0.0)


@st.composite
def scaled_trains(draw, max_size=12):
    """Trains whose amplitudes are of size 10**e (e in -300..300) with theta = scale / 10**ratio."""
    e = draw(st.integers(-290, 290))
    log_ratio = draw(st.floats(0.0, 18.0))
    n = draw(st.integers(1, max_size))
    gaps = draw(st.lists(st.floats(0.05, 2.0), min_size=n, max_size=n))
    amps = draw(st.lists(st.floats(-4.0, 4.0), min_size=n, max_size=n))
    scale = 10.0 ** e
    return SpikeTrain(np.cumsum(gaps), np.array(amps) * scale), scale / 10.0 ** log_ratio


@settings(deadline=None, max_examples=150)
@given(scaled_trains(), ALPHAS, st.sampled_from(RESETS))
def test_kernels_equal_exact_reference_at_extremes(st_theta, alpha, reset):
    """At every scale and ratio the kernels equal the exact-arithmetic reference, batch equals single,
    and reset-to-mod keeps every post-reset potential strictly inside (-theta, theta) (Theorem 1)."""
    s, theta = st_theta
    assume(theta > 0.0 and math.isfinite(theta))
    out = lif(s, theta, alpha, reset)
    assert out == lif_reference(s, theta, alpha, reset)
    err = quantization_error(s, theta, alpha, reset)
    assert quantization_error_batch(s.times[None], s.amplitudes[None], theta, alpha, reset)[0] == err
    assert_array_equal(lif_batch(s.times[None], s.amplitudes[None], theta, alpha, reset)[0], on_grid(s, out))
    tr = lif_trace(s, theta, alpha, reset)
    if reset == "mod":
        assert err < theta
        # the error identity holds exactly in floating point: u_post = u_pre - b, or 0 within the tolerance
        exact = [Fraction(p) - Fraction(b) for p, b in zip(tr.u_pre, tr.outputs)]
        for e_k, u_k in zip(exact, tr.u_post):
            assert Fraction(u_k) == e_k or (u_k == 0.0 and abs(e_k) <= 2 * FIRING_RTOL * Fraction(theta))


@settings(deadline=None, max_examples=100)
@given(scaled_trains(), st.sampled_from([0.0, math.inf]))
def test_theorem1_exact_error_at_extremes(st_theta, alpha):
    """The true error ||LIF(eta) - eta||, in exact arithmetic, is below theta up to the rounding of the
    input sums themselves (at alpha = inf there is none: every spike is quantized on its own)."""
    s, theta = st_theta
    assume(theta > 0.0 and math.isfinite(theta))
    b = on_grid(s, lif(s, theta, alpha, "mod"))
    tr = lif_trace(s, theta, alpha, "mod")
    slack = Fraction(0)
    if alpha == 0.0:  # each u_pre = fl(u_post + a) rounds by at most half an ulp
        slack = sum(Fraction(np.spacing(abs(p))) / 2 for p in tr.u_pre)
    partial = Fraction(0)
    for a_k, b_k in zip(s.amplitudes, b):
        d_k = Fraction(float(a_k)) - Fraction(float(b_k))
        partial = d_k if alpha == math.inf else partial + d_k
        assert abs(partial) < Fraction(theta) + slack


def test_potential_overflow_raises():
    """A potential beyond float64 is refused (it produced NaN or an infinite amplitude), for every reset."""
    s = SpikeTrain([0.0, 1.0], [1.5e308, 1.5e308])
    for reset in RESETS:
        for fn in (lif, quantization_error, lif_trace, lif_reference):
            with pytest.raises(OverflowError):
                fn(s, 1.7e308, 0.0, reset)
        for fn in ALL_BATCH:
            with pytest.raises(OverflowError, match="overflowed float64"):
                fn(s.times[None], s.amplitudes[None], 1.7e308, 0.0, reset)


def test_output_overflow_raises():
    """Reset-to-mod that would round up to a multiple of theta beyond float64 raises instead of emitting inf."""
    theta = 1.7e308
    a = math.nextafter(theta, 0.0)  # within the tolerance of theta: emits theta, fine
    assert lif(SpikeTrain([0.0], [a]), theta) == SpikeTrain([0.0], [theta])
    big = 1.7976931348623157e308
    th = big / 1.9999999995  # |a| within the tolerance of 2 theta > max float
    with pytest.raises(OverflowError):
        lif(SpikeTrain([0.0], [big]), th)
    with pytest.raises(OverflowError):
        lif_reference(SpikeTrain([0.0], [big]), th)


@pytest.mark.parametrize("fn", ALL_BATCH)
def test_complex_batch_is_refused(fn):
    """Complex arrays were silently cut to their real part; now they are refused like the single form."""
    with pytest.raises(ValueError, match="amplitudes must be real.*complex"):
        fn([[0.0, 1.0]], [[1.0, 0.5 + 2j]])
    with pytest.raises(ValueError, match="times must be real"):
        fn(np.array([[0.0, 1.0]], dtype=complex), [[1.0, 0.5]])
