"""Numba kernels of average pooling over non-overlapping kh x kw windows, on [planes, H, W].

torch's CPU average pooling of NCHW tensors runs one window at a time and zero-fills the whole input
gradient before adding into it; in a training step of the small network its forward and backward took
about as long as the LIF's. These kernels read and write each value once, and keep torch's arithmetic:
the window's sum from zero in row-major order, then divided by kh * kw (``avg_pool2d``) or by kh and
then kw (``adaptive_avg_pool2d``); the gradient of every input in a window is the output's gradient
divided the same way, and inputs outside every window (the remainder rows and columns of a floor-mode
pooling) get zero. So the results equal torch's bit for bit (tests/test_pooling.py).
"""

from __future__ import annotations

import functools

from numba import njit, prange


@functools.lru_cache(maxsize=None)
def window_mean_kernels(kh: int, kw: int, adaptive: bool):
    """``(forward, backward)`` for kh x kw windows (stride = window), compiled with kh, kw constant.

    ``forward(x, out)``: x [P, H, W] -> out [P, H // kh, W // kw];
    ``backward(grad_out, grad_x)``: grad_out [P, H // kh, W // kw] -> grad_x [P, H, W], every value written.
    """
    KH, KW, A = int(kh), int(kw), bool(adaptive)

    @njit(inline="always", error_model="numpy")
    def mean(s, d1, d2):
        return s / d1 / d2 if A else s / d1

    # Each loop runs over 1-D rows (C-contiguous slices), so that it can become SIMD code. The window
    # sums accumulate in the output row, in torch's order: row a of the window, then column b.
    @njit(error_model="numpy")
    def add_row(r, o):
        for j in range(o.size):
            s = o[j]
            for b in range(KW):
                s += r[j * KW + b]
            o[j] = s

    @njit(error_model="numpy")
    def finish_row(o, d1, d2):
        for j in range(o.size):
            o[j] = mean(o[j], d1, d2)

    @njit(error_model="numpy")
    def grad_row(g, r, zero, d1, d2):
        ow = g.size
        for j in range(ow):
            v = mean(g[j], d1, d2)
            for b in range(KW):
                r[j * KW + b] = v
        for j in range(ow * KW, r.size):
            r[j] = zero

    @njit(parallel=True, error_model="numpy")
    def forward(x, out):
        planes, oh = out.shape[0], out.shape[1]
        t = x.dtype.type
        zero = t(0)
        d1, d2 = (t(KH), t(KW)) if A else (t(KH * KW), t(1))
        for p in prange(planes):
            for i in range(oh):
                o = out[p, i]
                o[:] = zero
                for a in range(KH):
                    add_row(x[p, i * KH + a], o)
                finish_row(o, d1, d2)

    @njit(parallel=True, error_model="numpy")
    def backward(grad_out, grad_x):
        planes, oh = grad_out.shape[0], grad_out.shape[1]
        h = grad_x.shape[1]
        t = grad_x.dtype.type
        zero = t(0)
        d1, d2 = (t(KH), t(KW)) if A else (t(KH * KW), t(1))
        for p in prange(planes):
            for i in range(oh):
                for a in range(KH):
                    grad_row(grad_out[p, i], grad_x[p, i * KH + a], zero, d1, d2)
            for i in range(oh * KH, h):
                grad_x[p, i][:] = zero

    return forward, backward
