"""The event-driven LIF neuron as a quantizer of spike trains (Part I, spec sections 3 and 4).

Between inputs the membrane potential decays, ``du/dt = -alpha u``; at input k it jumps by ``a_k``.
Because the input is impulsive, ``|u|`` can only grow at input times, so output spikes sit on input times
and one threshold check per input suffices. The neuron is two-sided: it fires when ``|u| >= theta`` and
the output carries the sign of ``u``. The three re-initialisations ("resets"), with ``u`` the potential
just after the jump:

========== ==================================== =========================================
reset      output amplitude at t_k              potential after
========== ==================================== =========================================
"zero"     sign(u) theta                        0
"subtract" sign(u) theta                        u - sign(u) theta (may still be >= theta)
"mod"      sign(u) theta floor(|u| / theta)     u - output, strictly inside (-theta, theta)
========== ==================================== =========================================

Reset-to-mod truncates toward zero (``u = -2.7`` gives output ``-2`` and remainder ``-0.7``); it emits
one spike whose amplitude is an integer multiple of theta. Names in other libraries: "zero" is
snnTorch's ``reset_mechanism="zero"`` and SpikingJelly's hard reset with ``v_reset=0``; "subtract" is
snnTorch's ``"subtract"`` and SpikingJelly's soft reset (``v_reset=None``); "mod" has no counterpart there
(a multi-spike neuron emitting ``floor(|u|/theta)`` spikes at once).

Theorem 1 (Moser & Lunglmayr): for reset-to-mod, ``||LIF(eta) - eta||_{A,alpha} < theta`` for every
train, every theta > 0 and every alpha in [0, inf]. For the resets that subtract what they emit ("mod",
"subtract") the leaky partial sums of ``eta - LIF(eta)`` equal the post-reset potential (the error
identity), so the error is ``max_k |u_post,k|``; for "zero" the error is the norm of the difference.

Floating point: exact multiples of theta that rounding left an ulp short (``0.1`` added 30 times is
``2.9999999999999996``) must not lose a spike. Firing is therefore tested as
``|u| (1 + FIRING_RTOL) >= theta`` and reset-to-mod emits ``floor(|u| (1 + FIRING_RTOL) / theta)``
multiples of theta; if the remainder then has the opposite sign of ``u`` (``u`` was within the
tolerance of a multiple) it is set to 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import _kernels
from ._validation import RESET_CODES, RESETS, check_alpha, check_batch, check_reset, check_threshold, check_train
from .alexiewicz import _decay
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
    """
    check_train(train)
    theta, alpha, code = _check(threshold, alpha, reset)
    t = train.times
    b = np.empty(t.shape[0])
    empty = np.empty(0)
    _kernels.lif_row(t, train.amplitudes, theta, alpha, code, FIRING_RTOL, b, empty, empty, empty, True, False)
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
        For malformed arrays (see :func:`qsnn.alexiewicz.alexiewicz_norm_batch`) or parameters.
    """
    t, a = check_batch(times, amplitudes)
    theta, alpha, code = _check(threshold, alpha, reset)
    return _kernels.lif_batch(t, a, theta, alpha, code, FIRING_RTOL)


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
    return float(_kernels.lif_row(train.times, train.amplitudes, theta, alpha, code, FIRING_RTOL,
                                  empty, empty, empty, empty, False, False))


def quantization_error_batch(times, amplitudes, threshold: float = 1.0, alpha: float = 0.0,
                             reset: str = "mod") -> np.ndarray:
    """Row-wise quantization errors ``||LIF(eta) - eta||_{A,alpha}`` of a batch of trains.

    Parameters and errors as :func:`lif_batch`.

    Returns
    -------
    ndarray of float64, shape [batch]
    """
    t, a = check_batch(times, amplitudes)
    theta, alpha, code = _check(threshold, alpha, reset)
    return _kernels.error_batch(t, a, theta, alpha, code, FIRING_RTOL)


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
        ``Delta_k``, the leaky partial sums of ``eta - LIF(eta)`` at ``t_k`` (spec section 4); equal to
        ``u_post`` for "mod" and "subtract".
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
        """The output spikes as a :class:`~qsnn.spikes.SpikeTrain` (equal to :func:`lif`)."""
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
    return LIFTrace(times=train.times, u_pre=_readonly(u_pre), u_post=_readonly(u_post), outputs=_readonly(b),
                    error_partial_sums=_readonly(delta), error=float(err), threshold=theta, alpha=alpha,
                    reset=reset)


def lif_reference(train: SpikeTrain, threshold: float = 1.0, alpha: float = 0.0, reset: str = "mod") -> SpikeTrain:
    """The LIF neuron as a plain-Python loop over the spikes: the reference for differential tests.

    It follows the table of the module docstring literally, one input at a time, with the same
    firing tolerance :data:`FIRING_RTOL` as the kernels. Parameters, returns and errors as :func:`lif`.
    """
    check_train(train)
    theta, alpha, code = _check(threshold, alpha, reset)
    scale = (1.0 + FIRING_RTOL) / theta
    u = 0.0
    t_prev = None
    out_t, out_a = [], []
    for t, a in zip(train.times.tolist(), train.amplitudes.tolist()):
        if t_prev is not None:
            u *= _decay(alpha, t - t_prev)
        t_prev = t
        u += a
        ratio = abs(u) * scale
        if ratio >= 1.0:
            sign = math.copysign(1.0, u)
            if reset == "mod":
                out = sign * theta * math.floor(ratio)
            else:
                out = sign * theta
            if reset == "zero":
                u = 0.0
            else:
                u -= out
                if u * sign < 0.0:  # within the tolerance of a multiple of theta: nothing is left
                    u = 0.0
            out_t.append(t)
            out_a.append(out)
    return SpikeTrain(out_t, out_a)
