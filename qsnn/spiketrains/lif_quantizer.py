"""The event-driven LIF neuron as a quantizer of spike trains (Moser & Lunglmayr, arXiv:2305.08012, Secs. 3-4).

Between inputs the membrane potential decays, ``du/dt = -alpha u``; at input k it jumps by ``a_k``.
Because the input is impulsive, ``|u|`` can only grow at input times, so output spikes sit on input times
and one threshold check per input suffices. The neuron is two-sided: it fires when ``|u| >= theta`` and
the output carries the sign of ``u``. The three re-initialisations ("resets"), with ``u`` the potential
just after the jump:

============== ==================================== ===============================================
reset          output amplitude at t_k              potential after
============== ==================================== ===============================================
``"zero"``     ``sign(u) theta``                    ``0``
``"subtract"`` ``sign(u) theta``                    ``u - sign(u) theta`` (may still be >= theta)
``"mod"``      ``sign(u) theta floor(|u| / theta)`` ``u - output``, strictly inside (-theta, theta)
============== ==================================== ===============================================

Reset-to-mod truncates toward zero (``u = -2.7`` gives output ``-2`` and remainder ``-0.7``); it emits
one spike whose amplitude is an integer multiple of theta. Names in other libraries: "zero" is
snnTorch's ``reset_mechanism="zero"`` and SpikingJelly's hard reset with ``v_reset=0``; "subtract" is
snnTorch's ``"subtract"`` and SpikingJelly's soft reset (``v_reset=None``); "mod" has no counterpart there
(a multi-spike neuron emitting ``floor(|u|/theta)`` spikes at once).

Theorem 1 (Moser & Lunglmayr): for reset-to-mod, ``||LIF(eta) - eta||_{A,alpha} < theta`` for every
train, every theta > 0 and every alpha in [0, inf]. For the resets that subtract what they emit ("mod",
"subtract") the leaky partial sums of ``eta - LIF(eta)`` equal the post-reset potential (the error
identity), so the error is ``max_k |u_post,k|``; for "zero" the error is the norm of the difference.

Floating point: exact multiples of theta that rounding left an ulp short (``0.1`` added 10 times is
``0.9999999999999999``, ``0.3 / 0.1`` is ``2.9999999999999996``) must not lose a spike. The neuron
therefore fires when ``|u| (1 + FIRING_RTOL) >= theta``, and reset-to-mod, with ``n = floor(|u| / theta)``
and remainder ``r = |u| - n theta`` taken exactly, emits ``n + 1`` multiples instead of ``n`` when
``r (1 + FIRING_RTOL) >= theta`` (then nothing is left: ``u = 0``). The tolerance is relative to theta,
the quantity it guards, at any size of ``|u| / theta``; no integer count is formed, so ratios up to
1e308 / 1e-308 are handled. The output amplitude is ``n theta`` rounded to the nearest float, or to the
next float up where nearest would leave a remainder of theta or more (``n`` beyond about 1e7, where
theta is below the resolution of ``|u|``), so the post-reset potential ``u - b`` (computed exactly)
stays strictly inside ``(-theta, theta)``: Theorem 1 holds in floating point too. A potential or an
output beyond the float64 range raises ``OverflowError``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .._core.validation import RESET_CODES, RESETS, check_alpha, check_reset, check_threshold
from . import _kernels
from ._checks import as_batch_arrays, check_batch, check_train, raise_bad_batch_entry
from ._exp import decay_py
from .spikes import SpikeTrain

__all__ = [
    "RESETS",
    "FIRING_RTOL",
    "LIFTrace",
    "lif",
    "lif_batch",
    "lif_reference",
    "lif_trace",
    "quantization_error",
    "quantization_error_batch",
]

#: Relative tolerance of the firing test and of the floor of reset-to-mod (see the module docstring).
FIRING_RTOL = 1e-9


def _check(threshold, alpha, reset):
    return check_threshold(threshold), check_alpha(alpha), RESET_CODES[check_reset(reset)]


def _check_range(err):
    """Raise OverflowError where a kernel flagged (NaN) a potential or output beyond float64."""
    if not np.all(np.isfinite(err)):
        raise OverflowError(
            "the membrane potential or an output amplitude overflowed float64 (|u| > 1.8e308); the neuron "
            "is scale-covariant: divide the amplitudes and the threshold by the same factor"
        )
    return err


def _raise_bad_rows(t, a, bad):
    """Raise the ValueError of the first malformed row flagged by a batched kernel (codes 1 + c + 4 col)."""
    rows = np.flatnonzero(bad)
    if rows.size:
        r = int(rows[0])
        v = int(bad[r]) - 1
        raise_bad_batch_entry(t, a, v % 4, r, v // 4)


def _readonly(arr: np.ndarray) -> np.ndarray:
    arr.flags.writeable = False
    return arr


def lif(train: SpikeTrain, threshold: float = 1.0, alpha: float = 0.0, reset: str = "mod") -> SpikeTrain:
    """The output train ``LIF(eta)`` of a two-sided LIF neuron driven by ``train``.

    Parameters
    ----------
    train : SpikeTrain
        Input ``eta`` (weighted Dirac pulses).
    threshold : float
        Firing threshold ``theta``, finite and > 0.
    alpha : float
        Leak rate in ``[0, inf]`` (1/time unit); 0: perfect integrator, inf: no memory between inputs.
    reset : {"zero", "subtract", "mod"}
        Re-initialisation after a spike (table in the module docstring).

    Returns
    -------
    SpikeTrain
        Output spikes, on a subset of the input times; amplitudes are ``+-theta`` ("zero",
        "subtract") or integer multiples of theta ("mod").

    Raises
    ------
    TypeError
        If ``train`` is not a SpikeTrain.
    ValueError
        For ``threshold <= 0`` or NaN, ``alpha < 0`` or NaN, or an unknown ``reset``.
    OverflowError
        If the membrane potential or an output amplitude exceeds the float64 range.
    """
    check_train(train)
    theta, alpha, code = _check(threshold, alpha, reset)
    t = train.times
    b = np.empty(t.shape[0])
    empty = np.empty(0)
    _check_range(_kernels.lif_row(t, train.amplitudes, theta, alpha, code, FIRING_RTOL, b, empty, empty, empty,
                                  True, False))
    keep = b != 0.0
    return SpikeTrain._trusted(t[keep], b[keep])


def lif_batch(times, amplitudes, threshold: float = 1.0, alpha: float = 0.0, reset: str = "mod") -> np.ndarray:
    """Output amplitudes of the LIF neuron for a batch of trains, on the input grid.

    Parameters
    ----------
    times : array_like, shape [batch, n]
        Strictly increasing input times of each row.
    amplitudes : array_like, shape [batch, n]
        Input amplitudes; a zero amplitude is no spike (no jump, no threshold check).
    threshold, alpha, reset
        As :func:`lif`.

    Returns
    -------
    ndarray of float64, shape [batch, n]
        Output amplitude at each input time (0 where the neuron does not fire).

    Raises
    ------
    ValueError
        For malformed arrays (see :func:`qsnn.spiketrains.alexiewicz.alexiewicz_norm_batch`) or parameters.
    OverflowError
        As :func:`lif`.
    """
    t, a = check_batch(times, amplitudes)
    theta, alpha, code = _check(threshold, alpha, reset)
    out, err = _kernels.lif_batch(t, a, theta, alpha, code, FIRING_RTOL)
    _check_range(err)
    return out


def quantization_error(train: SpikeTrain, threshold: float = 1.0, alpha: float = 0.0, reset: str = "mod") -> float:
    """The quantization error ``||LIF(eta) - eta||_{A,alpha}``, in one fused O(N) pass.

    Parameters and errors as :func:`lif`; the norm uses the neuron's own ``alpha``.

    Returns
    -------
    float
        For "mod" it is < theta (Theorem 1); for "subtract" and "mod" it equals ``max_k |u_post,k|``.
    """
    check_train(train)
    theta, alpha, code = _check(threshold, alpha, reset)
    empty = np.empty(0)
    return float(_check_range(_kernels.lif_row(train.times, train.amplitudes, theta, alpha, code, FIRING_RTOL,
                                               empty, empty, empty, empty, False, False)))


def quantization_error_batch(times, amplitudes, threshold: float = 1.0, alpha: float = 0.0,
                             reset: str = "mod") -> np.ndarray:
    """Row-wise quantization errors ``||LIF(eta) - eta||_{A,alpha}`` of a batch of trains.

    Parameters and errors as :func:`lif_batch`.

    Returns
    -------
    ndarray of float64, shape [batch]
    """
    t, a = as_batch_arrays(times, amplitudes)
    theta, alpha, code = _check(threshold, alpha, reset)
    err, bad = _kernels.error_batch(t, a, theta, alpha, code, FIRING_RTOL)  # checks the entries as it goes
    _raise_bad_rows(t, a, bad)
    return _check_range(err)


@dataclass(frozen=True)
class LIFTrace:
    """The internal state of the LIF neuron at each input spike (for figures and the error identity).

    Attributes
    ----------
    times : ndarray, shape [n]
        Input times ``t_k``.
    u_pre : ndarray, shape [n]
        Potential just after the jump by ``a_k``, before the reset.
    u_post : ndarray, shape [n]
        Potential after the reset (kept until the next input, decaying).
    outputs : ndarray, shape [n]
        Output amplitude ``b_k`` at ``t_k`` (0 where the neuron does not fire).
    error_partial_sums : ndarray, shape [n]
        ``Delta_k``, the leaky partial sums of ``eta - LIF(eta)`` at ``t_k``; equal to ``u_post`` for
        "mod" and "subtract" (both obey ``Delta_k = decay Delta_{k-1} + a_k - b_k`` from 0).
    error : float
        ``max_k |Delta_k| = ||LIF(eta) - eta||_{A,alpha}``.
    threshold, alpha : float
    reset : str
    """

    times: np.ndarray
    u_pre: np.ndarray
    u_post: np.ndarray
    outputs: np.ndarray
    error_partial_sums: np.ndarray
    error: float
    threshold: float
    alpha: float
    reset: str

    @property
    def output_train(self) -> SpikeTrain:
        """The output spikes as a :class:`~qsnn.spiketrains.spikes.SpikeTrain` (equal to :func:`lif`)."""
        keep = self.outputs != 0.0
        return SpikeTrain._trusted(self.times[keep], self.outputs[keep])

    def potential(self, t_grid) -> np.ndarray:
        """The membrane potential on a time grid, for plots.

        ``u(t) = u_post,k * exp(-alpha (t - t_k))`` for ``t_k <= t < t_{k+1}`` (right-continuous: at an
        input time it is the post-reset value), 0 before the first input.

        Parameters
        ----------
        t_grid : array_like
            Any finite times, any shape.

        Returns
        -------
        ndarray of float64, the shape of ``t_grid``
        """
        tg = np.asarray(t_grid, dtype=np.float64)
        if not np.all(np.isfinite(tg)):
            raise ValueError("t_grid must be finite")
        idx = np.searchsorted(self.times, tg, side="right") - 1
        out = np.zeros(tg.shape)
        inside = idx >= 0
        k = idx[inside]
        dt = tg[inside] - self.times[k]
        if math.isinf(self.alpha):
            factor = np.where(dt == 0.0, 1.0, 0.0)
        else:
            factor = np.exp(-self.alpha * dt)
        out[inside] = self.u_post[k] * factor
        return out


def lif_trace(train: SpikeTrain, threshold: float = 1.0, alpha: float = 0.0, reset: str = "mod") -> LIFTrace:
    """Run the LIF neuron and keep its state at each input (for Fig. 2 and Fig. 3 of the paper).

    Parameters, errors: as :func:`lif`.

    Returns
    -------
    LIFTrace
        Read-only arrays on the input grid, the error and the parameters.
    """
    check_train(train)
    theta, alpha, code = _check(threshold, alpha, reset)
    b, u_pre, u_post, delta, err = _kernels.trace_row(train.times, train.amplitudes, theta, alpha, code, FIRING_RTOL)
    _check_range(err)
    _check_range(u_pre)
    return LIFTrace(times=train.times, u_pre=_readonly(u_pre), u_post=_readonly(u_post), outputs=_readonly(b),
                    error_partial_sums=_readonly(delta), error=float(err), threshold=theta, alpha=alpha,
                    reset=reset)


def _mod_reference(ax: float, theta: float) -> tuple[float, float]:
    """Reset-to-mod of ``|u| = ax > 0`` by exact rational arithmetic: ``(output magnitude, remainder)``.

    ``n = floor(ax / theta)`` and ``r = ax - n theta`` exactly (``r`` is then a float); within the
    tolerance of the next multiple (``r (1 + FIRING_RTOL) >= theta`` in floats) that multiple is emitted
    and nothing is left; the magnitude is ``n theta`` rounded to nearest, or up where nearest leaves a
    remainder >= theta.
    """
    x, th = Fraction(ax), Fraction(theta)
    n = math.floor(x / th)
    r = x - n * th
    if float(r) * (1.0 + FIRING_RTOL) >= theta:  # r is a float exactly; the test as the definition writes it
        return float((n + 1) * th), 0.0  # float() of a Fraction rounds to nearest; OverflowError beyond range
    m = float(n * th)
    if x - Fraction(m) >= th:
        m = math.nextafter(m, math.inf)
    return m, float(x - Fraction(m))


def lif_reference(train: SpikeTrain, threshold: float = 1.0, alpha: float = 0.0, reset: str = "mod") -> SpikeTrain:
    """The LIF neuron as a plain-Python loop over the spikes: the reference for differential tests.

    It follows the definition of the module docstring literally, one input at a time: the potential in
    floats (``u <- exp(-alpha dt) u + a_k``, with the kernels' exp written out in Python,
    ``qsnn.spiketrains._exp.exp_neg_py``, so that both see the same potential), the threshold test and the
    reset in exact rational arithmetic (:class:`fractions.Fraction`: the count ``floor(|u| / theta)``,
    the remainder and the rounding of the output), independently of the compiled kernels. Parameters, returns and errors as :func:`lif`.
    """
    check_train(train)
    theta, alpha, code = _check(threshold, alpha, reset)
    u = 0.0
    t_prev = None
    out_t, out_a = [], []
    for t, a in zip(train.times.tolist(), train.amplitudes.tolist()):
        if t_prev is not None:
            u = decay_py(alpha, t - t_prev) * u
        t_prev = t
        u = u + a
        if not math.isfinite(u):
            raise OverflowError(f"the membrane potential overflowed float64 at t = {t!r}")
        sign = math.copysign(1.0, u)
        if reset == "mod":
            out, rem = _mod_reference(abs(u), theta) if u != 0.0 else (0.0, 0.0)
            if out == 0.0:
                continue
            u = sign * rem
        elif abs(u) * (1.0 + FIRING_RTOL) >= theta:
            out = theta
            if reset == "zero":
                u = 0.0
            else:
                u = u - sign * theta
                if u * sign < 0.0:  # within the tolerance of theta: nothing is left
                    u = 0.0
        else:
            continue
        out_t.append(t)
        out_a.append(sign * out)
    return SpikeTrain(out_t, out_a)
