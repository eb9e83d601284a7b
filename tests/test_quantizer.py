"""Tests of qsnn.quantizer: the two-sided LIF neuron with three resets as a quantizer of spike trains."""

import dataclasses
import math

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


# --- golden values of the spec (section 4) ------------------------------------------------------

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
    """The golden train gives the spec's outputs (theta = 1) on the input grid, single and batched."""
    assert_array_equal(on_grid(GOLDEN, lif(GOLDEN, 1.0, alpha, reset)), outputs)
    assert_array_equal(lif_batch(GOLDEN.times[None], GOLDEN.amplitudes[None], 1.0, alpha, reset), [outputs])
    assert lif_reference(GOLDEN, 1.0, alpha, reset) == lif(GOLDEN, 1.0, alpha, reset)


@pytest.mark.parametrize("alpha, reset, outputs, error", GOLDEN_TABLE)
def test_golden_table_errors(alpha, reset, outputs, error):
    """The golden train gives the spec's error norms, by the fused pass and by the definition."""
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


def test_reset_table_of_the_spec():
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
