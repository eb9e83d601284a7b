"""Measuring a model: test accuracy, loss and per-layer firing rates (:func:`evaluate`), and the sign
balance of its binary weights (:func:`sign_balance`).

Prediction is the argmax of the readout's mean over the T time steps. Firing rates are the mean spike
count per neuron and step of every spiking layer, in depth order, weighted by samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from ..data import to_time_first
from ..nn import binary_layers
from .runtime import sum_across

__all__ = ["EvalResult", "evaluate", "firing_rates", "predict", "sign_balance"]


@dataclass
class EvalResult:
    """Test-set metrics: accuracy in [0, 1], mean loss (CE mean over T), per-layer firing rates."""

    accuracy: float
    loss: float
    rates: list[float]
    count: int


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: Iterable,
    time_steps: int,
    device: str | torch.device = "cpu",
    *,
    all_reduce: bool = False,
) -> EvalResult:
    """Accuracy, loss and per-layer firing rates of ``model`` on ``loader``.

    Parameters
    ----------
    model : torch.nn.Module
        Follows the models' contract: ``model(x, return_rates=True)`` with x [T, B, C, H, W]
        returns (logits [T, B, K], rates). Put in eval mode for the pass, then restored.
    loader : iterable of (x, y)
        Batches [B, C, H, W] (static) or [B, T, C, H, W] (temporal), labels [B].
    time_steps : int
        T.
    device : str or torch.device
    all_reduce : bool
        Sum the counts over all processes of an initialised process group (each evaluates its
        own shard of the test set).

    Returns
    -------
    EvalResult
        Prediction = argmax of the logits' mean over T; rates are sample-weighted means.
    """
    device = torch.device(device)
    was_training = model.training
    model.eval()
    stats = None
    try:
        for x, y in loader:
            x = to_time_first(x.to(device, non_blocking=True), time_steps)
            y = y.to(device, non_blocking=True)
            logits, rates = model(x, return_rates=True)
            b = y.shape[0]
            ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.repeat(logits.shape[0]))
            correct = (logits.mean(0).argmax(-1) == y).sum()
            row = torch.stack(
                [ce.double() * b, correct.double(), torch.tensor(float(b), device=device, dtype=torch.float64)]
                + [r.detach().double() * b for r in rates]
            )
            stats = row if stats is None else stats + row
    finally:
        model.train(was_training)
    if stats is None:
        raise ValueError("the loader yielded no batches")
    stats = sum_across(stats, all_reduce).tolist()
    n = stats[2]
    return EvalResult(
        accuracy=stats[1] / n, loss=stats[0] / n, rates=[s / n for s in stats[3:]], count=int(n)
    )


def firing_rates(
    model: nn.Module, loader: Iterable, time_steps: int, device: str | torch.device = "cpu"
) -> list[float]:
    """Per-spiking-layer mean firing rate (depth order) of ``model`` over ``loader``."""
    return evaluate(model, loader, time_steps, device).rates


@torch.no_grad()
def predict(
    model: nn.Module, loader: Iterable, time_steps: int, device: str | torch.device = "cpu"
) -> torch.Tensor:
    """Predicted class of every sample of ``loader`` in order (argmax of the readout's mean over T).

    Returns
    -------
    torch.Tensor
        int64 [N] on the CPU; the model is in eval mode for the pass, then restored.
    """
    device = torch.device(device)
    was_training = model.training
    model.eval()
    out = []
    try:
        for x, _ in loader:
            x = to_time_first(x.to(device, non_blocking=True), time_steps)
            out.append(model(x).mean(0).argmax(-1).cpu())
    finally:
        model.train(was_training)
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.int64)


def _entropy_bits(p: float) -> float:
    """H(p) = -p log2 p - (1-p) log2(1-p), with 0 log 0 = 0."""
    return -sum(q * math.log2(q) for q in (p, 1.0 - p) if q > 0.0)


@torch.no_grad()
def sign_balance(model: nn.Module) -> list[float]:
    """Entropy in bits of the binarised weight signs of every binary layer (depth order).

    For a layer whose forward pass uses the weights ``s_c * (+-1)``, with a fraction p of them +1,
    the value is H(p): 1 bit when +1 and -1 are equally frequent (what WS-DR's per-filter
    standardisation aims at), 0 when all signs agree. Empty for a model without binary layers.
    """
    out = []
    for layer in binary_layers(model):
        w = layer.quantized_weight()
        p = (w > 0).double().mean().item() if w.numel() else 0.5
        out.append(_entropy_bits(p))
    return out
