"""The multi-step leaky integrate-and-fire layer of Q-SNNs (Wei et al., ACM MM 2024).

Per time step t, with I[t] the input current and U[-1] = 0::

    H[t] = decay * U[t-1] + I[t]                     (charge)
    S[t] = spike(H[t])                               (fire)
    U[t] = Q_b(reset(H[t], S[t]))                    (reset, then store with b bits)

Resets (the names of Part I's event-driven quantizer, ``qsnn.lif``):

========== ======================================= ===================== ==========================
reset      S[t], U[t] before quantization           snnTorch              SpikingJelly
========== ======================================= ===================== ==========================
"zero"     S = 1[H > V_th], U = H (1 - S)           ``reset_mechanism=    ``v_reset=0.0`` (hard)
           (hard reset; Q-SNN default)              "zero"``
"subtract" S = 1[H > V_th], U = H - V_th S          ``reset_mechanism=    ``v_reset=None`` (soft)
                                                    "subtract"``
"mod"      S = floor(H / V_th) if H >= V_th else    no equivalent         no equivalent
           0 (an integer count), U = H - V_th S
========== ======================================= ===================== ==========================

(snnTorch's ``Leaky`` computes ``U = beta U + I - reset`` with the reset of the previous step, i.e.
the reset is delayed by one step unless ``reset_delay=False``; SpikingJelly's ``LIFNode`` with
``decay_input=False`` and ``tau = 1 / (1 - decay)`` matches "zero"/"subtract" here exactly.)

Differences to Part I's ``qsnn.lif``: Part I is two-sided (negative potentials fire negative
spikes of amplitude -theta, here negative potentials never fire) and fires at ``|u| >= theta``
(here ``H > V_th`` for "zero"/"subtract", as in the authors' code; equality has measure zero). On
non-negative inputs at unit spacing, ``decay = exp(-alpha)`` and Part I's output amplitudes
divided by theta equal S[t] here.

The whole sequence runs in one fused :class:`torch.autograd.Function` (BPTT through the membrane,
through the reset unless ``detach_reset``, straight through the quantizer's round). On the CPU
(float32/float64) both directions run as numba kernels, one compiled kernel per reset, quantizer and
surrogate, parallel over blocks of neurons on torch's number of threads
(``qsnn.nn._lif_kernels``); they save only the input and recompute H in backward. Elsewhere the
layer runs as a loop of torch operations over T that saves H. Both compute the same numbers (the
float32 tanh of the kernels is a rational approximation within a few ulp of torch's). Without
gradients (``torch.no_grad()``, ``torch.inference_mode()``) nothing is saved.
"""

from __future__ import annotations

import os

import torch
from torch import nn

from .._core.resets import RESETS
from .._core.validation import check_real
from . import _lif_kernels as k
from .lifspec import LIFSpec
from .surrogate import surrogate_grad

__all__ = ["RESETS", "LIF", "LIFSpec", "lif_multistep"]


def _fire_reset(h: torch.Tensor, threshold: float, reset: str):
    """(S, U before quantization) for one step."""
    if reset == "mod":
        s = torch.floor(h / threshold).clamp_(min=0.0)
        return s, h - threshold * s
    s = (h > threshold).to(h.dtype)
    if reset == "zero":
        return s, h * (1.0 - s)
    return s, h - threshold * s


def _quantize_state(u: torch.Tensor, n: int, quantizer: str, scale: float) -> torch.Tensor:
    """Q_b of the stored state without autograd (the LIF function supplies the gradient)."""
    if quantizer == "tanh":
        u = torch.tanh(u)
        m = u.abs().amax()
        scale = torch.where(m > 0, m, torch.ones_like(m))
        return torch.round(u / scale * n).mul_(scale / n)
    return torch.round(torch.clamp(u / scale, -1.0, 1.0) * n).mul_(scale / n)


def _quantizer_grad(u: torch.Tensor, quantizer: str, scale: float) -> torch.Tensor:
    """dQ/du of the straight-through quantizer (clip kept, round passed through)."""
    if quantizer == "tanh":  # scale = max |tanh u| is detached, so only tanh' remains
        return 1.0 - torch.tanh(u) ** 2
    return (u.abs() <= scale).to(u.dtype)


#: Use the numba kernels for CPU float32/float64 tensors. False forces the torch path everywhere.
USE_KERNELS = True


def _use_kernels(x: torch.Tensor) -> bool:
    return USE_KERNELS and x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64) and x.numel() > 0


def _kernel_threads() -> None:
    """Run numba's parallel blocks on as many threads as torch's intra-op pool has.

    numba's threads run on its "workqueue" layer unless NUMBA_THREADING_LAYER says otherwise: its
    OpenMP layer is a second OpenMP runtime next to torch's, and the two runtimes' spinning threads
    made every torch operation of a training step about 10x slower on two cores
    (benchmarks/bench_train_step.py).
    """
    import numba

    if "NUMBA_THREADING_LAYER" not in os.environ and numba.config.THREADING_LAYER == "default":
        numba.config.THREADING_LAYER = "workqueue"
    numba.set_num_threads(max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS)))


def _flat(x: torch.Tensor) -> torch.Tensor:
    """x as a C-contiguous [T, N] view (a copy only if x is not contiguous already)."""
    return x.detach().reshape(x.shape[0], -1).contiguous()


def _forward_kernel(x2: torch.Tensor, spec: LIFSpec, scale: float):
    spikes = torch.empty_like(x2)
    scales = torch.empty(x2.shape[0], dtype=x2.dtype)
    float32 = x2.dtype == torch.float32
    _kernel_threads()
    k.kernels(spec.reset, spec.active_quantizer, float32=float32).forward(
        x2.numpy(), spikes.numpy(), scales.numpy(), k.scalars(spec, scale, float32), k.chunks())
    return spikes, scales


def _backward_kernel(x2: torch.Tensor, scales: torch.Tensor, grad: torch.Tensor, spec: LIFSpec, scale: float):
    g2 = grad.reshape(x2.shape)
    if not g2.is_contiguous():
        g2 = g2.contiguous()
    grad_x = torch.empty_like(x2)
    float32 = x2.dtype == torch.float32
    _kernel_threads()
    k.kernels(*spec.kernel_key, float32=float32).backward(
        x2.numpy(), g2.numpy(), grad_x.numpy(), scales.numpy(), k.scalars(spec, scale, float32), k.chunks())
    return grad_x


class _LIFFunction(torch.autograd.Function):
    """Fused multi-step LIF: forward over all T steps, BPTT in backward.

    Arguments: x [T, ...], the layer's :class:`LIFSpec`, the uniform quantizer's current scale (the
    spec's, or a calibrated layer's running one) and whether a backward pass may follow.

    On the CPU kernels only the input (and for the tanh quantizer one scale per step) is saved and H
    is recomputed in backward; the torch path saves H. Without a gradient to compute (``no_grad``,
    ``inference_mode``, an input that does not require grad) nothing is saved.
    """

    @staticmethod
    def forward(ctx, x, spec: LIFSpec, scale: float, keep: bool):
        keep = keep and ctx.needs_input_grad[0]
        ctx.spec, ctx.scale = spec, scale
        ctx.kernel = _use_kernels(x)
        ctx.shape = x.shape
        if ctx.kernel:
            x2 = _flat(x)
            spikes, scales = _forward_kernel(x2, spec, scale)
            if keep:
                ctx.save_for_backward(x2, scales)
            return spikes.view(x.shape)
        decay, threshold, reset, n = spec.decay, spec.threshold, spec.reset, spec.levels
        spikes = torch.empty_like(x)
        hs = torch.empty_like(x) if keep else None
        u = None
        for t in range(x.shape[0]):
            if u is None:
                h = x[0].clone() if hs is None else hs[0].copy_(x[0])
            elif hs is None:
                h = torch.add(x[t], u, alpha=decay)
            else:
                h = torch.add(x[t], u, alpha=decay, out=hs[t])
            if reset == "zero" and not n:
                fired = h > threshold
                spikes[t].copy_(fired)
                u = h.masked_fill(fired, 0.0)
                continue
            s, u = _fire_reset(h, threshold, reset)
            spikes[t].copy_(s)
            if n:
                u = _quantize_state(u, n, spec.quantizer, scale)
        if keep:
            ctx.save_for_backward(hs)
        return spikes

    @staticmethod
    def backward(ctx, grad_spikes):
        spec, scale = ctx.spec, ctx.scale
        if ctx.kernel:
            x2, scales = ctx.saved_tensors
            grad_x = _backward_kernel(x2, scales, grad_spikes, spec, scale)
            return grad_x.view(ctx.shape), None, None, None
        decay, threshold, reset = spec.decay, spec.threshold, spec.reset
        (hs,) = ctx.saved_tensors
        grad_x = torch.empty_like(hs)
        g_u = None  # dL/dU[t], from step t + 1
        for t in range(hs.shape[0] - 1, -1, -1):
            h = hs[t]
            sg = surrogate_grad(h - threshold, spec.surrogate)
            g = grad_x[t]
            if g_u is None:  # the last step's state influences nothing
                torch.mul(grad_spikes[t], sg, out=g)
            else:
                s, u_pre = _fire_reset(h, threshold, reset)
                g_pre = g_u * _quantizer_grad(u_pre, spec.quantizer, scale) if spec.levels else g_u
                # dU_pre/dS: -H for the hard reset, -V_th for subtract and mod
                if spec.detach_reset:
                    g_s = grad_spikes[t]
                elif reset == "zero":
                    g_s = grad_spikes[t] - g_pre * h
                else:
                    g_s = grad_spikes[t] - threshold * g_pre
                torch.mul(g_s, sg, out=g)
                # dU_pre/dH: (1 - S) for the hard reset, 1 otherwise
                if reset == "zero":
                    g.addcmul_(g_pre, 1.0 - s)
                else:
                    g.add_(g_pre)
            g_u = g * decay
        return grad_x, None, None, None


def lif_multistep(
    x: torch.Tensor,
    decay: float = 0.5,
    threshold: float = 1.0,
    reset: str = "zero",
    membrane_bits: int | None = None,
    membrane_quantizer: str = "uniform",
    membrane_scale: float | None = None,
    surrogate: str = "triangle",
    detach_reset: bool = False,
    *,
    spec: LIFSpec | None = None,
) -> torch.Tensor:
    """Run the LIF recursion of :class:`LIF` over x [T, ...] and return the spikes [T, ...].

    The functional form of :class:`LIF` (same parameters, ``membrane_scale`` a number or None
    for the threshold), or of a :class:`LIFSpec` given as ``spec`` (then the other settings are not
    read); the state starts at 0 and is not kept between calls.
    """
    if spec is None:
        spec = LIFSpec.from_layer_args(threshold, decay, reset, membrane_bits, membrane_quantizer, membrane_scale,
                                       surrogate, detach_reset)
    elif not isinstance(spec, LIFSpec):
        raise TypeError(f"spec must be a LIFSpec, got {type(spec).__name__}")
    if spec.scale == "calibrated":
        raise ValueError("membrane_scale must be a finite number > 0 or None here (a calibrated scale needs a LIF "
                         "layer to keep it)")
    if not isinstance(x, torch.Tensor) or x.ndim < 2 or not x.is_floating_point():
        raise ValueError(
            f"x must be a floating-point tensor [T, B, ...] with at least 2 dimensions, got "
            f"{type(x).__name__} {tuple(getattr(x, 'shape', ()))}"
        )
    return _LIFFunction.apply(x, spec, spec.fixed_scale, torch.is_grad_enabled())


class LIF(nn.Module):
    """Multi-step LIF layer: currents [T, B, ...] -> spikes [T, B, ...] (see the module docstring).

    Parameters
    ----------
    threshold : float
        V_th > 0 (1.0).
    decay : float
        lambda in [0, 1], the membrane's leak per step (0.5, the authors' code; 1 = no leak, the
        IF neuron). For a continuous leak rate alpha at unit steps, ``decay = exp(-alpha)``.
    reset : {"zero", "subtract", "mod"}
        See the module docstring ("zero": hard reset, the Q-SNN default). "mod" emits integer
        spike counts.
    membrane_bits : int or None
        b >= 2: the state is stored as Q_b(U) (the paper's low-bit membrane); None: full precision.
    membrane_quantizer : {"uniform", "tanh"}
        ``"uniform"``: Q_b(u) with scale ``membrane_scale``; ``"tanh"``: the authors' variant,
        Q_b of tanh(u) with the scale ``max |tanh(u)|`` of the step's tensor (zeros stay zeros).
    membrane_scale : float, "calibrated" or None
        Scale s of the uniform quantizer: None (the threshold), a fixed number > 0, or
        ``"calibrated"``: a buffer ``running_scale`` (starting at the threshold) that in training
        mode follows ``(1 - m) s + m max|U|`` after every call (m = 0.1, max over the
        pre-quantization states of the call), frozen in eval mode. Ignored by ``"tanh"``.
    surrogate : {"triangle", "sigmoid", "atan"}
        Spike gradient (see :mod:`qsnn.nn.surrogate`).
    detach_reset : bool
        Stop the gradient through the reset's dependence on S (SpikingJelly's ``detach_reset``).
    calibration_momentum : float
        m in (0, 1] of the calibrated scale.

    Notes
    -----
    The eight settings are kept, validated once, as one :class:`~qsnn.nn.lifspec.LIFSpec` in ``spec`` (read-only
    attributes under the arguments' names mirror it); :meth:`from_spec` builds the layer of a spec.

    Raises
    ------
    ValueError
        Non-positive threshold, decay outside [0, 1], membrane_bits < 2, an unknown reset,
        quantizer, scale or surrogate.
    """

    def __init__(
        self,
        threshold: float = 1.0,
        decay: float = 0.5,
        reset: str = "zero",
        membrane_bits: int | None = None,
        membrane_quantizer: str = "uniform",
        membrane_scale: float | str | None = None,
        surrogate: str = "triangle",
        detach_reset: bool = False,
        calibration_momentum: float = 0.1,
    ):
        spec = LIFSpec.from_layer_args(threshold, decay, reset, membrane_bits, membrane_quantizer, membrane_scale,
                                       surrogate, detach_reset)
        self._init(spec, calibration_momentum)

    @classmethod
    def from_spec(cls, spec: LIFSpec, calibration_momentum: float = 0.1) -> "LIF":
        """The layer of a :class:`LIFSpec` (already validated: nothing is checked twice)."""
        if not isinstance(spec, LIFSpec):
            raise TypeError(f"spec must be a LIFSpec, got {type(spec).__name__}")
        layer = cls.__new__(cls)
        layer._init(spec, calibration_momentum)
        return layer

    def _init(self, spec: LIFSpec, calibration_momentum: float) -> None:
        nn.Module.__init__(self)
        check_real("calibration_momentum", calibration_momentum, min=0.0, max=1.0, min_open=True)
        self.spec = spec
        self.calibration_momentum = float(calibration_momentum)
        if spec.scale == "calibrated":
            self.register_buffer("running_scale", torch.tensor(spec.threshold))

    # the layer's settings under the names of its arguments, read from the spec
    threshold = property(lambda self: self.spec.threshold)
    decay = property(lambda self: self.spec.decay)
    reset = property(lambda self: self.spec.reset)
    membrane_bits = property(lambda self: self.spec.bits)
    membrane_quantizer = property(lambda self: self.spec.quantizer)
    membrane_scale = property(lambda self: self.spec.scale)
    surrogate = property(lambda self: self.spec.surrogate)
    detach_reset = property(lambda self: self.spec.detach_reset)

    @property
    def levels(self) -> int:
        """n, the non-zero levels per side of the membrane quantizer (0: full precision)."""
        return self.spec.levels

    def scale(self) -> float:
        """The uniform quantizer's current scale s."""
        if self.spec.scale == "calibrated":
            return float(self.running_scale)
        return self.spec.fixed_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.ndim < 2 or not x.is_floating_point():
            raise ValueError(
                f"LIF expects a floating-point tensor [T, B, ...], got {type(x).__name__} "
                f"{tuple(getattr(x, 'shape', ()))}"
            )
        out = _LIFFunction.apply(x, self.spec, self.scale(), torch.is_grad_enabled())
        if self.membrane_scale == "calibrated" and self.training and self.levels:
            self._calibrate(x.detach())
        return out

    @torch.no_grad()
    def _calibrate(self, x: torch.Tensor) -> None:
        u = torch.zeros_like(x[0])
        peak = x.new_zeros(())
        scale = self.scale()
        for t in range(x.shape[0]):
            h = x[t] + self.decay * u
            _, u = _fire_reset(h, self.threshold, self.reset)
            peak = torch.maximum(peak, u.abs().amax())
            u = _quantize_state(u, self.levels, "uniform", scale)
        if float(peak) > 0:
            m = self.calibration_momentum
            self.running_scale.mul_(1 - m).add_(m * peak.to(self.running_scale.dtype))

    def extra_repr(self) -> str:
        q = "" if self.membrane_bits is None else (
            f", membrane_bits={self.membrane_bits}, membrane_quantizer={self.membrane_quantizer!r}"
            + ("" if self.membrane_quantizer == "tanh" else f", membrane_scale={self.membrane_scale!r}")
        )
        return (
            f"threshold={self.threshold}, decay={self.decay}, reset={self.reset!r}{q}, "
            f"surrogate={self.surrogate!r}"
        )
