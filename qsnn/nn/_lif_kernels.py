"""Numba kernels of the multi-step LIF layer on the CPU: one pass over [T, N] per direction.

Each neuron's recursion over T runs in registers (one neuron after another), so the forward pass
reads the input once and writes spikes and H once, and the backward pass reads H and the
output gradient once and writes the input gradient once, instead of a dozen whole-tensor
passes per step. Same arithmetic as the torch path of :mod:`qsnn.nn.neurons` (scalars in the
tensor's dtype, round half to even), which remains the path for other devices and for the
per-tensor-scaled tanh quantizer. Inputs are trusted (validated by the caller).
"""

from __future__ import annotations

import numpy as np
from numba import njit

RESET_CODES = {"zero": 0, "subtract": 1, "mod": 2}
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


def _lif_forward(x, spikes, hs, save, decay, thr, reset, nf, scale, step, zero, one):
    """x [T, N] -> spikes [T, N]; H into hs when save. nf = n levels per side (0: no quantizer),
    step = scale / n (rounded once, as the torch path does)."""
    steps, n = x.shape
    for i in range(n):
        u = zero
        for t in range(steps):
            h = x[t, i] + decay * u
            if save:
                hs[t, i] = h
            s, u = _fire(h, thr, reset, zero, one)
            spikes[t, i] = s
            if nf > zero:
                v = u / scale
                if v > one:
                    v = one
                elif v < -one:
                    v = -one
                u = np.rint(v * nf) * step


def _lif_backward(hs, grad, grad_x, decay, thr, reset, nf, scale, sur, a, c, half_a, detach, zero, one):
    """BPTT through the recursion from the saved H; writes dL/dx into grad_x."""
    steps, n = hs.shape
    for i in range(n):
        g_u = zero
        for t in range(steps - 1, -1, -1):
            h = hs[t, i]
            sg = _surrogate(h - thr, sur, a, c, half_a, zero, one)
            if t == steps - 1:
                g = grad[t, i] * sg
            else:
                s, u_pre = _fire(h, thr, reset, zero, one)
                g_pre = g_u
                if nf > zero and abs(u_pre) > scale:
                    g_pre = zero
                if detach:
                    g_s = grad[t, i]
                elif reset == 0:
                    g_s = grad[t, i] - g_pre * h
                else:
                    g_s = grad[t, i] - thr * g_pre
                g = g_s * sg
                if reset == 0:
                    g = g + g_pre * (one - s)
                else:
                    g = g + g_pre
            grad_x[t, i] = g
            g_u = g * decay


# Serial on purpose: the kernels are memory-bound, and numba's thread pool would compete with
# torch's OpenMP threads (which spin between the surrounding torch operations); measured on two
# cores, one thread was as fast alone and faster inside a network (benchmarks/bench_lif.py).
lif_forward = njit(cache=True)(_lif_forward)
lif_backward = njit(cache=True)(_lif_backward)
