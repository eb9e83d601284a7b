"""Speed and memory of the multi-step LIF layer (qsnn.nn.LIF) against snnTorch and SpikingJelly.

Cases (all float32 on the CPU, ``torch.set_num_threads(2)`` by default):

* LIF layer, forward + backward of T = 8 steps, B = 64, 8192 neurons, hard reset, decay 0.5,
  threshold 1: qsnn (full-precision membrane; 8-bit uniform; 8-bit tanh), snnTorch ``Leaky``
  (``beta=0.5, reset_mechanism="zero"``, stepped in a Python loop as its API requires) and
  SpikingJelly ``LIFNode`` (``tau=2, decay_input=False, v_reset=0``, multi-step mode, torch
  backend), which compute the same recursion H = 0.5 U + I. Surrogates: qsnn triangle,
  snnTorch ``triangular``, SpikingJelly its default sigmoid.
* Each case twice: on one reused input and output gradient, and with a fresh input and gradient
  every call (as in training, where every step's tensors are new and cold in cache).
* qsnn's forward and backward timed apart against the memory bound of the same bytes, measured in
  the same run: the forward reads the input and writes the spikes (``x.clone()`` moves the same
  bytes), the backward reads the input and the gradient and writes the input gradient
  (``torch.add(x, g)``), both on torch's threads into freshly allocated outputs as the layer does.
* Training steps of whole networks are in ``bench_train_step.py``.

Time: median over ``--repeats`` runs after warm-up (``time.perf_counter``). Memory: every case
runs again in a fresh subprocess, once unwatched (loading compiled kernels and lazy imports),
then once watched; the number is the peak resident set size during that forward + backward
minus the resident size just before it, with glibc told to give every block of 64 KiB or more
back to the system when it is freed (``MALLOC_MMAP_THRESHOLD_=65536``) so that the resident size
follows the live tensors (Linux ``/proc/self/status`` VmHWM
after resetting it through ``/proc/self/clear_refs``; ``resource.ru_maxrss`` where that is not
available), i.e. what the pass itself allocated at its peak, inputs excluded. tracemalloc does not
see torch's allocations, so it is not used. Ratios are against the faster peer of each group.

Usage: ``python benchmarks/bench_lif.py [--repeats 20] [--threads 2]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

T, B, N = 8, 64, 8192
SMALL_T, SMALL_B = 4, 64

LAYER_CASES = ["qsnn", "qsnn-2bit-uniform", "qsnn-8bit-uniform", "qsnn-8bit-tanh", "snntorch", "spikingjelly"]


# ---------------------------------------------------------------------------------------------
# the neurons


class SnnTorchLIF(torch.nn.Module):
    """snnTorch Leaky over [T, ...] (a Python loop over steps, as snnTorch's API is per step)."""

    def __init__(self):
        super().__init__()
        import snntorch as snn
        from snntorch import surrogate

        self.leaky = snn.Leaky(beta=0.5, threshold=1.0, reset_mechanism="zero",
                               spike_grad=surrogate.triangular())

    def forward(self, x):
        mem = self.leaky.init_leaky()
        out = []
        for t in range(x.shape[0]):
            spk, mem = self.leaky(x[t], mem)
            out.append(spk)
        return torch.stack(out)


class SpikingJellyLIF(torch.nn.Module):
    """SpikingJelly LIFNode, multi-step, torch backend, state reset after every call."""

    def __init__(self):
        super().__init__()
        from spikingjelly.activation_based import neuron

        kwargs = dict(tau=2.0, decay_input=False, v_threshold=1.0, v_reset=0.0, step_mode="m")
        try:
            self.node = neuron.LIFNode(backend="torch", **kwargs)
        except TypeError:  # versions whose LIFNode has no backend argument run torch only
            self.node = neuron.LIFNode(**kwargs)

    def forward(self, x):
        self.node.reset()
        return self.node(x)


def make_layer(case):
    from qsnn.nn import LIF

    if case == "qsnn":
        return LIF()
    if case == "qsnn-2bit-uniform":
        return LIF(membrane_bits=2)
    if case == "qsnn-8bit-uniform":
        return LIF(membrane_bits=8)
    if case == "qsnn-8bit-tanh":
        return LIF(membrane_bits=8, membrane_quantizer="tanh")
    if case == "snntorch":
        return SnnTorchLIF()
    if case == "spikingjelly":
        return SpikingJellyLIF()
    raise ValueError(case)


# ---------------------------------------------------------------------------------------------
# one measured unit of work per case


def setup(case, fresh=False):
    """Return a closure doing one forward + backward of the layer (a new input and gradient per call
    when ``fresh``; they are made before the closure's clock starts, see :func:`measure_time`)."""
    g = torch.Generator().manual_seed(0)
    layer = make_layer(case)

    def data():
        return (torch.rand(T, B, N, generator=g) * 1.5).requires_grad_(), torch.rand(T, B, N, generator=g)

    fixed = data()

    def prepare():
        return data() if fresh else fixed

    def run(x, grad):
        x.grad = None
        layer(x).backward(grad)

    return prepare, run


def _rss_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(field)


def peak_rss_increase(work) -> float:
    """Peak RSS increase (MiB) while ``work()`` runs once in this process (VmHWM after resetting it
    through /proc/self/clear_refs; ru_maxrss where /proc is missing)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current RSS
        before = _rss_kib("VmRSS")
        work()
        peak = _rss_kib("VmHWM")
    except OSError:
        import resource

        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        work()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return (peak - before) / 1024


def measure_memory(case) -> float:
    """Peak RSS increase (MiB) of one unit of work, measured in this (fresh) process.

    One unwatched run first loads what every implementation loads once (compiled kernels,
    lazily imported modules); the second run is measured.
    """
    prepare, run = setup(case)
    x, grad = prepare()
    run(x, grad)
    return peak_rss_increase(lambda: run(x, grad))


def _median_time(prepare, run, repeats, warmup=3) -> float:
    times = []
    for i in range(warmup + repeats):
        args = prepare()
        t0 = time.perf_counter()
        run(*args)
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure_time(case, repeats, fresh=False) -> float:
    return _median_time(*setup(case, fresh), repeats)


def memory_bound(case, repeats) -> dict[str, float]:
    """qsnn's forward and backward timed apart, and the plain passes over the same bytes."""
    g = torch.Generator().manual_seed(1)
    layer = make_layer(case)

    def fresh():
        return (torch.rand(T, B, N, generator=g) * 1.5).requires_grad_(), torch.rand(T, B, N, generator=g)

    def forward_only(x, grad):
        layer(x)

    state = {}

    def prepare_backward():
        x, grad = fresh()
        state["out"] = layer(x)
        return x, grad

    def backward_only(x, grad):
        state.pop("out").backward(grad)

    return {
        "forward": _median_time(fresh, forward_only, repeats),
        "backward": _median_time(prepare_backward, backward_only, repeats),
        "bound forward": _median_time(fresh, lambda x, grad: x.detach().clone(), repeats),
        "bound backward": _median_time(fresh, lambda x, grad: torch.add(x.detach(), grad), repeats),
    }


def _memory_in_subprocess(case, threads) -> float:
    out = subprocess.run(
        [sys.executable, __file__, "--memory-of", case, "--threads", str(threads)],
        check=True, capture_output=True, text=True,
        # a fixed mmap threshold makes glibc map every block >= 64 KiB on its own and unmap it
        # when freed, so the resident size follows the live tensors instead of the heap's high water
        env={**os.environ, "PYTHONPATH": str(ROOT), "MALLOC_MMAP_THRESHOLD_": "65536"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["mib"]


def table(title, rows, reference):
    ref_t = min(rows[c][0] for c in reference)
    ref_f = min(rows[c][1] for c in reference)
    ref_m = min(rows[c][2] for c in reference)
    lines = [f"\n{title} (against the faster peer: {ref_t * 1e3:.2f} ms reused, {ref_f * 1e3:.2f} ms fresh; "
             f"lowest peer memory {ref_m:.1f} MiB)\n",
             "| implementation | reused input (ms) | peer / this | fresh input (ms) | peer / this | peak memory (MiB) | memory / peer |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for case, (t, f, m) in rows.items():
        lines.append(f"| {case} | {t * 1e3:.2f} | {ref_t / t:.2f} | {f * 1e3:.2f} | {ref_f / f:.2f} | {m:.1f} | {m / ref_m:.2f} |")
    return "\n".join(lines)


def bound_table(rows):
    lines = ["\nqsnn forward and backward apart (fresh input), against a plain pass over the same bytes\n",
             "| case | forward (ms) | bound (ms) | forward / bound | backward (ms) | bound (ms) | backward / bound |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for case, r in rows.items():
        lines.append(f"| {case} | {r['forward'] * 1e3:.2f} | {r['bound forward'] * 1e3:.2f} | "
                     f"{r['forward'] / r['bound forward']:.2f} | {r['backward'] * 1e3:.2f} | "
                     f"{r['bound backward'] * 1e3:.2f} | {r['backward'] / r['bound backward']:.2f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=20, help="timed runs per case (median reported)")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--memory-of", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.memory_of:
        print(json.dumps({"mib": measure_memory(args.memory_of)}))
        return 0
    print(f"torch {torch.__version__}, {args.threads} threads, {args.repeats} repeats")
    print(f"before: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}", flush=True)
    layer_rows = {c: (measure_time(c, args.repeats), measure_time(c, args.repeats, fresh=True),
                      _memory_in_subprocess(c, args.threads)) for c in LAYER_CASES}
    bounds = {c: memory_bound(c, args.repeats) for c in LAYER_CASES if c.startswith("qsnn")}
    print(f"after:  {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    print(table(f"LIF layer forward + backward, T = {T}, B = {B}, {N} neurons", layer_rows,
                ["snntorch", "spikingjelly"]))
    print(bound_table(bounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
