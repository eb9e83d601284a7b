"""Quantization error of the LIF neuron over many random spike trains (Figs. 4 and 5 of Part I).

Moser & Lunglmayr (arXiv:2305.08012, Figs. 4 and 5) draw, for each reset variant, the quantization
error ``||LIF(eta) - eta||_{A,alpha}`` of 100 random spike trains against the number of spikes.
:func:`error_sweep` computes exactly that grid of numbers; :func:`concentration` summarises each
column of it (how the error of reset-to-mod gathers just below ``theta`` as trains get longer).

Protocol (arXiv:2305.08012, Sec. 5, and the authors' generator)
----------------------------------------------------------------
- Spike times are cumulative sums of i.i.d. gaps uniform in ``gap = (low, high)`` (the authors'
  generator uses ``(0.2, 1.0)``); amplitudes are i.i.d. uniform in ``[-amplitude * theta,
  amplitude * theta]``, so ``amplitude`` is measured in units of the threshold (1.0: Fig. 4,
  1.5: Fig. 5).
- Every reset variant sees the *same* trains: they are compared on equal input.
- The trains of one spike count ``n`` depend only on ``(seed, n)`` (a :class:`numpy.random.SeedSequence`
  keyed by ``n``), not on the other spike counts of the grid: adding a grid point changes nothing
  else, and one run can be regenerated on its own with :func:`sweep_trains`.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from .._core.validation import check_choice, check_int, check_real
from .lif_quantizer import RESETS, quantization_error_batch
from .spikes import random_trains

__all__ = ["ErrorSweep", "error_sweep", "sweep_trains", "sweep_seed", "spike_count_grid",
           "concentration", "DEFAULT_QUANTILES"]

#: Quantiles reported by :func:`concentration` (5 %, quartiles, median, 95 %).
DEFAULT_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


# --------------------------------------------------------------------------------------------------
# validation at the public boundary
# --------------------------------------------------------------------------------------------------

def _positive_int(name: str, value) -> int:
    return check_int(name, value, min=1)


def _positive_float(name: str, value) -> float:
    return check_real(name, value, min=0.0, min_open=True)


def _alpha(value) -> float:
    return check_real("alpha", value, min=0.0, finite=False)


def _seed(value) -> int:
    return check_int("seed", value, min=0)


def _gap(value) -> tuple[float, float]:
    try:
        low, high = value
        low, high = float(low), float(high)
    except (TypeError, ValueError):
        raise ValueError(f"gap must be a pair (low, high) of the inter-spike gap range, got {value!r}") from None
    if not (math.isfinite(low) and math.isfinite(high) and 0 < low <= high):
        raise ValueError(f"gap must satisfy 0 < low <= high (finite), so that spike times strictly "
                         f"increase; got {value!r}")
    return low, high


def _n_spikes(value) -> np.ndarray:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = [value]
    try:
        items = list(value)
    except TypeError:
        raise ValueError(f"n_spikes must be a sequence of positive integers, got {value!r}") from None
    if not items:
        raise ValueError("n_spikes must name at least one spike count, got an empty sequence")
    grid = np.asarray([check_int("n_spikes entry", n, min=1) for n in items], dtype=np.int64)
    if np.any(np.diff(grid) <= 0):
        raise ValueError(f"n_spikes must be strictly increasing, got {grid.tolist()}")
    return grid


def _resets(value) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    try:
        items = tuple(value)
    except TypeError:
        raise ValueError(f"resets must be a sequence of reset names from {RESETS}, got {value!r}") from None
    if not items:
        raise ValueError(f"resets must name at least one of {RESETS}, got an empty sequence")
    for r in items:
        check_choice("each entry of resets", r, RESETS)
    if len(set(items)) != len(items):
        raise ValueError(f"resets must not repeat a reset, got {items!r}")
    return items


# --------------------------------------------------------------------------------------------------
# the sweep
# --------------------------------------------------------------------------------------------------

def spike_count_grid(low: int = 5, high: int = 1000, num: int = 12) -> np.ndarray:
    """Spike counts log-spaced from ``low`` to ``high`` (both included), rounded, without repeats.

    Parameters
    ----------
    low, high : int
        Smallest and largest spike count, ``1 <= low <= high``.
    num : int
        Number of log-spaced points before rounding; rounding can merge neighbours at the low
        end, so the grid may be shorter than ``num``.

    Returns
    -------
    numpy.ndarray of int64, shape [<= num]
        Strictly increasing, first entry ``low``, last entry ``high``.
    """
    low, high, num = (_positive_int(k, v) for k, v in (("low", low), ("high", high), ("num", num)))
    if low > high:
        raise ValueError(f"low must not exceed high, got low={low}, high={high}")
    if low == high:
        return np.array([low], dtype=np.int64)
    if num < 2:
        raise ValueError(f"num must be at least 2 when low < high, got num={num}")
    grid = np.unique(np.rint(np.geomspace(low, high, num)).astype(np.int64))
    grid[0], grid[-1] = low, high
    return grid


def sweep_seed(seed: int, n_spikes: int) -> int:
    """The seed of the random trains with ``n_spikes`` spikes in a sweep seeded with ``seed``.

    Derived with ``numpy.random.SeedSequence(seed, spawn_key=(n_spikes,))``: independent streams
    per spike count that do not depend on the rest of the grid.
    """
    seed, n_spikes = _seed(seed), _positive_int("n_spikes", n_spikes)
    state = np.random.SeedSequence(seed, spawn_key=(n_spikes,)).generate_state(1, dtype=np.uint32)
    return int(state[0])


def sweep_trains(n_spikes: int, n_runs: int = 100, amplitude: float = 1.0, threshold: float = 1.0,
                 gap: tuple[float, float] = (0.2, 1.0), seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The random trains :func:`error_sweep` uses at one spike count.

    Parameters
    ----------
    n_spikes : int
        Spikes per train.
    n_runs : int
        Number of trains.
    amplitude : float
        Amplitudes are uniform in ``[-amplitude * threshold, amplitude * threshold]``.
    threshold : float
        The LIF threshold ``theta`` (> 0).
    gap : (float, float)
        Inter-spike gaps are uniform in ``[low, high]``, ``0 < low <= high``.
    seed : int
        The sweep's seed; the trains' own seed is :func:`sweep_seed` ``(seed, n_spikes)``.

    Returns
    -------
    times, amplitudes : numpy.ndarray, shape [n_runs, n_spikes]
        Row ``j`` is run ``j`` of the sweep at this spike count.
    """
    n_spikes, n_runs = _positive_int("n_spikes", n_spikes), _positive_int("n_runs", n_runs)
    amplitude, threshold = _positive_float("amplitude", amplitude), _positive_float("threshold", threshold)
    gap, seed = _gap(gap), _seed(seed)
    return random_trains(n_runs, n_spikes, amplitude=amplitude * threshold, gap=gap,
                         seed=sweep_seed(seed, n_spikes))


@dataclass(frozen=True)
class ErrorSweep:
    """Quantization errors of a sweep over spike counts, in units of the threshold.

    Attributes
    ----------
    n_spikes : numpy.ndarray of int64, shape [G]
        The spike counts of the grid.
    errors : dict[str, numpy.ndarray], each of shape [G, n_runs]
        ``errors[reset][i, j] = ||LIF(eta_ij) - eta_ij||_{A,alpha} / theta`` for train ``j`` with
        ``n_spikes[i]`` spikes; the same trains for every reset.
    threshold, alpha, amplitude : float
        ``theta``, the leak rate, and the amplitude range in units of ``theta``.
    gap : (float, float)
        Range of the uniform inter-spike gaps.
    n_runs, seed : int
        Trains per spike count, and the seed of the sweep.
    """

    n_spikes: np.ndarray
    errors: Mapping[str, np.ndarray]
    threshold: float
    alpha: float
    amplitude: float
    gap: tuple[float, float]
    n_runs: int
    seed: int
    resets: tuple[str, ...] = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "resets", tuple(self.errors))

    def __getitem__(self, reset: str) -> np.ndarray:
        """``sweep["mod"]`` is ``sweep.errors["mod"]`` (shape [G, n_runs], in units of theta)."""
        if reset not in self.errors:
            raise KeyError(f"this sweep has no reset {reset!r}; it has {self.resets}")
        return self.errors[reset]

    def fraction_above(self, reset: str) -> np.ndarray:
        """Fraction of runs with error above ``theta``, per spike count (shape [G])."""
        return np.mean(self[reset] > 1.0, axis=1)

    def count_at_share(self, reset: str, share: float = 0.5) -> int | None:
        """The smallest spike count of the grid at which at least ``share`` of the runs exceed theta.

        ``None`` if no spike count of the grid gets there (always for reset-to-mod, by Theorem 1).

        Raises
        ------
        ValueError
            If ``share`` is not in (0, 1].
        """
        share = check_real("share", share, min=0.0, max=1.0, min_open=True)
        hit = np.flatnonzero(self.fraction_above(reset) >= share)
        return int(self.n_spikes[hit[0]]) if hit.size else None

    def parameters(self) -> dict:
        """The sweep's protocol as a plain dict (for results files and provenance)."""
        return {"n_spikes": self.n_spikes.tolist(), "n_runs": self.n_runs, "threshold": self.threshold,
                "alpha": self.alpha, "amplitude": self.amplitude, "gap": list(self.gap),
                "seed": self.seed, "resets": list(self.resets)}


def error_sweep(n_spikes: Sequence[int], n_runs: int = 100, amplitude: float = 1.0, alpha: float = 1.0,
                resets: Sequence[str] = RESETS, threshold: float = 1.0,
                gap: tuple[float, float] = (0.2, 1.0), seed: int = 0) -> ErrorSweep:
    """Quantization error of the LIF neuron on random trains, per reset and spike count.

    The protocol of Figs. 4 and 5 of Moser & Lunglmayr (arXiv:2305.08012): for each spike count,
    ``n_runs`` random trains (see :func:`sweep_trains`), each quantized by a LIF neuron with every
    reset in ``resets``; the error is ``||LIF(eta) - eta||_{A,alpha}``, divided by ``threshold``.

    Parameters
    ----------
    n_spikes : sequence of int, shape [G]
        Strictly increasing spike counts (see :func:`spike_count_grid`).
    n_runs : int
        Random trains per spike count (the paper: 100).
    amplitude : float
        Amplitudes are uniform in ``[-amplitude * theta, amplitude * theta]`` (Fig. 4: 1.0,
        Fig. 5: 1.5).
    alpha : float
        Leak rate in ``[0, inf]`` (the paper: 1 and 0.1).
    resets : sequence of str
        Reset variants, a subset of ``qsnn.RESETS`` (``"zero"``, ``"subtract"``, ``"mod"``).
    threshold : float
        The threshold ``theta`` > 0. By the scaling law ``LIF_{c theta}(c eta) = c LIF_theta(eta)``
        the errors in units of theta do not depend on it (up to rounding).
    gap : (float, float)
        Inter-spike gaps uniform in ``[low, high]``, ``0 < low <= high`` (the authors: (0.2, 1)).
    seed : int
        Non-negative seed; the trains of spike count ``n`` use :func:`sweep_seed` ``(seed, n)``.

    Returns
    -------
    ErrorSweep
        ``errors[reset]`` of shape [G, n_runs], in units of ``theta``.

    Raises
    ------
    ValueError
        For any argument outside the ranges above (the message names it).
    """
    grid = _n_spikes(n_spikes)
    n_runs = _positive_int("n_runs", n_runs)
    amplitude = _positive_float("amplitude", amplitude)
    alpha = _alpha(alpha)
    resets = _resets(resets)
    threshold = _positive_float("threshold", threshold)
    gap = _gap(gap)
    seed = _seed(seed)

    errors = {r: np.empty((grid.size, n_runs), dtype=np.float64) for r in resets}
    for i, n in enumerate(grid):
        times, amps = sweep_trains(int(n), n_runs, amplitude, threshold, gap, seed)
        for r in resets:
            errors[r][i] = np.asarray(quantization_error_batch(times, amps, threshold, alpha, r)) / threshold
    for r in resets:
        errors[r].setflags(write=False)
    grid.setflags(write=False)
    return ErrorSweep(n_spikes=grid, errors=errors, threshold=threshold, alpha=alpha,
                      amplitude=amplitude, gap=gap, n_runs=n_runs, seed=seed)


# --------------------------------------------------------------------------------------------------
# concentration of measure
# --------------------------------------------------------------------------------------------------

def concentration(errors, quantiles: Sequence[float] = DEFAULT_QUANTILES) -> dict:
    """Statistics of the error distribution per spike count (one row of ``errors`` each).

    For reset-to-mod, Theorem 1 bounds every error by ``theta``; as trains get longer the errors
    gather just below it (concentration of measure). These numbers quantify that: the spread
    shrinks and ``gap = 1 - max`` (the distance of the largest observed error to the bound) goes
    to zero without ever reaching it.

    Parameters
    ----------
    errors : array_like, shape [G, R]
        Errors in units of ``theta``, one row per spike count, ``R`` runs each
        (``ErrorSweep.errors[reset]``).
    quantiles : sequence of float in [0, 1]
        Quantiles to report.

    Returns
    -------
    dict of numpy.ndarray
        ``mean``, ``std`` (sample standard deviation, ddof=1; 0 for a single run), ``min``,
        ``max``, ``iqr`` (75 % - 25 % quantile), ``fraction_above`` (share of runs with error
        > 1), ``gap`` (``1 - max``; negative where some error exceeds theta), each of shape [G];
        ``quantiles`` of shape [G, Q] and ``q`` (the quantile levels) of shape [Q].

    Raises
    ------
    ValueError
        If ``errors`` is not a finite, non-negative 2-D array with at least one run, or a
        quantile is outside [0, 1].
    """
    arr = np.asarray(errors, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"errors must be a 2-D array [spike counts, runs] with at least one entry, "
                         f"got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError("errors must be finite and non-negative (norms divided by theta)")
    q = np.asarray(list(quantiles), dtype=np.float64)
    if q.ndim != 1 or q.size == 0 or np.any(~np.isfinite(q)) or np.any((q < 0) | (q > 1)):
        raise ValueError(f"quantiles must be a non-empty sequence of numbers in [0, 1], got {quantiles!r}")
    ddof = 1 if arr.shape[1] > 1 else 0
    mx = arr.max(axis=1)
    return {
        "mean": arr.mean(axis=1),
        "std": arr.std(axis=1, ddof=ddof),
        "min": arr.min(axis=1),
        "max": mx,
        "iqr": np.quantile(arr, 0.75, axis=1) - np.quantile(arr, 0.25, axis=1),
        "fraction_above": np.mean(arr > 1.0, axis=1),
        "gap": 1.0 - mx,
        "quantiles": np.quantile(arr, q, axis=1).T,
        "q": q,
    }
