"""The LIF layer's kernels for one combination of options: the source that :mod:`qsnn.nn._lif_kernels` specialises.

This file is a template. :func:`qsnn._core.specialise.specialise` writes a copy of it with the options below
replaced by one combination (reset, quantizer, surrogate, detach_reset, dtype, BatchNorm fused or not)
into a cache folder and imports that copy. The options are then plain module constants, which numba
compiles as constants, so the inner loops have no branches on them; and since every function is a
top-level function of a file on disk, numba's ``cache=True`` keeps the compiled code for the next
process. The file also imports as it is (with the defaults below), so it can be read and checked like
any module.

Kernels (arrays C-contiguous; ``p`` the scalars of :func:`qsnn.nn._lif_kernels.scalars` in the data's
dtype: decay, threshold, levels per side n, scale, step = scale / n, the surrogate's a, c, a / 2, 0, 1):

* ``forward(x, spikes, scales, p, chunks)``: x [T, N] -> spikes [T, N]; for the tanh quantizer the scale of
  every step goes into ``scales`` [T] (the backward pass replays it).
* ``backward(x, grad, grad_x, scales, p, chunks)``: recomputes H from x block by block, then writes dL/dx.
* ``bn_forward(y, spikes, scales, alpha, beta, p, chunks)`` and ``bn_backward(y, grad, grad_x, scales,
  alpha, beta, mean, p, chunks) -> (sum_dx, sum_dx_yc)``: the same with BatchNorm's x = y alpha_c + beta_c
  formed inside (y [T, P, HW], plane p of channel p % C), for ``NORMALISE = True``.

The loops' layout (blocks of neurons in L1, one compiled function per per-step loop, ``error_model="numpy"``)
is explained in :mod:`qsnn.nn._lif_kernels`.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from qsnn.nn._lif_kernels import BLOCK, _block_channel_sums, _peak_bits, _tanh64, _tanh_scale, tanh32

# --- specialisation: the loader replaces the lines up to the end marker ---
RESET = 0  # qsnn._core.resets.RESET_CODES: 0 zero, 1 subtract, 2 mod
QUANTIZER = 1  # 0 none (full precision), 1 uniform with a fixed scale, 2 tanh (scale per step)
SURROGATE = 0  # 0 triangle, 1 sigmoid, 2 atan; -1 in forward-only copies
DETACH = False  # detach_reset
FLOAT32 = True  # float32 data (False: float64)
NORMALISE = False  # the input is BatchNorm's y, normalised inside (the bn_* kernels)
# --- end of specialisation ---

ITYPE = np.int32 if FLOAT32 else np.int64
ABSMASK = ITYPE(0x7FFFFFFF) if FLOAT32 else ITYPE(0x7FFFFFFFFFFFFFFF)
tanh = tanh32 if FLOAT32 else _tanh64


@njit(cache=True, inline="always", error_model="numpy")
def fire(h, thr, zero, one):
    """(S, U before quantization) of one step, as selects (no branches)."""
    if RESET == 2:
        s = np.floor(h / thr)
        s = zero if s < zero else s
        return s, h - thr * s
    fired = h > thr
    s = one if fired else zero
    if RESET == 0:
        return s, (zero if fired else h)
    return s, h - thr * s


@njit(cache=True, inline="always", error_model="numpy")
def quantize(v, nf, scale, step, one):
    """Q_b of the stored state (uniform: clip to +-scale, round to nf levels per side)."""
    if QUANTIZER == 1:
        v = v / scale
        v = one if v > one else v
        v = -one if v < -one else v
        return np.rint(v * nf) * step
    return v


@njit(cache=True, inline="always", error_model="numpy")
def current(x, alpha, beta):
    """The LIF's input: x itself, or BatchNorm's x * alpha + beta (without NORMALISE alpha and beta are
    not read: a multiply-add with 1 and 0 would turn an input of -0.0 into +0.0)."""
    if NORMALISE:
        return x * alpha + beta
    return x


@njit(cache=True, inline="always", error_model="numpy")
def sur(x, a, c, half_a, zero, one):
    """The surrogate derivative of the spike at x = H - V_th."""
    if SURROGATE == 0:
        v = one - abs(x)
        return v if v > zero else zero
    if SURROGATE == 1:
        e = one / (one + np.exp(-a * x))
        return a * e * (one - e)
    return half_a / (one + (c * x) * (c * x))


# ---- per-step loops over a run of neurons ----------------------------------------------------


@njit(cache=True, error_model="numpy")
def tanh_step(xt, spt, u, ubits, alpha, beta, decay, thr, nf, sc, st, zero, one):
    """One forward step of the tanh quantizer (state stored as tanh U, quantized with the last step's
    scale ``sc`` when read); returns the peak of the new |tanh U| as bits (:func:`_peak_bits`)."""
    for i in range(xt.size):
        h = current(xt[i], alpha, beta) + decay * (np.rint(u[i] / sc * nf) * st)
        s, v = fire(h, thr, zero, one)
        spt[i] = s
        u[i] = tanh(v)
    return _peak_bits(ubits, ABSMASK)


@njit(cache=True, error_model="numpy")
def charge_fire(xt, spt, u, alpha, beta, decay, thr, nf, scale, step, zero, one):
    """One forward step with the fixed-scale (or no) quantizer."""
    for j in range(xt.size):
        h = current(xt[j], alpha, beta) + decay * u[j]
        s, v = fire(h, thr, zero, one)
        spt[j] = s
        u[j] = quantize(v, nf, scale, step, one)


@njit(cache=True, error_model="numpy")
def replay(xt, ht, tht, u, alpha, beta, decay, thr, nf, scale, step, sc, st, zero, one):
    """One forward step again in the backward pass, keeping H (and tanh U for the tanh quantizer)."""
    for j in range(xt.size):
        h = current(xt[j], alpha, beta) + decay * u[j]
        ht[j] = h
        s, v = fire(h, thr, zero, one)
        if QUANTIZER == 2:
            w = tanh(v)
            tht[j] = w
            v = np.rint(w / sc * nf) * st
        else:
            v = quantize(v, nf, scale, step, one)
        u[j] = v


@njit(cache=True, error_model="numpy")
def bptt_last(gt, gxt, ht, u, decay, thr, a, c, half_a, zero, one):
    """BPTT at the last step (its state influences nothing); leaves dL/dU of the step before in u."""
    for j in range(gt.size):
        g = gt[j] * sur(ht[j] - thr, a, c, half_a, zero, one)
        gxt[j] = g
        u[j] = g * decay


@njit(cache=True, error_model="numpy")
def bptt_step(gt, gxt, ht, tht, u, decay, thr, scale, a, c, half_a, zero, one):
    """One BPTT step: u holds dL/dU of the step after on entry and of this step on return."""
    for j in range(gt.size):
        h = ht[j]
        sg = sur(h - thr, a, c, half_a, zero, one)
        s, u_pre = fire(h, thr, zero, one)
        g_pre = u[j]
        if QUANTIZER == 1:
            g_pre = zero if abs(u_pre) > scale else g_pre
        elif QUANTIZER == 2:
            th = tht[j]
            g_pre = g_pre * (one - th * th)
        if DETACH:
            g_s = gt[j]
        elif RESET == 0:
            g_s = gt[j] - g_pre * h
        else:
            g_s = gt[j] - thr * g_pre
        g = g_s * sg
        if RESET == 0:
            g = g + g_pre * (one - s)
        else:
            g = g + g_pre
        gxt[j] = g
        u[j] = g * decay


# ---- the LIF layer's kernels, [T, N] ----------------------------------------------------------


@njit(cache=True, parallel=True, error_model="numpy")
def _forward_tanh(x, spikes, scales, p, chunks):
    # The scale of step t is a max over all neurons of step t, so this kernel runs step by step over all
    # chunks; the state is stored as tanh(U) and quantized with the step's scale when the next step reads
    # it. The peak is taken over the bits of |tanh U| (_peak_bits).
    decay, thr, nf, zero, one = p[0], p[1], p[2], p[8], p[9]
    steps, n = x.shape
    nc = max(1, min((n + BLOCK - 1) // BLOCK, chunks))
    per = (n + nc - 1) // nc
    u = np.zeros(n, dtype=x.dtype)
    ubits = u.view(ITYPE)
    peaks = np.zeros(nc, dtype=ITYPE)
    fpeaks = peaks.view(x.dtype)
    sc = one
    st = one / nf
    for t in range(steps):
        xt = x[t]
        spt = spikes[t]
        for c in prange(nc):
            lo, hi = c * per, min(n, (c + 1) * per)
            peaks[c] = tanh_step(xt[lo:hi], spt[lo:hi], u[lo:hi], ubits[lo:hi], one, zero, decay, thr, nf, sc, st,
                                 zero, one)
        sc = _tanh_scale(peaks, fpeaks, zero, one)
        scales[t] = sc
        st = sc / nf


@njit(cache=True, parallel=True, error_model="numpy")
def _forward_blocks(x, spikes, scales, p, chunks):
    decay, thr, nf, scale, step, zero, one = p[0], p[1], p[2], p[3], p[4], p[8], p[9]
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


forward = _forward_tanh if QUANTIZER == 2 else _forward_blocks


@njit(cache=True, parallel=True, error_model="numpy")
def backward(x, grad, grad_x, scales, p, chunks):
    decay, thr, nf, scale, step, a, c, half_a, zero, one = p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9]
    steps, n = x.shape
    nb = (n + BLOCK - 1) // BLOCK
    nc = max(1, min(nb, chunks))
    per = (nb + nc - 1) // nc
    for ch in prange(nc):
        hs = np.empty((steps, BLOCK), dtype=x.dtype)
        # tanh(U) of every step for the tanh quantizer's gradient (a dummy row otherwise)
        ths = np.empty((steps if QUANTIZER == 2 else 1, BLOCK), dtype=x.dtype)
        u = np.empty(BLOCK, dtype=x.dtype)
        for b in range(ch * per, min(nb, (ch + 1) * per)):
            b0 = b * BLOCK
            b1 = min(n, b0 + BLOCK)
            m = b1 - b0
            ub = u[:m]
            ub[:] = zero
            # replay the forward pass of this block
            for t in range(steps):
                sc = scales[t] if QUANTIZER == 2 else one
                replay(x[t][b0:b1], hs[t][:m], ths[t if QUANTIZER == 2 else 0][:m], ub, one, zero, decay, thr, nf,
                       scale, step, sc, sc / nf, zero, one)
            # BPTT; u now holds dL/dU of the step after
            t = steps - 1
            bptt_last(grad[t][b0:b1], grad_x[t][b0:b1], hs[t][:m], ub, decay, thr, a, c, half_a, zero, one)
            for t in range(steps - 2, -1, -1):
                bptt_step(grad[t][b0:b1], grad_x[t][b0:b1], hs[t][:m], ths[t if QUANTIZER == 2 else 0][:m], ub, decay,
                          thr, scale, a, c, half_a, zero, one)


# ---- BatchNorm (training mode) fused with the LIF: y [T, P, HW], blocks inside one plane ----------


@njit(cache=True, parallel=True, error_model="numpy")
def _bn_forward_tanh(y, spikes, scales, alpha, beta, p, chunks):
    # step by step over all planes (the scale is a max over the step), as _forward_tanh
    decay, thr, nf, zero, one = p[0], p[1], p[2], p[8], p[9]
    steps, planes, hw = y.shape
    channels = alpha.size
    nc = max(1, min(planes, chunks))
    per = (planes + nc - 1) // nc
    u = np.zeros((planes, hw), dtype=y.dtype)
    ubits = u.view(ITYPE)
    peaks = np.zeros(nc, dtype=ITYPE)
    fpeaks = peaks.view(y.dtype)
    sc = one
    st = one / nf
    for t in range(steps):
        for c in prange(nc):
            pk = ITYPE(0)
            for q in range(c * per, min(planes, (c + 1) * per)):
                cc = q % channels
                a = tanh_step(y[t, q], spikes[t, q], u[q], ubits[q], alpha[cc], beta[cc], decay, thr, nf, sc, st,
                              zero, one)
                pk = a if a > pk else pk
            peaks[c] = pk
        sc = _tanh_scale(peaks, fpeaks, zero, one)
        scales[t] = sc
        st = sc / nf


@njit(cache=True, parallel=True, error_model="numpy")
def _bn_forward_blocks(y, spikes, scales, alpha, beta, p, chunks):
    decay, thr, nf, scale, step, zero, one = p[0], p[1], p[2], p[3], p[4], p[8], p[9]
    steps, planes, hw = y.shape
    channels = alpha.size
    per_plane = (hw + BLOCK - 1) // BLOCK
    nb = planes * per_plane
    nc = max(1, min(nb, chunks))
    per = (nb + nc - 1) // nc
    for ch in prange(nc):
        u = np.empty(BLOCK, dtype=y.dtype)
        for b in range(ch * per, min(nb, (ch + 1) * per)):
            q = b // per_plane
            j0 = (b % per_plane) * BLOCK
            j1 = min(hw, j0 + BLOCK)
            c = q % channels
            ub = u[:j1 - j0]
            ub[:] = zero
            for t in range(steps):
                charge_fire(y[t, q][j0:j1], spikes[t, q][j0:j1], ub, alpha[c], beta[c], decay, thr, nf, scale, step,
                            zero, one)


bn_forward = _bn_forward_tanh if QUANTIZER == 2 else _bn_forward_blocks


@njit(cache=True, error_model="numpy", fastmath={"reassoc"})
def _grad_sums(gxt, yt, mean):
    # in the tensor's dtype within a block (<= BLOCK values, vectorised), in float64 across blocks
    s = gxt.dtype.type(0)
    q = gxt.dtype.type(0)
    for j in range(gxt.size):
        s += gxt[j]
        q += gxt[j] * (yt[j] - mean)
    return np.float64(s), np.float64(q)


@njit(cache=True, parallel=True, error_model="numpy")
def bn_backward(y, grad, grad_x, scales, alpha, beta, mean, p, chunks):
    decay, thr, nf, scale, step, a, c, half_a, zero, one = p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9]
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
        ths = np.empty((steps if QUANTIZER == 2 else 1, BLOCK), dtype=y.dtype)  # tanh(U) per step (tanh only)
        u = np.empty(BLOCK, dtype=y.dtype)
        for b in range(ch * per, min(nb, (ch + 1) * per)):
            q = b // per_plane
            j0 = (b % per_plane) * BLOCK
            j1 = min(hw, j0 + BLOCK)
            m = j1 - j0
            cc = q % channels
            ub = u[:m]
            ub[:] = zero
            for t in range(steps):
                sc = scales[t] if QUANTIZER == 2 else one
                replay(y[t, q][j0:j1], hs[t][:m], ths[t if QUANTIZER == 2 else 0][:m], ub, alpha[cc], beta[cc], decay,
                       thr, nf, scale, step, sc, sc / nf, zero, one)
            t = steps - 1
            bptt_last(grad[t, q][j0:j1], grad_x[t, q][j0:j1], hs[t][:m], ub, decay, thr, a, c, half_a, zero, one)
            for t in range(steps - 2, -1, -1):
                bptt_step(grad[t, q][j0:j1], grad_x[t, q][j0:j1], hs[t][:m], ths[t if QUANTIZER == 2 else 0][:m], ub,
                          decay, thr, scale, a, c, half_a, zero, one)
            for t in range(steps):
                s, sq = _grad_sums(grad_x[t, q][j0:j1], y[t, q][j0:j1], y.dtype.type(mean[cc]))
                part_s[b] += s
                part_q[b] += sq
    return _block_channel_sums(part_s, per_plane, channels), _block_channel_sums(part_q, per_plane, channels)
