"""One training step of the project's own networks with qsnn's LIF and with the peers' LIFs swapped in.

What a user runs: forward, cross-entropy over every time step, backward, SGD (momentum 0.9), on a fresh
random input batch every step, ``torch.set_num_threads(2)`` by default. Networks (``qsnn.models.build``,
binary hidden weights, 8-bit first conv and readout):

* ``small``: widths 16-32-64 at 1x28x28, T = 4, B = 64;
* ``vgg11``: VGG-11 at 3x32x32, T = 2, B = 16.

Each network runs with qsnn's LIF at several membrane settings (2-bit, 8-bit and full precision; the
uniform and the authors' tanh quantizer), and with every ``qsnn.nn.LIF`` replaced by SpikingJelly's
multi-step ``LIFNode`` (hard reset, ``decay_input=False``, tau 2, torch backend) or snnTorch's ``Leaky``
(beta 0.5, reset "zero"): the same recursion H = 0.5 U + I in the same network. The peers do not
quantize the membrane, so each network has one row per peer.

The row "BN + LIF at no cost" is the ceiling: every conv-BatchNorm-LIF stage's BatchNorm and LIF replaced
by a threshold (x > 0, one read and one write) whose backward passes the gradient through without work.
The convolutions, pooling, readout, loss and optimizer are the network's own, so the faster peer's time
over this row's is the largest ratio any LIF could reach in that network. Under each table: the
convolutions' and linear layers' floating-point work per step against a large matrix product's rate on
the same threads, and the epoch each step time gives.

Time: the median of ``--repeats`` steps per variant after warm-up. The variants are interleaved (one
step of each in turn) so that load from other processes hits all of them alike; ``uptime`` is printed
before and after. Peak memory: in a fresh process per variant, the peak resident set size during one
step minus the resident size just before it (after one unwatched step; glibc told to unmap freed blocks
of 64 KiB or more so that the resident size follows the live tensors). LIF share: the fraction of a
profiled step (``torch.profiler``, 3 steps) spent in qsnn's LIF forward and backward; where BatchNorm is
fused into the LIF kernels (``qsnn.nn.fused``, training mode on the CPU) that time includes BatchNorm's,
and the row "2-bit, BN unfused" gives the LIF alone.
Ratios are against the faster peer of the same network (> 1: qsnn is faster).

Usage: ``python benchmarks/bench_train_step.py [--repeats 15] [--threads 2] [--networks small vgg11]``.
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
for p in (ROOT, ROOT / "benchmarks"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from bench_lif import SnnTorchLIF, SpikingJellyLIF, peak_rss_increase  # noqa: E402

NETWORKS = {
    # name: (model, widths, input shape [C, H, W], T, B)
    "small": ("small", (16, 32, 64), (1, 28, 28), 4, 64),
    "vgg11": ("vgg11", None, (3, 32, 32), 2, 16),
}
#: training images of one epoch at each network's input size (Fashion-MNIST, CIFAR-10)
EPOCH_IMAGES = {"small": 60_000, "vgg11": 50_000}
#: qsnn membrane settings: label -> (membrane_bits, membrane_quantizer)
MEMBRANES = {
    "2-bit": (2, "uniform"),
    "8-bit": (8, "uniform"),
    "fp": (None, "uniform"),
    "2-bit tanh": (2, "tanh"),
    "8-bit tanh": (8, "tanh"),
    # the same without BatchNorm fused into the LIF kernels (qsnn.nn.fused): what the LIF alone gains
    "2-bit, BN unfused": (2, "uniform"),
}
PEERS = {"SpikingJelly": SpikingJellyLIF, "snnTorch": SnnTorchLIF}
#: the same network with BatchNorm and the LIF as cheap as spikes can be: what no LIF can beat
CEILING = "BN + LIF at no cost"


class _ThresholdSTE(torch.autograd.Function):
    """Spikes x > 0 in one read and one write; the gradient passes through untouched (no work)."""

    @staticmethod
    def forward(ctx, x):
        return x.gt(0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad


class FreeSpikes(torch.nn.Module):
    """Stands in for BatchNorm + LIF in the ceiling variant: the convolutions, pooling, readout, loss and
    optimizer stay as they are and see 0/1 spikes, so their cost is the network's own."""

    def forward(self, x):
        return _ThresholdSTE.apply(x)


def variants(network: str, membranes) -> list[str]:
    return [f"{network}|qsnn {m}" for m in membranes] + [f"{network}|{p}" for p in PEERS] + [f"{network}|{CEILING}"]


def build(variant: str):
    """(model, optimizer, make_batch) of one variant, seeded."""
    from qsnn import models
    from qsnn.nn import LIF

    network, impl = variant.split("|")
    name, widths, shape, steps, batch = NETWORKS[network]
    torch.manual_seed(0)
    if impl.startswith("qsnn "):
        bits, quantizer = MEMBRANES[impl[len("qsnn "):]]
    else:
        bits, quantizer = None, "uniform"
    net = models.build(name, 10, shape[0], membrane_bits=bits, membrane_quantizer=quantizer, widths=widths)
    if impl in PEERS:
        for module in list(net.modules()):
            for child_name, child in module.named_children():
                if isinstance(child, LIF):
                    setattr(module, child_name, PEERS[impl]())
    if impl == CEILING:
        for stage in net.modules():
            if isinstance(stage, models.ConvBNLIF):
                stage.bn, stage.lif = torch.nn.Identity(), FreeSpikes()
        if any(isinstance(m, LIF) for m in net.modules()):
            raise ValueError(f"{network}: a LIF outside ConvBNLIF has no no-cost stand-in")
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    g = torch.Generator().manual_seed(1)

    def make_batch():
        x = torch.rand(steps, batch, *shape, generator=g)
        y = torch.randint(0, 10, (batch,), generator=g)
        return x, y

    unfused = impl.endswith("BN unfused")

    def step(x, y):
        from qsnn.nn import fused

        saved, fused.FUSE_BATCHNORM = fused.FUSE_BATCHNORM, fused.FUSE_BATCHNORM and not unfused
        try:
            logits = net(x)
            loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), y.repeat(steps))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        finally:
            fused.FUSE_BATCHNORM = saved

    return net, step, make_batch


def memory_of(variant: str) -> float:
    """Peak RSS increase (MiB) of one training step, in this (fresh) process."""
    _, step, make_batch = build(variant)
    step(*make_batch())
    x, y = make_batch()
    return peak_rss_increase(lambda: step(x, y))


def _memory_in_subprocess(variant: str, threads: int) -> float:
    out = subprocess.run(
        [sys.executable, __file__, "--memory-of", variant, "--threads", str(threads)],
        check=True, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "MALLOC_MMAP_THRESHOLD_": "65536"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["mib"]


#: profiler names of qsnn's LIF, and of the LIF with BatchNorm fused into it, forward and backward
LIF_EVENTS = ("_LIFFunction", "_LIFFunctionBackward", "_BatchNormLIF", "_BatchNormLIFBackward")


def lif_share(variant: str, steps: int = 3) -> float:
    """Fraction of profiled step time spent in qsnn's LIF (forward + backward; with BatchNorm where it is
    fused into the LIF, plus the batch statistics, which run outside the autograd function)."""
    from torch.profiler import ProfilerActivity, profile

    _, step, make_batch = build(variant)
    for _ in range(2):
        step(*make_batch())
    batches = [make_batch() for _ in range(steps)]
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        t0 = time.perf_counter()
        for x, y in batches:
            step(x, y)
        total = time.perf_counter() - t0
    lif = sum(e.cpu_time_total for e in prof.key_averages() if e.key in LIF_EVENTS + ("batchnorm_lif_stats",))
    return lif * 1e-6 / total


def matmul_flops(variant: str) -> float:
    """Floating-point operations of one training step's convolutions and linear layers: the forward
    product, the weight gradient, and the input gradient wherever the input requires one (all but the
    first layer), 2 per multiply-add; counted from the layers' shapes in one forward pass."""
    net, _, make_batch = build(variant)
    total = [0.0]

    def count(module, inputs, out):
        x = inputs[0]
        if isinstance(module, torch.nn.Conv2d):
            kh, kw = module.kernel_size
            macs = out.numel() * module.in_channels // module.groups * kh * kw
        else:
            macs = out.numel() * module.in_features
        total[0] += 2 * macs * (3 if x.requires_grad else 2)

    hooks = [m.register_forward_hook(count) for m in net.modules()
             if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    try:
        net(make_batch()[0])
    finally:
        for h in hooks:
            h.remove()
    return total[0]


def gemm_rate(n: int = 2048, repeats: int = 5) -> float:
    """FLOP/s of an n x n x n float32 matrix product on torch's threads: what dense arithmetic reaches
    on this machine."""
    g = torch.Generator().manual_seed(2)
    a, b = torch.rand(n, n, generator=g), torch.rand(n, n, generator=g)
    a @ b
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    return 2 * n ** 3 / statistics.median(times)


def bound_lines(network: str, times) -> str:
    """What the ceiling row means: the step's dense arithmetic against the machine's matrix-product rate,
    and the epoch the step times give."""
    batch = NETWORKS[network][4]
    ceiling = times[f"{network}|{CEILING}"]
    flops = matmul_flops(f"{network}|{CEILING}")
    rate = gemm_rate()
    per_epoch = -(-EPOCH_IMAGES[network] // batch)
    best_qsnn = min(t for v, t in times.items() if v.startswith(f"{network}|qsnn "))
    return (
        f"\nconvolutions + linear layers: {flops / 1e9:.2f} GFLOP per step (forward and gradients); "
        f"at the ceiling step ({ceiling * 1e3:.1f} ms) {flops / ceiling / 1e9:.0f} GFLOP/s; a 2048^3 float32 "
        f"matrix product on these threads: {rate / 1e9:.0f} GFLOP/s, so that arithmetic alone takes at least "
        f"{flops / rate * 1e3:.1f} ms a step.\n"
        f"one epoch ({EPOCH_IMAGES[network]:,} images, {per_epoch} steps of B = {batch}): fastest qsnn row "
        f"{best_qsnn * per_epoch:.0f} s, the ceiling {ceiling * per_epoch:.0f} s, the arithmetic at the matrix-product "
        f"rate {flops / rate * per_epoch:.0f} s."
    )


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "load " + " ".join(f"{v:.2f}" for v in os.getloadavg())


def measure_times(names, repeats: int, warmup: int = 2) -> dict[str, float]:
    """Median step time per variant, the variants interleaved step by step."""
    runs = {v: build(v) for v in names}
    times = {v: [] for v in names}
    for r in range(warmup + repeats):
        for v in names:
            _, step, make_batch = runs[v]
            x, y = make_batch()
            t0 = time.perf_counter()
            step(x, y)
            dt = time.perf_counter() - t0
            if r >= warmup:
                times[v].append(dt)
    return {v: statistics.median(ts) for v, ts in times.items()}


def table(network: str, times, mems, shares) -> str:
    name, widths, shape, steps, batch = NETWORKS[network]
    peer = min(times[f"{network}|{p}"] for p in PEERS)
    lines = [
        f"\n{network}: {name} {'-'.join(map(str, widths)) if widths else ''} at {'x'.join(map(str, shape))}, "
        f"T = {steps}, B = {batch} (faster peer {peer * 1e3:.1f} ms)\n",
        "| LIF | step (ms, median) | peer time / time | peak memory (MiB) | LIF share of step |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for v, t in times.items():
        if not v.startswith(network + "|"):
            continue
        share = f"{shares[v] * 100:.0f} %" if v in shares else "-"
        lines.append(f"| {v.split('|')[1]} | {t * 1e3:.1f} | {peer / t:.2f} | {mems.get(v, float('nan')):.1f} | {share} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=15, help="timed steps per variant (median reported)")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--networks", nargs="+", default=list(NETWORKS), choices=list(NETWORKS))
    p.add_argument("--membranes", nargs="+", default=list(MEMBRANES), choices=list(MEMBRANES),
                   help="qsnn membrane settings to run")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    p.add_argument("--memory-of", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.memory_of:
        print(json.dumps({"mib": memory_of(args.memory_of)}))
        return 0
    import numba

    print(f"torch {torch.__version__}, numba {numba.__version__}, {args.threads} threads, "
          f"{args.repeats} repeats, {os.cpu_count()} CPUs")
    for network in args.networks:
        names = variants(network, args.membranes)
        print(f"\n[{network}] before: {uptime()}", flush=True)
        times = measure_times(names, args.repeats)
        print(f"[{network}] after:  {uptime()}", flush=True)
        shares = {v: lif_share(v) for v in names if "|qsnn" in v}
        mems = {} if args.no_memory else {v: _memory_in_subprocess(v, args.threads) for v in names}
        print(table(network, times, mems, shares), flush=True)
        print(bound_lines(network, times), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
