"""Average pooling over kh x kw windows for one window size: the source that :mod:`qsnn.nn._pool_kernels`
specialises (:func:`qsnn._core.specialise.specialise` sets the constants below and imports the copy, whose
compiled functions numba keeps on disk). Imports as it is with the defaults.

``forward(x, out)``: x [P, H, W] -> out [P, H // KH, W // KW]; ``backward(grad_out, grad_x)``: grad_out
[P, H // KH, W // KW] -> grad_x [P, H, W], every value written.
"""

from __future__ import annotations

from numba import njit, prange

# --- specialisation: the loader replaces the lines up to the end marker ---
KH = 2  # window height
KW = 2  # window width
ADAPTIVE = False  # divide by KH then KW (adaptive_avg_pool2d) instead of by KH * KW (avg_pool2d)
# --- end of specialisation ---


@njit(cache=True, inline="always", error_model="numpy")
def mean(s, d1, d2):
    return s / d1 / d2 if ADAPTIVE else s / d1


# Each loop runs over 1-D rows (C-contiguous slices), so that it can become SIMD code. The window
# sums accumulate in the output row, in torch's order: row a of the window, then column b.
@njit(cache=True, error_model="numpy")
def add_row(r, o):
    for j in range(o.size):
        s = o[j]
        for b in range(KW):
            s += r[j * KW + b]
        o[j] = s


@njit(cache=True, error_model="numpy")
def finish_row(o, d1, d2):
    for j in range(o.size):
        o[j] = mean(o[j], d1, d2)


@njit(cache=True, error_model="numpy")
def grad_row(g, r, zero, d1, d2):
    ow = g.size
    for j in range(ow):
        v = mean(g[j], d1, d2)
        for b in range(KW):
            r[j * KW + b] = v
    for j in range(ow * KW, r.size):
        r[j] = zero


@njit(cache=True, parallel=True, error_model="numpy")
def forward(x, out):
    planes, oh = out.shape[0], out.shape[1]
    t = x.dtype.type
    zero = t(0)
    d1, d2 = (t(KH), t(KW)) if ADAPTIVE else (t(KH * KW), t(1))
    for p in prange(planes):
        for i in range(oh):
            o = out[p, i]
            o[:] = zero
            for a in range(KH):
                add_row(x[p, i * KH + a], o)
            finish_row(o, d1, d2)


@njit(cache=True, parallel=True, error_model="numpy")
def backward(grad_out, grad_x):
    planes, oh = grad_out.shape[0], grad_out.shape[1]
    h = grad_x.shape[1]
    t = grad_x.dtype.type
    zero = t(0)
    d1, d2 = (t(KH), t(KW)) if ADAPTIVE else (t(KH * KW), t(1))
    for p in prange(planes):
        for i in range(oh):
            for a in range(KH):
                grad_row(grad_out[p, i], grad_x[p, i * KH + a], zero, d1, d2)
        for i in range(oh * KH, h):
            grad_x[p, i][:] = zero
