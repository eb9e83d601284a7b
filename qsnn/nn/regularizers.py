"""Spike-activity regulation of WS-DR (Wei et al., Q-SNNs, ACM MM 2024: the spike-rate term of the
Weight-Spike Dual Regulation loss)."""

from __future__ import annotations

from typing import Sequence

import torch

from .._core.validation import check_real

__all__ = ["spike_rate_loss"]


def spike_rate_loss(
    rates: Sequence[torch.Tensor], target: float = 0.5, exclude_first_last: bool = True
) -> torch.Tensor:
    """L_SR = mean over layers of ``(r_l - target)**2`` (the spike-rate regulation of WS-DR).

    ``(r - 1/2)^2`` is the quadratic approximation of the entropy deficit ``ln 2 - H(r)`` of a
    layer whose neurons fire with rate r: the regulariser pulls every layer towards the rate at
    which a spike carries the most information.

    Parameters
    ----------
    rates : sequence of scalar tensors
        r_l, the mean firing rate of each spiking layer in depth order (as returned by
        ``model(x, return_rates=True)``), differentiable.
    target : float
        Target rate in [0, 1] (0.5).
    exclude_first_last : bool
        Leave out the first (encoding) and the last recorded spiking layer (the Q-SNN recipe).

    Returns
    -------
    torch.Tensor
        Scalar; 0 when no layer remains.

    Raises
    ------
    ValueError
        If target is outside [0, 1] or a rate is not a scalar.
    """
    target = check_real("target", target, min=0.0, max=1.0)
    rates = list(rates)
    for i, r in enumerate(rates):
        if not isinstance(r, torch.Tensor) or r.numel() != 1:
            raise ValueError(f"rates[{i}] must be a scalar tensor, got {r!r}")
    chosen = rates[1:-1] if exclude_first_last else rates
    if not chosen:
        ref = rates[0] if rates else None
        return torch.zeros((), dtype=ref.dtype if ref is not None else torch.float32,
                           device=ref.device if ref is not None else None)
    return torch.stack([(r.reshape(()) - target) ** 2 for r in chosen]).mean()
