"""BatchNorm2d (training mode) and the multi-step LIF in one pass per direction on the CPU.

In a conv + BN + LIF block the LIF reads what BatchNorm wrote, and BatchNorm's backward reads what the
LIF's backward wrote. Fused, the normalised current x = gamma (y - mean) / sqrt(var + eps) + beta is
formed inside the LIF kernels from the convolution's output y and never stored; the LIF's backward
kernel also sums, per channel, dL/dx and dL/dx (y - mean), which are all BatchNorm's backward needs
besides one more pass that writes dL/dy. The statistics are taken in float64 in one read of y (each
plane's sum and centred squares while it is in cache, combined per channel), and the running statistics
are updated as ``nn.BatchNorm2d`` does (momentum, or the cumulative average for ``momentum=None``; the
unbiased variance).

Same function as ``lif(bn(y))``, with x rounded once from float64 constants (torch rounds its own
per-channel constants in float32), so a current within an ulp or two of the threshold may fire on one
side and not the other (tests/unit/test_nn.py bounds how often). Used by ``qsnn.models.ConvBNLIF``
in training mode when :func:`can_fuse` holds; eval mode (running statistics) and every other case run
the modules one after the other.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from . import neurons
from . import _lif_kernels as k
from .neurons import LIF

__all__ = ["FUSE_BATCHNORM", "can_fuse", "batchnorm_lif"]

#: Fuse training-mode BatchNorm into the LIF kernels where :func:`can_fuse` allows. False: never.
FUSE_BATCHNORM = True


def can_fuse(bn: nn.Module, lif: nn.Module, y: torch.Tensor) -> bool:
    """Whether ``lif(bn(y))`` (y [T * B, C, H, W]) may run fused: CPU kernels for y, a training-mode
    ``BatchNorm2d`` with affine parameters and running statistics in y's dtype, a :class:`~qsnn.nn.LIF` without a
    calibrated scale, and more than one value per channel."""
    return (
        FUSE_BATCHNORM
        and type(bn) is nn.BatchNorm2d and type(lif) is LIF
        and bn.training and bn.affine and bn.track_running_stats
        and y.ndim == 4 and neurons._use_kernels(y)
        and bn.weight.dtype == y.dtype and bn.running_mean is not None
        and lif.membrane_scale != "calibrated"
        and y.shape[0] * y.shape[2] * y.shape[3] > 1
    )


def batchnorm_lif(y: torch.Tensor, bn: nn.BatchNorm2d, lif: LIF, steps: int) -> torch.Tensor:
    """Spikes [T, B, C, H, W] of ``lif(bn(y))`` for the convolution output y [T * B, C, H, W] (T = steps),
    BatchNorm in training mode: batch statistics, running statistics updated. Requires :func:`can_fuse`."""
    n, c, h, w = y.shape
    y3 = y.contiguous().view(steps, (n // steps) * c, h * w)  # [T, P, HW], P = B * C planes
    neurons._kernel_threads()
    count = n * h * w
    with torch.profiler.record_function("batchnorm_lif_stats"), torch.no_grad():
        mean, var = k.bn_stats(y3.detach().numpy(), c)
        bn.num_batches_tracked.add_(1)
        m = 1.0 / float(bn.num_batches_tracked) if bn.momentum is None else bn.momentum
        rm = torch.from_numpy(mean).to(bn.running_mean.dtype)
        rv = torch.from_numpy(var * count / (count - 1)).to(bn.running_var.dtype)
        bn.running_mean.mul_(1.0 - m).add_(rm, alpha=m)
        bn.running_var.mul_(1.0 - m).add_(rv, alpha=m)
    invstd = 1.0 / np.sqrt(var + bn.eps)
    spikes = _BatchNormLIF.apply(y3, bn.weight, bn.bias, mean, invstd, steps, lif.spec, lif.scale(),
                                 torch.is_grad_enabled())
    return spikes.view(steps, n // steps, c, h, w)


class _BatchNormLIF(torch.autograd.Function):
    """Fused BN + LIF on y3 [T, P, HW]; saves y3 and the per-channel constants, recomputes the rest in
    backward."""

    @staticmethod
    def forward(ctx, y3, weight, bias, mean, invstd, steps, spec, scale, keep):
        dtype = y3.dtype
        float32 = dtype == torch.float32
        y3 = y3.detach()
        w64 = weight.detach().double().numpy()
        alpha64 = w64 * invstd
        alpha = alpha64.astype(_np_dtype(dtype))
        beta = (bias.detach().double().numpy() - mean * alpha64).astype(_np_dtype(dtype))
        spikes = torch.empty_like(y3)
        scales = torch.empty(steps, dtype=dtype)  # the tanh quantizer's scale of each step
        k.kernels(spec.reset, spec.active_quantizer, float32=float32, normalise=True).bn_forward(
            y3.numpy(), spikes.numpy(), scales.numpy(), alpha, beta, k.scalars(spec, scale, float32), k.chunks())
        if keep and any(ctx.needs_input_grad[:3]):
            ctx.save_for_backward(y3, scales)
            ctx.consts = (alpha, beta, mean, invstd, w64)
        ctx.spec, ctx.scale = spec, scale
        return spikes

    @staticmethod
    def backward(ctx, grad_spikes):
        y3, scales = ctx.saved_tensors
        alpha, beta, mean, invstd, w64 = ctx.consts
        dtype = y3.dtype
        float32 = dtype == torch.float32
        g3 = grad_spikes.reshape(y3.shape)
        if not g3.is_contiguous():
            g3 = g3.contiguous()
        grad = torch.empty_like(y3)
        neurons._kernel_threads()
        sum_dx, sum_dx_yc = k.kernels(*ctx.spec.kernel_key, float32=float32, normalise=True).bn_backward(
            y3.numpy(), g3.numpy(), grad.numpy(), scales.numpy(), alpha, beta, mean,
            k.scalars(ctx.spec, ctx.scale, float32), k.chunks())
        count = y3.shape[0] * (y3.shape[1] // alpha.size) * y3.shape[2]  # values per channel: T B H W
        # dL/dy = gamma invstd (dx - mean(dx) - (y - mean) invstd^2 mean(dx (y - mean)))
        k.bn_input_grad(y3.numpy(), grad.numpy(), w64 * invstd, mean, sum_dx / count,
                        invstd * invstd * sum_dx_yc / count)
        grad_w = torch.from_numpy(sum_dx_yc * invstd).to(dtype)
        grad_b = torch.from_numpy(sum_dx).to(dtype)
        return grad, grad_w, grad_b, *([None] * 6)


def _np_dtype(dtype: torch.dtype):
    return np.float32 if dtype == torch.float32 else np.float64
