"""Numba kernels of the multi-step LIF layer on the CPU: one pass over [T, N] per direction.

Neurons are processed in blocks whose state stays in L1 cache: the forward pass reads the input
once and writes the spikes once; the backward pass reads the input again, recomputes the block's
membrane H for all T steps into a buffer of T x BLOCK values (in L1), then runs BPTT backwards and
writes the input gradient once. Nothing but the input (which the layer keeps alive anyway) and, for
the tanh quantizer, one scale per step is saved between the passes.

Every (reset, quantizer, surrogate, detach_reset) combination is its own compiled kernel: the
options are constants of the closure that builds it, so the inner loops have no branches on them.
Blocks run in parallel (``prange``) on numba's threads, as many as torch's intra-op threads, in
chunks of several blocks (a few chunks per thread) so that each chunk allocates its scratch once.

Three things decide whether the inner loops become SIMD code, and each was worth 5-10x here:
``error_model="numpy"`` (numba's default Python error model checks every float division for zero,
which keeps the loop scalar; here a division by zero gives inf/nan as in torch); loops that run
``range(len)`` over 1-D slices (an index from ``range(lo, hi)`` into the whole array is not provably
in bounds); and each per-step loop in a compiled function of its own, called with those slices (the
same loop written inline under the loop over steps stayed scalar).

The specialised kernels are closures over other compiled functions, and numba cannot reuse such a
closure from its disk cache (the cache key hashes the captured dispatchers, which differ from process
to process, so every process added entries and none was ever read). They are compiled on first use in
each process (a few seconds per specialisation) and not cached; the module-level helpers are.

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

from .._resets import RESET_CODES

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


def _fire_of(R):
    """(S, U before quantization) of one step for reset code R, as selects (no branches)."""

    @njit(inline="always", error_model="numpy")
    def fire(h, thr, zero, one):
        if R == 2:
            s = np.floor(h / thr)
            s = zero if s < zero else s
            return s, h - thr * s
        fired = h > thr
        s = one if fired else zero
        if R == 0:
            return s, (zero if fired else h)
        return s, h - thr * s

    return fire


def _quantize_of(Q):
    """Q_b of the stored state (uniform: clip to +-scale, round to nf levels per side)."""

    @njit(inline="always", error_model="numpy")
    def quantize(v, nf, scale, step, one):
        if Q == 1:
            v = v / scale
            v = one if v > one else v
            v = -one if v < -one else v
            return np.rint(v * nf) * step
        return v

    return quantize


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


@functools.lru_cache(maxsize=None)
def _step_loops(reset: str, quantizer: str | None, float32: bool, normalise: bool):
    """The compiled loops of one time step over a run of neurons, ``(tanh_step, charge_fire, replay)``,
    shared by the LIF's kernels (``normalise`` False: the input is x itself) and the fused BatchNorm +
    LIF ones (True: the input is y * alpha + beta, formed here and never stored). The option is a
    constant of the closure, so each specialisation is one branch-free loop; without it alpha and beta
    are not read (a multiply-add with 1 and 0 would turn an input of -0.0 into +0.0).

    * ``tanh_step(xt, spt, u, ubits, alpha, beta, decay, thr, nf, sc, st, zero, one)``: one step of the
      tanh quantizer's forward (state stored as tanh(U), quantized with the last step's scale ``sc``
      when read); returns the peak of the new |tanh U| as bits (:func:`_peak_bits`).
    * ``charge_fire(xt, spt, u, alpha, beta, decay, thr, nf, scale, step, zero, one)``: one forward
      step with the fixed-scale (or no) quantizer.
    * ``replay(xt, ht, tht, u, alpha, beta, decay, thr, nf, scale, step, sc, st, zero, one)``: one step
      of the forward again in the backward pass, keeping H (and tanh U for the tanh quantizer).
    """
    Q = QUANTIZER_CODES[quantizer]
    tanh = _tanh_of(float32)
    fire = _fire_of(RESET_CODES[reset])
    quantize = _quantize_of(Q)
    itype = np.int32 if float32 else np.int64
    absmask = itype(0x7FFFFFFF) if float32 else itype(0x7FFFFFFFFFFFFFFF)

    @njit(inline="always", error_model="numpy")
    def current(x, alpha, beta):
        if normalise:
            return x * alpha + beta
        return x

    @njit(error_model="numpy")
    def tanh_step(xt, spt, u, ubits, alpha, beta, decay, thr, nf, sc, st, zero, one):
        for i in range(xt.size):
            h = current(xt[i], alpha, beta) + decay * (np.rint(u[i] / sc * nf) * st)
            s, v = fire(h, thr, zero, one)
            spt[i] = s
            u[i] = tanh(v)
        return _peak_bits(ubits, absmask)

    @njit(error_model="numpy")
    def charge_fire(xt, spt, u, alpha, beta, decay, thr, nf, scale, step, zero, one):
        for j in range(xt.size):
            h = current(xt[j], alpha, beta) + decay * u[j]
            s, v = fire(h, thr, zero, one)
            spt[j] = s
            u[j] = quantize(v, nf, scale, step, one)

    @njit(error_model="numpy")
    def replay(xt, ht, tht, u, alpha, beta, decay, thr, nf, scale, step, sc, st, zero, one):
        for j in range(xt.size):
            h = current(xt[j], alpha, beta) + decay * u[j]
            ht[j] = h
            s, v = fire(h, thr, zero, one)
            if Q == 2:
                w = tanh(v)
                tht[j] = w
                v = np.rint(w / sc * nf) * st
            else:
                v = quantize(v, nf, scale, step, one)
            u[j] = v

    return tanh_step, charge_fire, replay


@functools.lru_cache(maxsize=None)
def forward_kernel(reset: str, quantizer: str | None, float32: bool = True):
    """The compiled forward kernel of one (reset, quantizer) pair.

    ``kernel(x, spikes, scales, decay, thr, nf, scale, step, zero, one, chunks)``: x [T, N] -> spikes
    [T, N]; for the tanh quantizer the scale of every step goes into ``scales`` [T] (the backward
    pass replays it). ``nf`` = levels per side, ``step`` = scale / nf (rounded once, as the torch
    path does).
    """
    Q = QUANTIZER_CODES[quantizer]
    itype = np.int32 if float32 else np.int64
    tanh_step, charge_fire, _ = _step_loops(reset, quantizer, float32, False)

    if Q == 2:
        # The scale of step t is a max over all neurons of step t, so this kernel runs step by step
        # over all chunks; the state is stored as tanh(U) and quantized with the step's scale when
        # the next step reads it. The peak is taken over the bits of |tanh U| (:func:`_peak_bits`).
        @njit(parallel=True, error_model="numpy")
        def kernel(x, spikes, scales, decay, thr, nf, scale, step, zero, one, chunks):
            steps, n = x.shape
            nc = max(1, min((n + BLOCK - 1) // BLOCK, chunks))
            per = (n + nc - 1) // nc
            u = np.zeros(n, dtype=x.dtype)
            ubits = u.view(itype)
            peaks = np.zeros(nc, dtype=itype)
            fpeaks = peaks.view(x.dtype)
            sc = one
            st = one / nf
            for t in range(steps):
                xt = x[t]
                spt = spikes[t]
                for c in prange(nc):
                    lo, hi = c * per, min(n, (c + 1) * per)
                    peaks[c] = tanh_step(xt[lo:hi], spt[lo:hi], u[lo:hi], ubits[lo:hi], one, zero, decay, thr, nf,
                                         sc, st, zero, one)
                sc = _tanh_scale(peaks, fpeaks, zero, one)
                scales[t] = sc
                st = sc / nf

        return kernel

    @njit(parallel=True, error_model="numpy")
    def kernel(x, spikes, scales, decay, thr, nf, scale, step, zero, one, chunks):
        steps, n = x.shape
        nb = (n + BLOCK - 1) // BLOCK
        nc = max(1, min(nb, chunks))
        per = (nb + nc - 1) // nc
        for c in prange(nc):
            u = np.empty(BLOCK, dtype=x.dtype)
            for b in range(c * per, min(nb, (c + 1) * per)):
                b0 = b * BLOCK
                b1 = min(n, b0 + BLOCK)
                ub = u[:b1 - b0]
                ub[:] = zero
                for t in range(steps):
                    charge_fire(x[t][b0:b1], spikes[t][b0:b1], ub, one, zero, decay, thr, nf, scale, step, zero, one)

    return kernel


@functools.lru_cache(maxsize=None)
def _bptt_steps(reset: str, quantizer: str | None, surrogate: str, detach_reset: bool):
    """The compiled per-step BPTT loops ``(bptt_last, bptt_step)`` of one combination, shared by the
    LIF's backward kernel and the fused BatchNorm + LIF one."""
    R = RESET_CODES[reset]
    Q = QUANTIZER_CODES[quantizer]
    S = SURROGATE_CODES[surrogate]
    D = bool(detach_reset)
    fire = _fire_of(R)

    @njit(inline="always", error_model="numpy")
    def sur(x, a, c, half_a, zero, one):
        if S == 0:
            v = one - abs(x)
            return v if v > zero else zero
        if S == 1:
            e = one / (one + np.exp(-a * x))
            return a * e * (one - e)
        return half_a / (one + (c * x) * (c * x))

    @njit(error_model="numpy")
    def bptt_last(gt, gxt, ht, u, decay, thr, a, c, half_a, zero, one):
        for j in range(gt.size):
            g = gt[j] * sur(ht[j] - thr, a, c, half_a, zero, one)
            gxt[j] = g
            u[j] = g * decay

    @njit(error_model="numpy")
    def bptt_step(gt, gxt, ht, tht, u, decay, thr, scale, a, c, half_a, zero, one):
        for j in range(gt.size):
            h = ht[j]
            sg = sur(h - thr, a, c, half_a, zero, one)
            s, u_pre = fire(h, thr, zero, one)
            g_pre = u[j]
            if Q == 1:
                g_pre = zero if abs(u_pre) > scale else g_pre
            elif Q == 2:
                th = tht[j]
                g_pre = g_pre * (one - th * th)
            if D:
                g_s = gt[j]
            elif R == 0:
                g_s = gt[j] - g_pre * h
            else:
                g_s = gt[j] - thr * g_pre
            g = g_s * sg
            if R == 0:
                g = g + g_pre * (one - s)
            else:
                g = g + g_pre
            gxt[j] = g
            u[j] = g * decay

    return bptt_last, bptt_step


@functools.lru_cache(maxsize=None)
def backward_kernel(reset: str, quantizer: str | None, surrogate: str, detach_reset: bool, float32: bool = True):
    """The compiled BPTT kernel of one (reset, quantizer, surrogate, detach_reset) combination.

    ``kernel(x, grad, grad_x, scales, decay, thr, nf, scale, step, a, c, half_a, zero, one, chunks)``:
    recomputes H from x block by block (the same arithmetic as the forward kernel), then writes
    dL/dx into grad_x [T, N].
    """
    Q = QUANTIZER_CODES[quantizer]
    _, _, replay = _step_loops(reset, quantizer, float32, False)
    bptt_last, bptt_step = _bptt_steps(reset, quantizer, surrogate, detach_reset)

    @njit(parallel=True, error_model="numpy")
    def kernel(x, grad, grad_x, scales, decay, thr, nf, scale, step, a, c, half_a, zero, one, chunks):
        steps, n = x.shape
        nb = (n + BLOCK - 1) // BLOCK
        nc = max(1, min(nb, chunks))
        per = (nb + nc - 1) // nc
        for ch in prange(nc):
            hs = np.empty((steps, BLOCK), dtype=x.dtype)
            # tanh(U) of every step for the tanh quantizer's gradient (a dummy row otherwise)
            ths = np.empty((steps if Q == 2 else 1, BLOCK), dtype=x.dtype)
            u = np.empty(BLOCK, dtype=x.dtype)
            for b in range(ch * per, min(nb, (ch + 1) * per)):
                b0 = b * BLOCK
                b1 = min(n, b0 + BLOCK)
                m = b1 - b0
                ub = u[:m]
                ub[:] = zero
                # replay the forward pass of this block
                for t in range(steps):
                    sc = scales[t] if Q == 2 else one
                    replay(x[t][b0:b1], hs[t][:m], ths[t if Q == 2 else 0][:m], ub, one, zero, decay, thr, nf, scale,
                           step, sc, sc / nf, zero, one)
                # BPTT; u now holds dL/dU of the step after
                t = steps - 1
                bptt_last(grad[t][b0:b1], grad_x[t][b0:b1], hs[t][:m], ub, decay, thr, a, c, half_a, zero, one)
                for t in range(steps - 2, -1, -1):
                    bptt_step(grad[t][b0:b1], grad_x[t][b0:b1], hs[t][:m], ths[t if Q == 2 else 0][:m], ub, decay,
                              thr, scale, a, c, half_a, zero, one)

    return kernel


@njit(cache=True, inline="always", error_model="numpy")
def _tanh64(x):
    return np.tanh(x)


def _tanh_of(float32: bool):
    """The tanh of the kernels: :func:`tanh32` for float32, libm's for float64 (full precision)."""
    return tanh32 if float32 else _tanh64


def surrogate_constants(sigmoid_alpha: float, atan_alpha: float) -> tuple[float, float, float]:
    """(a, c, a_atan / 2) of the surrogates as the kernels take them."""
    return sigmoid_alpha, math.pi / 2 * atan_alpha, atan_alpha / 2


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


@functools.lru_cache(maxsize=None)
def bn_forward_kernel(reset: str, quantizer: str | None, float32: bool = True):
    """Forward of BN + LIF: ``kernel(y, spikes, scales, alpha, beta, decay, thr, nf, scale, step, zero, one,
    chunks)`` with y, spikes [T, P, HW], alpha, beta [C]; for the tanh quantizer the scale of every step
    goes into ``scales`` [T], as in :func:`forward_kernel`."""
    Q = QUANTIZER_CODES[quantizer]
    itype = np.int32 if float32 else np.int64
    tanh_step, charge_fire, _ = _step_loops(reset, quantizer, float32, True)

    if Q == 2:
        @njit(parallel=True, error_model="numpy")
        def kernel(y, spikes, scales, alpha, beta, decay, thr, nf, scale, step, zero, one, chunks):
            # step by step over all planes (the scale is a max over the step), as forward_kernel's tanh
            steps, planes, hw = y.shape
            channels = alpha.size
            nc = max(1, min(planes, chunks))
            per = (planes + nc - 1) // nc
            u = np.zeros((planes, hw), dtype=y.dtype)
            ubits = u.view(itype)
            peaks = np.zeros(nc, dtype=itype)
            fpeaks = peaks.view(y.dtype)
            sc = one
            st = one / nf
            for t in range(steps):
                for c in prange(nc):
                    pk = itype(0)
                    for p in range(c * per, min(planes, (c + 1) * per)):
                        cc = p % channels
                        a = tanh_step(y[t, p], spikes[t, p], u[p], ubits[p], alpha[cc], beta[cc], decay, thr, nf,
                                       sc, st, zero, one)
                        pk = a if a > pk else pk
                    peaks[c] = pk
                sc = _tanh_scale(peaks, fpeaks, zero, one)
                scales[t] = sc
                st = sc / nf

        return kernel

    @njit(parallel=True, error_model="numpy")
    def kernel(y, spikes, scales, alpha, beta, decay, thr, nf, scale, step, zero, one, chunks):
        steps, planes, hw = y.shape
        channels = alpha.size
        per_plane = (hw + BLOCK - 1) // BLOCK
        nb = planes * per_plane
        nc = max(1, min(nb, chunks))
        per = (nb + nc - 1) // nc
        for ch in prange(nc):
            u = np.empty(BLOCK, dtype=y.dtype)
            for b in range(ch * per, min(nb, (ch + 1) * per)):
                p = b // per_plane
                j0 = (b % per_plane) * BLOCK
                j1 = min(hw, j0 + BLOCK)
                c = p % channels
                ub = u[:j1 - j0]
                ub[:] = zero
                for t in range(steps):
                    charge_fire(y[t, p][j0:j1], spikes[t, p][j0:j1], ub, alpha[c], beta[c], decay, thr, nf, scale,
                                step, zero, one)

    return kernel


@functools.lru_cache(maxsize=None)
def bn_backward_kernel(reset: str, quantizer: str | None, surrogate: str, detach_reset: bool, float32: bool = True):
    """BPTT of BN + LIF: ``kernel(y, grad, grad_x, alpha, beta, mean, decay, thr, nf, scale, step, a, c,
    half_a, zero, one, chunks) -> (sum_dx, sum_dx_yc)``: writes dL/dx (x the BN output) into grad_x
    [T, P, HW] and returns per channel sum(dL/dx) and sum(dL/dx * (y - mean)) in float64."""
    Q = QUANTIZER_CODES[quantizer]
    _, _, replay = _step_loops(reset, quantizer, float32, True)
    bptt_last, bptt_step = _bptt_steps(reset, quantizer, surrogate, detach_reset)

    @njit(error_model="numpy", fastmath={"reassoc"})
    def sums(gxt, yt, mean):
        # in the tensor's dtype within a block (<= BLOCK values, vectorised), in float64 across blocks
        s = gxt.dtype.type(0)
        q = gxt.dtype.type(0)
        for j in range(gxt.size):
            s += gxt[j]
            q += gxt[j] * (yt[j] - mean)
        return np.float64(s), np.float64(q)

    @njit(parallel=True, error_model="numpy")
    def kernel(y, grad, grad_x, scales, alpha, beta, mean, decay, thr, nf, scale, step, a, c, half_a, zero, one,
               chunks):
        steps, planes, hw = y.shape
        channels = alpha.size
        per_plane = (hw + BLOCK - 1) // BLOCK
        nb = planes * per_plane
        nc = max(1, min(nb, chunks))
        per = (nb + nc - 1) // nc
        part_s = np.zeros(nb)  # per block, added per channel in block order at the end
        part_q = np.zeros(nb)
        for ch in prange(nc):
            hs = np.empty((steps, BLOCK), dtype=y.dtype)
            ths = np.empty((steps if Q == 2 else 1, BLOCK), dtype=y.dtype)  # tanh(U) per step (tanh only)
            u = np.empty(BLOCK, dtype=y.dtype)
            for b in range(ch * per, min(nb, (ch + 1) * per)):
                p = b // per_plane
                j0 = (b % per_plane) * BLOCK
                j1 = min(hw, j0 + BLOCK)
                m = j1 - j0
                cc = p % channels
                ub = u[:m]
                ub[:] = zero
                for t in range(steps):
                    sc = scales[t] if Q == 2 else one
                    replay(y[t, p][j0:j1], hs[t][:m], ths[t if Q == 2 else 0][:m], ub, alpha[cc], beta[cc], decay, thr,
                           nf, scale, step, sc, sc / nf, zero, one)
                t = steps - 1
                bptt_last(grad[t, p][j0:j1], grad_x[t, p][j0:j1], hs[t][:m], ub, decay, thr, a, c, half_a, zero, one)
                for t in range(steps - 2, -1, -1):
                    bptt_step(grad[t, p][j0:j1], grad_x[t, p][j0:j1], hs[t][:m], ths[t if Q == 2 else 0][:m], ub, decay,
                              thr, scale, a, c, half_a, zero, one)
                for t in range(steps):
                    s, q = sums(grad_x[t, p][j0:j1], y[t, p][j0:j1], y.dtype.type(mean[cc]))
                    part_s[b] += s
                    part_q[b] += q
        return _block_channel_sums(part_s, per_plane, channels), _block_channel_sums(part_q, per_plane, channels)

    return kernel


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
