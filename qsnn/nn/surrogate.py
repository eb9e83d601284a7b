"""Surrogate gradients of the spike function S = Heaviside(H - V_th).

The forward pass always emits the step; the backward pass replaces its derivative by a smooth
bump of ``x = H - V_th``:

========== ============================================= ==================================
name       dS/dH                                         peer name
========== ============================================= ==================================
triangle   ``max(0, 1 - |x|)`` (Q-SNN default)           SpikingJelly ``PiecewiseQuadratic``-like
sigmoid    ``a sig(a x) (1 - sig(a x))``, a = 4          SpikingJelly ``Sigmoid(alpha=4)``
atan       ``(a/2) / (1 + (pi a x / 2)^2)``, a = 2       SpikingJelly ``ATan(alpha=2)``, snnTorch ``atan``
========== ============================================= ==================================
"""

from __future__ import annotations

import math

import torch

from .lifspec import SURROGATES

__all__ = ["SURROGATES", "surrogate_grad", "check_surrogate"]

SIGMOID_ALPHA = 4.0
ATAN_ALPHA = 2.0


def check_surrogate(name) -> str:
    """Validate a surrogate name; raises ValueError listing the allowed names."""
    if name not in SURROGATES:
        raise ValueError(f"surrogate must be one of {', '.join(map(repr, SURROGATES))}, got {name!r}")
    return name


def surrogate_grad(x: torch.Tensor, name: str = "triangle") -> torch.Tensor:
    """dS/dH of the named surrogate at ``x = H - V_th`` (same shape as x).

    Raises
    ------
    ValueError
        Unknown name.
    """
    check_surrogate(name)
    if name == "triangle":
        return torch.clamp(1.0 - x.abs(), min=0.0)
    if name == "sigmoid":
        s = torch.sigmoid(SIGMOID_ALPHA * x)
        return SIGMOID_ALPHA * s * (1.0 - s)
    c = math.pi / 2 * ATAN_ALPHA
    return (ATAN_ALPHA / 2) / (1.0 + (c * x) ** 2)
