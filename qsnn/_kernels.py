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
def lif_step(u, dl, ak, d, threshold, scale, reset):
    """One input of the LIF neuron: the single place where the reset table of spec section 3 lives.

    ``u`` and ``dl`` are the post-reset potential and the error partial sum after the previous input,
    ``d`` the decay since then (1 before the first input), ``ak`` the jump and
    ``scale = (1 + rtol) / threshold``. Returns ``(u_pre, u_post, dl, b)``: the potential after the jump,
    after the reset, the new error partial sum ``Delta_k`` and the output amplitude.
    """
    x = d * u + ak
    r = abs(x) * scale
    if reset == RESET_MOD:
        # Branch-free: floor(r) is 0 below threshold, so nothing is emitted or subtracted there.
        bk = math.copysign(threshold * math.floor(r), x)
        rem = x - bk
        un = rem if rem * x >= 0.0 else 0.0
    elif r >= 1.0:
        bk = threshold if x > 0.0 else -threshold
        if reset == RESET_SUBTRACT:
            rem = x - bk
            un = rem if rem * x >= 0.0 else 0.0
        else:
            un = 0.0
    else:
        bk = 0.0
        un = x
    if reset == RESET_ZERO:
        dl = d * dl + (ak - bk)
    else:
        dl = un
    return x, un, dl, bk


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
        d = decay(alpha, t[k] - t_last) if started else 1.0
        if ak == 0.0:  # no spike: no jump, no threshold check
            if write_outputs:
                b[k] = 0.0
            if write_trace:
                u_pre[k] = d * u
                u_post[k] = d * u
                delta[k] = d * dl
            continue
        started = True
        t_last = t[k]
        up, u, dl, bk = lif_step(u, dl, ak, d, threshold, scale, reset)
        e = abs(dl)
        if e > err:
            err = e
        if write_outputs:
            b[k] = bk + 0.0  # no negative zeros in the output
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


#: Rows advanced together by :func:`error_batch` for reset-to-mod: independent recursions interleaved so
#: that the CPU overlaps their latency chains (each row's result is bit for bit that of :func:`lif_row`).
BLOCK = 8


@njit(cache=True)
def error_batch(t, a, threshold, alpha, reset, rtol):
    """Quantization errors ``[batch]``, without storing the outputs.

    Reset-to-mod, whose step is branch-free, advances BLOCK rows one spike at a time together (measured
    1.4x to 2.7x faster than row after row, ``benchmarks/bench_part1.py``); the branchy resets run row
    after row, which measured faster for them. Both go through :func:`lif_step`; a zero amplitude leaves
    its row's state (and the time of its last spike) unchanged, as in :func:`lif_row`.
    """
    nb, n = t.shape
    out = np.empty(nb)
    if reset != RESET_MOD:
        empty = np.empty(0)
        for r in range(nb):
            out[r] = lif_row(t[r], a[r], threshold, alpha, reset, rtol, empty, empty, empty, empty, False, False)
        return out
    scale = (1.0 + rtol) / threshold
    u = np.zeros(BLOCK)
    best = np.zeros(BLOCK)
    tl = np.zeros(BLOCK)
    for r0 in range(0, nb, BLOCK):
        m = min(BLOCK, nb - r0)
        for j in range(m):
            u[j] = 0.0
            best[j] = 0.0
            tl[j] = t[r0 + j, 0] if n > 0 else 0.0  # u = 0 before the first spike: any decay is fine
        for k in range(n):
            for j in range(m):
                ak = a[r0 + j, k]
                tk = t[r0 + j, k]
                _, un, _, _ = lif_step(u[j], 0.0, ak, decay(alpha, tk - tl[j]), threshold, scale, RESET_MOD)
                nz = ak != 0.0
                u[j] = un if nz else u[j]
                tl[j] = tk if nz else tl[j]
                e = abs(u[j])
                best[j] = e if e > best[j] else best[j]
        for j in range(m):
            out[r0 + j] = best[j]
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


@njit(cache=True)
def first_bad_entry(t, a):
    """Locate the first problem of ``[batch, n]`` arrays in row-major order.

    Returns ``(code, row, col)``: code 0 if all is well, 1 for a non-finite time, 2 for a non-finite
    amplitude, 3 if ``t[row, col] >= t[row, col + 1]``.
    """
    for r in range(t.shape[0]):
        for k in range(t.shape[1]):
            if not math.isfinite(t[r, k]):
                return 1, r, k
            if not math.isfinite(a[r, k]):
                return 2, r, k
            if k > 0 and not t[r, k - 1] < t[r, k]:
                return 3, r, k - 1
    return 0, 0, 0
