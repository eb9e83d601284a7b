"""Numba kernels of Part I: one fused pass over the spikes of a row, shared by single and batched forms.

The public functions in :mod:`qsnn.spiketrains.alexiewicz` and :mod:`qsnn.spiketrains.lif_quantizer` validate their arguments and
call these kernels; a single train is a batch of one row. Parameters are trusted here (``threshold > 0``
finite, ``alpha in [0, inf]``), and so are the entries of single trains; the batched norm and error
kernels check finiteness and order of their entries in the pass that computes (a flag per row), so
that validation costs no pass of its own.

A zero amplitude in a batch row is no spike (a train is a sum of weighted Dirac pulses, and a pulse of
weight 0 is none): it neither jumps the potential nor is checked against the threshold, and the state
keeps the time of the last real spike, so a row with zeros gives bit for bit what the merged
:class:`~qsnn.spiketrains.spikes.SpikeTrain` without them gives.

Every decay is ``exp_neg(-alpha dt)`` (:mod:`qsnn.spiketrains._exp`), scalar in the single-row kernels and in
vectorised chunks in the batched ones: the same operations, so the same bits. The batched kernels run
rows in parallel (numba threads); each row's result does not depend on the thread count.

Kernels are compiled on first use and cached on disk (``cache=True``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange, types
from numba.extending import intrinsic

from ._exp import exp_neg

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
    return exp_neg(-alpha * dt)


#: Spikes per chunk of the batched kernels: gaps and decays of a chunk are computed in one vectorised
#: loop into a small buffer (in L1 cache), then the recursion runs over the chunk.
CHUNK = 128
#: Rows advanced together by :func:`norm_block` and :func:`mod_block`: independent recursions
#: interleaved so that the CPU overlaps their latency chains (each row's result is bit for bit that of
#: the single-row kernel).
BLOCK = 8
#: Batches with fewer spikes run on the calling thread: waking the worker threads costs more than it
#: saves below about a millisecond of work (and far more on a busy machine).
PARALLEL_MIN_SPIKES = 1 << 18


@njit(cache=True)
def chunk_decays(alpha, dt, d, m):
    """``d[:m] = decay(alpha, dt[:m])`` as one loop without branches inside (vectorised)."""
    if alpha == 0.0:
        for i in range(m):
            d[i] = 1.0
    elif math.isinf(alpha):
        for i in range(m):
            d[i] = 1.0 if dt[i] == 0.0 else 0.0
    else:
        for i in range(m):
            d[i] = exp_neg(-alpha * dt[i])  # exp_neg(-0.0) is 1, as decay gives for dt = 0


@njit(cache=True)
def norm_row_checked(t, a, alpha):
    """``(max_k |U_k|, ok)`` with U_k = decay * U_{k-1} + a_k: the leaky Alexiewicz norm of one row.

    ``ok`` is False if an entry is not finite or the times do not strictly increase (checked in the
    same pass, so the batched form needs no pass of its own). Before the first spike ``U = 0``, so
    ``U_1 = d * 0 + a_1 = a_1`` whatever the decay.
    """
    n = t.shape[0]
    dt = np.empty(CHUNK)
    d = np.empty(CHUNK)
    u = 0.0
    best = 0.0
    t_last = t[0] if n > 0 else 0.0
    t_prev = -math.inf
    ok = True
    for k0 in range(0, n, CHUNK):
        m = min(CHUNK, n - k0)
        for i in range(m):  # gaps since the last real spike, and the checks
            tk = t[k0 + i]
            ak = a[k0 + i]
            ok = ok & (tk > t_prev) & (tk < math.inf) & (abs(ak) < math.inf)
            t_prev = tk
            dt[i] = tk - t_last
            t_last = tk if ak != 0.0 else t_last
        chunk_decays(alpha, dt, d, m)
        for i in range(m):
            ak = a[k0 + i]
            u = d[i] * u + ak if ak != 0.0 else u
            au = abs(u)
            best = au if au > best else best
    return best, ok


@njit(cache=True)
def norm_row(t, a, alpha):
    """The leaky Alexiewicz norm of one (checked) row."""
    return norm_row_checked(t, a, alpha)[0]


@njit(cache=True, inline="always")
def block_gaps(t, a, r0, m, k0, c, ok, tp, tl, dt):
    """For rows ``r0 .. r0 + m - 1`` and spikes ``k0 .. k0 + c - 1``: the gap of each spike since its row's
    last real (non-zero) spike into ``dt[i * BLOCK + j]``, with the row checks (increasing, finite) folded
    into ``ok``; ``tp`` and ``tl`` carry each row's previous and last-real spike time across chunks."""
    for j in range(m):
        row = r0 + j
        okj = ok[j]
        tpj = tp[j]
        tlj = tl[j]
        for i in range(c):
            tk = t[row, k0 + i]
            ak = a[row, k0 + i]
            okj = okj & (tk > tpj) & (tk < math.inf) & (abs(ak) < math.inf)
            tpj = tk
            dt[i * BLOCK + j] = tk - tlj
            tlj = tk if ak != 0.0 else tlj
        ok[j] = okj
        tp[j] = tpj
        tl[j] = tlj


@njit(cache=True)
def norm_block(t, a, alpha, r0, m, out, bad):
    """:func:`norm_row_checked` of rows ``r0 .. r0 + m - 1`` (``m <= BLOCK``), interleaved spike by spike
    so that the CPU overlaps their multiply-add latency chains; the same operations, the same bits."""
    n = t.shape[1]
    u = np.zeros(BLOCK)
    best = np.zeros(BLOCK)
    tl = np.zeros(BLOCK)
    tp = np.full(BLOCK, -math.inf)
    ok = np.ones(BLOCK, dtype=np.bool_)
    dt = np.empty(BLOCK * CHUNK)
    d = np.empty(BLOCK * CHUNK)
    for j in range(m):
        tl[j] = t[r0 + j, 0] if n > 0 else 0.0
    for k0 in range(0, n, CHUNK):
        c = min(CHUNK, n - k0)
        block_gaps(t, a, r0, m, k0, c, ok, tp, tl, dt)
        chunk_decays(alpha, dt, d, c * BLOCK)
        for i in range(c):
            for j in range(m):
                ak = a[r0 + j, k0 + i]
                uj = d[i * BLOCK + j] * u[j] + ak if ak != 0.0 else u[j]
                u[j] = uj
                au = abs(uj)
                best[j] = au if au > best[j] else best[j]
    for j in range(m):
        out[r0 + j] = best[j]
        bad[r0 + j] = 0 if ok[j] else 1


@njit(cache=True)
def norm_batch_serial(t, a, alpha):
    """:func:`norm_batch` on the calling thread."""
    nb = t.shape[0]
    out = np.empty(nb)
    bad = np.zeros(nb, dtype=np.int64)
    for blk in range((nb + BLOCK - 1) // BLOCK):
        norm_block(t, a, alpha, blk * BLOCK, min(BLOCK, nb - blk * BLOCK), out, bad)
    locate_bad(t, a, bad)
    return out, bad


@njit(cache=True, parallel=True)
def norm_batch_parallel(t, a, alpha):
    """:func:`norm_batch` with blocks of rows on numba's threads."""
    nb = t.shape[0]
    out = np.empty(nb)
    bad = np.zeros(nb, dtype=np.int64)
    for blk in prange((nb + BLOCK - 1) // BLOCK):
        norm_block(t, a, alpha, blk * BLOCK, min(BLOCK, nb - blk * BLOCK), out, bad)
    locate_bad(t, a, bad)
    return out, bad


def norm_batch(t, a, alpha):
    """Row-wise :func:`norm_row` of unchecked ``[batch, n]`` arrays: ``(norms, bad)``, ``bad`` as in
    :func:`error_batch`; large batches on numba's threads (same bits)."""
    kernel = norm_batch_parallel if t.size >= PARALLEL_MIN_SPIKES and t.shape[0] > BLOCK else norm_batch_serial
    return kernel(t, a, alpha)


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


#: Above this many multiples of theta the fast remainder (floor of a product, corrected by one fused
#: multiply-add) is no longer exact; there :func:`mod_split` uses the exact floating-point fmod.
FAST_RATIO = 2.0 ** 50


@intrinsic
def fma(typingctx, a, b, c):
    """a * b + c rounded once (LLVM's ``llvm.fma``): the exact remainder of a product."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        return builder.fma(*args)

    return sig, codegen


@njit(cache=True)
def mod_split(ax, threshold, inv, rtol):
    """Split ``ax = |x| > 0`` into the output magnitude ``m ~ n theta`` and the remainder ``ax - m``.

    ``n = floor(ax / theta)`` and ``r = ax - n theta`` are taken exactly (``r`` is representable: it is
    what fmod returns). If ``r (1 + rtol) >= theta``, ``ax`` is within the tolerance of the next
    multiple, which is emitted instead (``n + 1``, remainder 0); the tolerance is relative to theta,
    the quantity it guards, whatever the size of ``ax``. ``m`` is ``n theta`` rounded to the nearest
    float, or to the next float up where nearest would leave a remainder of theta or more (only when
    ``n theta`` is far below float resolution, ``n`` beyond about 1e7). No integer count is formed, so
    any ratio is handled, up to 1e308 / 1e-308. Returns ``(m, rem, up)``; ``rem = ax - m`` exactly
    (Sterbenz: ``m >= ax / 2`` once ``n >= 1``), ``rem = 0`` when ``up``; ``m`` may be inf when
    ``(n + 1) theta`` overflows, which the caller turns into NaN.
    """
    q = np.floor(ax * inv)  # a float: math.floor would convert to int64, which saturates
    if q < FAST_RATIO:  # false for NaN and inf (theta subnormal, or ax overflowed)
        r = fma(-q, threshold, ax)  # exact when q is right; q is off by at most one
        if r < 0.0:
            q -= 1.0
        elif r >= threshold:
            q += 1.0
        r = fma(-q, threshold, ax)  # now exactly ax - n theta, in [0, theta)
        up = r * (1.0 + rtol) >= threshold
        if up:
            q += 1.0
        m = q * threshold
    else:
        r = ax % threshold  # fmod: exact for floats
        up = r * (1.0 + rtol) >= threshold
        m = ax + (threshold - r) if up else ax - r  # nearest float to (n + up) theta
    if up:
        return m, 0.0, True
    rem = ax - m
    if rem >= threshold:  # n theta below float resolution: round up instead, so rem < theta
        m = np.nextafter(m, math.inf)
        rem = ax - m
    return m, rem, False


@njit(cache=True)
def lif_step(u, dl, ak, d, threshold, inv, rtol, reset):
    """One input of the LIF neuron: the single place where the reset table lives.

    ``u`` and ``dl`` are the post-reset potential and the error partial sum after the previous input,
    ``d`` the decay since then (1 before the first input), ``ak`` the jump, ``inv = 1 / theta``.
    Returns ``(u_pre, u_post, dl, b)``: the potential after the jump, after the reset, the new error
    partial sum ``Delta_k`` and the output amplitude. The neuron fires when ``|u| (1 + rtol) >= theta``.
    A potential that overflowed (or an output that would) leaves NaN in ``u_post``, which stays NaN.
    """
    x = d * u + ak
    ax = abs(x)
    if reset == RESET_MOD:
        m, rem, up = mod_split(ax, threshold, inv, rtol)
        bk = math.copysign(m, x)
        un = 0.0 * m if up else x - bk  # x - bk is exact; 0 * inf is NaN
    elif ax * (1.0 + rtol) >= threshold:
        bk = threshold if x > 0.0 else -threshold
        if reset == RESET_SUBTRACT:
            rem = x - bk
            un = rem if rem * x >= 0.0 else 0.0
        else:
            un = 0.0 * x  # NaN if the potential overflowed
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
        Relative firing tolerance (see :func:`mod_split` and :func:`lif_step`).
    b, u_pre, u_post, delta : 1-D float64 arrays
        Outputs (written when ``write_outputs``); potential just after the jump, after the reset, and
        the leaky partial sums of ``eta - LIF(eta)`` (written when ``write_trace``). Unused arrays may
        have length 0.

    Returns
    -------
    float
        max_k |Delta_k|, or NaN if the potential or an output overflowed float64. For "mod" and
        "subtract" Delta_k is the post-reset potential (the error identity: the partial sums of
        ``eta - LIF(eta)`` obey the same recursion as ``u`` once the reset subtracts what it emits);
        for "zero" it is the separate recursion Delta_k = decay * Delta_{k-1} + a_k - b_k.
    """
    inv = 1.0 / threshold
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
        up, u, dl, bk = lif_step(u, dl, ak, d, threshold, inv, rtol, reset)
        e = abs(dl)
        if e > err:
            err = e
        if write_outputs:
            b[k] = bk + 0.0  # no negative zeros in the output
        if write_trace:
            u_pre[k] = up
            u_post[k] = u
            delta[k] = dl
    if not (math.isfinite(u) and math.isfinite(err)):
        return math.nan
    return err


@njit(cache=True)
def lif_batch(t, a, threshold, alpha, reset, rtol):
    """Output amplitudes ``[batch, n]`` of the LIF neuron on the input grid, and each row's error."""
    out = np.empty(t.shape)
    err = np.empty(t.shape[0])
    empty = np.empty(0)
    for r in range(t.shape[0]):
        err[r] = lif_row(t[r], a[r], threshold, alpha, reset, rtol, out[r], empty, empty, empty, True, False)
    return out, err


@njit(cache=True)
def first_bad_in_row(t, a):
    """``(code, col)`` of the first problem of one row: 0 none, 1 non-finite time, 2 non-finite
    amplitude, 3 ``t[col] >= t[col + 1]``."""
    for k in range(t.shape[0]):
        if not math.isfinite(t[k]):
            return 1, k
        if not math.isfinite(a[k]):
            return 2, k
        if k > 0 and not t[k - 1] < t[k]:
            return 3, k - 1
    return 0, 0


@njit(cache=True)
def mod_block(t, a, threshold, inv, alpha, rtol, r0, m, out, bad):
    """Reset-to-mod errors of rows ``r0 .. r0 + m - 1`` (``m <= BLOCK``), advanced one spike at a time.

    Chunk by chunk: the gaps since each row's last real spike (with the checks), their decays in one
    vectorised loop, then the BLOCK recursions interleaved. A zero amplitude leaves its row's state
    (and the time of its last spike) unchanged, as in :func:`lif_row`; ``bad[r]`` is set to 1 for a
    malformed row.
    """
    n = t.shape[1]
    u = np.zeros(BLOCK)
    best = np.zeros(BLOCK)
    tl = np.zeros(BLOCK)
    tp = np.full(BLOCK, -math.inf)
    ok = np.ones(BLOCK, dtype=np.bool_)
    dt = np.empty(BLOCK * CHUNK)
    d = np.empty(BLOCK * CHUNK)
    for j in range(m):
        tl[j] = t[r0 + j, 0] if n > 0 else 0.0  # u = 0 before the first spike: any decay is fine
    for k0 in range(0, n, CHUNK):
        c = min(CHUNK, n - k0)
        block_gaps(t, a, r0, m, k0, c, ok, tp, tl, dt)
        chunk_decays(alpha, dt, d, c * BLOCK)
        for i in range(c):
            for j in range(m):
                ak = a[r0 + j, k0 + i]
                _, un, _, _ = lif_step(u[j], 0.0, ak, d[i * BLOCK + j], threshold, inv, rtol, RESET_MOD)
                u[j] = un if ak != 0.0 else u[j]
                e = abs(u[j])
                best[j] = e if e > best[j] else best[j]
    for j in range(m):
        out[r0 + j] = best[j] if math.isfinite(u[j]) else math.nan
        bad[r0 + j] = 0 if ok[j] else 1


@njit(cache=True)
def error_block(t, a, threshold, inv, alpha, reset, rtol, blk, out, bad):
    """Errors of the rows of block ``blk`` (BLOCK rows) into ``out``; ``bad`` flags malformed rows."""
    nb = t.shape[0]
    r0 = blk * BLOCK
    m = min(BLOCK, nb - r0)
    if reset == RESET_MOD:
        mod_block(t, a, threshold, inv, alpha, rtol, r0, m, out, bad)
        return
    empty = np.empty(0)
    for j in range(m):
        r = r0 + j
        if first_bad_in_row(t[r], a[r])[0] != 0:
            out[r] = 0.0
            bad[r] = 1
        else:
            out[r] = lif_row(t[r], a[r], threshold, alpha, reset, rtol, empty, empty, empty, empty, False, False)


@njit(cache=True)
def error_batch_serial(t, a, threshold, alpha, reset, rtol):
    """:func:`error_batch` on the calling thread."""
    nb = t.shape[0]
    out = np.empty(nb)
    bad = np.zeros(nb, dtype=np.int64)
    for blk in range((nb + BLOCK - 1) // BLOCK):
        error_block(t, a, threshold, 1.0 / threshold, alpha, reset, rtol, blk, out, bad)
    locate_bad(t, a, bad)
    return out, bad


@njit(cache=True, parallel=True)
def error_batch_parallel(t, a, threshold, alpha, reset, rtol):
    """:func:`error_batch` with blocks of rows on numba's threads."""
    nb = t.shape[0]
    out = np.empty(nb)
    bad = np.zeros(nb, dtype=np.int64)
    for blk in prange((nb + BLOCK - 1) // BLOCK):
        error_block(t, a, threshold, 1.0 / threshold, alpha, reset, rtol, blk, out, bad)
    locate_bad(t, a, bad)
    return out, bad


def error_batch(t, a, threshold, alpha, reset, rtol):
    """Quantization errors ``[batch]`` of unchecked arrays, without storing the outputs.

    Returns ``(errors, bad)``: ``bad[r]`` is ``1 + code + 4 * col`` for the first malformed entry of
    row r (codes of :func:`first_bad_in_row`), 0 if the row is well formed; for reset-to-mod the check
    rides along with the computation instead of costing a pass of its own. Reset-to-mod, whose step is
    nearly branch-free, advances BLOCK rows together (:func:`mod_block`); the branchy resets run row
    after row, which measured faster for them. Batches of at least :data:`PARALLEL_MIN_SPIKES` spikes
    run blocks of rows on numba's threads; every row takes the operations of :func:`lif_row`, so the
    results do not depend on the thread count. An error is NaN where the potential or an output
    overflowed.
    """
    kernel = error_batch_parallel if t.size >= PARALLEL_MIN_SPIKES and t.shape[0] > BLOCK else error_batch_serial
    return kernel(t, a, threshold, alpha, reset, rtol)


@njit(cache=True)
def locate_bad(t, a, bad):
    """Replace each flag of ``bad`` by ``1 + code + 4 * col`` of its row's first bad entry (rare rows)."""
    for r in range(t.shape[0]):
        if bad[r] != 0:
            code, col = first_bad_in_row(t[r], a[r])
            bad[r] = 1 + code + 4 * col


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
        code, col = first_bad_in_row(t[r], a[r])
        if code != 0:
            return code, r, col
    return 0, 0, 0
