"""Spike trains: finite sums of weighted Dirac pulses (Moser & Lunglmayr, arXiv:2305.08012, Sec. 2).

A spike train ``eta = sum_i a_i delta(t - t_i)`` is stored as strictly increasing times and real,
non-zero amplitudes of either sign. Spikes at equal times are one spike whose amplitude is the sum of
theirs, and a zero-amplitude spike is no spike; both rules are applied on construction, so every
function of the package sees a merged, time-sorted train. Trains form a vector space: ``+`` is the union
of spikes (equal times merged), scalar ``*`` scales the amplitudes. A sum or product whose amplitude
leaves the float64 range raises ``OverflowError`` instead of putting an infinite spike in the train.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._core.validation import check_finite_scalar, check_int, check_real, check_vector

__all__ = ["SpikeTrain", "random_trains"]


def _readonly(arr: np.ndarray) -> np.ndarray:
    arr.flags.writeable = False
    return arr


def _check_amplitudes_finite(times: np.ndarray, amplitudes: np.ndarray, what: str) -> None:
    """Raise OverflowError if an amplitude computed from finite ones left the float64 range."""
    bad = ~np.isfinite(amplitudes)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise OverflowError(
            f"{what} gives an amplitude beyond the float64 range (|a| > 1.8e308) at time {float(times[i])!r}; "
            f"scale the trains down first"
        )


class SpikeTrain:
    """A finite, merged, time-sorted train of weighted Dirac pulses.

    Parameters
    ----------
    times : array_like, shape [n]
        Spike times (any finite reals, any order; equal times are merged).
    amplitudes : array_like, shape [n]
        Real amplitudes ``a_i`` of either sign (finite).

    Attributes
    ----------
    times : ndarray of float64, shape [m], read-only
        Strictly increasing spike times after merging, ``m <= n``.
    amplitudes : ndarray of float64, shape [m], read-only
        The non-zero amplitudes at those times.

    Raises
    ------
    ValueError
        If an argument is not 1-D, contains NaN or infinity, or the lengths differ.
    OverflowError
        If amplitudes at equal times sum beyond the float64 range.

    Examples
    --------
    >>> SpikeTrain([1.0, 0.0, 1.0], [0.5, 2.0, -0.5])
    SpikeTrain(times=[0.0], amplitudes=[2.0])
    """

    __slots__ = ("_times", "_amplitudes")
    __hash__ = None  # equality is by value; trains are not meant as dict keys

    def __init__(self, times=(), amplitudes=()):
        t = check_vector("times", times)
        a = check_vector("amplitudes", amplitudes)
        if t.shape != a.shape:
            raise ValueError(
                f"times and amplitudes must have the same length, got {t.shape[0]} and {a.shape[0]}"
            )
        if t.size:
            order = np.argsort(t, kind="stable")
            t, a = t[order], a[order]
            if t.size > 1 and not np.all(t[1:] > t[:-1]):
                starts = np.flatnonzero(np.concatenate(([True], t[1:] != t[:-1])))
                with np.errstate(over="ignore"):
                    t, a = t[starts], np.add.reduceat(a, starts)
                _check_amplitudes_finite(t, a, "merging spikes at equal times")
            keep = a != 0.0
            if not keep.all():
                t, a = t[keep], a[keep]
        self._times = _readonly(np.ascontiguousarray(t))
        self._amplitudes = _readonly(np.ascontiguousarray(a))

    @classmethod
    def _trusted(cls, times: np.ndarray, amplitudes: np.ndarray) -> "SpikeTrain":
        """Wrap arrays that are already merged, sorted, finite and zero-free (no checks)."""
        obj = cls.__new__(cls)
        obj._times = _readonly(np.ascontiguousarray(times, dtype=np.float64))
        obj._amplitudes = _readonly(np.ascontiguousarray(amplitudes, dtype=np.float64))
        return obj

    @property
    def times(self) -> np.ndarray:
        """Strictly increasing spike times, float64, read-only."""
        return self._times

    @property
    def amplitudes(self) -> np.ndarray:
        """Non-zero spike amplitudes, float64, read-only."""
        return self._amplitudes

    def __len__(self) -> int:
        return int(self._times.shape[0])

    def __repr__(self) -> str:
        return f"SpikeTrain(times={self._times.tolist()!r}, amplitudes={self._amplitudes.tolist()!r})"

    def __eq__(self, other) -> bool:
        if not isinstance(other, SpikeTrain):
            return NotImplemented
        return bool(np.array_equal(self._times, other._times) and np.array_equal(self._amplitudes, other._amplitudes))

    def __add__(self, other) -> "SpikeTrain":
        if not isinstance(other, SpikeTrain):
            return NotImplemented
        return SpikeTrain(np.concatenate((self._times, other._times)),
                          np.concatenate((self._amplitudes, other._amplitudes)))

    def __neg__(self) -> "SpikeTrain":
        return SpikeTrain._trusted(self._times, -self._amplitudes)

    def __sub__(self, other) -> "SpikeTrain":
        if not isinstance(other, SpikeTrain):
            return NotImplemented
        return self + (-other)

    def __mul__(self, scalar) -> "SpikeTrain":
        if isinstance(scalar, SpikeTrain) or not isinstance(scalar, (numbers.Real, np.ndarray)):
            return NotImplemented
        c = check_finite_scalar("scalar", scalar)
        if c == 0.0:
            return SpikeTrain()
        with np.errstate(over="ignore"):
            amps = self._amplitudes * c
        _check_amplitudes_finite(self._times, amps, f"scaling by {c!r}")
        keep = amps != 0.0  # an underflow to zero is no spike
        return SpikeTrain._trusted(self._times[keep], amps[keep])

    __rmul__ = __mul__

    def __truediv__(self, scalar) -> "SpikeTrain":
        if isinstance(scalar, SpikeTrain) or not isinstance(scalar, (numbers.Real, np.ndarray)):
            return NotImplemented
        c = check_finite_scalar("divisor", scalar)
        if c == 0.0:
            raise ValueError("divisor must be a non-zero finite real number, got 0")
        with np.errstate(over="ignore", under="ignore"):
            amps = self._amplitudes / c  # not * (1 / c): 1 / c overflows for tiny c
        _check_amplitudes_finite(self._times, amps, f"dividing by {c!r}")
        keep = amps != 0.0
        return SpikeTrain._trusted(self._times[keep], amps[keep])


def random_trains(n_trains: int, n_spikes: int, amplitude: float = 1.0, gap=(0.2, 1.0), seed: int = 0):
    """Draw random spike trains as arrays for the batched functions (the protocol of arXiv:2305.08012, Sec. 5).

    Spike times are cumulative sums of i.i.d. uniform gaps on ``[gap[0], gap[1]]`` (the authors'
    generator), so the first spike sits at the first gap; amplitudes are i.i.d. uniform on
    ``[-amplitude, amplitude]``. Gaps are drawn first, then amplitudes, from
    ``numpy.random.default_rng(seed)``.

    Parameters
    ----------
    n_trains : int
        Number of trains (rows), >= 0.
    n_spikes : int
        Number of spikes per train (columns), >= 0.
    amplitude : float
        Half-width of the amplitude distribution, finite and > 0 (in units of the threshold when
        theta = 1).
    gap : tuple of two floats
        ``(low, high)`` of the inter-spike gaps, finite, ``0 < low <= high``.
    seed : int
        Seed of the generator.

    Returns
    -------
    times : ndarray of float64, shape [n_trains, n_spikes]
        Strictly increasing along each row.
    amplitudes : ndarray of float64, shape [n_trains, n_spikes]

    Raises
    ------
    ValueError
        For a negative or non-integer count, a non-positive amplitude or an invalid gap.
    """
    n_trains = check_int("n_trains", n_trains, min=0)
    n_spikes = check_int("n_spikes", n_spikes, min=0)
    amp = check_real("amplitude", amplitude, min=0.0, min_open=True)
    try:
        low, high = (check_finite_scalar("gap", g) for g in gap)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"gap must be a pair (low, high) of finite numbers with 0 < low <= high, got {gap!r}") from exc
    if not 0.0 < low <= high:
        raise ValueError(f"gap must be a pair (low, high) of finite numbers with 0 < low <= high, got {gap!r}")
    rng = np.random.default_rng(check_int("seed", seed))
    shape = (n_trains, n_spikes)
    times = np.cumsum(rng.uniform(low, high, size=shape), axis=1)
    amplitudes = rng.uniform(-amp, amp, size=shape)
    return times, amplitudes
