"""Speed and memory of the multi-step LIF layer (qsnn.nn.LIF) against snnTorch and SpikingJelly.

Cases (all float32 on the CPU, ``torch.set_num_threads(2)`` by default):

* LIF layer, forward + backward of T = 8 steps, B = 64, 8192 neurons, hard reset, decay 0.5,
  threshold 1: qsnn (full-precision membrane; 8-bit uniform; 8-bit tanh), snnTorch ``Leaky``
  (``beta=0.5, reset_mechanism="zero"``, stepped in a Python loop as its API requires) and
  SpikingJelly ``LIFNode`` (``tau=2, decay_input=False, v_reset=0``, multi-step mode, torch
  backend), which compute the same recursion H = 0.5 U + I. Surrogates: qsnn triangle,
  snnTorch ``triangular``, SpikingJelly its default sigmoid.
* One training step (forward, loss, backward, SGD) of the small Q-SNN (8-16-32, digits shape
  1x8x8, T = 4, B = 64) with its LIF layers as built, and with every LIF replaced by the two peers.

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

LAYER_CASES = ["qsnn", "qsnn-8bit-uniform", "qsnn-8bit-tanh", "snntorch", "spikingjelly"]
NET_CASES = ["net-qsnn", "net-qsnn-fp-membrane", "net-snntorch", "net-spikingjelly"]


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
    if case == "qsnn-8bit-uniform":
        return LIF(membrane_bits=8)
    if case == "qsnn-8bit-tanh":
        return LIF(membrane_bits=8, membrane_quantizer="tanh")
    if case == "snntorch":
        return SnnTorchLIF()
    if case == "spikingjelly":
        return SpikingJellyLIF()
    raise ValueError(case)


def make_net(case):
    from qsnn import models
    from qsnn.nn import LIF

    net = models.build("small", 10, 1, membrane_bits=None if case == "net-qsnn-fp-membrane" else 8)
    peer = {"net-snntorch": SnnTorchLIF, "net-spikingjelly": SpikingJellyLIF}.get(case)
    if peer is not None:
        for module in list(net.modules()):
            for name, child in module.named_children():
                if isinstance(child, LIF):
                    setattr(module, name, peer())
    return net


# ---------------------------------------------------------------------------------------------
# one measured unit of work per case


def setup(case):
    """Return a closure doing one forward + backward (layers) or one training step (nets)."""
    g = torch.Generator().manual_seed(0)
    if case in LAYER_CASES:
        layer = make_layer(case)
        x = (torch.rand(T, B, N, generator=g) * 1.5).requires_grad_()
        grad = torch.rand(T, B, N, generator=g)

        def run():
            x.grad = None
            layer(x).backward(grad)

        return run
    net = make_net(case)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    x = torch.rand(SMALL_T, SMALL_B, 1, 8, 8, generator=g)
    y = torch.randint(0, 10, (SMALL_B,), generator=g)

    def run():
        logits = net(x)
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), y.repeat(SMALL_T))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return run


def _rss_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(field)


def measure_memory(case) -> float:
    """Peak RSS increase (MiB) of one unit of work, measured in this (fresh) process.

    One unwatched run first loads what every implementation loads once (compiled kernels,
    lazily imported modules); the second run is measured.
    """
    run = setup(case)
    run()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current RSS
        before = _rss_kib("VmRSS")
        run()
        peak = _rss_kib("VmHWM")
    except OSError:
        import resource

        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        run()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return (peak - before) / 1024


def measure_time(case, repeats, warmup=3) -> float:
    run = setup(case)
    for _ in range(warmup):
        run()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


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
    ref_m = min(rows[c][1] for c in reference)
    lines = [f"\n{title} (ratios against the faster peer: {ref_t * 1e3:.2f} ms, lowest peer memory {ref_m:.1f} MiB)\n",
             "| implementation | time (ms, median) | time / peer | peak memory (MiB) | memory / peer |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for case, (t, m) in rows.items():
        lines.append(f"| {case} | {t * 1e3:.2f} | {t / ref_t:.2f} | {m:.1f} | {m / ref_m:.2f} |")
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
    layer_rows = {c: (measure_time(c, args.repeats), _memory_in_subprocess(c, args.threads)) for c in LAYER_CASES}
    print(table(f"LIF layer forward + backward, T = {T}, B = {B}, {N} neurons", layer_rows,
                ["snntorch", "spikingjelly"]))
    net_rows = {c: (measure_time(c, max(5, args.repeats // 2)), _memory_in_subprocess(c, args.threads))
                for c in NET_CASES}
    print(table(f"Small net training step, T = {SMALL_T}, B = {SMALL_B}, 1x8x8", net_rows,
                ["net-snntorch", "net-spikingjelly"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
