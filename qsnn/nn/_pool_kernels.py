"""Numba kernels of average pooling over non-overlapping kh x kw windows, on [planes, H, W].

torch's CPU average pooling of NCHW tensors runs one window at a time and zero-fills the whole input
gradient before adding into it; in a training step of the small network its forward and backward took
about as long as the LIF's. These kernels read and write each value once, and keep torch's arithmetic:
the window's sum from zero in row-major order, then divided by kh * kw (``avg_pool2d``) or by kh and
then kw (``adaptive_avg_pool2d``); the gradient of every input in a window is the output's gradient
divided the same way, and inputs outside every window (the remainder rows and columns of a floor-mode
pooling) get zero. So the results equal torch's bit for bit (tests/unit/test_pooling.py).
"""

from __future__ import annotations

import functools

from .._core.specialise import specialise


@functools.lru_cache(maxsize=None)
def window_mean_kernels(kh: int, kw: int, adaptive: bool):
    """``(forward, backward)`` for kh x kw windows (stride = window), compiled with kh, kw constant
    (:mod:`qsnn.nn._pool_specialised`, specialised; loaded from numba's disk cache after the first process).

    ``forward(x, out)``: x [P, H, W] -> out [P, H // kh, W // kw];
    ``backward(grad_out, grad_x)``: grad_out [P, H // kh, W // kw] -> grad_x [P, H, W], every value written.
    """
    module = specialise("qsnn.nn._pool_specialised", {"KH": int(kh), "KW": int(kw), "ADAPTIVE": bool(adaptive)})
    return module.forward, module.backward
