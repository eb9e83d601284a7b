"""The training objective of Wei et al. (Q-SNNs, WS-DR), the optimiser's parameter groups, and the
EDE annealing schedule.

Loss ``L = (1/T) sum_t CE(O[t], y) + lambda_sr * L_SR``: the cross-entropy of the readout at every
time step, averaged over T, plus the spike-activity half of the paper's weight-spike dual regulation,
``L_SR`` = mean over the inner spiking layers of ``(r_l - 0.5)^2``, a quadratic approximation of the
entropy deficit ``ln 2 - H(r_l)`` of a layer firing at rate r_l (the entropy of a binary variable is
largest, 1 bit, at p = 1/2). lambda_sr = 5e-3, SGD with momentum 0.9, lr 0.1 and weight decay 1e-4 on
weights only follow the authors' public code (github.com/Wenjie-Wei/Q-SNN).
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..nn import spike_rate_loss

__all__ = ["LossParts", "qsnn_loss", "param_groups", "ede_progress", "EDE_SCHEDULES"]


class LossParts(NamedTuple):
    """The training loss and its two parts (scalar tensors)."""

    total: torch.Tensor
    ce: torch.Tensor
    sr: torch.Tensor


def qsnn_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    rates: Sequence[torch.Tensor],
    lambda_sr: float,
    sr_target: float = 0.5,
) -> LossParts:
    """Q-SNN loss ``L = (1/T) sum_t CE(O[t], y) + lambda_sr * L_SR`` (Wei et al., WS-DR).

    Parameters
    ----------
    logits : torch.Tensor
        O, [T, B, K], the readout at every time step.
    targets : torch.Tensor
        y, [B] class indices.
    rates : sequence of torch.Tensor
        Per-spiking-layer mean firing rates r_l (scalars, depth order), as returned by
        ``model(x, return_rates=True)``.
    lambda_sr : float
        Weight of L_SR (0: the regulariser is computed for logging but does not contribute).
    sr_target : float
        Target rate of L_SR (0.5).

    Returns
    -------
    LossParts
        ``total``, ``ce`` = (1/T) sum_t CE(O[t], y) with CE the batch mean, ``sr`` = L_SR from
        ``qsnn.nn.spike_rate_loss(rates, target=sr_target, exclude_first_last=True)``.
    """
    if logits.ndim != 3 or targets.ndim != 1 or logits.shape[1] != targets.shape[0]:
        raise ValueError(
            f"logits must be [T, B, K] and targets [B], got {tuple(logits.shape)} and "
            f"{tuple(targets.shape)}"
        )
    t = logits.shape[0]
    # Every step has the same B samples, so the mean over T*B equals (1/T) sum_t (batch mean).
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.repeat(t))
    sr = spike_rate_loss(list(rates), target=sr_target, exclude_first_last=True)
    sr = torch.as_tensor(sr, dtype=ce.dtype, device=ce.device)
    total = ce + lambda_sr * sr if lambda_sr else ce
    return LossParts(total, ce, sr)


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """SGD parameter groups: decay on weights with >= 2 dimensions, none on BN params and biases.

    Returns
    -------
    list of dict
        ``[{"params": decayed, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0}]``
        (empty groups are left out).
    """
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (decay if p.ndim >= 2 else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return [g for g in groups if g["params"]]


EDE_SCHEDULES = ("log_up", "endpoints")


def ede_progress(epoch: int, epochs: int, schedule: str = "log_up") -> float:
    """Training progress p in [0, 1) or [0, 1] that sets the EDE estimator's t for ``epoch`` (0-based).

    ``qsnn.nn.set_ede_progress`` turns p into ``t = 10**(-1 + 2 p)``, the sign gradient's sharpness of
    IR-Net's EDE (Qin et al., CVPR 2020) that Q-SNNs adopts.

    * ``"log_up"`` (the authors' code, ``Log_UP`` in github.com/Wenjie-Wei/Q-SNN): ``p = epoch / epochs``,
      so t runs from 0.1 in the first epoch to ``10**(1 - 2/epochs)`` in the last (4.6 at 6 epochs,
      3.2 at 4); it reaches 10 only in the limit of many epochs.
    * ``"endpoints"``: ``p = epoch / (epochs - 1)``, so the last epoch trains at t = 10 exactly (a
      single-epoch run uses p = 0). The book's digits and event chapters were trained with it.
    """
    if schedule not in EDE_SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(map(repr, EDE_SCHEDULES))}, got {schedule!r}")
    if schedule == "log_up":
        return min(max(epoch / epochs, 0.0), 1.0)
    return 0.0 if epochs <= 1 else min(max(epoch / (epochs - 1), 0.0), 1.0)
