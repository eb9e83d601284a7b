"""The cost of starting: the first training step and the first evaluation of a new process against steady ones.

The small network (``qsnn.models.build("small")``, widths 16-32-64, binary hidden weights, 2-bit
membranes) at 1x28x28 (Fashion-MNIST's size), T = 4, B = 64, two threads. Each measurement runs in a
fresh Python process, ``--processes`` of them one after the other: the first may compile and fill
numba's disk cache, the later ones show what every further ``python -m qsnn.train`` pays. Per process:
the first step (forward, loss, backward, SGD), the median of the next ``--repeats`` steps, the first
evaluation (eval mode, ``torch.no_grad()``) and the median of the next evaluations.

numba's own start (its compiler's registries, loaded once per process on the first compiled call, about
the same for any kernel) is timed on its own first, with a one-line cached function, so that the first
step shows what qsnn's kernels cost; the first step's ratio with numba's start included is printed too.

Usage: ``python benchmarks/bench_first_step.py [--processes 2] [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from numba import njit

ROOT = Path(__file__).resolve().parents[1]


@njit(cache=True)
def _one(x):
    return x + 1


def _numba_start() -> float:
    """Seconds of the first call of a trivial cached numba function (numba's start-up in this process)."""
    t0 = time.perf_counter()
    _one(0)
    return time.perf_counter() - t0


def measure(repeats: int) -> dict:
    """Times (s) of one process: numba's start, first and steady training step, first and steady evaluation."""
    import torch

    numba_start = _numba_start()

    from qsnn import models

    torch.set_num_threads(2)
    torch.manual_seed(0)
    net = models.build("small", 10, 1, membrane_bits=2, widths=(16, 32, 64))
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    x = torch.rand(4, 64, 1, 28, 28)
    y = torch.randint(0, 10, (64,))

    def step():
        t0 = time.perf_counter()
        logits = net(x)
        loss = torch.nn.functional.cross_entropy(logits.mean(0), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return time.perf_counter() - t0

    def evaluate():
        t0 = time.perf_counter()
        net.eval()
        with torch.no_grad():
            net(x)
        net.train()
        return time.perf_counter() - t0

    first_step = step()
    steady_step = statistics.median(step() for _ in range(repeats))
    first_eval = evaluate()
    steady_eval = statistics.median(evaluate() for _ in range(repeats))
    return {"numba_start": numba_start, "first_step": first_step, "steady_step": steady_step, "first_eval": first_eval,
            "steady_eval": steady_eval}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(measure(args.repeats)))
        return
    print(f"{'process':>8} {'numba start':>12} {'first step':>11} {'steady step':>12} {'ratio':>6} {'(+start)':>9} "
          f"{'first eval':>11} {'steady eval':>12} {'ratio':>6}")
    for k in range(1, args.processes + 1):
        out = subprocess.run([sys.executable, __file__, "--child", "--repeats", str(args.repeats)],
                             check=True, capture_output=True, text=True, cwd=ROOT).stdout
        r = json.loads(out.strip().splitlines()[-1])
        ratio_start = (r["numba_start"] + r["first_step"]) / r["steady_step"]
        print(f"{k:>8} {r['numba_start']:>11.2f}s {r['first_step']:>10.2f}s {r['steady_step']:>11.3f}s "
              f"{r['first_step'] / r['steady_step']:>6.1f} {ratio_start:>9.1f} {r['first_eval']:>10.2f}s {r['steady_eval']:>11.3f}s {r['first_eval'] / r['steady_eval']:>6.1f}")


if __name__ == "__main__":
    main()
