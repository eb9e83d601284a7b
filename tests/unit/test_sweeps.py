"""Tests of qsnn.spiketrains.sweeps: the error sweeps of Figs. 4/5 of Part I and their concentration statistics."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from qsnn.spiketrains.lif_quantizer import RESETS, quantization_error
from qsnn.spiketrains.spikes import SpikeTrain
from qsnn.spiketrains.sweeps import (ErrorSweep, concentration, error_sweep, spike_count_grid, sweep_seed,
                         sweep_trains)

GRID = (5, 12, 40)


# --- error_sweep: shapes, determinism, shared trains -------------------------------------------------

def test_errors_have_one_row_per_spike_count_and_one_column_per_run():
    """Every reset gets an array [len(n_spikes), n_runs] and the grid is kept."""
    sweep = error_sweep(GRID, n_runs=7)
    assert isinstance(sweep, ErrorSweep)
    assert sweep.resets == RESETS
    assert_array_equal(sweep.n_spikes, GRID)
    for r in RESETS:
        assert sweep[r].shape == (len(GRID), 7)
        assert sweep[r] is sweep.errors[r]


def test_same_seed_gives_identical_errors():
    """Two sweeps with the same arguments agree bit for bit."""
    a, b = error_sweep(GRID, n_runs=5, alpha=0.3, seed=3), error_sweep(GRID, n_runs=5, alpha=0.3, seed=3)
    for r in RESETS:
        assert_array_equal(a[r], b[r])


def test_other_seed_gives_other_trains():
    """A different seed draws different trains, hence different errors."""
    a, b = error_sweep(GRID, n_runs=5, seed=0), error_sweep(GRID, n_runs=5, seed=1)
    assert not np.array_equal(a["mod"], b["mod"])


def test_trains_of_a_spike_count_do_not_depend_on_the_rest_of_the_grid():
    """The row of a spike count is the same whatever other counts the grid holds."""
    a = error_sweep([5, 12], n_runs=6, seed=2)
    b = error_sweep([12, 30, 31], n_runs=6, seed=2)
    for r in RESETS:
        assert_array_equal(a[r][1], b[r][0])


def test_every_reset_sees_the_same_trains():
    """Sweeping one reset alone gives the same errors as sweeping it together with the others."""
    together = error_sweep(GRID, n_runs=5, alpha=0.1, amplitude=1.5, seed=4)
    for r in RESETS:
        alone = error_sweep(GRID, n_runs=5, alpha=0.1, amplitude=1.5, seed=4, resets=(r,))
        assert alone.resets == (r,)
        assert_array_equal(alone[r], together[r])


@pytest.mark.parametrize("reset", RESETS)
@pytest.mark.parametrize("alpha", [0.0, 0.1, 1.0, math.inf])
def test_an_entry_equals_quantization_error_of_the_same_train(reset, alpha):
    """Entry (i, j) is quantization_error of run j at spike count i, divided by theta."""
    theta, amplitude, gap = 0.7, 1.5, (0.1, 0.9)
    sweep = error_sweep(GRID, n_runs=4, amplitude=amplitude, alpha=alpha, threshold=theta, gap=gap, seed=9)
    i, j = 2, 3
    times, amps = sweep_trains(GRID[i], 4, amplitude, theta, gap, seed=9)
    expected = quantization_error(SpikeTrain(times[j], amps[j]), theta, alpha, reset) / theta
    assert_allclose(sweep[reset][i, j], expected, rtol=1e-12, atol=1e-12)


def test_sweep_trains_follow_the_protocol():
    """Amplitudes lie in [-amplitude*theta, amplitude*theta] and gaps in the gap range."""
    times, amps = sweep_trains(200, 30, amplitude=1.5, threshold=2.0, gap=(0.2, 1.0), seed=1)
    assert times.shape == amps.shape == (30, 200)
    assert np.all(np.abs(amps) <= 3.0)
    assert np.max(np.abs(amps)) > 2.5  # the range is used, not a smaller one
    gaps = np.diff(times, axis=1)
    assert np.all(gaps >= 0.2 - 1e-12) and np.all(gaps <= 1.0 + 1e-12)


def test_errors_are_read_only():
    """The result cannot be changed by accident after the sweep."""
    sweep = error_sweep([5], n_runs=2)
    with pytest.raises(ValueError):
        sweep["mod"][0, 0] = 0.0


def test_unknown_reset_in_a_sweep_is_a_key_error_naming_the_resets():
    """Asking a sweep for a reset it does not hold says which it holds."""
    sweep = error_sweep([5], n_runs=2, resets=("mod",))
    with pytest.raises(KeyError, match="mod"):
        sweep["zero"]


def test_parameters_round_trip_the_protocol():
    """parameters() records everything needed to repeat the sweep."""
    sweep = error_sweep([5, 9], n_runs=3, amplitude=1.5, alpha=0.1, threshold=2.0, gap=(0.3, 0.5), seed=4)
    p = sweep.parameters()
    assert p == {"n_spikes": [5, 9], "n_runs": 3, "threshold": 2.0, "alpha": 0.1, "amplitude": 1.5,
                 "gap": [0.3, 0.5], "seed": 4, "resets": list(RESETS)}
    again = error_sweep(p["n_spikes"], p["n_runs"], p["amplitude"], p["alpha"], p["resets"],
                        p["threshold"], tuple(p["gap"]), p["seed"])
    assert_array_equal(again["zero"], sweep["zero"])


# --- the paper's claims on small sweeps ------------------------------------------------------------

@settings(max_examples=25, deadline=None)
@given(alpha=st.sampled_from([0.0, 0.05, 0.1, 1.0, 5.0, math.inf]),
       amplitude=st.floats(0.1, 4.0),
       threshold=st.floats(0.2, 5.0),
       seed=st.integers(0, 2**32 - 1))
def test_reset_to_mod_error_is_always_below_theta(alpha, amplitude, threshold, seed):
    """Theorem 1: every reset-to-mod error is strictly below theta."""
    sweep = error_sweep([3, 30, 150], n_runs=8, amplitude=amplitude, alpha=alpha, threshold=threshold,
                        seed=seed, resets=("mod",))
    assert np.all(sweep["mod"] < 1.0)


@settings(max_examples=20, deadline=None)
@given(alpha=st.sampled_from([0.0, 0.1, 1.0, math.inf]), amplitude=st.floats(0.05, 1.0),
       seed=st.integers(0, 2**32 - 1))
def test_subtraction_equals_mod_when_amplitudes_stay_within_theta(alpha, amplitude, seed):
    """With all |a_i| <= theta, reset-by-subtraction and reset-to-mod quantize identically."""
    sweep = error_sweep([4, 60], n_runs=10, amplitude=amplitude, alpha=alpha, seed=seed,
                        resets=("subtract", "mod"))
    assert_allclose(sweep["subtract"], sweep["mod"], rtol=0, atol=1e-12)


def test_subtraction_exceeds_theta_for_amplitudes_up_to_one_and_a_half_theta():
    """With amplitudes in [-1.5 theta, 1.5 theta] reset-by-subtraction leaves theta for some train."""
    sweep = error_sweep([50], n_runs=50, amplitude=1.5, alpha=0.1, resets=("subtract", "mod"))
    assert np.any(sweep["subtract"] > 1.0)
    assert np.all(sweep["mod"] < 1.0)


def test_errors_in_units_of_theta_do_not_depend_on_theta():
    """Scaling theta and the amplitudes together leaves error/theta unchanged."""
    a = error_sweep(GRID, n_runs=5, alpha=0.1, amplitude=1.5, threshold=1.0, seed=6)
    b = error_sweep(GRID, n_runs=5, alpha=0.1, amplitude=1.5, threshold=3.0, seed=6)
    for r in RESETS:
        assert_allclose(a[r], b[r], rtol=1e-9, atol=1e-12)


def test_fraction_above_counts_runs_over_theta():
    """fraction_above is the share of runs per spike count whose error exceeds theta."""
    sweep = error_sweep(GRID, n_runs=10, alpha=0.0, seed=1)
    assert_array_equal(sweep.fraction_above("zero"), np.mean(sweep["zero"] > 1.0, axis=1))
    assert_array_equal(sweep.fraction_above("mod"), np.zeros(len(GRID)))


def test_count_at_share_is_the_first_spike_count_with_that_share_above_theta():
    """count_at_share returns the first grid count whose share of runs above theta reaches the level."""
    sweep = error_sweep([5, 50, 500], n_runs=20, alpha=0.0, seed=1, resets=("zero", "mod"))
    f = sweep.fraction_above("zero")
    first = next((n for n, x in zip(sweep.n_spikes, f) if x >= 0.5), None)
    assert first is not None  # at alpha = 0 reset-to-zero leaves the theta-ball on long trains
    assert sweep.count_at_share("zero") == first
    assert sweep.count_at_share("mod", 0.01) is None


@pytest.mark.parametrize("share", [0.0, 1.5, -0.1, True, "half"])
def test_count_at_share_rejects_bad_share(share):
    """A share outside (0, 1] raises ValueError naming it."""
    sweep = error_sweep([5], n_runs=2)
    with pytest.raises(ValueError, match="share"):
        sweep.count_at_share("zero", share)


# --- seeds and grids ---------------------------------------------------------------------------------

def test_sweep_seed_differs_per_spike_count_and_per_seed():
    """Each (seed, n_spikes) pair gets its own stream seed, and the same pair always the same one."""
    seeds = {sweep_seed(s, n) for s in range(3) for n in (5, 6, 1000)}
    assert len(seeds) == 9
    assert sweep_seed(1, 6) == sweep_seed(1, 6)


def test_spike_count_grid_is_log_spaced_integers_with_both_ends():
    """The grid starts at low, ends at high, increases strictly and is roughly geometric."""
    grid = spike_count_grid(5, 1000, 12)
    assert grid.dtype == np.int64 and grid[0] == 5 and grid[-1] == 1000
    assert np.all(np.diff(grid) > 0) and grid.size == 12
    ratios = grid[1:] / grid[:-1]
    assert_allclose(ratios, (1000 / 5) ** (1 / 11), rtol=0.1)


def test_spike_count_grid_merges_rounded_duplicates():
    """A dense grid at small counts drops repeated integers instead of repeating them."""
    grid = spike_count_grid(1, 10, 30)
    assert_array_equal(grid, np.arange(1, 11))
    assert_array_equal(spike_count_grid(7, 7, 5), [7])


@pytest.mark.parametrize("kwargs, name", [
    ({"low": 0}, "low"), ({"high": 2.5}, "high"), ({"num": 1}, "num"), ({"low": 10, "high": 5}, "low"),
])
def test_bad_grid_arguments_are_rejected(kwargs, name):
    """spike_count_grid names the argument that is wrong."""
    with pytest.raises(ValueError, match=name):
        spike_count_grid(**kwargs)


# --- argument validation ----------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, name", [
    ({"n_spikes": []}, "n_spikes"),
    ({"n_spikes": [5, 0]}, "n_spikes"),
    ({"n_spikes": [5, 5]}, "n_spikes"),
    ({"n_spikes": [10, 5]}, "n_spikes"),
    ({"n_spikes": [5.5]}, "n_spikes"),
    ({"n_spikes": [True]}, "n_spikes"),
    ({"n_spikes": None}, "n_spikes"),
    ({"n_runs": 0}, "n_runs"),
    ({"n_runs": 2.0}, "n_runs"),
    ({"amplitude": 0.0}, "amplitude"),
    ({"amplitude": -1.0}, "amplitude"),
    ({"amplitude": math.inf}, "amplitude"),
    ({"amplitude": "1"}, "amplitude"),
    ({"alpha": -0.1}, "alpha"),
    ({"alpha": math.nan}, "alpha"),
    ({"alpha": None}, "alpha"),
    ({"resets": ()}, "resets"),
    ({"resets": ("mod", "floor")}, "resets"),
    ({"resets": ("mod", "mod")}, "resets"),
    ({"resets": 3}, "resets"),
    ({"threshold": 0.0}, "threshold"),
    ({"threshold": math.nan}, "threshold"),
    ({"gap": (0.0, 1.0)}, "gap"),
    ({"gap": (1.0, 0.5)}, "gap"),
    ({"gap": (0.2, math.inf)}, "gap"),
    ({"gap": 0.5}, "gap"),
    ({"gap": (0.1, 0.2, 0.3)}, "gap"),
    ({"seed": -1}, "seed"),
    ({"seed": 1.5}, "seed"),
])
def test_bad_sweep_arguments_are_rejected_by_name(kwargs, name):
    """Every argument outside its range raises ValueError naming it."""
    args = {"n_spikes": [5, 10], "n_runs": 2} | kwargs
    with pytest.raises(ValueError, match=name):
        error_sweep(**args)


def test_a_single_spike_count_and_a_single_reset_name_are_accepted():
    """n_spikes=int and resets='mod' are read as one-element sequences."""
    sweep = error_sweep(8, n_runs=3, resets="mod")
    assert sweep.resets == ("mod",) and sweep["mod"].shape == (1, 3)


# --- concentration -----------------------------------------------------------------------------------

def test_concentration_golden_values():
    """Hand-computed statistics of a small table of errors."""
    errors = np.array([[0.1, 0.2, 0.3, 0.4], [0.5, 0.9, 1.2, 0.8]])
    c = concentration(errors, quantiles=(0.0, 0.5, 1.0))
    assert_allclose(c["mean"], [0.25, 0.85])
    assert_allclose(c["std"], [np.std([0.1, 0.2, 0.3, 0.4], ddof=1), np.std([0.5, 0.9, 1.2, 0.8], ddof=1)])
    assert_allclose(c["min"], [0.1, 0.5])
    assert_allclose(c["max"], [0.4, 1.2])
    assert_allclose(c["gap"], [0.6, -0.2])
    assert_allclose(c["fraction_above"], [0.0, 0.25])
    assert_allclose(c["quantiles"], [[0.1, 0.25, 0.4], [0.5, 0.85, 1.2]])
    assert_allclose(c["q"], [0.0, 0.5, 1.0])
    assert_allclose(c["iqr"], [0.15, 0.25])


def test_concentration_of_one_run_has_zero_spread():
    """With a single run per spike count the standard deviation is 0, not NaN."""
    c = concentration([[0.3], [0.9]])
    assert_array_equal(c["std"], [0.0, 0.0])
    assert c["quantiles"].shape == (2, 5)


def test_concentration_of_reset_to_mod_narrows_below_theta():
    """On a real sweep, longer trains move reset-to-mod errors towards theta and narrow their spread."""
    sweep = error_sweep([5, 500], n_runs=60, alpha=1.0, resets=("mod",))
    c = concentration(sweep["mod"])
    assert np.all(c["gap"] > 0)
    assert c["gap"][1] < c["gap"][0]
    assert c["iqr"][1] < c["iqr"][0]
    assert c["quantiles"][1, 2] > c["quantiles"][0, 2]


@pytest.mark.parametrize("errors, quantiles", [
    ([0.1, 0.2], (0.5,)),              # 1-D
    (np.zeros((2, 0)), (0.5,)),        # no runs
    ([[0.1, np.nan]], (0.5,)),         # not finite
    ([[0.1, -0.2]], (0.5,)),           # negative
    ([[0.1, 0.2]], (1.5,)),            # quantile out of range
    ([[0.1, 0.2]], ()),                # no quantile
])
def test_concentration_rejects_bad_input(errors, quantiles):
    """Malformed error tables and quantile levels raise ValueError."""
    with pytest.raises(ValueError, match="errors|quantiles"):
        concentration(errors, quantiles)
