"""A small stand-in for ``qsnn.models`` / ``qsnn.nn`` that honours their contract, so the
training loop is tested on its own: ``build(name, num_classes, in_channels, ...)`` returning a
model with ``model(x [T, B, C, H, W], return_rates=False)`` -> logits [T, B, K] (and per-layer
rates), ``spike_rate_loss`` and ``set_ede_progress``."""

from __future__ import annotations

import sys
import types

import torch
from torch import nn


class _Spike(torch.autograd.Function):
    """Heaviside step with the triangle surrogate max(0, 1 - |h|) of the spec."""

    @staticmethod
    def forward(ctx, h):
        ctx.save_for_backward(h)
        return (h > 0).to(h.dtype)

    @staticmethod
    def backward(ctx, grad):
        (h,) = ctx.saved_tensors
        return grad * torch.clamp(1.0 - h.abs(), min=0.0)


class _LIF(nn.Module):
    def __init__(self, decay: float, threshold: float):
        super().__init__()
        self.decay, self.threshold = decay, threshold

    def forward(self, current):  # [T, B, ...]
        u = torch.zeros_like(current[0])
        out = []
        for i_t in current:
            h = self.decay * u + i_t
            s = _Spike.apply(h - self.threshold)
            u = h * (1.0 - s)
            out.append(s)
        return torch.stack(out)


class TinySNN(nn.Module):
    """conv-BN-LIF, conv-BN-LIF, pool, FC-LIF, FC readout at every step."""

    def __init__(self, num_classes, in_channels, widths=(8, 16), decay=0.5, threshold=1.0):
        super().__init__()
        w0, w1 = widths
        self.conv1 = nn.Conv2d(in_channels, w0, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(w0)
        self.conv2 = nn.Conv2d(w0, w1, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(w1)
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.fc1 = nn.Linear(w1 * 4, 32)
        self.bn3 = nn.BatchNorm1d(32)
        self.fc = nn.Linear(32, num_classes)
        self.lifs = nn.ModuleList(_LIF(decay, threshold) for _ in range(3))
        self.ede_progress = None

    def forward(self, x, return_rates=False):
        t, b = x.shape[:2]
        rates = []

        def per_step(f, z):
            y = f(z.flatten(0, 1))
            return y.view(t, b, *y.shape[1:])

        s = self.lifs[0](per_step(lambda z: self.bn1(self.conv1(z)), x))
        rates.append(s.mean())
        s = self.lifs[1](per_step(lambda z: self.pool(self.bn2(self.conv2(z))), s))
        rates.append(s.mean())
        s = self.lifs[2](per_step(lambda z: self.bn3(self.fc1(z.flatten(1))), s))
        rates.append(s.mean())
        logits = per_step(self.fc, s)
        return (logits, rates) if return_rates else logits


def build(name, num_classes, in_channels, weight_bits=1, membrane_bits=8, decay=0.5,
          threshold=1.0, reset="zero", weight_regulation=True, estimator="ede",
          membrane_quantizer="uniform", surrogate="triangle", widths=None, input_size=None):
    """Contract-compatible builder; every name gives the same tiny network."""
    if name not in ("vgg11", "resnet19", "resnet18", "vggsnn", "small"):
        raise ValueError(f"unknown model {name!r}")
    return TinySNN(num_classes, in_channels, tuple(widths or (8, 16)), decay, threshold)


def spike_rate_loss(rates, target=0.5, exclude_first_last=True):
    """Mean of (r_l - target)^2 over the layers (first and last excluded)."""
    sel = list(rates[1:-1]) if exclude_first_last else list(rates)
    if not sel:
        return torch.zeros(())
    return torch.stack([(r - target) ** 2 for r in sel]).mean()


def set_ede_progress(model, p):
    """Record the EDE progress on the model (the stand-in has no binary layers)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got {p!r}")
    model.ede_progress = p


def modules() -> dict[str, types.ModuleType]:
    """The stand-in ``qsnn.models`` and ``qsnn.nn`` modules."""
    models = types.ModuleType("qsnn.models")
    models.build = build
    nn_mod = types.ModuleType("qsnn.nn")
    nn_mod.spike_rate_loss = spike_rate_loss
    nn_mod.set_ede_progress = set_ede_progress
    return {"qsnn.models": models, "qsnn.nn": nn_mod}


def install() -> None:
    """Put the stand-ins into ``sys.modules`` (for subprocess entry points)."""
    sys.modules.update(modules())
