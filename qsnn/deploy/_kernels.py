"""Numba kernels of the packed engine: bit-plane packing, popcount convolution, the integer-state LIF.

Activations between layers are small non-negative integers in NHWC layout (uint8): spikes (0/1) or,
after an average pool of k x k, spike counts (0..k^2) whose divisor the engine carries separately. A
binary convolution sees its input as bit planes packed 64 channels to a word, and its +-1 weights
as 64-bit masks of the +1 positions, so that for one plane b and one word

    sum_c b_c * sign_c = 2 * popcount(b & plus) - popcount(b)

and a count x = sum_p 2^p b_p adds its planes shifted by p. The integer result is exact; it becomes a
current with one float32 multiply-add per output (the folded BatchNorm and the per-filter scale).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange, types
from numba.extending import intrinsic

#: neurons per block of the LIF kernel (their state stays in L1)
BLOCK = 1024


@intrinsic
def popcount(typingctx, x):
    """The number of set bits of a uint64 (LLVM's ctpop: one POPCNT, or vector popcounts in a loop)."""
    if x != types.uint64:
        return None

    def codegen(context, builder, signature, args):
        fn = builder.module.declare_intrinsic("llvm.ctpop", [args[0].type])
        return builder.call(fn, args)

    return types.uint64(types.uint64), codegen


@njit(cache=True, parallel=True)
def pack_planes(a, planes, pad, words):
    """uint8 [N, H, W, C] -> uint64 [N, H + 2 pad, W + 2 pad, planes, words]: bit p of every value, channel
    c at bit c % 64 of word c // 64; the border (zero padding) holds no bits."""
    n, h, w, c = a.shape
    out = np.zeros((n, h + 2 * pad, w + 2 * pad, planes, words), dtype=np.uint64)
    for i in prange(n):
        for y in range(h):
            for x in range(w):
                for wd in range(words):
                    c0 = wd * 64
                    c1 = min(c, c0 + 64)
                    for p in range(planes):
                        word = np.uint64(0)
                        for ch in range(c0, c1):
                            word |= np.uint64((a[i, y, x, ch] >> p) & 1) << np.uint64(ch - c0)
                        out[i, y + pad, x + pad, p, wd] = word
    return out


@njit(inline="always")
def _lif_step(h, thr, scale, nf, subtract, quantized, one, zero):
    """One LIF step on the charged potential h: (spike, next state). The state is the int8 level (as a
    float32 holding an integer) when ``quantized``, else the float32 potential; same arithmetic as
    :mod:`qsnn.nn._lif_kernels`."""
    fired = h > thr
    if subtract:
        v = h - thr * (one if fired else zero)
    else:
        v = zero if fired else h
    if quantized:
        v = v / scale
        if v > one:
            v = one
        elif v < -one:
            v = -one
        v = np.rint(v * nf)
    return fired, v


@njit(inline="always")
def _fire_channels(cur, q8, u, fire, decay, step, thr, scale, nf, subtract, quantized, one, zero):
    """One step of the LIF neurons of one pixel, all channels: charge with ``cur``, fire into ``fire``,
    keep the state in ``q8`` (int8 levels, ``quantized``) or ``u`` (float32)."""
    for co in range(cur.shape[0]):
        if quantized:
            h = cur[co] + decay * (np.float32(q8[co]) * step)
        else:
            h = cur[co] + decay * u[co]
        fired, nxt = _lif_step(h, thr, scale, nf, subtract, quantized, one, zero)
        fire[co] = 1 if fired else 0
        if quantized:
            q8[co] = np.int8(nxt)
        else:
            u[co] = nxt


@njit(inline="always")
def _conv_lif_outputs(steps, batch, ho, wo, cout, pack_pad):
    """(spikes uint8 [steps, B, ho, wo, C_out], packed words for the next binary convolution with
    padding ``pack_pad`` or an empty array when ``pack_pad`` < 0, the padding used)."""
    wout = (cout + 63) // 64
    spikes = np.empty((steps, batch, ho, wo, cout), dtype=np.uint8)
    pp = max(pack_pad, 0)
    if pack_pad >= 0:
        out = np.zeros((steps * batch, ho + 2 * pp, wo + 2 * pp, 1, wout), dtype=np.uint64)
    else:
        out = np.zeros((0, 0, 0, 1, wout), dtype=np.uint64)
    return spikes, out, pp


@njit(cache=True, parallel=True)
def binary_conv(packed, plus, k, stride, ho, wo, gain, offset):
    """Currents float32 [N, ho, wo, C_out] of a +-1 convolution over packed planes [N, H, W, planes, words].

    ``plus`` uint64 [k, k, words, C_out]: the +1 positions; ``gain``/``offset`` float32 [C_out]: the
    current is ``dot * gain + offset`` with ``dot`` the exact integer sum of input x sign.
    """
    n = packed.shape[0]
    cout = plus.shape[3]
    out = np.empty((n, ho, wo, cout), dtype=np.float32)
    for i in prange(n):
        acc = np.zeros(cout, dtype=np.int32)
        for oy in range(ho):
            for ox in range(wo):
                total = _window(packed, i, oy, ox, stride, k, plus, acc)
                for co in range(cout):
                    out[i, oy, ox, co] = np.float32(2 * acc[co] - total) * gain[co] + offset[co]
    return out


@njit(cache=True, parallel=True)
def lif_quantized(current, steps, decay, thr, scale, nf, step, subtract):
    """Spikes uint8 [steps, M] of LIF neurons whose state is stored as an int8 level q (U = q * step).

    ``current`` float32 [steps or 1, M] (one row: the same current at every step). The arithmetic is
    that of :mod:`qsnn.nn._lif_kernels` in float32: H = I + decay U; spike if H > thr; reset to 0
    ("zero") or by thr ("subtract"); q = rint(clip(U / scale, -1, 1) * nf).
    """
    m = current.shape[1]
    same = current.shape[0] == 1
    spikes = np.empty((steps, m), dtype=np.uint8)
    nb = (m + BLOCK - 1) // BLOCK
    one = np.float32(1.0)
    zero = np.float32(0.0)
    for b in prange(nb):
        b0 = b * BLOCK
        cnt = min(BLOCK, m - b0)
        q = np.zeros(BLOCK, dtype=np.int8)
        for t in range(steps):
            row = 0 if same else t
            for j in range(cnt):
                h = current[row, b0 + j] + decay * (np.float32(q[j]) * step)
                fired, v = _lif_step(h, thr, scale, nf, subtract, True, one, zero)
                spikes[t, b0 + j] = 1 if fired else 0
                q[j] = np.int8(v)
    return spikes


@njit(cache=True, parallel=True)
def lif_full(current, steps, decay, thr, subtract):
    """Spikes uint8 [steps, M] of LIF neurons with a float32 state (full-precision membranes)."""
    m = current.shape[1]
    same = current.shape[0] == 1
    spikes = np.empty((steps, m), dtype=np.uint8)
    nb = (m + BLOCK - 1) // BLOCK
    one = np.float32(1.0)
    zero = np.float32(0.0)
    for b in prange(nb):
        b0 = b * BLOCK
        cnt = min(BLOCK, m - b0)
        u = np.zeros(BLOCK, dtype=np.float32)
        for t in range(steps):
            row = 0 if same else t
            for j in range(cnt):
                h = current[row, b0 + j] + decay * u[j]
                fired, v = _lif_step(h, thr, one, one, subtract, False, one, zero)
                spikes[t, b0 + j] = 1 if fired else 0
                u[j] = v
    return spikes


@njit(cache=True, parallel=True)
def sum_pool(a, k):
    """uint8 [N, H, W, C] -> uint8 [N, H // k, W // k, C]: sums over k x k windows (the average pool
    times k^2; the engine keeps the divisor)."""
    n, h, w, c = a.shape
    ho, wo = h // k, w // k
    out = np.zeros((n, ho, wo, c), dtype=np.uint8)
    for i in prange(n):
        for y in range(ho):
            for x in range(wo):
                for dy in range(k):
                    for dx in range(k):
                        for ch in range(c):
                            out[i, y, x, ch] += a[i, y * k + dy, x * k + dx, ch]
    return out


@njit(cache=True, parallel=True)
def max_pool(a, k, stride, pad):
    """uint8 [N, H, W, C] max pool (values are non-negative, so the zero border equals torch's -inf one)."""
    n, h, w, c = a.shape
    ho = (h + 2 * pad - k) // stride + 1
    wo = (w + 2 * pad - k) // stride + 1
    out = np.zeros((n, ho, wo, c), dtype=np.uint8)
    for i in prange(n):
        for y in range(ho):
            for x in range(wo):
                for dy in range(k):
                    iy = y * stride + dy - pad
                    if iy < 0 or iy >= h:
                        continue
                    for dx in range(k):
                        ix = x * stride + dx - pad
                        if ix < 0 or ix >= w:
                            continue
                        for ch in range(c):
                            v = a[i, iy, ix, ch]
                            if v > out[i, y, x, ch]:
                                out[i, y, x, ch] = v
    return out


@njit(inline="always")
def _pack_word(fire, words):
    """Spikes fire[c] (0/1) into 64-bit words, channel c at bit c % 64 of words[c // 64]."""
    for wd in range(words.shape[0]):
        word = np.uint64(0)
        for c in range(wd * 64, min(fire.shape[0], wd * 64 + 64)):
            word |= np.uint64(fire[c]) << np.uint64(c - wd * 64)
        words[wd] = word


@njit(inline="always")
def _window(packed, i, oy, ox, stride, k, plus, acc):
    """acc[co] = sum over the window of popcount(input & plus[co]) << plane; returns the window's
    sum of popcount(input) << plane (so that the +-1 dot product is 2 acc - total)."""
    planes = packed.shape[3]
    words = packed.shape[4]
    cout = plus.shape[3]
    acc[:] = 0
    total = 0
    if planes == 1 and words == 1:  # spikes, at most 64 channels: one word per pixel, no planes
        for ky in range(k):
            for kx in range(k):
                v = packed[i, oy * stride + ky, ox * stride + kx, 0, 0]
                total += np.int32(popcount(v))
                row = plus[ky, kx, 0]
                for co in range(cout):
                    acc[co] += np.int32(popcount(v & row[co]))
        return total
    for ky in range(k):
        for kx in range(k):
            for p in range(planes):
                for wd in range(words):
                    v = packed[i, oy * stride + ky, ox * stride + kx, p, wd]
                    if v == 0:  # the high planes of pooled counts are mostly empty
                        continue
                    total += np.int32(popcount(v)) << p
                    row = plus[ky, kx, wd]
                    for co in range(cout):
                        acc[co] += np.int32(popcount(v & row[co])) << p
    return total


@njit(cache=True, parallel=True)
def binary_conv_lif(packed, plus, k, stride, ho, wo, gain, offset, pack_pad, steps, decay, thr, scale, nf, step,
                    subtract, quantized):
    """conv + folded BatchNorm + LIF in one pass over packed planes [steps * B, ...] (rows t-major).

    Returns ``(spikes, packed_out)``: spikes uint8 [steps, B, ho, wo, C_out] and, when ``pack_pad`` >= 0,
    the same spikes packed for the next binary convolution (padding ``pack_pad``), else an empty array.
    Each output neuron's state lives in a small buffer while its T steps run, stored as an int8 level
    (``quantized``) or float32.
    """
    n = packed.shape[0]
    batch = n // steps
    cout = plus.shape[3]
    spikes, out, pp = _conv_lif_outputs(steps, batch, ho, wo, cout, pack_pad)
    one = np.float32(1.0)
    zero = np.float32(0.0)
    for b in prange(batch):
        acc = np.zeros(cout, dtype=np.int32)
        cur = np.zeros(cout, dtype=np.float32)
        fire = np.zeros(cout, dtype=np.uint8)
        q8 = np.zeros(cout, dtype=np.int8)
        u = np.zeros(cout, dtype=np.float32)
        for oy in range(ho):
            for ox in range(wo):
                q8[:] = 0
                u[:] = 0
                for t in range(steps):
                    i = t * batch + b
                    total = _window(packed, i, oy, ox, stride, k, plus, acc)
                    for co in range(cout):
                        cur[co] = np.float32(2 * acc[co] - total) * gain[co] + offset[co]
                    _fire_channels(cur, q8, u, fire, decay, step, thr, scale, nf, subtract, quantized, one, zero)
                    spikes[t, b, oy, ox, :] = fire
                    if pack_pad >= 0:
                        _pack_word(fire, out[i, oy + pp, ox + pp, 0])
    return spikes, out


@njit(cache=True, parallel=True)
def dense_conv_lif(x, weight, stride, pad, ho, wo, gain, offset, pack_pad, steps, decay, thr, scale, nf, step,
                   subtract, quantized):
    """The first (8-bit) convolution + folded BatchNorm + LIF: spikes uint8 [steps, B, ho, wo, C_out] of
    x float32 [S, B, H, W, C_in] with S = steps or 1 (one frame for all steps: its current is computed
    once). ``weight`` float32 [k, k, C_in, C_out]: the integer weights times their scale. Returns
    ``(spikes, packed_out)`` as :func:`binary_conv_lif` does."""
    frames, batch, h, w, cin = x.shape
    k = weight.shape[0]
    cout = weight.shape[3]
    spikes, out, pp = _conv_lif_outputs(steps, batch, ho, wo, cout, pack_pad)
    one = np.float32(1.0)
    zero = np.float32(0.0)
    for b in prange(batch):
        acc = np.zeros(cout, dtype=np.float32)
        cur = np.zeros(cout, dtype=np.float32)
        fire = np.zeros(cout, dtype=np.uint8)
        q8 = np.zeros(cout, dtype=np.int8)
        u = np.zeros(cout, dtype=np.float32)
        for oy in range(ho):
            for ox in range(wo):
                q8[:] = 0
                u[:] = 0
                for t in range(steps):
                    if t < frames:
                        f = t
                        acc[:] = 0
                        for ky in range(k):
                            iy = oy * stride + ky - pad
                            if iy < 0 or iy >= h:
                                continue
                            for kx in range(k):
                                ix = ox * stride + kx - pad
                                if ix < 0 or ix >= w:
                                    continue
                                for ci in range(cin):
                                    v = x[f, b, iy, ix, ci]
                                    for co in range(cout):
                                        acc[co] += v * weight[ky, kx, ci, co]
                        for co in range(cout):
                            cur[co] = acc[co] * gain[co] + offset[co]
                    _fire_channels(cur, q8, u, fire, decay, step, thr, scale, nf, subtract, quantized, one, zero)
                    spikes[t, b, oy, ox, :] = fire
                    if pack_pad >= 0:
                        _pack_word(fire, out[t * batch + b, oy + pp, ox + pp, 0])
    return spikes, out
