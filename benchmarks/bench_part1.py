"""Throughput of the Part I kernels: the batched leaky Alexiewicz norm and the reset-to-mod error.

Measures spikes per second of ``qsnn.alexiewicz_norm_batch`` and ``qsnn.quantization_error_batch``
(reset "mod") on a batch of random trains (default 2000 trains x 1000 spikes, amplitudes uniform in
[-theta, theta], gaps U[0.2, 1]) at alpha = 1 and alpha = 0, with numba's threads (rows in parallel;
``--threads``, default all cores; batches below ``qsnn.spiketrains._kernels.PARALLEL_MIN_SPIKES`` stay on one) and on
one thread, against three single-threaded references measured in the same run:

- a per-spike loop in plain Python (the O(N) recursion of the leaky norm, arXiv:2305.08012, Sec. 2, and
  for the error the same recursion with the reset-to-mod step, Sec. 4; one train at a time),
- the same recursion in NumPy, looping over spike index and vectorised over the batch,
- the O(N^2) definition (``alexiewicz_norm_reference`` of ``lif_reference(eta) - eta``).

The slow references run on a sub-sample of rows and are scaled to spikes per second; every reference is
also checked against the kernel's numbers. Then the JIT compile time: a fresh process with an empty
numba cache (cold) and one with the cache it left (cached). Prints markdown tables with ratios.

Run: ``python benchmarks/bench_part1.py [--batch 2000 --spikes 1000 --repeats 5]``.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import qsnn  # noqa: E402
from qsnn import (  # noqa: E402
    SpikeTrain,
    alexiewicz_norm_batch,
    alexiewicz_norm_reference,
    lif_reference,
    quantization_error_batch,
    random_trains,
)

THETA = 1.0


def _decay(alpha, dt):
    if dt == 0.0 or alpha == 0.0:
        return 1.0
    if math.isinf(alpha):
        return 0.0
    return math.exp(-alpha * dt)


def python_norm(times, amps, alpha):
    """Leaky Alexiewicz norm of one train by the O(N) recursion, one spike at a time in plain Python."""
    u, best, t_prev = 0.0, 0.0, None
    for t, a in zip(times, amps):
        u = a if t_prev is None else _decay(alpha, t - t_prev) * u + a
        t_prev = t
        best = max(best, abs(u))
    return best


def python_mod_error(times, amps, alpha, theta=THETA):
    """Reset-to-mod error of one train by the fused recursion Delta_k = mod(decay Delta_{k-1} + a_k)."""
    u, best, t_prev = 0.0, 0.0, None
    for t, a in zip(times, amps):
        u = a if t_prev is None else _decay(alpha, t - t_prev) * u + a
        t_prev = t
        r = math.fmod(abs(u), theta)
        u = 0.0 if r * (1.0 + qsnn.FIRING_RTOL) >= theta else math.copysign(r, u)
        best = max(best, abs(u))
    return best


def numpy_norm(times, amps, alpha):
    """The recursion vectorised over the batch, looping over the spike index."""
    u = amps[:, 0].copy()
    best = np.abs(u)
    for k in range(1, times.shape[1]):
        d = np.exp(-alpha * (times[:, k] - times[:, k - 1])) if alpha else 1.0
        u = d * u + amps[:, k]
        np.maximum(best, np.abs(u), out=best)
    return best


def numpy_mod_error(times, amps, alpha, theta=THETA):
    """The reset-to-mod error recursion vectorised over the batch (floor-based remainder: exact enough
    for the |u| / theta of a few units that this benchmark draws)."""
    u = np.zeros(times.shape[0])
    best = np.zeros(times.shape[0])
    for k in range(times.shape[1]):
        d = np.exp(-alpha * (times[:, k] - times[:, k - 1])) if (alpha and k) else 1.0
        u = d * u + amps[:, k]
        au = np.abs(u)
        r = au - theta * np.floor(au / theta)
        u = np.where(r * (1.0 + qsnn.FIRING_RTOL) >= theta, 0.0, np.copysign(r, u))
        np.maximum(best, np.abs(u), out=best)
    return best


def quadratic_norm(times, amps, alpha):
    return alexiewicz_norm_reference(SpikeTrain(times, amps), alpha)


def quadratic_mod_error(times, amps, alpha):
    s = SpikeTrain(times, amps)
    return alexiewicz_norm_reference(lif_reference(s, THETA, alpha, "mod") - s, alpha)


def best_time(fn, repeats):
    """Smallest wall time of ``repeats`` calls (the least disturbed by other processes)."""
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def per_row(fn, times, amps, alpha, rows):
    return np.array([fn(times[r], amps[r], alpha) for r in range(rows)])


COMPILE_SNIPPET = """
import time
t0 = time.perf_counter()
import numpy as np
import qsnn
t1 = time.perf_counter()
t, a = qsnn.random_trains(4, 16, seed=0)
qsnn.alexiewicz_norm_batch(t, a, 1.0)
qsnn.quantization_error_batch(t, a, 1.0, 1.0, "mod")
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def compile_times():
    """(import s, first-call s) in a fresh process with an empty numba cache, then with its cache."""
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=str(ROOT))
        for label in ("cold (empty cache)", "cached"):
            res = subprocess.run([sys.executable, "-c", COMPILE_SNIPPET], env=env, capture_output=True, text=True,
                                 check=True)
            out[label] = tuple(float(x) for x in res.stdout.split())
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--batch", type=int, default=2000, help="number of trains (default 2000)")
    p.add_argument("--spikes", type=int, default=1000, help="spikes per train (default 1000)")
    p.add_argument("--amplitude", type=float, default=1.0, help="amplitudes uniform in [-A, A] (default 1)")
    p.add_argument("--repeats", type=int, default=5, help="timed repeats, the best is kept (default 5)")
    p.add_argument("--python-rows", type=int, default=40, help="rows for the plain-Python loop (default 40)")
    p.add_argument("--quadratic-rows", type=int, default=2, help="rows for the O(N^2) definition (default 2)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="numba threads for qsnn (default 0: all cores)")
    args = p.parse_args(argv)
    import numba

    threads = args.threads or numba.config.NUMBA_NUM_THREADS
    numba.set_num_threads(threads)

    times, amps = random_trains(args.batch, args.spikes, amplitude=args.amplitude, seed=args.seed)
    n_total = args.batch * args.spikes
    print(f"qsnn {qsnn.__version__}, numpy {np.__version__}, numba {__import__('numba').__version__}; "
          f"batch {args.batch} x {args.spikes} spikes, amplitudes U[-{args.amplitude}, {args.amplitude}], "
          f"theta {THETA}; qsnn on {threads} numba thread(s) and on 1, the others on 1; best of {args.repeats}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (a busy machine lowers every row)\n")

    cases = [
        ("alexiewicz_norm_batch", lambda a: alexiewicz_norm_batch(times, amps, a), python_norm, numpy_norm,
         quadratic_norm),
        ('quantization_error_batch (mod)', lambda a: quantization_error_batch(times, amps, THETA, a, "mod"),
         python_mod_error, numpy_mod_error, quadratic_mod_error),
    ]
    print("| function | alpha | implementation | spikes/s | s per batch (scaled) | qsnn speed-up |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, fast, py, vec, quad in cases:
        for alpha in (1.0, 0.0):
            fast(alpha)  # compile / warm up
            t_fast, ref = best_time(lambda: fast(alpha), args.repeats)
            rate_fast = n_total / t_fast
            used = threads if n_total >= qsnn.spiketrains._kernels.PARALLEL_MIN_SPIKES and args.batch > qsnn.spiketrains._kernels.BLOCK else 1
            rows = [(f"qsnn (numba, fused, O(N), {used} thread{'s' * (used > 1)})", rate_fast)]
            numba.set_num_threads(1)
            t_one, ref_one = best_time(lambda: fast(alpha), args.repeats)
            numba.set_num_threads(threads)
            np.testing.assert_array_equal(ref_one, ref)  # the thread count changes no bit
            rows.append(("qsnn on 1 thread", n_total / t_one))
            t_vec, out_vec = best_time(lambda: vec(times, amps, alpha), max(1, args.repeats // 2))
            np.testing.assert_allclose(out_vec, ref, rtol=1e-9, atol=1e-9)
            rows.append(("NumPy, vectorised over the batch", n_total / t_vec))
            pr = min(args.python_rows, args.batch)
            t_py, out_py = best_time(lambda: per_row(py, times, amps, alpha, pr), 1)
            np.testing.assert_allclose(out_py, ref[:pr], rtol=1e-9, atol=1e-9)
            rows.append((f"plain Python loop ({pr} rows)", pr * args.spikes / t_py))
            qr = min(args.quadratic_rows, args.batch)
            t_q, out_q = best_time(lambda: per_row(quad, times, amps, alpha, qr), 1)
            np.testing.assert_allclose(out_q, ref[:qr], rtol=1e-9, atol=1e-9)
            rows.append((f"O(N^2) definition ({qr} rows)", qr * args.spikes / t_q))
            for label, rate in rows:
                print(f"| {name} | {alpha:g} | {label} | {rate / 1e6:,.3g} M | {n_total / rate:.3g} | "
                      f"{rate_fast / rate:,.0f}x |")

    print("\nJIT compile time (fresh process; numba's on-disk cache empty, then filled by the first run):\n")
    print("| numba cache | import qsnn (s) | first batched norm + error call (s) |")
    print("| --- | --- | --- |")
    ct = compile_times()
    for label, (imp, first) in ct.items():
        print(f"| {label} | {imp:.2f} | {first:.2f} |")
    cold, cached = ct["cold (empty cache)"][1], ct["cached"][1]
    print(f"\nCached first call is {cold / cached:.0f}x faster than compiling.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
