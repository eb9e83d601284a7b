"""PyTorch building blocks of Q-SNNs (Wei et al., ACM MM 2024): the multi-step LIF layer with
low-bit membranes, binary and 8-bit conv/linear layers, their quantizers and the WS-DR regulariser.

Tensors are time-first, ``[T, B, ...]``.
"""

from .._core.extras import require_extra

require_extra("torch", "qsnn.nn", modules=("torch",))  # a message naming the extra, not a bare ModuleNotFoundError

from .layers import (
    BinaryConv2d,
    BinaryLinear,
    QuantConv2d,
    QuantLinear,
    binary_layers,
    set_ede_progress,
)
from .lifspec import LIFSpec
from .neurons import LIF, RESETS, lif_multistep
from .quantizers import (
    MEMBRANE_QUANTIZERS,
    WEIGHT_ESTIMATORS,
    WEIGHT_REGULATIONS,
    binarize_weight,
    binary_entropy,
    ede_grad,
    ede_k,
    ede_t,
    fake_quantize_weight,
    levels_per_side,
    power_of_two_scale,
    quantize_membrane,
    sign_balance,
    sign_ede,
    sign_ste,
    rescale_filters,
    standardize_filters,
)
from .regularizers import spike_rate_loss
from .surrogate import SURROGATES, surrogate_grad

__all__ = [
    "LIF",
    "LIFSpec",
    "RESETS",
    "lif_multistep",
    "BinaryConv2d",
    "BinaryLinear",
    "QuantConv2d",
    "QuantLinear",
    "binary_layers",
    "set_ede_progress",
    "MEMBRANE_QUANTIZERS",
    "WEIGHT_ESTIMATORS",
    "WEIGHT_REGULATIONS",
    "quantize_membrane",
    "fake_quantize_weight",
    "binarize_weight",
    "standardize_filters",
    "rescale_filters",
    "power_of_two_scale",
    "sign_ede",
    "sign_ste",
    "ede_t",
    "ede_k",
    "ede_grad",
    "levels_per_side",
    "binary_entropy",
    "sign_balance",
    "spike_rate_loss",
    "SURROGATES",
    "surrogate_grad",
]
