"""Tests of qsnn.book.plotting.potential_path: the LIF potential as a polyline with jumps and resets."""

import numpy as np
import pytest

from qsnn.book.plotting import potential_path


def test_path_jumps_then_resets_at_each_input():
    """At each input time the path goes up to u_pre, then to u_post, starting from 0 at t_1."""
    t, u = potential_path([0.0, 1.0], [1.5, 0.9], [0.5, 0.9], alpha=0.0, t_end=2.0, points_per_gap=3)
    assert t[0] == 0.0 and u[0] == 0.0
    np.testing.assert_allclose(t[:3], [0.0, 0.0, 0.0])
    np.testing.assert_allclose(u[1:3], [1.5, 0.5])
    i = np.flatnonzero(t == 1.0)
    np.testing.assert_allclose(u[i], [0.5, 0.9, 0.9])  # end of first decay segment, jump, no reset


def test_segments_decay_exponentially():
    """Between inputs the path equals u_post[k] * exp(-alpha (t - t_k))."""
    alpha = 0.7
    t, u = potential_path([0.0, 2.0], [1.0, 0.3], [1.0, 0.3], alpha=alpha, t_end=3.0, points_per_gap=11)
    seg = (t > 0.0) & (t < 2.0)
    np.testing.assert_allclose(u[seg], np.exp(-alpha * t[seg]))
    assert t[-1] == 3.0
    np.testing.assert_allclose(u[-1], 0.3 * np.exp(-alpha))


def test_infinite_leak_forgets_between_inputs():
    """With alpha = inf the potential is 0 right after each input (never inf * 0)."""
    t, u = potential_path([0.0, 1.0], [0.8, 0.4], [0.8, 0.4], alpha=np.inf, points_per_gap=5)
    assert np.all(np.isfinite(u))
    seg = (t > 0.0) & (t < 1.0)
    np.testing.assert_array_equal(u[seg], 0.0)


@pytest.mark.parametrize("kwargs, match", [
    (dict(times=[0.0, 1.0], u_pre=[1.0], u_post=[1.0], alpha=0.0), "one length"),
    (dict(times=[], u_pre=[], u_post=[], alpha=0.0), "non-empty"),
    (dict(times=[0.0], u_pre=[1.0], u_post=[1.0], alpha=-1.0), "alpha must be in"),
    (dict(times=[0.0], u_pre=[1.0], u_post=[1.0], alpha=float("nan")), "alpha must be in"),
    (dict(times=[0.0, 2.0], u_pre=[1, 1], u_post=[1, 1], alpha=0.0, t_end=1.0), "t_end"),
    (dict(times=[0.0], u_pre=[1.0], u_post=[1.0], alpha=0.0, points_per_gap=1), "points_per_gap"),
])
def test_bad_arguments_are_rejected(kwargs, match):
    """Mismatched or empty arrays, a bad alpha, t_end or sample count raise ValueError naming it."""
    with pytest.raises(ValueError, match=match):
        potential_path(**kwargs)
