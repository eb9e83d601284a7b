"""The (leaky) Alexiewicz norm of spike trains (Moser & Lunglmayr, arXiv:2305.08012, Sec. 2).

For ``alpha in [0, inf]``::

    ||eta||_{A,alpha} = max_k | sum_{i<=k} a_i exp(-alpha (t_k - t_i)) |,

the largest absolute value of a leaky integrator that is never reset. It is computed in one O(N) pass
of the recursion ``U_1 = a_1``, ``U_k = exp(-alpha (t_k - t_{k-1})) U_{k-1} + a_k``,
``norm = max_k |U_k|``; :func:`alexiewicz_norm_reference` evaluates the O(N^2) definition for tests.
``alpha = 0`` is the classical Alexiewicz norm (largest absolute partial sum), ``alpha = inf`` gives
``max_i |a_i|``. The exponential is evaluated as ``decay(alpha, dt)``: 1 for ``dt = 0``, 0 for
``alpha = inf`` and ``dt > 0``, ``exp(-alpha dt)`` otherwise.
"""

from __future__ import annotations

import math

import numpy as np

from .._core.validation import check_alpha
from . import _kernels
from ._checks import as_batch_arrays, check_train, raise_bad_batch_entry
from .spikes import SpikeTrain

__all__ = [
    "alexiewicz_norm",
    "alexiewicz_norm_batch",
    "alexiewicz_norm_reference",
    "discrepancy_norm",
    "leaky_partial_sums",
]


def _decay(alpha: float, dt: float) -> float:
    """exp(-alpha dt) without ever forming inf * 0 (plain Python, for the references)."""
    if dt == 0.0 or alpha == 0.0:
        return 1.0
    if math.isinf(alpha):
        return 0.0
    return math.exp(-alpha * dt)


def alexiewicz_norm(train: SpikeTrain, alpha: float = 0.0) -> float:
    """The leaky Alexiewicz norm ``||eta||_{A,alpha}`` of one spike train, in O(N).

    Parameters
    ----------
    train : SpikeTrain
        The train ``eta``.
    alpha : float
        Leak rate in ``[0, inf]`` (1/time unit); 0 is the classical Alexiewicz norm.

    Returns
    -------
    float
        ``max_k |U_k|``; 0 for the empty train.

    Raises
    ------
    TypeError
        If ``train`` is not a :class:`~qsnn.spiketrains.spikes.SpikeTrain`.
    ValueError
        If ``alpha`` is negative or NaN.
    """
    check_train(train)
    alpha = check_alpha(alpha)
    return float(_kernels.norm_row(train.times, train.amplitudes, alpha))


def alexiewicz_norm_batch(times, amplitudes, alpha: float = 0.0) -> np.ndarray:
    """Row-wise leaky Alexiewicz norms of a batch of trains on a grid, in one pass per row.

    Parameters
    ----------
    times : array_like, shape [batch, n]
        Strictly increasing spike times of each row.
    amplitudes : array_like, shape [batch, n]
        Amplitudes; a zero amplitude is no spike.
    alpha : float
        Leak rate in ``[0, inf]``.

    Returns
    -------
    ndarray of float64, shape [batch]

    Raises
    ------
    ValueError
        For arrays that are not 2-D, of different shapes, non-finite, or rows whose times do not
        strictly increase, and for a negative or NaN ``alpha``.
    """
    t, a = as_batch_arrays(times, amplitudes)
    alpha = check_alpha(alpha)
    out, bad = _kernels.norm_batch(t, a, alpha)  # checks the entries in the same pass
    rows = np.flatnonzero(bad)
    if rows.size:
        r = int(rows[0])
        v = int(bad[r]) - 1
        raise_bad_batch_entry(t, a, v % 4, r, v // 4)
    return out


def alexiewicz_norm_reference(train: SpikeTrain, alpha: float = 0.0) -> float:
    """The O(N^2) definition ``max_k |sum_{i<=k} a_i decay(alpha, t_k - t_i)|``, in plain Python.

    Slow on purpose: it is the reference the O(N) recursion is tested against. Parameters, return
    value and errors as :func:`alexiewicz_norm`.
    """
    check_train(train)
    alpha = check_alpha(alpha)
    t = train.times.tolist()
    a = train.amplitudes.tolist()
    best = 0.0
    for k in range(len(t)):
        s = 0.0
        for i in range(k + 1):
            s += a[i] * _decay(alpha, t[k] - t[i])
        best = max(best, abs(s))
    return best


def leaky_partial_sums(train: SpikeTrain, alpha: float = 0.0) -> np.ndarray:
    """The leaky partial sums ``U_k = sum_{i<=k} a_i exp(-alpha (t_k - t_i))`` at the spike times.

    Parameters
    ----------
    train : SpikeTrain
    alpha : float
        Leak rate in ``[0, inf]``.

    Returns
    -------
    ndarray of float64, shape [len(train)]
        ``U_k``, the free (never reset) leaky integrator just after spike k; the norm is ``max |U_k|``.

    Raises
    ------
    TypeError, ValueError
        As :func:`alexiewicz_norm`.
    """
    check_train(train)
    alpha = check_alpha(alpha)
    return _kernels.partial_sums_row(train.times, train.amplitudes, alpha)


def discrepancy_norm(train: SpikeTrain) -> float:
    """Weyl's discrepancy norm ``||eta||_D = max_{n1 <= n2} |sum_{n1 <= i <= n2} a_i|``.

    It depends only on the order of the amplitudes. For ``alpha = 0`` it brackets the Alexiewicz norm:
    ``||eta||_A <= ||eta||_D <= 2 ||eta||_A``. Computed as ``max_j S_j - min_j S_j`` over the partial
    sums ``S_0 = 0, S_1, ..., S_N``.

    Parameters
    ----------
    train : SpikeTrain

    Returns
    -------
    float
        0 for the empty train.

    Raises
    ------
    TypeError
        If ``train`` is not a :class:`~qsnn.spiketrains.spikes.SpikeTrain`.
    """
    check_train(train)
    s = np.concatenate(([0.0], np.cumsum(train.amplitudes)))
    return float(s.max() - s.min())
