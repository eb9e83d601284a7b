"""Weight-quantized convolution and linear layers of Q-SNNs (Wei et al., Q-SNNs, ACM MM 2024: 1-bit
weights with the weight regulation of WS-DR).

* :class:`BinaryConv2d`, :class:`BinaryLinear` -- 1-bit weights ``s_c * sign(standardize(w_c))``
  per output filter c (all conv layers except the first, shortcuts included), sign gradient EDE
  (IR-Net) or STE, power-of-two scale s_c.
* :class:`QuantConv2d`, :class:`QuantLinear` -- b-bit (8) fake-quantized weights with the scale from
  ``max |w|``, full-precision bias (the first conv and the last linear layer).

``layer.quantized_weight()`` returns exactly the weight the forward pass uses.
:func:`set_ede_progress` sets the EDE sharpness t of every binary layer of a model from the
training progress (``qsnn.train`` calls it at the start of every epoch).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .._core.validation import check_choice
from .quantizers import (
    EDE_T_MIN,
    WEIGHT_ESTIMATORS,
    binarize_weight,
    check_bits,
    check_regulation,
    ede_t,
    fake_quantize_weight,
)

__all__ = [
    "BinaryConv2d",
    "BinaryLinear",
    "QuantConv2d",
    "QuantLinear",
    "set_ede_progress",
    "binary_layers",
]


class _BinaryMixin:
    """Shared options of the binary layers."""

    def _init_binary(self, weight_regulation: bool, estimator: str) -> None:
        self.weight_regulation = check_regulation(weight_regulation)
        self.estimator = check_choice("estimator", estimator, WEIGHT_ESTIMATORS)
        self.ede_t = EDE_T_MIN

    def quantized_weight(self) -> torch.Tensor:
        """The binary weight the forward pass uses, ``s_c * (+-1)`` per output filter c."""
        return binarize_weight(self.weight, self.weight_regulation, self.estimator, self.ede_t)

    def _binary_repr(self) -> str:
        return f", weight_regulation={self.weight_regulation}, estimator={self.estimator!r}"


class BinaryConv2d(_BinaryMixin, nn.Conv2d):
    """Conv2d with 1-bit weights (``torch.nn.Conv2d`` arguments, bias off by default).

    Parameters
    ----------
    *args, **kwargs
        As ``torch.nn.Conv2d``.
    weight_regulation : {True, "scale", False}
        Standardize every filter before the sign (WS-DR's weight regulation; True); ``"scale"``:
        divide it by its RMS (raw signs, the estimator on the same scale); False: raw weights
        (see :func:`qsnn.nn.binarize_weight`).
    estimator : {"ede", "ste"}
        Gradient of sign (``"ede"``: ``k t (1 - tanh^2(t x))``, t set by
        :func:`set_ede_progress`; ``"ste"``: ``1[|x| <= 1]``).

    Raises
    ------
    ValueError
        Unknown estimator or weight_regulation.
    """

    def __init__(self, *args, weight_regulation: bool | str = True, estimator: str = "ede", bias: bool = False, **kwargs):
        super().__init__(*args, bias=bias, **kwargs)
        self._init_binary(weight_regulation, estimator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.quantized_weight(), self.bias)

    def extra_repr(self) -> str:
        return super().extra_repr() + self._binary_repr()


class BinaryLinear(_BinaryMixin, nn.Linear):
    """Linear layer with 1-bit weights (see :class:`BinaryConv2d`; bias on by default as in nn.Linear)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *,
                 weight_regulation: bool | str = True, estimator: str = "ede", **kwargs):
        super().__init__(in_features, out_features, bias=bias, **kwargs)
        self._init_binary(weight_regulation, estimator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.quantized_weight(), self.bias)

    def extra_repr(self) -> str:
        return super().extra_repr() + self._binary_repr()


class QuantConv2d(nn.Conv2d):
    """Conv2d with b-bit fake-quantized weights (scale ``max |w|``) and a full-precision bias.

    Parameters
    ----------
    *args, **kwargs
        As ``torch.nn.Conv2d`` (bias off by default: BatchNorm follows).
    bits : int
        b >= 2 (8).
    """

    def __init__(self, *args, bits: int = 8, bias: bool = False, **kwargs):
        super().__init__(*args, bias=bias, **kwargs)
        self.bits = check_bits(bits)

    def quantized_weight(self) -> torch.Tensor:
        """The b-bit weight the forward pass uses."""
        return fake_quantize_weight(self.weight, self.bits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.quantized_weight(), self.bias)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", bits={self.bits}"


class QuantLinear(nn.Linear):
    """Linear layer with b-bit fake-quantized weights (scale ``max |w|``) and a full-precision bias."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *, bits: int = 8, **kwargs):
        super().__init__(in_features, out_features, bias=bias, **kwargs)
        self.bits = check_bits(bits)

    def quantized_weight(self) -> torch.Tensor:
        """The b-bit weight the forward pass uses."""
        return fake_quantize_weight(self.weight, self.bits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.quantized_weight(), self.bias)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", bits={self.bits}"


def binary_layers(model: nn.Module) -> list[nn.Module]:
    """The binary conv/linear layers of a model, in module order."""
    return [m for m in model.modules() if isinstance(m, _BinaryMixin)]


def set_ede_progress(model: nn.Module, p: float) -> float:
    """Set the EDE sharpness of every binary layer from the training progress p in [0, 1].

    ``t = 10**(-1 + 2 p)`` (0.1 at the start, 10 at the end, log-uniform; IR-Net). The value is
    a plain attribute (not a buffer), so it is the same on every process of a data-parallel run
    that calls this with the same p. A wrapper such as DistributedDataParallel may be passed.

    Returns
    -------
    float
        t.

    Raises
    ------
    ValueError
        If p is not a number in [0, 1].
    """
    t = ede_t(p)
    for m in binary_layers(model):
        m.ede_t = t
    return t
