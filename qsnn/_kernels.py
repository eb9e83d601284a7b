"""Numba kernels of Part I: one fused pass over the spikes of a row, shared by single and batched forms.

The public functions in :mod:`qsnn.alexiewicz` and :mod:`qsnn.quantizer` validate their arguments and
call these kernels; a single train is a batch of one row. Inputs are trusted here: times strictly
increasing, everything finite, ``threshold > 0``, ``alpha in [0, inf]``.

A zero amplitude in a batch row is no spike (spec section 1): it neither jumps the potential nor is
checked against the threshold, and the state keeps the time of the last real spike, so a row with zeros
gives bit for bit what the merged :class:`~qsnn.spikes.SpikeTrain` without them gives.

Kernels are compiled on first use and cached on disk (``cache=True``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

RESET_ZERO = 0
RESET_SUBTRACT = 1
RESET_MOD = 2


@njit(cache=True)
def decay(alpha, dt):
    """exp(-alpha dt), with 1 for dt = 0 and 0 for alpha = inf and dt > 0 (never inf * 0)."""
    if dt == 0.0 or alpha == 0.0:
        return 1.0
    if math.isinf(alpha):
        return 0.0
    return math.exp(-alpha * dt)


@njit(cache=True)
def norm_row(t, a, alpha):
    """max_k |U_k| with U_k = decay * U_{k-1} + a_k: the leaky Alexiewicz norm of one row."""
    u = 0.0
    best = 0.0
    t_last = 0.0
    started = False
    for k in range(t.shape[0]):
        ak = a[k]
        if ak == 0.0:
            continue
        if started:
            u = decay(alpha, t[k] - t_last) * u + ak
        else:
            u = ak
            started = True
        t_last = t[k]
        au = abs(u)
        if au > best:
            best = au
    return best


@njit(cache=True)
def norm_batch(t, a, alpha):
    """Row-wise :func:`norm_row` of ``[batch, n]`` arrays."""
    out = np.empty(t.shape[0])
    for r in range(t.shape[0]):
        out[r] = norm_row(t[r], a[r], alpha)
    return out


@njit(cache=True)
def partial_sums_row(t, a, alpha):
    """The leaky partial sums U_k of one row (at zero amplitudes: U decayed to that time)."""
    n = t.shape[0]
    out = np.zeros(n)
    u = 0.0
    t_last = 0.0
    started = False
    for k in range(n):
        ak = a[k]
        if ak == 0.0:
            out[k] = decay(alpha, t[k] - t_last) * u if started else 0.0
            continue
        if started:
            u = decay(alpha, t[k] - t_last) * u + ak
        else:
            u = ak
            started = True
        t_last = t[k]
        out[k] = u
    return out


@njit(cache=True)
def lif_row(t, a, threshold, alpha, reset, rtol, b, u_pre, u_post, delta, write_outputs, write_trace):
    """Run the two-sided LIF neuron over one row; return the quantization error ||LIF(eta) - eta||.

    Parameters
    ----------
    t, a : 1-D float64 arrays
        Times (strictly increasing) and amplitudes of the input row.
    threshold, alpha : float
        Checked theta > 0 and alpha in [0, inf].
    reset : int
        ``RESET_ZERO``, ``RESET_SUBTRACT`` or ``RESET_MOD``.
    rtol : float
        Relative firing tolerance: the neuron fires when ``|u| (1 + rtol) >= theta`` and reset-to-mod
        emits ``floor(|u| (1 + rtol) / theta)`` multiples of theta, so exact multiples of theta that
        rounding left one ulp short do not flip. A remainder whose sign rounding flipped is set to 0.
    b, u_pre, u_post, delta : 1-D float64 arrays
        Outputs (written when ``write_outputs``); potential just after the jump, after the reset, and
        the leaky partial sums of ``eta - LIF(eta)`` (written when ``write_trace``). Unused arrays may
        have length 0.

    Returns
    -------
    float
        max_k |Delta_k|. For "mod" and "subtract" Delta_k is the post-reset potential (the error
        identity, spec section 4); for "zero" it is the separate recursion
        Delta_k = decay * Delta_{k-1} + a_k - b_k.
    """
    scale = (1.0 + rtol) / threshold
    u = 0.0
    dl = 0.0
    err = 0.0
    t_last = 0.0
    started = False
    for k in range(t.shape[0]):
        ak = a[k]
        if ak == 0.0:  # no spike: no jump, no threshold check
            if write_outputs:
                b[k] = 0.0
            if write_trace:
                d = decay(alpha, t[k] - t_last) if started else 1.0
                u_pre[k] = d * u
                u_post[k] = d * u
                delta[k] = d * dl
            continue
        if started:
            d = decay(alpha, t[k] - t_last)
            u = d * u + ak
            if reset == RESET_ZERO:
                dl = d * dl
        else:
            u = ak
            started = True
        t_last = t[k]
        up = u
        bk = 0.0
        r = abs(u) * scale
        if r >= 1.0:
            s = 1.0 if u > 0.0 else -1.0
            if reset == RESET_MOD:
                bk = s * threshold * math.floor(r)
                u = u - bk
                if u * s < 0.0:
                    u = 0.0
            elif reset == RESET_SUBTRACT:
                bk = s * threshold
                u = u - bk
                if u * s < 0.0:
                    u = 0.0
            else:
                bk = s * threshold
                u = 0.0
        if reset == RESET_ZERO:
            dl = dl + (ak - bk)
        else:
            dl = u
        e = abs(dl)
        if e > err:
            err = e
        if write_outputs:
            b[k] = bk
        if write_trace:
            u_pre[k] = up
            u_post[k] = u
            delta[k] = dl
    return err


@njit(cache=True)
def lif_batch(t, a, threshold, alpha, reset, rtol):
    """Output amplitudes ``[batch, n]`` of the LIF neuron on the input grid."""
    out = np.empty(t.shape)
    empty = np.empty(0)
    for r in range(t.shape[0]):
        lif_row(t[r], a[r], threshold, alpha, reset, rtol, out[r], empty, empty, empty, True, False)
    return out


@njit(cache=True)
def error_batch(t, a, threshold, alpha, reset, rtol):
    """Quantization errors ``[batch]``, without storing the outputs."""
    out = np.empty(t.shape[0])
    empty = np.empty(0)
    for r in range(t.shape[0]):
        out[r] = lif_row(t[r], a[r], threshold, alpha, reset, rtol, empty, empty, empty, empty, False, False)
    return out


@njit(cache=True)
def trace_row(t, a, threshold, alpha, reset, rtol):
    """Outputs, pre- and post-reset potential, error partial sums and the error of one row."""
    n = t.shape[0]
    b = np.empty(n)
    u_pre = np.empty(n)
    u_post = np.empty(n)
    delta = np.empty(n)
    err = lif_row(t, a, threshold, alpha, reset, rtol, b, u_pre, u_post, delta, True, True)
    return b, u_pre, u_post, delta, err
