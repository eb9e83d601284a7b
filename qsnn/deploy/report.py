"""Measurements of a packed Q-SNN: what every byte of its file is, how far the engine agrees with
PyTorch, what it counts in operations, and how fast it runs.

The energy figures are the customary 45 nm estimates (Horowitz, "Computing's energy problem", ISSCC
2014): 0.9 pJ per 32-bit floating-point add (an accumulate), 4.6 pJ per 32-bit multiply-accumulate
(3.7 pJ multiply + 0.9 pJ add). They are estimates of arithmetic only: memory traffic, which dominates
real chips, is not in them.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from ..data import to_time_first
from ..models import spiking_layers
from .engine import PackedModel
from .format import HEADER, header_fields, read_packed

__all__ = ["AC_PJ", "MAC_PJ", "READOUT_TOLERANCE", "anatomy", "anatomy_summary", "agreement",
           "first_layer_spikes", "operation_counts", "throughput"]

AC_PJ = 0.9
MAC_PJ = 4.6
READOUT_TOLERANCE = 1e-4
"""A readout difference between the engine and PyTorch larger than this is no float rounding of the readout's
sums (those stay below 1e-5 for the book's networks): some spike of the image differs."""


def _kind(name: str) -> str:
    suffix = name.rsplit(".", 1)[-1]
    return {"signs": "binary weights (1 bit each)", "exponent": "power-of-two scales (int8 exponents)",
            "weight": "8-bit weights (first conv, readout)", "scale": "scales of the 8-bit weights (float32)",
            "gain": "folded BatchNorm (float32 gain, offset)", "offset": "folded BatchNorm (float32 gain, offset)",
            "bias": "readout bias (float32)"}.get(suffix, "other")


def anatomy(path) -> list[dict]:
    """Every region of a packed file, in file order: ``{"offset", "bytes", "region", "what"}``."""
    path = Path(path)
    data = path.read_bytes()
    h = header_fields(data, str(path))
    rows = [{"offset": 0, "bytes": 8, "region": "magic", "what": repr(h["magic"])},
            {"offset": 8, "bytes": 2, "region": "version", "what": str(h["version"])},
            {"offset": 10, "bytes": 2, "region": "reserved", "what": "0"},
            {"offset": 12, "bytes": 4, "region": "manifest length", "what": str(h["manifest_bytes"])},
            {"offset": 16, "bytes": 4, "region": "payload length", "what": str(h["payload_bytes"])},
            {"offset": 20, "bytes": 4, "region": "CRC-32", "what": f"{h['crc32']:#010x}"},
            {"offset": HEADER, "bytes": h["manifest_bytes"], "region": "manifest",
             "what": "JSON: layers, LIF options, array table"}]
    _, arrays = read_packed(path)
    start = HEADER + h["manifest_bytes"]
    offset = start
    for name, a in arrays.items():
        rows.append({"offset": offset, "bytes": a.nbytes, "region": name,
                     "what": f"{_kind(name)}: {a.dtype} {list(a.shape)}"})
        offset += a.nbytes
    return rows


def anatomy_summary(path) -> dict:
    """Bytes of a packed file by kind (header, manifest, binary weights, scales, ...) and in all."""
    out: dict[str, int] = {}
    for row in anatomy(path):
        if row["offset"] < HEADER:
            key = "header"
        elif row["region"] == "manifest":
            key = "manifest"
        else:
            key = _kind(row["region"])
        out[key] = out.get(key, 0) + row["bytes"]
    out["total"] = Path(path).stat().st_size
    return out


def agreement(model, packed: PackedModel, dataset, time_steps: int, *, batch_size: int = 250,
              limit: int | None = None, threads: int = 2) -> dict:
    """The engine against the PyTorch model on ``dataset`` (a map-style data set of (x [C, H, W], y)).

    Returns ``count``, ``same_prediction`` (how many images get the same class), ``torch_accuracy``,
    ``engine_accuracy``, ``max_abs_readout_diff`` (over all steps, images, classes), ``could_change``:
    images whose PyTorch margin (best minus second mean readout) is at most twice that difference, the
    only ones whose prediction a difference of that size can change; ``readout_differs``: images whose
    readouts differ by more than :data:`READOUT_TOLERANCE` somewhere (where a spike differs), with
    ``readout_differs_index`` (their indices); and ``disagreeing`` (indices of differing predictions).
    """
    n = len(dataset) if limit is None else min(int(limit), len(dataset))
    same = correct_t = correct_e = 0
    worst = 0.0
    bad, differs = [], []
    model = model.eval()
    margins = []
    with torch.no_grad():
        for start in range(0, n, batch_size):
            idx = range(start, min(n, start + batch_size))
            xs, ys = zip(*(dataset[i] for i in idx))
            x = to_time_first(torch.stack(list(xs)), time_steps)
            y = np.asarray(ys)
            ref = model(x).numpy()
            out = packed(x.numpy(), threads=threads)
            per_image = np.abs(out - ref).max(axis=(0, 2))
            worst = max(worst, float(per_image.max()))
            differs += [start + int(i) for i in np.flatnonzero(per_image > READOUT_TOLERANCE)]
            pt, pe = ref.mean(0).argmax(1), out.mean(0).argmax(1)
            same += int((pt == pe).sum())
            correct_t += int((pt == y).sum())
            correct_e += int((pe == y).sum())
            bad += [start + int(i) for i in np.flatnonzero(pt != pe)]
            top2 = np.sort(ref.mean(0), axis=1)[:, -2:]
            margins.append(top2[:, 1] - top2[:, 0])
    margins = np.concatenate(margins) if margins else np.zeros(0)
    could = int((margins <= 2 * worst).sum())
    return {"count": n, "same_prediction": same, "torch_accuracy": correct_t / max(n, 1),
            "engine_accuracy": correct_e / max(n, 1), "max_abs_readout_diff": worst, "could_change": could,
            "smallest_margin": float(margins.min()) if margins.size else None, "disagreeing": bad,
            "readout_differs": len(differs), "readout_differs_index": differs}


def first_layer_spikes(model, packed: PackedModel, x: np.ndarray, *, threads: int = 2) -> dict:
    """The spikes of the first LIF layer, the engine's against PyTorch's, on x [T, B, C, H, W].

    The first layer sums float products (8-bit weights times the analog image) in another order than PyTorch's
    convolution, so a current within a rounding of the threshold, or of a membrane level's boundary, can fire
    in one and not in the other; every layer after it sums exactly. Returns ``neuron_steps`` (the layer's
    neurons times steps times images), ``differ`` (how many of them differ) and ``differ_per_step`` (a count
    per time step).

    Raises
    ------
    ValueError
        If the first binary convolution reads pooled counts rather than the first layer's spikes.
    """
    x = np.ascontiguousarray(x, dtype=np.float32)
    lifs = spiking_layers(model)
    if not lifs:
        raise ValueError("the model has no LIF layer")
    captured: list = []
    handle = lifs[0].register_forward_hook(lambda _m, _i, out: captured.append(out.detach().numpy()))
    try:
        with torch.no_grad():
            model.eval()(torch.from_numpy(x))
    finally:
        handle.remove()
    packed(x[:, :1], threads=threads)  # validation of x, the threads and compilation
    trace: list = []
    packed.forward(x, trace=trace)
    _, spikes, divisor = trace[0]
    if divisor != 1:
        raise ValueError("the first binary convolution reads pooled spike counts, not the first layer's spikes")
    engine = spikes.transpose(0, 1, 4, 2, 3)  # [T, B, H, W, C] -> PyTorch's [T, B, C, H, W]
    reference = captured[0]
    if reference.shape != engine.shape:
        raise ValueError(f"the first LIF layer's spikes are {reference.shape} in PyTorch, {engine.shape} in the "
                         f"engine")
    differ = reference.astype(np.uint8) != engine
    return {"neuron_steps": int(differ.size), "differ": int(differ.sum()),
            "differ_per_step": [int(v) for v in differ.reshape(differ.shape[0], -1).sum(axis=1)]}


def _window_sums(nz: np.ndarray, k: int, stride: int, pad: int) -> np.ndarray:
    """Sums of ``nz`` [N, H, W] over the k x k windows of a convolution (zero padding, stride)."""
    from numpy.lib.stride_tricks import sliding_window_view

    p = np.pad(nz, ((0, 0), (pad, pad), (pad, pad)))
    return sliding_window_view(p, (k, k), axis=(1, 2))[:, ::stride, ::stride].sum(axis=(-1, -2))


def operation_counts(packed: PackedModel, x: np.ndarray, *, threads: int = 2) -> dict:
    """Operations per sample of the engine on x [T, B, C, H, W], against the same network as a
    full-precision ANN (one pass, every product a multiply-accumulate).

    Per binary layer: ``accumulates`` = the (non-zero input, weight) pairs the layer adds up, summed over
    T (what a spike-driven chip executes: one add of +-scale per pair); ``dense_macs`` = the products of
    the same layer in one dense pass. The first convolution and the readout multiply (MACs): the first
    once per sample when all frames are the same image, the readout at every step. Energies in pJ with
    :data:`AC_PJ` and :data:`MAC_PJ` (estimates, see the module docstring).
    """
    trace: list = []
    steps, batch = x.shape[:2]
    packed(x[:, :1], threads=threads)  # validation of x and compilation, outside the trace
    packed.forward(np.asarray(x, dtype=np.float32), trace=trace)
    layers = []
    h, w = x.shape[3], x.shape[4]
    first = packed.layers[0][1]
    ho, wo = first.out_size(h, w)
    first_macs = ho * wo * first.cout * first.k ** 2 * first.cin
    same = steps > 1 and bool(np.all(x == x[:1]))
    layers.append({"name": first.name, "kind": "int8 conv (MAC)", "macs": first_macs * (1 if same else steps),
                   "dense_macs": first_macs, "accumulates": 0, "input_events": None})
    for conv, a, divisor in trace:
        t, b, hh, ww, c = a.shape
        nz = (a > 0).reshape(t * b, hh, ww, c).sum(axis=-1, dtype=np.int64)
        acc = int(_window_sums(nz, conv.k, conv.stride, conv.padding).sum()) * conv.cout
        ho, wo = conv.out_size(hh, ww)
        dense = ho * wo * conv.cout * conv.k ** 2 * conv.cin
        layers.append({"name": conv.name, "kind": "binary conv (AC)", "accumulates": acc / b,
                       "dense_macs": dense, "macs": 0, "input_events": float((a > 0).sum()) / b})
    fc = packed.fc_in * packed.num_classes
    layers.append({"name": "readout", "kind": "int8 linear (MAC)", "macs": fc * steps, "dense_macs": fc,
                   "accumulates": 0, "input_events": None})
    acs = sum(r["accumulates"] for r in layers)
    macs = sum(r["macs"] for r in layers)
    dense = sum(r["dense_macs"] for r in layers)
    return {"time_steps": steps, "layers": layers, "accumulates": acs, "macs": macs, "ann_macs": dense,
            "energy_pj": acs * AC_PJ + macs * MAC_PJ, "ann_energy_pj": dense * MAC_PJ,
            "fp_snn_energy_pj": dense * steps * MAC_PJ}


def throughput(packed: PackedModel, model, x: np.ndarray, *, repeats: int = 5, threads: int = 2) -> dict:
    """Median seconds of the engine and of PyTorch fp32 inference (eval, ``no_grad``) of ``model`` on the
    same x [T, B, C, H, W], interleaved, after one warm-up each; ``ratio`` = torch / engine."""
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    model = model.eval()
    try:
        with torch.no_grad():
            model(xt)
            packed(x, threads=threads)
            te, tt = [], []
            for _ in range(repeats):
                t0 = time.perf_counter()
                packed(x, threads=threads)
                te.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                model(xt)
                tt.append(time.perf_counter() - t0)
    finally:
        torch.set_num_threads(old)
    e, t = float(np.median(te)), float(np.median(tt))
    samples = x.shape[1]
    return {"engine_s": e, "torch_s": t, "ratio": t / e, "engine_samples_per_s": samples / e,
            "torch_samples_per_s": samples / t, "batch": samples, "threads": threads, "repeats": repeats}
