"""The time axis of a batch: static frames repeated T times, temporal batches brought time-first."""

from __future__ import annotations

import torch

from .._core.validation import check_int

__all__ = ["repeat_time", "to_time_first"]


def repeat_time(x: torch.Tensor, time_steps: int) -> torch.Tensor:
    """Repeat a static batch along a new leading time axis (direct encoding).

    Parameters
    ----------
    x : torch.Tensor
        [B, ...] static input.
    time_steps : int
        T >= 1.

    Returns
    -------
    torch.Tensor
        [T, B, ...], contiguous (a copy, so models may ``view`` it freely): every step sees the
        same frame, and the first conv + BN + LIF layer turns it into spikes.

    Raises
    ------
    ValueError
        If ``time_steps`` is not an integer >= 1.
    """
    check_int("time_steps", time_steps, min=1)
    return x.unsqueeze(0).repeat(time_steps, *([1] * x.ndim))


def to_time_first(x: torch.Tensor, time_steps: int, static_ndim: int = 4) -> torch.Tensor:
    """Bring a loader batch into the time-first layout [T, B, ...] the models expect.

    Parameters
    ----------
    x : torch.Tensor
        A batch from a loader: [B, C, H, W] for static images (``x.ndim == static_ndim``), or
        [B, T, C, H, W] for temporal samples (``x.ndim == static_ndim + 1``).
    time_steps : int
        T. Static batches are repeated T times; temporal batches must already have T steps.
    static_ndim : int
        Number of dimensions of a static batch (4 for images).

    Returns
    -------
    torch.Tensor
        [T, B, C, H, W].

    Raises
    ------
    ValueError
        If ``x`` has another number of dimensions, or a temporal batch has a different T.
    """
    if x.ndim == static_ndim:
        return repeat_time(x, time_steps)
    if x.ndim == static_ndim + 1:
        if x.shape[1] != time_steps:
            raise ValueError(
                f"temporal batch has {x.shape[1]} time steps, but time_steps={time_steps}"
            )
        return x.transpose(0, 1).contiguous()
    raise ValueError(
        f"batch must be [B, C, H, W] (static) or [B, T, C, H, W] (temporal), got shape "
        f"{tuple(x.shape)}"
    )
