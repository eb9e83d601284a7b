"""Numba kernels of the multi-step LIF layer on the CPU: one pass over [T, N] per direction.

Neurons are processed in blocks whose state stays in L1 cache, so the forward pass
reads the input once and writes spikes and H once, and the backward pass reads H and the
output gradient once and writes the input gradient once, instead of a dozen whole-tensor
passes per step. Same arithmetic as the torch path of :mod:`qsnn.nn.neurons` (scalars in the
tensor's dtype, round half to even), which remains the path for other devices and for the
per-tensor-scaled tanh quantizer. Inputs are trusted (validated by the caller).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .._resets import RESET_CODES  # noqa: F401  (re-exported for the layer)
SURROGATE_CODES = {"triangle": 0, "sigmoid": 1, "atan": 2}


@njit(cache=True, inline="always")
def _fire(h, thr, reset, zero, one):
    """(S, U before quantization) of one neuron at one step."""
    if reset == 2:
        s = np.floor(h / thr)
        if s < zero:
            s = zero
        return s, h - thr * s
    s = one if h > thr else zero
    if reset == 0:
        return s, (zero if s > zero else h)
    return s, h - thr * s


@njit(cache=True, inline="always")
def _surrogate(x, code, a, c, half_a, zero, one):
    if code == 0:
        v = one - abs(x)
        return v if v > zero else zero
    if code == 1:
        e = one / (one + np.exp(-a * x))
        return a * e * (one - e)
    return half_a / (one + (c * x) * (c * x))


#: Neurons per block: the state of a block stays in L1 while the loop over the block runs over
#: independent neurons, which the compiler turns into SIMD code (one neuron at a time over T
#: cannot be vectorised: each step depends on the previous one).
BLOCK = 512


def _lif_forward(x, spikes, hs, save, decay, thr, reset, nf, scale, step, zero, one):
    """x [T, N] -> spikes [T, N]; H into hs when save. nf = n levels per side (0: no quantizer),
    step = scale / n (rounded once, as the torch path does)."""
    steps, n = x.shape
    u = np.zeros(BLOCK, dtype=x.dtype)
    for b0 in range(0, n, BLOCK):
        m = min(BLOCK, n - b0)
        for j in range(m):
            u[j] = zero
        for t in range(steps):
            for j in range(m):
                h = x[t, b0 + j] + decay * u[j]
                if save:
                    hs[t, b0 + j] = h
                s, v = _fire(h, thr, reset, zero, one)
                spikes[t, b0 + j] = s
                if nf > zero:
                    v = v / scale
                    if v > one:
                        v = one
                    elif v < -one:
                        v = -one
                    v = np.rint(v * nf) * step
                u[j] = v


def _lif_backward(hs, grad, grad_x, decay, thr, reset, nf, scale, sur, a, c, half_a, detach, zero, one):
    """BPTT through the recursion from the saved H; writes dL/dx into grad_x."""
    steps, n = hs.shape
    g_u = np.zeros(BLOCK, dtype=hs.dtype)
    for b0 in range(0, n, BLOCK):
        m = min(BLOCK, n - b0)
        t = steps - 1
        for j in range(m):
            g = grad[t, b0 + j] * _surrogate(hs[t, b0 + j] - thr, sur, a, c, half_a, zero, one)
            grad_x[t, b0 + j] = g
            g_u[j] = g * decay
        for t in range(steps - 2, -1, -1):
            for j in range(m):
                h = hs[t, b0 + j]
                sg = _surrogate(h - thr, sur, a, c, half_a, zero, one)
                s, u_pre = _fire(h, thr, reset, zero, one)
                g_pre = g_u[j]
                if nf > zero and abs(u_pre) > scale:
                    g_pre = zero
                if detach:
                    g_s = grad[t, b0 + j]
                elif reset == 0:
                    g_s = grad[t, b0 + j] - g_pre * h
                else:
                    g_s = grad[t, b0 + j] - thr * g_pre
                g = g_s * sg
                if reset == 0:
                    g = g + g_pre * (one - s)
                else:
                    g = g + g_pre
                grad_x[t, b0 + j] = g
                g_u[j] = g * decay


# Serial on purpose: the kernels are memory-bound, and numba's thread pool would compete with
# torch's OpenMP threads (which spin between the surrounding torch operations); measured on two
# cores, one thread was as fast alone and faster inside a network (benchmarks/bench_lif.py).
lif_forward = njit(cache=True)(_lif_forward)
lif_backward = njit(cache=True)(_lif_backward)
