"""Tests of qsnn.spiketrains.spikes: construction, merging, vector-space arithmetic, the random generator."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from qsnn import SpikeTrain, random_trains

FINITE = st.floats(-10.0, 10.0, allow_nan=False)


@st.composite
def trains(draw, max_size=12):
    """Spike trains with possibly repeated times and zero amplitudes (before merging)."""
    n = draw(st.integers(0, max_size))
    times = draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 1.25, 2.0, 3.5, 4.0]), min_size=n, max_size=n))
    amps = draw(st.lists(FINITE, min_size=n, max_size=n))
    return SpikeTrain(times, amps)


def test_construction_sorts_by_time():
    """Spikes given out of order are stored sorted by time."""
    s = SpikeTrain([2.0, 0.0, 1.0], [3.0, 1.0, 2.0])
    assert_array_equal(s.times, [0.0, 1.0, 2.0])
    assert_array_equal(s.amplitudes, [1.0, 2.0, 3.0])


def test_equal_times_are_merged_by_adding_amplitudes():
    """Two spikes at one time are one spike whose amplitude is the sum."""
    s = SpikeTrain([1.0, 0.0, 1.0, 1.0], [0.5, 2.0, 0.25, 1.0])
    assert_array_equal(s.times, [0.0, 1.0])
    assert_array_equal(s.amplitudes, [2.0, 1.75])


def test_zero_amplitude_spikes_are_dropped():
    """A zero spike, given or produced by merging, is no spike."""
    s = SpikeTrain([0.0, 1.0, 2.0, 2.0], [0.0, 1.0, 0.5, -0.5])
    assert s == SpikeTrain([1.0], [1.0])
    assert len(s) == 1


def test_empty_train_is_valid():
    """The empty train has length 0, empty float64 arrays and is the additive identity."""
    e = SpikeTrain()
    assert len(e) == 0
    assert e.times.dtype == np.float64 and e.amplitudes.shape == (0,)
    s = SpikeTrain([1.0], [2.0])
    assert s + e == s and e + s == s and s - s == e


def test_arrays_are_read_only_float64():
    """times and amplitudes cannot be modified in place."""
    s = SpikeTrain([0, 1], [1, 2])
    assert s.times.dtype == np.float64 and s.amplitudes.dtype == np.float64
    with pytest.raises(ValueError):
        s.times[0] = 5.0
    with pytest.raises(ValueError):
        s.amplitudes[0] = 5.0


def test_construction_copies_its_input():
    """Changing the caller's array afterwards does not change the train."""
    t = np.array([0.0, 1.0])
    s = SpikeTrain(t, [1.0, 1.0])
    t[0] = 9.0
    assert s.times[0] == 0.0


def test_addition_is_union_with_merging():
    """Adding trains unites their spikes and merges equal times."""
    a = SpikeTrain([0.0, 1.0], [1.0, 2.0])
    b = SpikeTrain([1.0, 2.0], [-2.0, 3.0])
    assert a + b == SpikeTrain([0.0, 2.0], [1.0, 3.0])


def test_subtraction_negation_and_scalar_multiplication():
    """-, unary -, and scalar * on either side act on the amplitudes."""
    a = SpikeTrain([0.0, 1.0], [1.0, -2.0])
    assert -a == SpikeTrain([0.0, 1.0], [-1.0, 2.0])
    assert a - a == SpikeTrain()
    assert 2 * a == a * 2.0 == SpikeTrain([0.0, 1.0], [2.0, -4.0])
    assert a * 0 == SpikeTrain()
    assert a / 2 == SpikeTrain([0.0, 1.0], [0.5, -1.0])


def test_equality_is_by_value_and_not_with_other_types():
    """Equal spikes compare equal; a train never equals a non-train."""
    assert SpikeTrain([0.0], [1.0]) == SpikeTrain([0], [1])
    assert SpikeTrain([0.0], [1.0]) != SpikeTrain([0.0], [1.5])
    assert SpikeTrain([0.0], [1.0]) != [0.0]


def test_repr_shows_times_and_amplitudes():
    """repr names the class, times and amplitudes."""
    assert repr(SpikeTrain([1.0, 0.0], [2.0, 1.0])) == "SpikeTrain(times=[0.0, 1.0], amplitudes=[1.0, 2.0])"


def _dense(s, grid):
    """Amplitudes of ``s`` on a grid of times (0 where it has no spike)."""
    out = np.zeros(len(grid))
    out[np.searchsorted(grid, s.times)] = s.amplitudes
    return out


@settings(deadline=None, max_examples=80)
@given(trains(), trains(), trains())
def test_addition_is_commutative_and_associative(a, b, c):
    """The vector-space sum commutes exactly and associates up to rounding."""
    assert a + b == b + a
    grid = np.unique(np.concatenate([a.times, b.times, c.times]))
    assert_allclose(_dense((a + b) + c, grid), _dense(a + (b + c), grid), atol=1e-12)


@settings(deadline=None, max_examples=80)
@given(trains())
def test_constructed_trains_are_merged_sorted_and_zero_free(s):
    """Every train has strictly increasing times and non-zero finite amplitudes."""
    assert np.all(np.diff(s.times) > 0)
    assert np.all(s.amplitudes != 0) and np.all(np.isfinite(s.amplitudes))


@pytest.mark.parametrize(
    "times, amplitudes, match",
    [
        ([0.0, 1.0], [1.0], "same length"),
        ([[0.0]], [[1.0]], "1-D"),
        ([0.0, math.nan], [1.0, 1.0], "times must be finite"),
        ([0.0, 1.0], [1.0, math.inf], "amplitudes must be finite"),
        (["a"], [1.0], "times must be"),
    ],
)
def test_bad_construction_raises_value_error(times, amplitudes, match):
    """Non-1-D, non-finite, non-numeric or unequal-length input is refused with a ValueError."""
    with pytest.raises(ValueError, match=match):
        SpikeTrain(times, amplitudes)


def test_scaling_by_non_finite_scalar_raises():
    """Multiplying by NaN or inf is refused."""
    with pytest.raises(ValueError, match="scalar"):
        SpikeTrain([0.0], [1.0]) * math.nan
    with pytest.raises(ValueError, match="divisor"):
        SpikeTrain([0.0], [1.0]) / 0


def test_arithmetic_with_non_trains_raises_type_error():
    """Adding a number or an array to a train is a TypeError."""
    with pytest.raises(TypeError):
        SpikeTrain([0.0], [1.0]) + 1.0
    with pytest.raises(TypeError):
        SpikeTrain([0.0], [1.0]) * SpikeTrain([0.0], [1.0])


def test_random_trains_shapes_and_ranges():
    """random_trains gives [n_trains, n_spikes] arrays, increasing times, gaps and amplitudes in range."""
    t, a = random_trains(5, 200, amplitude=1.5, gap=(0.2, 1.0), seed=3)
    assert t.shape == a.shape == (5, 200)
    gaps = np.diff(np.concatenate([np.zeros((5, 1)), t], axis=1), axis=1)
    assert gaps.min() >= 0.2 and gaps.max() <= 1.0
    assert np.abs(a).max() <= 1.5


def test_random_trains_follow_the_documented_generator():
    """Times are cumulative sums of U[gap] drawn first, then U[-A, A] amplitudes, from default_rng(seed)."""
    t, a = random_trains(3, 4, amplitude=2.0, gap=(0.5, 0.7), seed=11)
    rng = np.random.default_rng(11)
    assert_array_equal(t, np.cumsum(rng.uniform(0.5, 0.7, size=(3, 4)), axis=1))
    assert_array_equal(a, rng.uniform(-2.0, 2.0, size=(3, 4)))


def test_random_trains_are_reproducible_by_seed():
    """The same seed gives the same trains; another seed gives others."""
    assert_array_equal(random_trains(2, 5, seed=1)[1], random_trains(2, 5, seed=1)[1])
    assert not np.array_equal(random_trains(2, 5, seed=1)[1], random_trains(2, 5, seed=2)[1])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_trains=-1, n_spikes=3), "n_trains"),
        (dict(n_trains=2, n_spikes=2.5), "n_spikes"),
        (dict(n_trains=2, n_spikes=3, amplitude=0.0), "amplitude"),
        (dict(n_trains=2, n_spikes=3, amplitude=math.nan), "amplitude"),
        (dict(n_trains=2, n_spikes=3, gap=(0.0, 1.0)), "gap"),
        (dict(n_trains=2, n_spikes=3, gap=(1.0, 0.5)), "gap"),
        (dict(n_trains=2, n_spikes=3, gap=(0.1,)), "gap"),
        (dict(n_trains=2, n_spikes=3, seed=1.5), "seed"),
    ],
)
def test_random_trains_bad_arguments_raise(kwargs, match):
    """Invalid counts, amplitude, gap or seed raise a ValueError naming the argument."""
    with pytest.raises(ValueError, match=match):
        random_trains(**kwargs)


def test_importing_qsnn_stays_light():
    """import qsnn loads the Part I API without torch (chapters of Part I do not need it)."""
    import subprocess
    import sys

    code = "import sys, qsnn; qsnn.SpikeTrain; qsnn.lif; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_merging_beyond_float_range_raises():
    """Spikes that add up beyond float64 when merged or built at equal times raise, never an inf spike."""
    big = SpikeTrain([0.0, 1.0], [1.5e308, 1.0])
    with pytest.raises(OverflowError, match="merging spikes.*float64 range.*time 0.0"):
        big + big
    with pytest.raises(OverflowError, match="merging"):
        SpikeTrain([2.0, 2.0], [-1e308, -1e308])
    assert (big - big) == SpikeTrain()  # cancellation is fine


def test_scaling_beyond_float_range_raises():
    """Scalar multiplication or division that overflows raises OverflowError naming the factor."""
    s = SpikeTrain([0.0, 1.0], [1e300, -2.0])
    with pytest.raises(OverflowError, match=r"scaling by 10000000000\.0"):
        s * 1e10
    with pytest.raises(OverflowError, match="scaling"):
        1e10 * s
    with pytest.raises(OverflowError, match="dividing by 1e-10"):
        s / 1e-10
    # dividing by a tiny number whose reciprocal overflows is fine when the result is representable
    tiny = SpikeTrain([0.0], [1e-300])
    assert (tiny / 1e-310).amplitudes[0] == 1e-300 / 1e-310
