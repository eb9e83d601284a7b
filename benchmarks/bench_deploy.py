"""Throughput of the packed engine (``qsnn.deploy``) against PyTorch fp32 inference of the same model.

Networks, each exported with ``qsnn.deploy.export`` and run by the engine from its packed file, against
the PyTorch model it came from in eval mode under ``torch.no_grad()`` (fp32; its binary and 8-bit
weights are fake-quantized floats), on the same input, interleaved call by call, with the same number
of threads for both:

- a committed Fashion-MNIST Q-SNN, chapter 8's WS-DR network with the hard reset (slim VGG-11, 8 LIF layers,
  4-bit membranes, T = 4),
  on the first test images, batch 250 (``--batch``);
- VGG-11 at CIFAR-10 scale (3x32x32, widths 64..512, 2-bit membranes, T = 2), built untrained (its
  BatchNorm statistics set so that the layers spike), batch 16 (``--vgg-batch``).

Prints the median seconds per batch, images per second and the ratio "PyTorch time / engine time"
(> 1: the engine is faster), and the predictions' agreement on the timed batch.

Run: ``python benchmarks/bench_deploy.py [--threads 2 --repeats 5]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from qsnn.deploy import export, load  # noqa: E402
from qsnn.deploy.report import throughput  # noqa: E402


def fashion_case(batch: int):
    from qsnn.data import load_dataset, to_time_first
    from qsnn.experiments import load_run

    run = load_run(ROOT / "book" / "experiments" / "fashion_mnist_resets" / "zero" / "seed0")
    test = load_dataset("fashion_mnist", None, "test")
    x = to_time_first(torch.stack([test[i][0] for i in range(batch)]), run.config.time_steps).numpy()
    return "Fashion-MNIST Q-SNN (slim VGG-11, 1x28x28, T = 4, 4-bit)", run.model, x


def vgg_case(batch: int):
    from qsnn.models import build

    torch.manual_seed(0)
    model = build("vgg11", num_classes=10, in_channels=3, membrane_bits=2).eval()
    with torch.no_grad():  # untrained BatchNorm statistics would leave the layers silent or saturated
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_var.fill_(m.num_features * 9.0)
                m.bias.fill_(0.6)
    x = np.random.default_rng(0).normal(size=(2, batch, 3, 32, 32)).astype(np.float32)
    return "VGG-11 (3x32x32, T = 2, 2-bit, untrained)", model, x


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch", type=int, default=250)
    ap.add_argument("--vgg-batch", type=int, default=16)
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, model, x in (fashion_case(args.batch), vgg_case(args.vgg_batch)):
            packed = load(export(model, Path(tmp) / "model.qsnn", overwrite=True))
            r = throughput(packed, model, x, repeats=args.repeats, threads=args.threads)
            with torch.no_grad():
                same = float(np.mean(packed.predict(x, threads=args.threads)
                                     == model(torch.from_numpy(x)).mean(0).argmax(1).numpy()))
            rows.append((label, x.shape[1], r, same))
    print(f"\n{args.threads} threads, median of {args.repeats} interleaved calls after one warm-up each\n")
    print("| network | batch | PyTorch fp32 (s) | engine (s) | PyTorch img/s | engine img/s | "
          "PyTorch time / engine time | same prediction |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, batch, r, same in rows:
        print(f"| {label} | {batch} | {r['torch_s']:.3f} | {r['engine_s']:.3f} | {r['torch_samples_per_s']:.0f} | "
              f"{r['engine_samples_per_s']:.0f} | {r['ratio']:.2f} | {100 * same:.1f} % |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
