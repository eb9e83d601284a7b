"""Numba kernels of the multi-step LIF layer on the CPU: one pass over [T, N] per direction.

Neurons are processed in blocks whose state stays in L1 cache: the forward pass reads the input
once and writes the spikes once; the backward pass reads the input again, recomputes the block's
membrane H for all T steps into a buffer of T x BLOCK values (in L1), then runs BPTT backwards and
writes the input gradient once. Nothing but the input (which the layer keeps alive anyway) and, for
the tanh quantizer, one scale per step is saved between the passes.

Every (reset, quantizer, surrogate, detach_reset) combination, dtype and BatchNorm fusion is its own
compiled kernel: the options are module constants of a specialised copy of
:mod:`qsnn.nn._lif_specialised` (:func:`qsnn._core.specialise.specialise`), so the inner loops have no
branches on them, and numba's disk cache keeps every compiled kernel for the next process.

Blocks run in parallel (``prange``) on numba's threads, as many as torch's intra-op threads, in
chunks of several blocks (a few chunks per thread) so that each chunk allocates its scratch once.

Three things decide whether the inner loops become SIMD code, and each was worth 5-10x here:
``error_model="numpy"`` (numba's default Python error model checks every float division for zero,
which keeps the loop scalar; here a division by zero gives inf/nan as in torch); loops that run
``range(len)`` over 1-D slices (an index from ``range(lo, hi)`` into the whole array is not provably
in bounds); and each per-step loop in a compiled function of its own, called with those slices (the
same loop written inline under the loop over steps stayed scalar).

Same arithmetic as the torch path of :mod:`qsnn.nn.neurons` (scalars in the tensor's dtype, round
half to even), which remains the path for other devices. Inputs are trusted (validated by the
caller).
"""

from __future__ import annotations

import functools
import math

import numba
import numpy as np
from numba import njit, prange

from .._core.resets import RESET_CODES
from .._core.specialise import specialise
from .surrogate import ATAN_ALPHA, SIGMOID_ALPHA

SURROGATE_CODES = {"triangle": 0, "sigmoid": 1, "atan": 2}
#: membrane quantizer codes: 0 none (full precision), 1 uniform with a fixed scale, 2 tanh with
#: the per-step scale max |tanh(U)| over the whole step
QUANTIZER_CODES = {None: 0, "uniform": 1, "tanh": 2}

#: Neurons per block: the state of a block stays in L1 while the loop over the block runs over
#: independent neurons, which the compiler turns into SIMD code (one neuron at a time over T
#: cannot be vectorised: each step depends on the previous one).
BLOCK = 512


@njit(cache=True, inline="always", error_model="numpy")
def tanh32(x):
    """tanh of a float32 in plain arithmetic, so that the loop around it runs as SIMD code (libm's
    tanhf is a call per value). The rational approximation of Eigen's ``generic_fast_tanh_float``:
    within a few float32 ulp of tanh, exact odd symmetry, +-1 beyond |x| = 7.9."""
    c = np.float32(7.90531110763549805)
    if x > c:
        x = c
    elif x < -c:
        x = -c
    x2 = x * x
    p = x2 * np.float32(-2.76076847742355e-16) + np.float32(2.00018790482477e-13)
    p = x2 * p + np.float32(-8.60467152213735e-11)
    p = x2 * p + np.float32(5.12229709037114e-08)
    p = x2 * p + np.float32(1.48572235717979e-05)
    p = x2 * p + np.float32(6.37261928875436e-04)
    p = x2 * p + np.float32(4.89352455891786e-03)
    p = x * p
    q = x2 * np.float32(1.19825839466702e-06) + np.float32(1.18534705686654e-04)
    q = x2 * q + np.float32(2.26843463243900e-03)
    q = x2 * q + np.float32(4.89352518554385e-03)
    return p / q


@njit(cache=True, error_model="numpy")
def _peak_bits(ubits, absmask):
    """max |v| over the bits of the floats v as integers (their order is the order of the non-negative
    floats, and a NaN wins as in torch's amax); vectorises where a float max needs fast-math."""
    pk = ubits.dtype.type(0)
    for i in range(ubits.size):
        a = ubits[i] & absmask
        pk = a if a > pk else pk
    return pk


@njit(cache=True, error_model="numpy")
def _tanh_scale(peaks, fpeaks, zero, one):
    """The tanh quantizer's scale of one step from the peaks of its chunks (the bits of max |tanh U| as
    integers, and the same memory as floats): the largest peak, or 1 where every value was 0."""
    k = 0
    for c in range(1, peaks.size):
        if peaks[c] > peaks[k]:
            k = c
    m = fpeaks[k]
    return m if m > zero else one


def chunks() -> int:
    """The ``chunks`` argument of the kernels: prange runs over this many chunks of blocks, a few per
    thread (for balance), each allocating its scratch once."""
    return 4 * numba.get_num_threads()


@njit(cache=True, inline="always", error_model="numpy")
def _tanh64(x):
    return np.tanh(x)


def surrogate_constants(sigmoid_alpha: float, atan_alpha: float) -> tuple[float, float, float]:
    """(a, c, a_atan / 2) of the surrogates as the kernels take them."""
    return sigmoid_alpha, math.pi / 2 * atan_alpha, atan_alpha / 2


def scalars(spec, scale: float, float32: bool) -> np.ndarray:
    """The kernels' scalar argument ``p`` for a :class:`qsnn.nn.lifspec.LIFSpec` and the quantizer's current
    scale: decay, threshold, n, scale, step = scale / n, the surrogates' a, c, a / 2, then 0 and 1, each
    rounded once from its float64 value to the data's dtype (the torch path's constants)."""
    a, c, half_a = surrogate_constants(SIGMOID_ALPHA, ATAN_ALPHA)
    values = (spec.decay, spec.threshold, spec.levels, scale, spec.step(scale), a, c, half_a, 0.0, 1.0)
    return np.array(values, dtype=np.float32 if float32 else np.float64)


@functools.lru_cache(maxsize=None)
def kernels(reset: str, quantizer: str | None, surrogate: str | None = None, detach_reset: bool = False,
            float32: bool = True, normalise: bool = False):
    """The module of compiled kernels of one combination (:mod:`qsnn.nn._lif_specialised`, specialised).

    ``quantizer`` is the one acting on the membrane (None at full precision); ``surrogate`` None gives a
    module for the forward kernels only; ``normalise`` selects BatchNorm fused into the kernels (use its
    ``bn_forward`` and ``bn_backward``). Its kernels compile on first use and load from numba's disk cache
    in later processes.
    """
    return specialise("qsnn.nn._lif_specialised", {
        "RESET": RESET_CODES[reset], "QUANTIZER": QUANTIZER_CODES[quantizer],
        "SURROGATE": -1 if surrogate is None else SURROGATE_CODES[surrogate], "DETACH": bool(detach_reset),
        "FLOAT32": bool(float32), "NORMALISE": bool(normalise),
    }, depends=("qsnn.nn._lif_kernels",))


# ---------------------------------------------------------------------------------------------
# BatchNorm (training mode) fused with the LIF: the input is the convolution's output y viewed as
# [T, P, HW] (P = B * C planes, plane p of channel p % C); x = y * alpha_c + beta_c is formed in the
# kernels, never stored. Blocks lie inside one plane, so each block has one channel's alpha, beta.
# ---------------------------------------------------------------------------------------------


# The float64 sums below may be reordered (fastmath "reassoc") so that they vectorise: a sum kept in
# order is a chain of dependent additions, ~4 cycles per element. Each is taken over one row (plane or
# block), and rows are added in a fixed order, so the result does not depend on the thread count.
@njit(cache=True, error_model="numpy", fastmath={"reassoc"})
def _row_moments(v):
    """(sum, sum of squares about the row's own mean) of one row in float64. The two passes run over a
    row that stays in cache, so memory is read once."""
    s = 0.0
    for j in range(v.size):
        s += np.float64(v[j])
    m = s / v.size
    q = 0.0
    for j in range(v.size):
        d = np.float64(v[j]) - m
        q += d * d
    return s, q


@njit(cache=True, parallel=True, error_model="numpy")
def bn_stats(y, channels):
    """Per-channel (mean, biased variance) in float64 of y [S, P, HW] (plane p of channel p % C), in one
    read of y: each row's sum and centred squares (no cancellation), combined per channel in row order
    with the rows' offsets from the channel mean (Chan, Golub and LeVeque's pairwise update)."""
    steps, planes, hw = y.shape
    rows = steps * planes
    count = np.float64(rows // channels * hw)
    sums = np.empty(rows)
    squares = np.empty(rows)
    for r in prange(rows):
        sums[r], squares[r] = _row_moments(y[r // planes, r % planes])
    mean = _per_channel(sums, planes, channels) / count
    m2 = np.zeros(channels)
    for r in range(rows):
        c = (r % planes) % channels
        d = sums[r] / hw - mean[c]
        m2[c] += squares[r] + hw * d * d
    return mean, m2 / count


@njit(cache=True)
def _per_channel(part, planes, channels):
    """Sums of ``part`` [rows] per channel (row r: plane r % planes, channel plane % channels), in row order."""
    out = np.zeros(channels)
    for r in range(part.size):
        out[(r % planes) % channels] += part[r]
    return out


@njit(cache=True)
def _block_channel_sums(part, per_plane, channels):
    """Sums of per-block values (block b in plane b // per_plane) per channel, in block order."""
    out = np.zeros(channels)
    for b in range(part.size):
        out[(b // per_plane) % channels] += part[b]
    return out


@njit(cache=True, parallel=True, error_model="numpy")
def bn_input_grad(y, grad_x, k, mean, mean_dx, coef):
    """In place: grad_x <- k_c (dx - mean_dx_c - (y - mean_c) coef_c), the gradient of BatchNorm's input
    (coef_c = sum(dx (y - mean)) / (count var_c + eps count), all per channel, float64 constants)."""
    steps, planes, hw = y.shape
    channels = k.size
    rows = steps * planes
    for r in prange(rows):
        p = r % planes
        cc = p % channels
        yt = y[r // planes, p]
        gt = grad_x[r // planes, p]
        kk = k[cc]
        mu = mean[cc]
        md = mean_dx[cc]
        cf = coef[cc]
        _bn_grad_row(yt, gt, kk, mu, md, cf)


@njit(cache=True, error_model="numpy")
def _bn_grad_row(yt, gt, k, mean, mean_dx, coef):
    for j in range(yt.size):
        gt[j] = k * (gt[j] - mean_dx - (yt[j] - mean) * coef)
