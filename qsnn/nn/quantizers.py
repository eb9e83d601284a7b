"""Quantizers of Q-SNNs (Wei et al., ACM MM 2024) as pure functions with straight-through gradients.

* :func:`quantize_membrane` -- the b-bit symmetric membrane quantizer
  ``Q_b(u) = (s / n) * round(clip(u / s, -1, 1) * n)`` with ``n = 2**(b-1) - 1`` levels per side,
  in the plain ``"uniform"`` form (fixed scale ``s``) or the authors' ``"tanh"`` form (quantizes
  ``tanh(u)`` with ``s`` the max ``|tanh(u)|`` of the tensor).
* :func:`fake_quantize_weight` -- b-bit weight fake quantization with the scale from ``max |w|``
  (the 8-bit first conv and last linear layers).
* :func:`binarize_weight` -- per-filter standardization, sign and power-of-two scale of the
  binary layers, with the EDE or the straight-through sign gradient.
* :func:`binary_entropy`, :func:`sign_balance` -- the information-entropy view of WS-DR.

Every quantizer is the identity for the gradient of ``round`` (straight-through estimator); the
gradient of ``clip`` is kept (zero outside the clipping range).
"""

from __future__ import annotations

import math

import torch

from .lifspec import MEMBRANE_QUANTIZERS, check_bits, levels_per_side

__all__ = [
    "MEMBRANE_QUANTIZERS",
    "WEIGHT_ESTIMATORS",
    "WEIGHT_REGULATIONS",
    "levels_per_side",
    "check_bits",
    "quantize_membrane",
    "fake_quantize_weight",
    "ede_t",
    "ede_k",
    "ede_grad",
    "sign_ede",
    "sign_ste",
    "binarize_weight",
    "standardize_filters",
    "rescale_filters",
    "check_regulation",
    "power_of_two_scale",
    "max_abs_scale",
    "binary_entropy",
    "sign_balance",
]

WEIGHT_ESTIMATORS = ("ede", "ste")
WEIGHT_REGULATIONS = (True, False, "scale")
"""What a binary layer does to a filter before the sign: True standardizes it (zero mean, unit std:
WS-DR's weight regulation); "scale" divides it by its root mean square (unit scale, signs unchanged:
the raw sign seen by the gradient estimator on the same scale as under WS-DR); False leaves it raw."""
EDE_T_MIN = 0.1
EDE_T_MAX = 10.0


def _check_variant(variant) -> str:
    if variant not in MEMBRANE_QUANTIZERS:
        raise ValueError(
            f"variant must be one of {', '.join(map(repr, MEMBRANE_QUANTIZERS))}, got {variant!r}"
        )
    return variant


def _check_scale(scale) -> float:
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale must be a finite number > 0, got {scale!r}")
    return float(scale)


def _round_ste(x: torch.Tensor) -> torch.Tensor:
    """round(x) in the forward pass, identity in the backward pass."""
    return x + (torch.round(x) - x).detach()


def _uniform(u: torch.Tensor, n: int, scale) -> torch.Tensor:
    return _round_ste(torch.clamp(u / scale, -1.0, 1.0) * n) * (scale / n)


def max_abs_scale(x: torch.Tensor) -> torch.Tensor:
    """``max |x|`` of the whole tensor, detached, with 1 in place of 0 (an all-zero tensor stays 0)."""
    m = x.detach().abs().amax() if x.numel() else x.new_ones(())
    return torch.where(m > 0, m, torch.ones_like(m))


def quantize_membrane(
    u: torch.Tensor, bits: int, scale: float | torch.Tensor | None = None, variant: str = "uniform"
) -> torch.Tensor:
    """b-bit symmetric quantization of membrane potentials, Q_b (the paper's membrane quantizer).

    Parameters
    ----------
    u : torch.Tensor
        Potentials, any shape.
    bits : int
        b >= 2; there are ``2**(b-1) - 1`` non-zero levels on each side (b = 2: {-s, 0, s}).
    scale : float, tensor or None
        s, the clipping range. ``"uniform"``: a fixed positive number or a positive scalar tensor
        (None: 1.0). ``"tanh"``: must be None; s is the ``max |tanh(u)|`` of the tensor.
    variant : {"uniform", "tanh"}
        ``"uniform"``: ``(s/n) round(clip(u/s, -1, 1) n)``. ``"tanh"`` (the authors' code):
        the same applied to ``tanh(u)`` with ``s = max |tanh(u)|`` (detached); an all-zero tensor
        gives zeros, never NaN.

    Returns
    -------
    torch.Tensor
        Same shape; gradient straight through ``round`` (and through ``tanh``, clipped by ``clip``).

    Raises
    ------
    ValueError
        b < 2, an unknown variant, a non-positive scale, or a scale given to ``"tanh"``.
    """
    n = levels_per_side(bits)
    _check_variant(variant)
    if variant == "tanh":
        if scale is not None:
            raise ValueError(f"scale must be None for variant 'tanh' (it is max |tanh(u)|), got {scale!r}")
        v = torch.tanh(u)
        return _uniform(v, n, max_abs_scale(v))
    if scale is None:
        scale = 1.0
    if isinstance(scale, torch.Tensor):
        if scale.numel() != 1 or not bool(torch.isfinite(scale).all()) or float(scale) <= 0:
            raise ValueError(f"scale must be a finite number > 0, got {scale!r}")
        scale = scale.detach()
    else:
        scale = _check_scale(scale)
    return _uniform(u, n, scale)


def fake_quantize_weight(w: torch.Tensor, bits: int = 8) -> torch.Tensor:
    """Symmetric b-bit fake quantization of a weight tensor with the scale from its ``max |w|``.

    ``q = (m / n) round(w n / m)``, ``m = max |w|`` (detached; an all-zero tensor stays zero),
    n = 2**(b-1) - 1; gradient straight through ``round``. The first conv and last linear layer
    of a Q-SNN use b = 8 (as in the authors' code).

    Raises
    ------
    ValueError
        If ``bits`` is not an integer >= 2.
    """
    n = levels_per_side(bits)
    return _uniform(w, n, max_abs_scale(w))


# ---------------------------------------------------------------------------------------------
# Binary weights: EDE (IR-Net) and STE sign estimators
# ---------------------------------------------------------------------------------------------


def ede_t(progress: float) -> float:
    """t of the EDE estimator at training progress p in [0, 1]: log-uniform from 0.1 to 10.

    ``t = 10**(-1 + 2 p)`` (IR-Net, Qin et al. 2020).

    Raises
    ------
    ValueError
        If ``progress`` is not a number in [0, 1].
    """
    if isinstance(progress, bool) or not isinstance(progress, (int, float)) or not 0.0 <= progress <= 1.0:
        raise ValueError(f"progress must be a number in [0, 1], got {progress!r}")
    return float(EDE_T_MIN * (EDE_T_MAX / EDE_T_MIN) ** progress)


def ede_k(t: float) -> float:
    """k = max(1/t, 1), the EDE amplitude that keeps the gradient's reach early in training."""
    return max(1.0 / t, 1.0)


def ede_grad(x: torch.Tensor, t: float) -> torch.Tensor:
    """EDE derivative of sign at x: ``k t (1 - tanh^2(t x))`` with k = max(1/t, 1)."""
    return ede_k(t) * t * (1.0 - torch.tanh(t * x) ** 2)


def _sign(x: torch.Tensor) -> torch.Tensor:
    """sign with sign(0) = +1, so binary weights are exactly +-1."""
    return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))


class _SignEDE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, t):
        ctx.save_for_backward(x)
        ctx.t = t
        return _sign(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * ede_grad(x, ctx.t), None


class _SignSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _sign(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (x.abs() <= 1).to(grad.dtype)


def sign_ede(x: torch.Tensor, t: float) -> torch.Tensor:
    """sign(x) (0 -> +1) with the EDE gradient ``k t (1 - tanh^2(t x))``."""
    return _SignEDE.apply(x, float(t))


def sign_ste(x: torch.Tensor) -> torch.Tensor:
    """sign(x) (0 -> +1) with the clipped straight-through gradient ``1[|x| <= 1]``."""
    return _SignSTE.apply(x)


def standardize_filters(w: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Per output filter (dim 0): subtract the mean, divide by the standard deviation (population).

    A constant filter maps to zeros (never NaN). Differentiable (gradients flow through mean/std).
    """
    flat = w.reshape(w.shape[0], -1)
    centred = flat - flat.mean(dim=1, keepdim=True)
    std = centred.pow(2).mean(dim=1, keepdim=True).sqrt()
    return (centred / std.clamp_min(eps)).reshape(w.shape)


def power_of_two_scale(w: torch.Tensor) -> torch.Tensor:
    """Per-filter scale ``2**round(log2(mean |w_c|))`` (detached), shaped to broadcast against w.

    A filter with ``mean |w_c| = 0`` gets scale 1.
    """
    flat = w.detach().reshape(w.shape[0], -1)
    m = flat.abs().mean(dim=1)
    m = torch.where(m > 0, m, torch.ones_like(m))
    s = torch.exp2(torch.round(torch.log2(m)))
    return s.reshape((-1,) + (1,) * (w.ndim - 1))


def rescale_filters(w: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Per output filter (dim 0): divide by the root mean square, without centring.

    The signs are those of ``w``; the scale is that of :func:`standardize_filters` (unit second
    moment), so the EDE window (t from 0.1 to 10, made for unit-variance inputs) sees the same scale
    with and without weight regulation. A zero filter stays zero. Differentiable.
    """
    flat = w.reshape(w.shape[0], -1)
    rms = flat.pow(2).mean(dim=1, keepdim=True).sqrt()
    return (flat / rms.clamp_min(eps)).reshape(w.shape)


def check_regulation(value) -> bool | str:
    """``value`` if it is one of :data:`WEIGHT_REGULATIONS`, else a ValueError naming them."""
    if not any(value is r or (isinstance(r, str) and value == r) for r in WEIGHT_REGULATIONS):
        raise ValueError(f"weight_regulation must be true (standardize: WS-DR), \"scale\" (divide by the "
                         f"per-filter RMS, raw signs) or false (raw weights), got {value!r}")
    return value


def binarize_weight(
    w: torch.Tensor, regulation: bool | str = True, estimator: str = "ede", t: float = EDE_T_MIN
) -> torch.Tensor:
    """Binary weights of a Q-SNN layer: ``scale_c * sign(standardize(w_c))`` per output filter c.

    Parameters
    ----------
    w : torch.Tensor
        Latent weights [C_out, ...].
    regulation : {True, "scale", False}
        Weight regulation (WS-DR, True): standardize every filter to zero mean and unit std before
        the sign, so +1 and -1 are equally frequent. ``"scale"``: divide every filter by its RMS
        (:func:`rescale_filters`; the raw signs, the estimator on WS-DR's scale). False: the sign of
        the raw weights.
    estimator : {"ede", "ste"}
        Gradient of sign: the EDE ``k t (1 - tanh^2(t x))`` or the clipped straight-through one.
    t : float
        EDE sharpness (see :func:`ede_t`); ignored by ``"ste"``.

    Returns
    -------
    torch.Tensor
        Same shape as w, every entry of filter c equal to +-s_c with s_c a power of two,
        ``2**round(log2(mean |x_c|))`` of the (standardized) weights x_c, detached.

    Raises
    ------
    ValueError
        Unknown estimator or regulation, or a non-positive t.
    """
    if estimator not in WEIGHT_ESTIMATORS:
        raise ValueError(f"estimator must be one of {', '.join(map(repr, WEIGHT_ESTIMATORS))}, got {estimator!r}")
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not t > 0:
        raise ValueError(f"t must be a number > 0, got {t!r}")
    check_regulation(regulation)
    x = standardize_filters(w) if regulation is True else rescale_filters(w) if regulation == "scale" else w
    b = sign_ede(x, t) if estimator == "ede" else sign_ste(x)
    return b * power_of_two_scale(x)


# ---------------------------------------------------------------------------------------------
# Entropy view of WS-DR
# ---------------------------------------------------------------------------------------------


def binary_entropy(p):
    """H(p) = -p log2 p - (1 - p) log2(1 - p) in bits, with 0 log 0 = 0 (the entropy of the paper's WS-DR argument).

    Accepts a number, a NumPy array or a tensor (returns the same kind).

    Raises
    ------
    ValueError
        If any p is outside [0, 1] or NaN.
    """
    if isinstance(p, torch.Tensor):
        bad = ~((p >= 0) & (p <= 1))
        if bool(bad.any()):
            raise ValueError(f"p must be in [0, 1], got {p[bad].flatten()[0].item()!r}")
        q = 1 - p
        return -(torch.xlogy(p, p) + torch.xlogy(q, q)) / math.log(2)
    import numpy as np
    from scipy.special import xlogy

    arr = np.asarray(p, dtype=float)
    if not np.all((arr >= 0) & (arr <= 1)):
        raise ValueError(f"p must be in [0, 1], got {p!r}")
    h = -(xlogy(arr, arr) + xlogy(1 - arr, 1 - arr)) / math.log(2)
    return float(h) if np.ndim(p) == 0 else h


def sign_balance(weight: torch.Tensor) -> torch.Tensor:
    """Fraction of +1 (entries >= 0) per output filter, [C_out]; 0.5 is maximum entropy.

    Pass a binarized weight (``layer.quantized_weight()``) or latent weights to see how their
    signs split.
    """
    if not isinstance(weight, torch.Tensor) or weight.ndim < 1 or weight.shape[0] == 0:
        raise ValueError(f"weight must be a tensor with at least one filter, got {weight!r}")
    flat = weight.detach().reshape(weight.shape[0], -1)
    return (flat >= 0).to(torch.float32).mean(dim=1)
