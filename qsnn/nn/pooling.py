"""Average pooling with CPU kernels: drop-in ``nn.AvgPool2d`` and ``nn.AdaptiveAvgPool2d``.

Both modules are the torch modules (same arguments, ``isinstance`` of them, no state) whose forward
runs ``qsnn.nn._pool_kernels`` where the pooling is a mean over non-overlapping windows: a
contiguous float32/float64 CPU tensor [N, C, H, W] or [C, H, W]; for ``AvgPool2d`` stride = kernel
size, no padding, no ``ceil_mode``, no ``divisor_override``; for ``AdaptiveAvgPool2d`` an output size
other than 1 x 1 that divides the input size. Every other case, and every other device, runs torch's own forward. The
results and gradients equal torch's bit for bit; double backward is not supported on the kernel path.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.autograd.function import once_differentiable

from . import neurons
from ._pool_kernels import window_mean_kernels

__all__ = ["AvgPool2d", "AdaptiveAvgPool2d", "window_mean"]


def _pair(v) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _kernel_input(x: torch.Tensor) -> bool:
    return neurons._use_kernels(x) and x.ndim in (3, 4) and x.is_contiguous()


def window_mean(x: torch.Tensor, kh: int, kw: int, adaptive: bool = False) -> torch.Tensor:
    """Mean of x [..., H, W] over non-overlapping kh x kw windows (stride = window; floor mode) on the
    CPU kernels: ``avg_pool2d(x, (kh, kw))``, or with ``adaptive`` ``adaptive_avg_pool2d`` to
    (H // kh, W // kw), which rounds differently. x must be a contiguous float32/float64 CPU tensor
    with H >= kh and W >= kw."""
    if not _kernel_input(x):
        raise ValueError(f"window_mean needs a contiguous float32/float64 CPU tensor [N, C, H, W] or [C, H, W], "
                         f"got {x.dtype} {tuple(x.shape)} on {x.device}"
                         f"{'' if x.is_contiguous() else ' (not contiguous)'}")
    if not (1 <= kh <= x.shape[-2] and 1 <= kw <= x.shape[-1]):
        raise ValueError(f"window {kh}x{kw} must fit the input's {x.shape[-2]}x{x.shape[-1]} planes")
    return _WindowMean.apply(x, int(kh), int(kw), bool(adaptive))


class _WindowMean(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, kh, kw, adaptive):
        h, w = x.shape[-2:]
        out = x.new_empty(*x.shape[:-2], h // kh, w // kw)
        neurons._kernel_threads()
        forward, _ = window_mean_kernels(kh, kw, adaptive)
        forward(x.detach().reshape(-1, h, w).numpy(), out.view(-1, h // kh, w // kw).numpy())
        ctx.cfg = (kh, kw, adaptive, x.shape)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        kh, kw, adaptive, shape = ctx.cfg
        h, w = shape[-2:]
        g = grad_out.contiguous()
        grad = g.new_empty(shape)
        neurons._kernel_threads()
        _, backward = window_mean_kernels(kh, kw, adaptive)
        backward(g.view(-1, h // kh, w // kw).numpy(), grad.view(-1, h, w).numpy())
        return grad, None, None, None


class AvgPool2d(nn.AvgPool2d):
    """``torch.nn.AvgPool2d`` whose non-overlapping case runs on the CPU kernels (see the module)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kh, kw = _pair(self.kernel_size)
        if (_kernel_input(x) and _pair(self.stride) == (kh, kw) and _pair(self.padding) == (0, 0)
                and not self.ceil_mode and self.divisor_override is None
                and x.shape[-2] >= kh and x.shape[-1] >= kw):
            return _WindowMean.apply(x, kh, kw, False)
        return super().forward(x)


class AdaptiveAvgPool2d(nn.AdaptiveAvgPool2d):
    """``torch.nn.AdaptiveAvgPool2d`` whose case "output size divides input size" runs on the CPU
    kernels (see the module)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if _kernel_input(x):
            h, w = x.shape[-2:]
            oh, ow = _pair(self.output_size)
            oh, ow = (h if oh is None else oh), (w if ow is None else ow)
            # (1, 1) is left to torch, which takes it as a mean (a different order of additions)
            if 0 < oh <= h and 0 < ow <= w and h % oh == 0 and w % ow == 0 and (oh, ow) != (1, 1):
                return _WindowMean.apply(x, h // oh, w // ow, True)
        return super().forward(x)
